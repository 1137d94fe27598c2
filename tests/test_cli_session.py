"""`cadence run --input-file`: sessions over recordings with known footfall-to-beat offsets.

Each recording is synthesized for the beat grid the session will play (the runner lands a
known offset from each beat, with 6 ms jitter, and keeps going through silent minutes),
written to a real audio file, and run through the real command. The truth is computed from
the synthesized footfall times.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from cli.main import cli
from metronome.settings import settings_from_options
from metronome.schedule import BeatClock
from samples.runner import runner_recording, steps_from_beats
from stepdetect.drift import asynchronies_ms

SAMPLE_RATE = 22050


def _beats(plan: str, target: float, baseline: float, duration_s: float, ramp_s: float,
           every_other_step: bool) -> tuple[np.ndarray, np.ndarray]:
    """All beats of the session's clock (silent ones too) and which of them sound."""
    settings = settings_from_options(
        spm=target, duration_s=duration_s, plan=plan, baseline_spm=baseline, warmup_s=None, cooldown_s=None,
        every_other_step=every_other_step, sound="woodblock", accent_every=0, alternate_ears=False, volume_db=-6,
        force=False, ramp_s=ramp_s,
    )
    clock = BeatClock(settings.timeline, SAMPLE_RATE, steps_per_tick=2 if every_other_step else 1)
    ticks = list(clock.ticks_until(int(duration_s * SAMPLE_RATE)))
    return np.array([t.start_sample / SAMPLE_RATE for t in ticks]), np.array([t.sounding for t in ticks])


def _session(tmp_path: Path, *, plan: str = "steady", target: float = 172.0, baseline: float = 161.0,
             duration_s: float = 90.0, ramp_s: float = 0.0, every_other_step: bool = False, offset_ms: float = 0.0,
             drift_ms_per_min: float = 0.0, seed: int = 1, extra: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict]:
    beats, sounding = _beats(plan, target, baseline, duration_s, ramp_s, every_other_step)
    rng = np.random.default_rng(seed)
    steps, feet = steps_from_beats(beats, offset_ms=offset_ms, every_other_step=every_other_step,
                                   drift_ms_per_min=drift_ms_per_min, rng=rng)
    steps, feet = steps[steps < duration_s - 0.3], feet[: int(np.sum(steps < duration_s - 0.3))]
    audio = runner_recording(steps, feet, sample_rate=SAMPLE_RATE, duration_s=duration_s, seed=seed)
    wav = tmp_path / "run.wav"
    soundfile.write(wav, audio.astype(np.float32), SAMPLE_RATE)
    report_path = tmp_path / "report.json"
    args = ["run", "--baseline", str(baseline), "--target", str(target), "--plan", plan, "--ramp", f"{ramp_s}s"
            if ramp_s else "0", "--input-file", str(wav), "--fast", "--json-report", str(report_path), *extra]
    if every_other_step:
        args.append("--every-other-step")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    heard = beats[sounding]
    true_async, _ = asynchronies_ms(steps, heard, every_other_step=every_other_step)
    truth = {"steps": steps, "feet": feet, "beats": heard, "asynchrony_ms": true_async,
             "cadence_spm": 60.0 * (steps.size - 1) / (steps[-1] - steps[0])}
    return report, truth


def _check(report: dict[str, Any], truth: dict) -> None:
    summary = report["summary"]
    assert summary["cadence_spm"] == pytest.approx(truth["cadence_spm"], abs=0.5)
    true_mean = float(np.nanmean(truth["asynchrony_ms"]))
    assert summary["asynchrony"]["mean_ms"] == pytest.approx(true_mean, abs=3.0)
    assert summary["n_steps"] == pytest.approx(truth["steps"].size, abs=2)
    assert report["xruns"]["dropped_input_frames"] == 0


@pytest.mark.parametrize(("offset_ms", "every_other_step"), [(0.0, False), (-30.0, False), (25.0, True)])
def test_on_beat_early_late(tmp_path: Path, offset_ms: float, every_other_step: bool) -> None:
    report, truth = _session(tmp_path, offset_ms=offset_ms, every_other_step=every_other_step)
    _check(report, truth)
    assert report["summary"]["asynchrony"]["mean_ms"] == pytest.approx(offset_ms, abs=4.0)
    assert report["summary"]["asynchrony"]["resultant_length"] > 0.95
    # Beats are listed as heard, one per tick, on the input's time axis.
    np.testing.assert_allclose([b["time_s"] for b in report["beats"]], truth["beats"], atol=1e-6)
    steps = report["steps"]
    assert {"time_s", "foot", "asynchrony_ms"} <= set(steps[0])
    if every_other_step:
        measured = [s for s in steps if s["asynchrony_ms"] is not None]
        assert 0.45 < len(measured) / len(steps) < 0.55, "only the ticked foot has a beat"
        assert {s["foot"] for s in measured} == {"L"}, "ticks mark the left foot"


