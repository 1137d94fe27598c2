"""The loop latency as a time series: steps injected mid-session (file backend, ``--bleed-delay-ms``
with a schedule), each beat heard at the latency in force then, and report == history.

The simulated microphone hears the ticks ``d(t)`` after they were rendered, where ``d`` steps at
known input times (as after a sound-server re-buffering); the runner in the recording lands on
the *rendered* grid, so the true asynchrony steps with the latency.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from coach.latency import LatencyTrack
from cli.main import cli
from coach.store import Store
from samples.runner import runner_recording, steps_from_beats
from test_cli_session import SAMPLE_RATE, _beats

# (from input time s, delay ms): +45 ms at 40 s, -60 ms at 80 s, +35 ms at 200 s
SCHEDULE = [(0.0, 30.0), (40.0, 75.0), (80.0, 15.0), (200.0, 50.0)]
OFFSET_MS = -20.0  # the runner, relative to the rendered ticks


def _true_heard_s(rendered_s: float) -> list[float]:
    """Onset times at which the mic hears a tick rendered at ``rendered_s`` (0, 1 or 2 of them)."""
    out = []
    for j, (from_s, ms) in enumerate(SCHEDULE):
        until_s = SCHEDULE[j + 1][0] if j + 1 < len(SCHEDULE) else np.inf
        h = rendered_s + ms / 1000
        if from_s <= h < until_s:
            out.append(h)
    return out


@pytest.fixture(scope="module")
def stepped_session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("latency")
    db = tmp / "history.db"
    duration_s = 240.0
    rendered, sounding = _beats("intervals", 172.0, 161.0, duration_s, 0.0, False)
    rendered = rendered[sounding]
    steps, feet = steps_from_beats(rendered, offset_ms=OFFSET_MS, rng=np.random.default_rng(21))
    keep = steps < duration_s - 0.3
    steps, feet = steps[keep], [f for f, k in zip(feet, keep) if k]
    # the runner keeps running through the silent minute
    silent = np.arange(120.2, 180.0, 60 / 172.0)
    steps = np.sort(np.concatenate([steps, silent]))
    feet = ["L" if k % 2 == 0 else "R" for k in range(steps.size)]
    wav = tmp / "run.wav"
    soundfile.write(wav, runner_recording(steps, feet, sample_rate=SAMPLE_RATE, duration_s=duration_s,
                                          seed=21).astype(np.float32), SAMPLE_RATE)
    schedule = ",".join(f"{ms:g}" if at == 0 else f"{ms:g}@{at:g}s" for at, ms in SCHEDULE)
    report_path = tmp / "report.json"
    result = CliRunner().invoke(cli, [
        "run", "--baseline", "161", "--target", "172", "--plan", "intervals", "--ramp", "0", "--input-file",
        str(wav), "--fast", "--bleed-db", "-12", "--bleed-delay-ms", schedule, "--json-report", str(report_path),
        "--db", str(db)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    with Store(db) as store:
        (session,) = store.sessions()
        sid = session["id"]
        history = {"intervals": store.intervals(sid), "steps": store.steps(sid), "beats": store.beats(sid)}
    return {"report": report, "history": history, "output": result.output, "rendered": rendered}


def test_latency_steps_are_events(stepped_session: dict) -> None:
    report = stepped_session["report"]
    events = report["latency_events"]
    assert [e["kind"] for e in events] == ["step"] * 3
    for event, (at_s, ms), (_, before_ms) in zip(events, SCHEDULE[1:], SCHEDULE[:-1]):
        assert event["step_ms"] == pytest.approx(ms - before_ms, abs=0.5)
        assert event["to_ms"] == pytest.approx(ms, abs=0.5)
        # dated by the first beat heard at the new latency: within one beat of the step
        assert at_s - 0.05 <= event["time_s"] <= at_s + 60 / 172 + 0.05
    assert report["latency"]["n_latency_steps"] == 3
    assert report["latency"]["loop_latency_ms"] == pytest.approx(50.0, abs=0.5)
    assert report["latency"]["latency_measurement_spread_ms"] < 0.5, "measurements vs the level in force"
    assert "latency steps 3: +45.0 ms at 0:40, -60.0 ms at 1:20, +35.0 ms at 3:20" in stepped_session["output"]


def test_each_beat_is_heard_at_the_latency_in_force_then(stepped_session: dict) -> None:
    beats = np.array([b["time_s"] for b in stepped_session["report"]["beats"]])
    rendered = stepped_session["rendered"]
    assert beats.size == rendered.size
    errors_ms, boundary = [], 0
    for heard, r in zip(beats, rendered):
        truth = _true_heard_s(r)
        err_ms = 1000 * min(abs(heard - t) for t in truth) if truth else np.inf
        near_step = any(abs(r - at_s) < 0.12 for at_s, _ in SCHEDULE[1:])
        if near_step:  # a tick straddling a step is heard twice or not at all: either latency will do
            boundary += 1
            either = [r + SCHEDULE[j][1] / 1000 for j in range(len(SCHEDULE))]
            assert 1000 * min(abs(heard - t) for t in either) <= 0.5
        else:
            errors_ms.append(err_ms)
    assert boundary <= 3 * 2
    assert max(errors_ms) <= 0.5, "every other beat within 0.5 ms of where the mic heard it"


def test_drift_follows_the_latency_in_force(stepped_session: dict) -> None:
    """The runner lands 20 ms before each rendered tick, so before the heard beat by 20 ms + the
    latency of that stretch (applying the final 50 ms to every beat would give -70 ms throughout)."""
    steps = stepped_session["report"]["steps"]
    for lo, hi, ms in [(5, 38, 30), (42, 78, 75), (82, 118, 15), (202, 238, 50)]:
        a = [s["asynchrony_ms"] for s in steps if lo <= s["time_s"] < hi and s["asynchrony_ms"] is not None]
        assert len(a) > 0.9 * (hi - lo) * 172 / 60
        assert np.mean(a) == pytest.approx(OFFSET_MS - ms, abs=3.0)


def test_report_equals_history(stepped_session: dict) -> None:
    report, history = stepped_session["report"], stepped_session["history"]
    assert len(history["intervals"]) == len(report["intervals"]) == 3
    for stored, reported in zip(history["intervals"], report["intervals"]):
        for key in ("label", "n_steps", "n_beats", "cadence_spm", "tempo_spm", "asynchrony", "asymmetry"):
            assert stored[key] == reported[key], (reported["label"], key)
        assert stored["mean_asynchrony_ms"] == reported["asynchrony"]["mean_ms"]
    assert [(s["time_s"], s["asynchrony_ms"]) for s in history["steps"]] == \
        [(s["time_s"], s["asynchrony_ms"]) for s in report["steps"]]
    assert [b["time_s"] for b in history["beats"]] == [b["time_s"] for b in report["beats"]]


def test_silent_interval_has_no_asynchrony(stepped_session: dict) -> None:
    report = stepped_session["report"]
    off = report["intervals"][1]
    assert off["label"] == "off" and off["n_steps"] > 150
    assert off["asynchrony"]["n"] == 0 and off["asynchrony"]["mean_ms"] is None
    assert all(s["asynchrony_ms"] is None for s in report["steps"] if 120.0 <= s["time_s"] < 180.0)


def test_track_outlier_is_not_a_step_and_slow_drift_is_followed() -> None:
    track = LatencyTrack()
    truth = []
    for k in range(300):
        lat = 0.040 + 0.002 * k / 100  # 6 ms of slow drift over 300 ticks: never a step
        truth.append(lat)
        measured = 0.140 if k in (50, 51) else (None if k % 7 == 3 else lat)  # two stray detections
        track.add(measured, rendered_s=0.35 * k, fallback_s=0.010)
    track.finish(0.010)
    assert track.events == []
    assert np.max(np.abs(np.array(track.latency_s) - truth)) < 0.0003, "the level lags the drift by < 0.3 ms"


def test_track_follows_a_shift_smaller_than_a_step_within_three_ticks() -> None:
    # a sound server re-buffering by 3 ms: under the 5 ms step threshold, so no event, but the
    # level moves once three ticks agree on it (the median of 15 would lag ~8 ticks behind)
    track = LatencyTrack()
    truth = [0.100 if k < 40 else 0.103 for k in range(80)]
    for k, lat in enumerate(truth):
        track.add(lat, rendered_s=0.35 * k, fallback_s=0.010)
    track.finish(0.010)
    assert track.events == []
    err = np.abs(np.array(track.latency_s) - truth)
    assert np.all(err[:40] < 1e-9) and np.all(err[42:] < 1e-9), "exact before, and from the third shifted tick on"
    assert np.count_nonzero(err > 1e-9) == 2


def test_track_first_measurement_after_the_stream_figure_is_an_event() -> None:
    track = LatencyTrack()
    for k in range(20):
        track.add(None if k < 5 else 0.062, rendered_s=0.35 * k, fallback_s=0.030)
    track.finish(0.030)
    assert list(track.latency_s[:5]) == [0.030] * 5 and list(track.latency_s[5:]) == [0.062] * 15
    assert track.events == [{"beat": 5, "rendered_s": 1.75, "from_ms": 30.0, "to_ms": 62.0, "step_ms": 32.0,
                             "kind": "measured"}]


def test_a_step_of_more_than_half_a_beat_is_followed(tmp_path: Path) -> None:
    """+220 ms at 172 spm (a beat is 349 ms): the ticks leave the half-beat search window; after two
    misses it opens to a whole beat, the ticks are found again, and the ticks missed meanwhile are
    put at the new latency too."""
    duration_s = 50.0
    rendered, _ = _beats("steady", 172.0, 161.0, duration_s, 0.0, False)
    steps, feet = steps_from_beats(rendered, offset_ms=OFFSET_MS, rng=np.random.default_rng(5))
    keep = steps < duration_s - 0.3
    wav = tmp_path / "run.wav"
    soundfile.write(wav, runner_recording(steps[keep], [f for f, k in zip(feet, keep) if k], sample_rate=SAMPLE_RATE,
                                          duration_s=duration_s, seed=5).astype(np.float32), SAMPLE_RATE)
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(cli, [
        "run", "--baseline", "161", "--target", "172", "--plan", "steady", "--ramp", "0", "--duration", "50s",
        "--input-file", str(wav), "--fast", "--bleed-db", "-12", "--bleed-delay-ms", "30,250@25s",
        "--json-report", str(report_path), "--no-save"])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    (event,) = report["latency_events"]
    assert event["step_ms"] == pytest.approx(220.0, abs=0.5)
    beats = np.array([b["time_s"] for b in report["beats"]])
    truth = np.where(rendered + 0.030 < 25.0, rendered + 0.030, rendered + 0.250)
    clear = np.abs(rendered + 0.030 - 25.0) > 0.25  # ticks straddling the step may be heard twice
    assert np.sum(~clear) <= 2
    np.testing.assert_allclose(beats[clear], truth[clear], atol=0.0005)


def test_footfalls_reach_the_history_while_the_ticks_are_muted(tmp_path: Path) -> None:
    """With --cue-off-target the ticks fall silent while the runner is on target: the footfalls
    still reach the history as the session runs (every 2 s), not when the ticks come back."""
    from datetime import datetime, timezone

    from coach.run import simulated_session
    from metronome.settings import settings_from_options
    from coach.session import SessionSettings
    from coach.store import SessionStoreLog
    from test_cli_session import _runner_file

    wav, true_steps = _runner_file(tmp_path, 172.0, 60.0)
    metronome = settings_from_options(spm=172.0, baseline_spm=161.0, duration_s=None, plan="steady", warmup_s=None,
                                      cooldown_s=None, every_other_step=False, sound="woodblock", accent_every=0,
                                      alternate_ears=False, volume_db=-6, force=False, ramp_s=0.0)
    settings = SessionSettings(metronome=metronome, cue_only_off_target=True)
    with Store(tmp_path / "h.db") as store, soundfile.SoundFile(str(wav)) as source:
        log = SessionStoreLog(store, kind="simulated", started_at=datetime.now(timezone.utc), settings={})
        session, backend = simulated_session(metronome, settings, source, log=log)
        backend.run(session.consume)
        assert session.ticks and session.ticks[-1].start_sample / SAMPLE_RATE < 20.0, "muted after the start"
        assert log.sync()  # the history writer has caught up (it never holds the session up)
        logged = store.steps(log.session_id)  # before the end of the session
        assert logged and logged[-1]["time_s"] > 60.0 - 4.0
        report = session.report()
        session.close_log(report)
        assert log.wait().saved
        stored = store.steps(log.session_id)
    assert [(s["time_s"], s["asynchrony_ms"]) for s in stored] == \
        [(s["time_s"], s["asynchrony_ms"]) for s in report["steps"]]
    assert len(stored) == pytest.approx(true_steps.size, abs=2)


@pytest.mark.parametrize(("schedule", "message"), [
    ("25,x@10s", "use a delay in ms"), ("25,70@10s,40@5s", "must increase"), ("25,900@10s", "outside 0..500"),
    ("70@10s", "holds from the start"), ("25,70@soon", "use a delay in ms")])
def test_bad_bleed_delay_schedule_is_one_line(tmp_path: Path, schedule: str, message: str) -> None:
    wav = tmp_path / "x.wav"
    soundfile.write(wav, np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    result = CliRunner().invoke(cli, ["run", "--baseline", "160", "--input-file", str(wav), "--fast", "--bleed-db",
                                      "-12", "--bleed-delay-ms", schedule, "--no-save"])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output
