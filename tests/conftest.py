"""Shared fixtures: paths to the project's samples and to the real data copied into tests/data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
REAL_DATA = ROOT / "tests" / "data"  # excerpts of ../shared/data (tests/data/README.md)
SHARED = ROOT.parent / "shared"
_WATCHED_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})


def _refuse_shared(event: str, args: tuple[object, ...]) -> None:
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


REQUIRE_AUDIO = "CADENCE_REQUIRE_AUDIO"


def _audio_required() -> bool:
    """CADENCE_REQUIRE_AUDIO=1 (set by `make test` and .ci/run): an `audio` test whose sound server
    or null sink is missing fails instead of skipping, so CI never passes without running them."""
    value = os.environ.get(REQUIRE_AUDIO, "")
    if value not in {"", "0", "1"}:
        raise pytest.UsageError(f"{REQUIRE_AUDIO}={value!r}: use 1 (missing audio fails the audio tests) or 0")
    return value == "1"


def _pulse_sink_name() -> str:
    return os.environ.get("CADENCE_TEST_PULSE_SINK", "cadence_null")


def _missing_audio(sink: str) -> str | None:
    """Why the `audio` tests cannot run here (no pactl, no server answering, no such sink), or None."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return "pactl is not installed (`make system` installs pulseaudio-utils)"
    info = subprocess.run([pactl, "info"], capture_output=True, text=True, timeout=30)
    if info.returncode != 0:
        reason = " ".join(info.stderr.split()) or f"exit {info.returncode}"
        return f"no PulseAudio server answers (pactl info: {reason})"
    listing = subprocess.run([pactl, "list", "short", "sinks"], capture_output=True, text=True, timeout=30)
    sinks = {line.split("\t")[1] for line in listing.stdout.splitlines() if "\t" in line}
    if listing.returncode != 0 or sink not in sinks:
        return f"the PulseAudio server has no null sink {sink!r}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    _audio_required()  # a mistyped value is a usage error at once, not a surprise skip


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked `audio` need the null sink `make test` starts (.ci/with-pulse): without it they
    skip saying why, or fail when CADENCE_REQUIRE_AUDIO=1 (CI)."""
    if item.get_closest_marker("audio") is None:
        return
    problem = _missing_audio(_pulse_sink_name())
    if problem is None:
        return
    if _audio_required():
        pytest.fail(f"{problem}, and {REQUIRE_AUDIO}=1 forbids skipping the audio tests", pytrace=False)
    pytest.skip(f"audio test: {problem}; `make test` (or .ci/with-pulse COMMAND) starts a null sink")


@pytest.fixture
def pulse_sink(request: pytest.FixtureRequest) -> str:
    """The PulseAudio null sink that `make test` (.ci/with-pulse) sets up: what PortAudio plays
    into it, its monitor source records. Only for tests marked `audio` (pytest_runtest_setup has
    checked that it answers, and `-m "not audio"` leaves them out)."""
    if request.node.get_closest_marker("audio") is None:
        pytest.fail(f"{request.node.nodeid} uses pulse_sink: mark it `audio`", pytrace=False)
    return _pulse_sink_name()


@pytest.fixture(autouse=True)
def _private_history(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own history database and calibration file, never the user's."""
    home = tmp_path_factory.mktemp("cadence-home")
    monkeypatch.setenv("CADENCE_DB", str(home / "cadence.db"))
    monkeypatch.setenv("CADENCE_CALIBRATION", str(home / "calibration.json"))