def test_drifting_runner(tmp_path: Path) -> None:
    report, truth = _session(tmp_path, offset_ms=-40.0, drift_ms_per_min=30.0, duration_s=120.0, seed=3)
    _check(report, truth)
    assert report["summary"]["asynchrony"]["drift_ms_per_min"] == pytest.approx(30.0, abs=3.0)


def test_intervals_measure_retention(tmp_path: Path) -> None:
    report, truth = _session(tmp_path, plan="intervals", offset_ms=-15.0, duration_s=240.0, seed=4)
    _check(report, truth)
    labels = [(iv["label"], iv["sounding"]) for iv in report["intervals"]]
    assert labels == [("on", True), ("off", False), ("on", True)]
    off = report["intervals"][1]
    assert off["cadence_spm"] == pytest.approx(172.0, abs=0.5), "detection keeps running in the off minute"
    assert off["retention"]["held_pct"] == pytest.approx(100.0, abs=0.5)
    assert off["n_beats"] == 0 and not any(120.2 < b["time_s"] < 180 for b in report["beats"])
    for iv in (report["intervals"][0], report["intervals"][2]):
        assert iv["cadence_spm"] == pytest.approx(172.0, abs=0.5)
        assert iv["asynchrony"]["mean_ms"] == pytest.approx(-15.0, abs=3.0)


def test_ramp_every_other_step_reaches_target_on_schedule(tmp_path: Path) -> None:
    report, truth = _session(tmp_path, plan="steady", ramp_s=60.0, every_other_step=True, offset_ms=-10.0,
                             duration_s=120.0, seed=5)
    _check(report, truth)
    beats = report["beats"]
    first = beats[0]["spm"]
    at_target = [b for b in beats if b["time_s"] >= 60.5]
    assert first == pytest.approx(161.0, abs=0.2)
    assert all(b["spm"] == pytest.approx(172.0, abs=1e-6) for b in at_target)
    mid = min(beats, key=lambda b: abs(b["time_s"] - 30.0))
    assert mid["spm"] == pytest.approx(166.5, abs=0.3)  # half way up the ramp at 30 s


@pytest.mark.parametrize("bleed_db", ["0", "12"])
def test_in_sync_runner_with_loud_ticks_in_the_mic(tmp_path: Path, bleed_db: str) -> None:
    """Every footfall on a tick the mic hears (up to 12 dB above the ticks of the other tests):
    the footfalls are all found and no tick is counted as a step."""
    report, truth = _session(tmp_path, offset_ms=30.0, duration_s=60.0, seed=7,
                             extra=("--bleed-db", bleed_db, "--bleed-delay-ms", "30"))
    assert report["summary"]["n_steps"] == truth["steps"].size
    assert report["summary"]["asynchrony"]["mean_ms"] == pytest.approx(float(np.nanmean(truth["asynchrony_ms"])) - 30,
                                                                    abs=3.0)
    assert abs(report["summary"]["asynchrony"]["mean_ms"]) < 3.0, "on the heard beat"


