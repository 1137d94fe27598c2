"""`cadence run` and the history rows it leaves: none for a run that fails before its stream runs
(nothing for `cadence log` to attach pain to, nothing in the weekly counts), an aborted one that
keeps the session so far for a recording damaged mid-way, and the wall-clock start/end stored
apart from the audio duration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from cli.main import cli
from coach.store import Store
from test_cli_session import SAMPLE_RATE, _runner_file


def _invoke(*args: str | Path) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("case", ["missing file", "not audio", "NaN audio", "negative offset"])
def test_run_errors_before_the_stream_runs_leave_no_session(tmp_path: Path, case: str) -> None:
    wav, _ = _runner_file(tmp_path, 168.0, 10.0)
    args: list[str | Path] = ["run", "--baseline", "160", "--fast", "--input-file"]
    if case == "missing file":
        args += [tmp_path / "runnner.wav"]
    elif case == "not audio":
        (tmp_path / "notes.wav").write_text("this is not a recording\n" * 50)
        args += [tmp_path / "notes.wav"]
    elif case == "NaN audio":
        soundfile.write(tmp_path / "nan.wav", np.full(5 * SAMPLE_RATE, np.nan, dtype=np.float32), SAMPLE_RATE,
                        subtype="FLOAT")
        args += [tmp_path / "nan.wav"]
    else:
        args += [wav, "--headphone-offset-ms", "-3000"]
    result = _invoke(*args)
    # 2: refused while parsing (the offset's range), 1: refused once the input is opened
    assert result.exit_code in (1, 2) and result.stderr.count("\n") == 1, result.stderr
    assert "internal error" not in result.stderr
    with Store() as store:
        assert store.sessions() == [] and store.weekly() == []
    logged = _invoke("log", "last", "--pain-during", "3")
    assert logged.exit_code == 1 and "no sessions" in logged.stderr


def test_nan_samples_mid_recording_stop_the_session_and_keep_it(tmp_path: Path) -> None:
    """Samples turn to NaN 30 s into a 60 s recording: a clear error naming the file and the time,
    the 30 s before it reported, kept in the history as aborted (not counted by progression)."""
    wav, steps = _runner_file(tmp_path, 168.0, 60.0)
    audio, rate = soundfile.read(wav, dtype="float32")
    audio[30 * rate + 1234 :] = np.nan
    damaged = tmp_path / "damaged.wav"
    soundfile.write(damaged, audio, rate, subtype="FLOAT")
    result = _invoke("run", "--baseline", "160", "--target", "172", "--ramp", "0", "--input-file", damaged, "--fast",
                     "--json-report", tmp_path / "r.json")
    assert result.exit_code == 1
    message = f"Error: {damaged} has NaN/Inf samples at {30 + 1234 / rate:.3f} s (a damaged recording); " \
              "the session stopped there"
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Session: 0:30" in result.stdout, "the session so far is reported"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["duration_s"] == pytest.approx(30 + 1234 / rate, abs=0.07)
    assert report["error"] == message.removeprefix("Error: ")
    n_before = int(np.sum(steps < 29.5))
    assert n_before - 3 <= report["summary"]["n_steps"] <= n_before + 3
    with Store() as store:
        (s,) = store.sessions()
        assert s["status"] == "aborted" and s["abort_reason"] == report["error"]
        assert s["n_steps"] == report["summary"]["n_steps"] and s["audio_duration_s"] == report["duration_s"]
        assert store.weekly() == []


def test_fast_session_stores_wall_clock_and_audio_duration_apart(tmp_path: Path) -> None:
    """A --fast simulation of a 2-minute recording takes seconds: the history keeps the wall-clock
    start and end (so it cannot end after the next session started) and the 120 s of audio."""
    from datetime import datetime

    from coach.store import Store

    wav, _ = _runner_file(tmp_path, 168.0, 120.0)
    before = datetime.now().astimezone()
    result = CliRunner().invoke(cli, ["run", "--baseline", "160", "--input-file", str(wav), "--fast", "--ramp", "0"])
    after = datetime.now().astimezone()
    assert result.exit_code == 0, result.output
    with Store() as store:
        (s,) = store.sessions()
    started, ended = datetime.fromisoformat(s["started_at"]), datetime.fromisoformat(s["ended_at"])
    assert before <= started <= ended <= after
    assert (ended - started).total_seconds() < 60.0
    assert s["audio_duration_s"] == pytest.approx(120.0, abs=0.1)


def test_target_and_plan_do_not_take_short_sessions_for_held(tmp_path: Path) -> None:
    """Two real 12-second sessions at the target (the runner on it) are no evidence: `target` and
    `plan` say the target is not held, which sessions did not count and why, and the rule."""
    wav, _ = _runner_file(tmp_path, 172.0, 12.0)
    for _ in range(2):
        result = _invoke("run", "--baseline", "163", "--target", "172", "--ramp", "0", "--input-file", wav, "--fast")
        assert result.exit_code == 0, result.stderr
    with Store() as store:
        ids = [s["id"] for s in store.sessions()]
        assert [s["status"] for s in store.sessions()] == ["complete", "complete"]
    out = json.loads(_invoke("target", "--baseline", "163", "--json").output)
    assert out["current_target_spm"] == 172.0 and not out["holds"] and out["next_target_spm"] == 172.0
    assert [(n["id"], n["why"]) for n in out["not_counted"]] == [(i, "0:12 long (< 10:00)") for i in ids]
    text = _invoke("target", "--baseline", "163").output
    assert "not yet held (0 counted session(s) at 172 spm; need 2)" in text
    assert f"not counted #{ids[0]} " in text and "Rule: a session counts when it is complete" in text
    plan = _invoke("plan", "--baseline", "163", "--start", "2026-01-05")
    assert plan.exit_code == 0 and "History: target 172 spm not yet held" in plan.output
    assert f"not counted #{ids[1]} " in plan.output and "W1 2026-01-06 intervals 172 spm" in plan.output
