"""Shared fixtures: paths to the project's samples and to the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}: clone the project beside shared/")
    return SHARED_DATA


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