def test_monitor_file_and_bleed_measure_the_loop_latency(tmp_path: Path) -> None:
    monitor = tmp_path / "monitor.wav"
    report, truth = _session(tmp_path, offset_ms=-20.0, duration_s=60.0, seed=6,
                             extra=("--monitor", str(monitor), "--bleed-db", "-12", "--bleed-delay-ms", "35"))
    lat = report["latency"]
    assert lat["n_latency_measurements"] > 100
    assert lat["measured_loop_latency_ms"] == pytest.approx(35.0, abs=1000 / SAMPLE_RATE)
    # With the ticks heard 35 ms after they were rendered, the runner (aligned to the rendered
    # grid) lands 20 + 35 ms before the heard beat: the report must see that, not -20 ms.
    assert report["summary"]["asynchrony"]["mean_ms"] == pytest.approx(float(np.nanmean(truth["asynchrony_ms"])) - 35,
                                                                    abs=3.0)
    assert report["summary"]["n_steps"] == pytest.approx(truth["steps"].size, abs=2), "ticks are not steps"
    audio, rate = soundfile.read(monitor)
    assert rate == SAMPLE_RATE and audio.shape == (60 * SAMPLE_RATE, 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline", "160", "--target", "190"], "+18.8 % from your baseline"),
        (["--baseline", "160", "--target", "fast"], "use +7% or a cadence"),
        (["--baseline", "160", "--fast"], "--fast needs --input-file"),
        (["--baseline", "160", "--input-file", "/no/such/run.wav"], "does not exist"),
    ],
)
def test_bad_session_input_is_one_line_exit_1(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["run", *args])
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_not_audio_input_is_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio")
    result = CliRunner().invoke(cli, ["run", "--baseline", "160", "--input-file", str(bogus), "--fast"])
    assert result.exit_code == 1 and "cannot read" in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_forced_target_and_default_plus_seven_percent(tmp_path: Path) -> None:
    report, _ = _session(tmp_path, target=190.0, baseline=160.0, duration_s=20.0, extra=("--force",))
    assert report["settings"]["target_spm"] == 190.0
    result = CliRunner().invoke(cli, ["run", "--baseline", "160", "--input-file", str(tmp_path / "run.wav"), "--fast",
                                      "--ramp", "0", "--json-report", str(tmp_path / "r2.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r2.json").read_text())["settings"]["target_spm"] == pytest.approx(171.2)


def _runner_file(tmp_path: Path, spm: float, duration_s: float, seed: int = 9) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(seed)
    steps = np.arange(0.4, duration_s - 0.3, 60.0 / spm) + rng.normal(0, 0.004, int(np.ceil(duration_s * spm / 60)))[
        : np.arange(0.4, duration_s - 0.3, 60.0 / spm).size]
    feet = ["L" if k % 2 == 0 else "R" for k in range(steps.size)]
    wav = tmp_path / f"runner-{spm:g}.wav"
    soundfile.write(wav, runner_recording(steps, feet, sample_rate=SAMPLE_RATE, duration_s=duration_s,
                                          seed=seed).astype(np.float32), SAMPLE_RATE)
    return wav, steps


def test_baseline_measured_in_a_silent_warmup_and_stored(tmp_path: Path) -> None:
    from coach.store import Store

    wav, _ = _runner_file(tmp_path, 164.0, 70.0)
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["run", "--warmup", "40s", "--plan", "steady", "--ramp", "0", "--input-file",
                                      str(wav), "--fast", "--json-report", str(report_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["settings"]["baseline_source"] == "measured in the warm-up"
    assert report["settings"]["baseline_spm"] == pytest.approx(164.0, abs=0.5)
    assert report["settings"]["target_spm"] == pytest.approx(1.07 * report["settings"]["baseline_spm"], abs=0.06)
    assert report["beats"][0]["time_s"] >= 40.0, "silent during the warm-up"
    assert report["intervals"][0]["label"] == "warm-up" and not report["intervals"][0]["sounding"]
    with Store() as store:
        assert store.latest_baseline()["baseline_spm"] == pytest.approx(report["settings"]["baseline_spm"])


def test_stored_baseline_is_used(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from coach.store import Store

    with Store() as store:
        store.add_baseline(158.0, measured_at=datetime.now(timezone.utc), method="test")
    wav, _ = _runner_file(tmp_path, 168.0, 15.0)
    result = CliRunner().invoke(cli, ["run", "--input-file", str(wav), "--fast", "--ramp", "0", "--json-report",
                                      str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    settings = json.loads((tmp_path / "r.json").read_text())["settings"]
    assert settings["baseline_spm"] == 158.0 and settings["baseline_source"] == "stored"
    assert settings["target_spm"] == pytest.approx(169.1)


def test_no_footfalls_in_the_warmup_is_a_clear_error(tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.wav"
    soundfile.write(quiet, (0.001 * np.random.default_rng(0).standard_normal(30 * SAMPLE_RATE)).astype(np.float32),
                    SAMPLE_RATE)
    result = CliRunner().invoke(cli, ["run", "--warmup", "20s", "--input-file", str(quiet), "--fast"])
    assert result.exit_code == 1
    assert "cannot measure your baseline" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    from coach.store import Store

    with Store() as store:  # not a single footfall: nothing to keep, no empty row for 'cadence log'
        assert store.sessions() == []


def test_session_is_in_the_history(tmp_path: Path) -> None:
    from coach.store import Store

    report, _ = _session(tmp_path, plan="intervals", duration_s=200.0, seed=12)
    with Store() as store:
        (session,) = store.sessions()
        sid = session["id"]
        assert len(store.steps(sid)) == report["summary"]["n_steps"]
        assert len(store.beats(sid)) == report["summary"]["n_beats"]
        assert [iv["label"] for iv in store.intervals(sid)] == [iv["label"] for iv in report["intervals"]]
        assert session["kind"] == "simulated" and session.get("ended_at")


def test_killed_session_keeps_all_but_the_last_seconds(tmp_path: Path) -> None:
    """A session running in real time is killed with SIGKILL: what it logged is intact."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from coach.store import Store
    from conftest import ROOT
    from session_process import wait_until_running

    wav, steps = _runner_file(tmp_path, 170.0, 30.0)
    proc = subprocess.Popen([sys.executable, "-m", "cli", "run", "--baseline", "160", "--input-file", str(wav)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        # from its first write (at most ~2 s into the audio), not from the launch: the imports
        # take seconds longer on a loaded machine
        wait_until_running(Path(os.environ["CADENCE_DB"]), settle_s=0.0)
        time.sleep(8.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with Store() as store:
        (session,) = store.sessions()
        logged = store.steps(session["id"])
    assert not session.get("ended_at"), "shown as incomplete"
    # Killed 8-10.5 s into the audio (later if the machine slowed it down); flushed every 2 s:
    # at most ~4 s of steps may be missing.
    assert np.sum(steps < 8.0 - 4.0) <= len(logged) <= np.sum(steps < 10.5) + 1
    assert [s["time_s"] for s in logged] == sorted(s["time_s"] for s in logged)


def test_cue_only_when_off_target(tmp_path: Path) -> None:
    """Ticks fall silent once the runner holds the target band, and sound while they are outside it."""
    on_target, _ = _session(tmp_path, offset_ms=-10.0, duration_s=60.0, seed=13, extra=("--cue-off-target",))
    late_beats = [b for b in on_target["beats"] if b["time_s"] > 15.0]
    assert on_target["beats"] and on_target["beats"][0]["time_s"] < 1.0, "ticks sound until the cadence is known"
    assert late_beats == [], "muted while the runner holds the target"
    wav, _ = _runner_file(tmp_path, 160.0, 60.0)  # 7 % under the 172 target
    result = CliRunner().invoke(cli, ["run", "--baseline", "161", "--target", "172", "--ramp", "0", "--input-file",
                                      str(wav), "--fast", "--cue-off-target", "--json-report", str(tmp_path / "o.json")])
    assert result.exit_code == 0, result.output
    beats = json.loads((tmp_path / "o.json").read_text())["beats"]
    assert len([b for b in beats if b["time_s"] > 15.0]) >= 0.95 * 45 * 172 / 60


def test_demo_runs_the_main_job_on_the_bundled_recording(tmp_path: Path) -> None:
    from conftest import SAMPLES

    truth = json.loads((SAMPLES / "session_demo.json").read_text())
    steps = np.array([s["time_s"] for s in truth["steps"]])
    result = CliRunner().invoke(cli, ["demo", "--json-report", str(tmp_path / "demo.json")])
    assert result.exit_code == 0, result.output
    assert "Session: 4:00, plan intervals" in result.stdout
    report = json.loads((tmp_path / "demo.json").read_text())
    assert report["summary"]["n_steps"] == pytest.approx(steps.size, abs=5)
    assert report["summary"]["cadence_spm"] == pytest.approx(60 * (steps.size - 1) / (steps[-1] - steps[0]), abs=0.5)
    assert report["summary"]["asynchrony"]["mean_ms"] == pytest.approx(truth["offset_ms"], abs=3.0)
    off = report["intervals"][1]
    assert not off["sounding"] and off["retention"]["tempo_before_spm"] == pytest.approx(175.0)
    assert off["retention"]["held_pct"] == pytest.approx(98.3, abs=1.0)  # the runner drifts back toward 171 spm


def test_live_baseline_listens_without_ticks(tmp_path: Path) -> None:
    """`cadence baseline --live` through the session engine (a recording as the microphone)."""
    from coach.store import Store

    wav, steps = _runner_file(tmp_path, 166.0, 60.0, seed=21)
    result = CliRunner().invoke(cli, ["baseline", "--live", "--duration", "60s", "--input-file", str(wav), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["baseline_spm"] == pytest.approx(166.0, abs=0.5)
    assert doc["runs"][0]["format"] == "live" and doc["runs"][0]["n_kept"] >= 0.95 * (steps.size - 2)
    with Store() as store:
        assert store.latest_baseline()["baseline_spm"] == pytest.approx(doc["baseline_spm"])


def test_ctrl_c_ends_a_session_cleanly_with_its_report(tmp_path: Path) -> None:
    """SIGINT in the middle of a real-time session: exit 0, the report, and the history entry."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from coach.store import Store
    from conftest import ROOT
    from session_process import sigint_as_in_a_terminal

    wav, steps = _runner_file(tmp_path, 170.0, 40.0)
    report_path = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "cli", "run", "--baseline", "160", "--input-file", str(wav),
                             "--json-report", str(report_path)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=sigint_as_in_a_terminal)
    time.sleep(10.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "Session:" in stdout and "(interrupted)" in stdout
    report = json.loads(report_path.read_text())
    assert report["interrupted"] is True and 3.0 < report["duration_s"] < 10.0
    played = steps[steps < report["duration_s"] - 0.1]
    assert report["summary"]["n_steps"] == pytest.approx(played.size, abs=2)
    with Store() as store:
        (session,) = store.sessions()
        assert session.get("ended_at") and len(store.steps(session["id"])) == report["summary"]["n_steps"]
