"""Shared fixtures: paths to the project's samples and to the real data copied into tests/data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
REAL_DATA = ROOT / "tests" / "data"  # excerpts of ../shared/data (tests/data/README.md)
SHARED = ROOT.parent / "shared"
_WATCHED_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})


def _refuse_shared(event: str, args: tuple) -> None:
    """Audit hook: the suite must pass from a clone that has no ../shared beside it, so any
    read of ../shared (which exists beside the lead's checkouts) fails the test that does it."""
    if event not in _WATCHED_EVENTS or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.fsdecode(args[0])
    if "shared" in path and Path(os.path.abspath(path)).is_relative_to(SHARED):
        raise PermissionError(f"tests must not read {SHARED} (copy an excerpt into tests/data/): {path}")


sys.addaudithook(_refuse_shared)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """tests/data: FIT files, SoundTrackDB step labels and Oxford walks (see its README)."""
    return REAL_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Gone: tests read tests/data (the real_data fixture), benchmarks read ../shared/data."""
    pytest.fail("tests must not read ../shared: use the real_data fixture (tests/data/, see its README)")


@pytest.fixture(scope="session")
def pulse_sink() -> str:
    """The PulseAudio null sink that `make test` (.ci/with-pulse) sets up: what PortAudio plays
    into it, its monitor source records. Tests that need it fail (not skip) without it."""
    import shutil
    import subprocess

    sink = os.environ.get("CADENCE_TEST_PULSE_SINK", "cadence_null")
    pactl = shutil.which("pactl")
    listing = subprocess.run([pactl, "list", "short", "sinks"], capture_output=True, text=True) if pactl else None
    if listing is None or listing.returncode != 0 or sink not in listing.stdout:
        pytest.fail(f"no PulseAudio null sink {sink!r}: run the tests with `make test` (it starts one)")
    return sink


@pytest.fixture(autouse=True)
def _private_history(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own history database and calibration file, never the user's."""
    home = tmp_path_factory.mktemp("cadence-home")
    monkeypatch.setenv("CADENCE_DB", str(home / "cadence.db"))
    monkeypatch.setenv("CADENCE_CALIBRATION", str(home / "calibration.json"))
