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
