"""coach.run and coach.request driven directly, without click: a session from a typed request,
its display through the hooks, its errors as one-line RunError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coach.drive import RunHooks
from coach.request import FileInput, PlanRequest, RunError, RunRequest, StreamOptions, resolve_target
from coach.run import listen, run_session
from coach.session import Session, SessionSettings
from metronome.units import ParameterError
from stepdetect import match_events
from test_cli_session import _runner_file

SAMPLE_RATE = 48000


class RecordingDisplay:
    """A display that keeps what the session showed it."""

    opened: list[tuple[float | None, bool, float]] = []
    last: RecordingDisplay

    def __init__(self, total_s: float | None, *, force_plain: bool, plain_every_s: float) -> None:
        self.opened.append((total_s, force_plain, plain_every_s))
        self.times_s: list[float] = []
        self.closed = False
        RecordingDisplay.last = self

    def update(self, session: Session) -> None:
        self.times_s.append(session.live.time_s)

    def close(self) -> None:
        self.closed = True


def _request(wav: Path, **file: Any) -> RunRequest:
    metronome = PlanRequest(duration_s=None).build(164.0)
    return RunRequest(metronome=metronome, settings=SessionSettings(metronome=metronome),
                      input=FileInput(path=wav, fast=True, **file))


def test_a_request_runs_a_session_and_the_display_follows_it(tmp_path: Path) -> None:
    wav, true_steps = _runner_file(tmp_path, 172.0, 20.0)
    notes: list[str] = []
    built: list[Session] = []
    RecordingDisplay.opened = []
    report = run_session(_request(wav), hooks=RunHooks(display=RecordingDisplay, echo=notes.append,
                                                       on_session=built.append))
    assert report["ended_by"] == "end" and report["aborted"] is None and report["input"] == str(wav)
    assert report["settings"]["target_spm"] == pytest.approx(175.5, abs=0.05)  # +7 % of 164 by default
    assert RecordingDisplay.opened == [(pytest.approx(20.0, abs=1e-3), True, 60.0)]  # plain lines when --fast
    display = RecordingDisplay.last
    assert display.closed and len(display.times_s) > 100  # after every block
    assert display.times_s == sorted(display.times_s) and display.times_s[-1] == pytest.approx(20.0, abs=0.05)
    assert len(built) == 1 and built[0].elapsed_s == pytest.approx(20.0, abs=0.05)
    assert notes == []  # a file session has nothing to announce
    found = np.array([s["time_s"] for s in report["steps"]])
    assert len(match_events(true_steps, found, tolerance_s=0.05)) >= 0.95 * true_steps.size


def test_a_silent_listen_finds_the_footfalls_without_ticks(tmp_path: Path) -> None:
    wav, true_steps = _runner_file(tmp_path, 164.0, 15.0)
    report = listen(15.0, input_file=wav, fast=True)
    assert report["summary"]["n_beats"] == 0
    assert report["summary"]["cadence_spm"] == pytest.approx(164.0, rel=0.02)


def test_bad_requests_are_one_line_run_errors(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"^input file .*missing.wav does not exist$"):
        run_session(_request(tmp_path / "missing.wav"))
    wav, _ = _runner_file(tmp_path, 172.0, 3.0)
    with pytest.raises(RunError, match=r"--monitor out.mp3: use a .wav or .flac file name"):
        run_session(_request(wav, monitor=tmp_path / "out.mp3"))
    with pytest.raises(RunError, match=r"either as --target or as --spm"):
        resolve_target("+7%", 170.0, 164.0, False)
    with pytest.raises(RunError, match=r"\+20.0 % from your baseline 164 spm"):
        resolve_target("+20%", None, 164.0, False)
    assert resolve_target("+20%", None, 164.0, True) == pytest.approx(196.8)
    with pytest.raises(RunError, match=r"use \+7% or a cadence such as 178"):
        resolve_target("fast", None, 164.0, False)
    with pytest.raises(ParameterError, match="baseline"):
        PlanRequest().build(500.0)


def test_requests_convert_their_units_once() -> None:
    assert resolve_target(None, None, 160.0, False) == pytest.approx(171.2)
    assert resolve_target("178", None, 168.0, False) == 178.0
    file = FileInput(path=Path("x.wav"), bleed_delay_ms=[(0.0, 25.0), (40.0, 70.0)])
    assert file.bleed_delay_frames(48000) == [(0, 1200), (1920000, 3360)]
    assert FileInput(path=Path("x.wav"), bleed_delay_ms=10).bleed_delay_frames(44100) == [(0, 441)]
    assert StreamOptions().label == "default" and StreamOptions(device="pulse").label == "pulse"


def test_a_stream_that_dies_after_start_up_at_a_rate_asked_for_names_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """PulseAudio may run a stream at a rate other than its own for seconds before it kills it: the
    abort then says what to change next time -- only when the runner asked for that rate and the
    server runs at another."""
    import metronome.stream
    from coach.run import _later_rate_advice

    monkeypatch.setattr(metronome.stream, "sound_server_rate", lambda: 48000)
    advice = _later_rate_advice(44100, 44100)
    assert advice.startswith("; it ran at 44100 Hz") and "try --sample-rate 48000 or leave --sample-rate out" in advice
    assert _later_rate_advice(48000, 48000) == ""  # the server's own rate: nothing to change
    assert _later_rate_advice(44100, None) == ""  # a rate the session chose itself
    monkeypatch.setattr(metronome.stream, "sound_server_rate", lambda: None)
    assert _later_rate_advice(44100, 44100) == ""  # no sound server to compare with
