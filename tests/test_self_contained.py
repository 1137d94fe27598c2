"""The suite is self-contained: it reads its real data from tests/data, never from ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REAL_DATA, SHARED


def test_reading_shared_fails_the_test() -> None:
    # the audit hook in conftest.py refuses before the file system is asked, so this holds
    # whether or not ../shared exists beside this checkout
    with pytest.raises(PermissionError, match="tests must not read"):
        (SHARED / "data" / "README.md").read_text()
    with pytest.raises(PermissionError, match="tests must not read"):
        list((SHARED / "data").iterdir())


@pytest.mark.parametrize(
    "relative",
    [
        "fit/activity-small-fenix2-run.fit", "fit/LICENSE.fitdecode", "fit/LICENSE.python-fitparse",
        "soundtrackdb/d04_P47_8_0.csv", "soundtrackdb/LICENSE",
        "accel/walk_backpocket_50hz.csv",
        "README.md",
    ],
)
def test_real_data_and_its_licences_are_in_the_repository(relative: str) -> None:
    path = REAL_DATA / relative
    assert path.is_file() and path.stat().st_size > 0
    assert Path(path).resolve().is_relative_to(Path(__file__).resolve().parent)


def test_every_footstep_excerpt_is_regenerated_or_kept_and_described() -> None:
    """tests/data/footsteps: each file is either made by make_excerpts.py (from the benchmark
    corpus; it checks them within 1 LSB where ../shared exists) or listed as kept as first made, and
    the folder's README describes every one of them."""
    import importlib.util
    import sys

    folder = REAL_DATA / "footsteps"
    spec = importlib.util.spec_from_file_location("make_excerpts", folder / "make_excerpts.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = script  # its dataclass resolves annotations through sys.modules
    try:
        spec.loader.exec_module(script)
    finally:
        del sys.modules[spec.name]
    files = {p.name for p in folder.iterdir()} - {"README.md", "make_excerpts.py"}
    assert files == set(script.MADE) | set(script.KEPT)
    assert not set(script.MADE) & set(script.KEPT)
    readme = (folder / "README.md").read_text()
    assert all(f"| {name} |" in readme for name in files), sorted(n for n in files if f"| {n} |" not in readme)
