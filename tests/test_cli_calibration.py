"""`cadence calibrate` and cli/calibration.py: the figures, the file, and the command on recordings.

The figures are checked on synthetic per-tick latencies and tap times with known truth. The
command runs the real engine over real audio files: taps synthesized a known time after the
beat grid the calibration plays (tap mode), and a "mic" that hears the ticks after a known
delay (loopback mode, FileBackend bleed).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from coach import calibration
from coach.calibration import CalibrationError, load_entry, load_offset_ms, loopback_latency_ms, save, tap_offset_ms
from cli.main import cli
from metronome.settings import settings_from_options
from metronome.schedule import BeatClock
from samples.runner import runner_recording, steps_from_beats

SAMPLE_RATE = 22050
TICKS_PER_MIN = 120.0
PERIOD_S = 60.0 / TICKS_PER_MIN


@pytest.fixture(autouse=True)
def calibration_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cal" / "calibration.json"
    monkeypatch.setenv("CADENCE_CALIBRATION", str(path))
    return path


# ------------------------------------------------------------------------------ loopback figures
def test_loopback_median_spread_and_count(rng: np.random.Generator) -> None:
    latencies_s = 0.035 + rng.normal(0, 0.0002, 40)
    latencies_s[[3, 17]] = [0.020, 0.300]  # two ticks found in the wrong place
    result = loopback_latency_ms(latencies_s)
    assert result.loop_latency_ms == pytest.approx(35.0, abs=0.1)
    assert result.spread_ms < 1.0 and result.n_ticks == 40


def test_loopback_rejects_too_few_and_too_spread(rng: np.random.Generator) -> None:
    with pytest.raises(CalibrationError, match="heard 5 ticks, 8 are needed"):
        loopback_latency_ms(np.full(5, 0.035))
    with pytest.raises(CalibrationError, match=r"apart from one another .* at most 5 ms"):
        loopback_latency_ms(0.035 + rng.uniform(-0.010, 0.010, 40))


# ----------------------------------------------------------------------------------- tap figures
@pytest.mark.parametrize("offset_ms", [-40.0, 0.0, 180.0, 330.0])
def test_tap_offset_recovers_the_delay(rng: np.random.Generator, offset_ms: float) -> None:
    """Up to 3/4 of a beat late (330 ms at 120/min: slow Bluetooth) and early tappers alike."""
    ticks = np.arange(40) * PERIOD_S + 0.3
    taps = ticks + offset_ms / 1000 + rng.normal(0, 0.015, ticks.size)
    result = tap_offset_ms(taps, ticks)
    assert result.offset_ms == pytest.approx(offset_ms, abs=6.0)  # 15 ms SD over 40 taps: SE of the median 3 ms
    assert result.n_taps >= 39 and result.spread_ms < 60.0


def test_stray_and_double_taps_are_rejected(rng: np.random.Generator) -> None:
    ticks = np.arange(40) * PERIOD_S
    taps = ticks + 0.200 + rng.normal(0, 0.010, ticks.size)
    strays = ticks[::5] + 0.200 + 0.200  # a second tap 200 ms after every fifth
    result = tap_offset_ms(np.concatenate([taps, strays]), ticks)
    assert result.offset_ms == pytest.approx(200.0, abs=5.0)
    assert result.n_rejected == strays.size


def test_taps_that_do_not_follow_the_beat(rng: np.random.Generator) -> None:
    ticks = np.arange(40) * PERIOD_S
    with pytest.raises(CalibrationError, match="do not follow the beat"):
        tap_offset_ms(np.sort(rng.uniform(0, 20, 40)), ticks)
    with pytest.raises(CalibrationError, match="3 taps were heard, 8 are needed"):
        tap_offset_ms(ticks[:3] + 0.1, ticks)
    with pytest.raises(CalibrationError, match="fell while the ticks played"):
        tap_offset_ms(np.arange(10) * PERIOD_S + 100.0, ticks)  # all long after the last tick


# ---------------------------------------------------------------------------------------- storage
def test_storage_round_trip_history_and_pairs(calibration_file: Path) -> None:
    assert load_offset_ms("BT buds", "Laptop mic", 48000) is None
    t0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
    path = save("BT buds", "Laptop mic", sample_rate=48000, headphone_offset_ms=212.4, method="tap",
                details={"n_taps": 37}, now=t0)
    assert path == calibration_file and calibration_file.is_file()
    save("BT buds", "Laptop mic", sample_rate=48000, headphone_offset_ms=205.0, method="loopback",
         details={"n_ticks": 38})
    save("Wired", "Laptop mic", sample_rate=48000, headphone_offset_ms=-3.5, method="loopback")
    assert load_offset_ms("BT buds", "Laptop mic", 48000) == pytest.approx(205.0, abs=1e-9)  # the latest wins
    assert load_offset_ms("Wired", "Laptop mic", 48000) == pytest.approx(-3.5, abs=1e-9)
    assert load_offset_ms("Laptop mic", "BT buds", 48000) is None  # output | input, in that order
    entry = load_entry("BT buds", "Laptop mic", 48000)
    assert entry is not None
    assert [h["method"] for h in entry["history"]] == ["tap", "loopback"]
    assert entry["history"][0]["at"] == "2026-11-21T08:00:00+00:00" and entry["history"][0]["n_taps"] == 37
    assert sorted(p.name for p in calibration_file.parent.iterdir()) == ["calibration.json"]  # no temp file left
    for k in range(calibration.HISTORY_LENGTH + 3):
        save("BT buds", "Laptop mic", sample_rate=48000, headphone_offset_ms=float(k), method="tap")
    entry = load_entry("BT buds", "Laptop mic", 48000)
    assert entry is not None and len(entry["history"]) == calibration.HISTORY_LENGTH
    assert entry["history"][-1]["headphone_offset_ms"] == pytest.approx(calibration.HISTORY_LENGTH + 2, abs=1e-9)


def test_calibration_is_per_sample_rate(calibration_file: Path) -> None:
    """A device's buffering (hence its delay) depends on the rate: an offset measured at 48 kHz is
    not applied at 44.1 kHz."""
    save("BT buds", "Laptop mic", sample_rate=48000, headphone_offset_ms=212.0, method="tap")
    assert load_offset_ms("BT buds", "Laptop mic", 44100) is None
    save("BT buds", "Laptop mic", sample_rate=44100, headphone_offset_ms=190.0, method="tap")
    assert load_offset_ms("BT buds", "Laptop mic", 48000) == pytest.approx(212.0, abs=1e-9)
    assert load_offset_ms("BT buds", "Laptop mic", 44100) == pytest.approx(190.0, abs=1e-9)
    doc = json.loads(calibration_file.read_text())
    assert doc["version"] == 2
    assert sorted(doc["devices"]) == ["BT buds | Laptop mic | 44100 Hz", "BT buds | Laptop mic | 48000 Hz"]
    assert doc["devices"]["BT buds | Laptop mic | 44100 Hz"]["sample_rate"] == 44100


def test_version_1_file_is_migrated_to_the_recorded_rates(calibration_file: Path) -> None:
    """Version 1 kept one entry per pair; each calibration recorded its rate: they move to their rate.
    One without a rate stays in the file but is never applied."""
    old = {"version": 1, "devices": {
        "BT buds | Laptop mic": {
            "output_device": "BT buds", "input_device": "Laptop mic", "headphone_offset_ms": 205.0,
            "method": "loopback", "at": "2026-11-02T08:00:00+00:00",
            "history": [
                {"at": "2026-11-01T08:00:00+00:00", "method": "tap", "headphone_offset_ms": 190.0, "sample_rate": 44100},
                {"at": "2026-11-02T08:00:00+00:00", "method": "loopback", "headphone_offset_ms": 205.0,
                 "sample_rate": 48000, "n_ticks": 40},
            ]},
        "Wired | Laptop mic": {
            "output_device": "Wired", "input_device": "Laptop mic", "headphone_offset_ms": -3.0, "method": "tap",
            "at": "2026-11-03T08:00:00+00:00",
            "history": [{"at": "2026-11-03T08:00:00+00:00", "method": "tap", "headphone_offset_ms": -3.0}]},
    }}
    calibration_file.parent.mkdir(parents=True)
    calibration_file.write_text(json.dumps(old))
    assert load_offset_ms("BT buds", "Laptop mic", 44100) == pytest.approx(190.0, abs=1e-9)
    assert load_offset_ms("BT buds", "Laptop mic", 48000) == pytest.approx(205.0, abs=1e-9)
    assert load_entry("BT buds", "Laptop mic", 48000)["history"][0]["n_ticks"] == 40
    assert load_offset_ms("Wired", "Laptop mic", 48000) is None and load_offset_ms("Wired", "Laptop mic", 44100) is None
    save("Wired", "Laptop mic", sample_rate=48000, headphone_offset_ms=-2.0, method="tap")  # rewrites as version 2
    doc = json.loads(calibration_file.read_text())
    assert doc["version"] == 2
    assert sorted(doc["devices"]) == ["BT buds | Laptop mic | 44100 Hz", "BT buds | Laptop mic | 48000 Hz",
                                      "Wired | Laptop mic", "Wired | Laptop mic | 48000 Hz"]
    assert doc["devices"]["Wired | Laptop mic"]["history"][0]["headphone_offset_ms"] == -3.0, "nothing is lost"
    assert load_offset_ms("Wired", "Laptop mic", 48000) == pytest.approx(-2.0, abs=1e-9)


def test_broken_calibration_file_is_a_clear_error(calibration_file: Path) -> None:
    calibration_file.parent.mkdir(parents=True)
    calibration_file.write_text("{not json")
    with pytest.raises(CalibrationError, match="cannot be read.*delete it"):
        load_offset_ms("a", "b", 48000)
    calibration_file.write_text("[1, 2]")
    with pytest.raises(CalibrationError, match="not a cadence calibration"):
        save("a", "b", sample_rate=48000, headphone_offset_ms=1.0, method="tap")


# ------------------------------------------------------------------------------- the command
def _beat_grid(duration_s: float) -> np.ndarray:
    """Every tick the calibration plays (a steady plan at TICKS_PER_MIN), in seconds."""
    settings = settings_from_options(
        spm=TICKS_PER_MIN, duration_s=duration_s, plan="steady", baseline_spm=None, warmup_s=None, cooldown_s=None,
        every_other_step=False, sound="click", accent_every=0, alternate_ears=False, volume_db=-6, force=False,
    )
    clock = BeatClock(settings.timeline, SAMPLE_RATE, steps_per_tick=1)
    return np.array([t.start_sample / SAMPLE_RATE for t in clock.ticks_until(int(duration_s * SAMPLE_RATE))])


def _calibrate(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["calibrate", *args, "--fast", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("offset_ms", [180.0, -30.0])
def test_tap_mode_on_a_recording_measures_the_tap_delay(tmp_path: Path, calibration_file: Path,
                                                        offset_ms: float) -> None:
    duration_s = 20.0
    beats = _beat_grid(duration_s)
    taps, feet = steps_from_beats(beats, offset_ms=offset_ms, jitter_ms=3.0, rng=np.random.default_rng(5))
    keep = taps < duration_s - 0.3
    audio = runner_recording(taps[keep], [f for f, k in zip(feet, keep) if k], sample_rate=SAMPLE_RATE,
                             duration_s=duration_s, seed=5)
    wav = tmp_path / "taps.wav"
    soundfile.write(wav, audio.astype(np.float32), SAMPLE_RATE)
    doc = _calibrate("--mode", "tap", "--input-file", str(wav), "--duration", f"{duration_s:g}s")
    assert doc["headphone_offset_ms"] == pytest.approx(offset_ms, abs=3.0), doc
    assert doc["n_taps"] >= int(keep.sum()) - 2 and doc["n_rejected_taps"] == 0, doc
    assert doc["nominal_loop_latency_ms"] == 0.0 and doc["saved"] is False
    assert not calibration_file.exists(), "a simulation stores nothing"


def test_loopback_mode_measures_the_simulated_delay_to_the_sample(tmp_path: Path, rng: np.random.Generator) -> None:
    wav = tmp_path / "room.wav"
    soundfile.write(wav, (0.003 * rng.standard_normal(15 * SAMPLE_RATE)).astype(np.float32), SAMPLE_RATE)
    doc = _calibrate("--input-file", str(wav), "--bleed-db", "-20", "--bleed-delay-ms", "35")
    one_sample_ms = 1000.0 / SAMPLE_RATE
    assert doc["loop_latency_ms"] == pytest.approx(35.0, abs=one_sample_ms), doc
    assert doc["n_ticks"] >= 28 and doc["spread_ms"] <= one_sample_ms, doc
    # The simulated stream's nominal latency is the bleed delay itself: nothing unseen.
    assert doc["headphone_offset_ms"] == pytest.approx(0.0, abs=one_sample_ms)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fast"], "--fast needs --input-file"),
        (["--bleed-db", "-6"], "--bleed-db needs --input-file"),
        (["--input-file", "/no/such/room.wav"], "does not exist"),
        (["--device", "no-such-device-xyz"], "no input device 'no-such-device-xyz'"),
        (["--spm", "500"], "tick rate"),
    ],
)
def test_bad_calibrate_input_is_one_line_exit_1(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["calibrate", *args])
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_nothing_heard_is_one_line_exit_1(tmp_path: Path, rng: np.random.Generator) -> None:
    wav = tmp_path / "room.wav"
    soundfile.write(wav, (0.003 * rng.standard_normal(8 * SAMPLE_RATE)).astype(np.float32), SAMPLE_RATE)
    for mode, message in (("loopback", "the microphone heard 0 ticks"), ("tap", "taps were heard, 8 are needed")):
        result = CliRunner().invoke(cli, ["calibrate", "--mode", mode, "--input-file", str(wav), "--fast"])
        assert result.exit_code == 1, result.output
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_loopback_uses_the_loop_after_a_mid_run_jump() -> None:
    """An xrun moved the loop by one 42.7 ms period after 6 ticks: the last 14 ticks describe it."""
    before = [0.06115] * 6
    after = [0.10379 + 0.00002 * (k % 3) for k in range(14)]
    result = loopback_latency_ms(before + after)
    assert result.loop_latency_ms == pytest.approx(103.8, abs=0.05)
    assert result.n_ticks == 14 and result.spread_ms < 0.1
    with pytest.raises(CalibrationError, match="apart from one another"):
        loopback_latency_ms(before * 2 + after[:5])  # too few stable ticks after the jump


def _fake_sessions(monkeypatch: pytest.MonkeyPatch, runs: list[list[float]], interrupted: bool = False) -> list[int]:
    """``coach.calibrate.run_session`` replaced by one that 'measures' ``runs`` in turn (the loop
    logic of a calibration, without a sound server); returns the list the runs are counted in."""
    import types

    import coach.calibrate as cal

    measured = iter(runs)
    count: list[int] = []

    def run_session(run, *, hooks):  # type: ignore[no-untyped-def]
        count.append(1)
        hooks.on_session(types.SimpleNamespace(latency_measurements_s=next(measured), nominal_loop_latency_s=0.05,
                                               sample_rate=48000))
        return {"duration_s": 8.0, "interrupted": interrupted, "latency": {"stream_latency_ms": None}, "xruns": {}}

    monkeypatch.setattr(cal, "run_session", run_session)
    monkeypatch.setattr(cal, "RETRY_PAUSE_S", 0.0)
    return count


MOVED = [0.06115] * 12 + [0.10379] * 5  # the loop stepped by a period 5 ticks before the end
STEADY = [0.10379 + 0.00002 * (k % 3) for k in range(16)]


@pytest.mark.parametrize("interrupted", [False, True])
def test_a_live_loopback_whose_loop_moved_is_measured_once_more(monkeypatch: pytest.MonkeyPatch,
                                                                 interrupted: bool) -> None:
    """A sound server that re-buffers mid-calibration leaves too few ticks at the new loop: a live
    loopback says so and measures once more (the second run's figure is the one returned); a run the
    runner ended with Ctrl-C, or a second run whose loop moved too, ends with the one-line error."""
    import coach.calibrate as cal
    from coach.drive import RunHooks

    echoed: list[str] = []
    count = _fake_sessions(monkeypatch, [MOVED, STEADY], interrupted)
    request = cal.CalibrationRequest(mode="loopback", duration_s=8.0, save=False)
    hooks = RunHooks(echo=echoed.append)
    if interrupted:
        with pytest.raises(calibration.LoopMovedError, match="apart from one another"):
            cal.calibrate(request, hooks, None)
        assert echoed == [] and len(count) == 1
        return
    doc = cal.calibrate(request, hooks, None)
    assert len(echoed) == 1 and echoed[0].endswith("the loop moved: measuring once more"), echoed
    assert doc["loop_latency_ms"] == pytest.approx(103.8, abs=0.05) and doc["n_ticks"] == 16 and len(count) == 2
    _fake_sessions(monkeypatch, [MOVED, MOVED])
    with pytest.raises(calibration.LoopMovedError, match="apart from one another"):
        cal.calibrate(request, hooks, None)


def test_what_a_second_run_cannot_mend_is_not_measured_again(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path, rng: np.random.Generator) -> None:
    """Ticks scattered every way (an unreliable microphone), too few ticks, or a recording (it would
    hear the same again): one run, the one-line error."""
    import coach.calibrate as cal
    from coach.drive import RunHooks
    from coach.request import FileInput

    scattered = list(0.08 + rng.uniform(-0.03, 0.03, 20))
    live = cal.CalibrationRequest(mode="loopback", duration_s=8.0, save=False)
    recording = cal.CalibrationRequest(mode="loopback", duration_s=8.0, save=False,
                                       input=FileInput(path=tmp_path / "loop.wav"))
    for request, runs, message in [(live, scattered, "apart from one another"), (live, STEADY[:5], "heard 5 ticks"),
                                   (recording, MOVED, "apart from one another")]:
        echoed: list[str] = []
        count = _fake_sessions(monkeypatch, [runs, STEADY])
        with pytest.raises(CalibrationError, match=message) as raised:
            cal.calibrate(request, RunHooks(echo=echoed.append), None)
        assert len(count) == 1 and echoed == [], (message, echoed)
        assert isinstance(raised.value, calibration.LoopMovedError) == (request is recording)
