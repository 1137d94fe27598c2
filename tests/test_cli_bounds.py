"""Bounds on what a user (or a typo) can ask for: tempo, disk, plan size, file length, option
values, offsets, conflicting options, message wording. Every test runs the real CLI in a
subprocess on real files and checks the one-line error or the bounded result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from conftest import ROOT, SAMPLES


def cadence(*args: str, timeout: float = 120, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``cadence ARGS`` in a fresh interpreter (the test's history/calibration env is inherited)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("CADENCE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd or ROOT)


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN/Infinity (RFC 8259), as browsers and most tools do."""
    def refuse(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode != 0, result.stdout[-500:]
    err = result.stderr.strip()
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- item 6: tempo bound with --force, free space, RF64 -----------------------------------------

@pytest.mark.parametrize("command", ["render", "run"])
def test_force_tempo_is_bounded(tmp_path: Path, command: str) -> None:
    if command == "render":
        args = ["render", str(tmp_path / "t.wav"), "--duration", "10s", "--force"]
    else:
        args = ["run", "--baseline", "160", "--input-file", str(SAMPLES / "road_earbud.flac"), "--fast",
                "--no-save", "--force"]
    result = cadence(*args, "--spm", "1e9", timeout=60)  # used to hang (a beat every sample)
    assert_one_line_error(result, "20-400 spm")
    result = cadence(*args, "--spm", "inf", timeout=60)
    assert_one_line_error(result, "finite")
    assert not (tmp_path / "t.wav").exists()


def test_force_allows_400_spm(tmp_path: Path) -> None:
    result = cadence("render", str(tmp_path / "t.wav"), "--spm", "400", "--force", "--duration", "3s",
                     "--sample-rate", "8000", "--json")
    assert result.returncode == 0, result.stderr
    assert strict_json(result.stdout)["n_beats"] == 20


def test_render_refuses_what_the_disk_cannot_hold(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    hours = int(2 * free / (192000 * 2 * 2 * 3600)) + 1  # twice the free space as 192 kHz stereo WAV
    out = tmp_path / "huge.wav"
    result = cadence("render", str(out), "--spm", "180", "--duration", f"{hours}h", "--sample-rate", "192000",
                     timeout=30)
    line = assert_one_line_error(result, "GiB free", str(tmp_path))
    assert "needs about" in line
    assert not out.exists()


def test_wav_above_4_gib_is_written_as_rf64() -> None:
    from cli.cmd_metronome import WAV_MAX_DATA_BYTES, estimated_size_bytes, output_format

    rate, ch = 48000, 2
    six_h = 6 * 3600 * rate  # 4.1 GB of 16-bit stereo: still fits a RIFF size field
    seven_h = 7 * 3600 * rate  # 4.8 GB: would wrap around in a RIFF WAV
    assert output_format(Path("a.wav"), six_h, ch) == ("WAV", "PCM_16")
    assert output_format(Path("a.wav"), seven_h, ch) == ("RF64", "PCM_16")
    assert output_format(Path("a.WAV"), 7 * 3600 * rate, 1) == ("WAV", "PCM_16")  # mono: 2.4 GB
    assert output_format(Path("a.flac"), seven_h, ch) == ("FLAC", "PCM_16")
    limit_frames = WAV_MAX_DATA_BYTES // (2 * ch)
    assert output_format(Path("a.wav"), limit_frames, ch)[0] == "WAV"
    assert output_format(Path("a.wav"), limit_frames + 1, ch)[0] == "RF64"
    assert estimated_size_bytes("WAV", seven_h, ch) >= seven_h * ch * 2


def test_rf64_round_trips_through_libsndfile(tmp_path: Path) -> None:
    """The format chosen above 4 GiB is one libsndfile writes and reads back with exact sizes."""
    y = np.sin(np.arange(48000) / 10.0).astype(np.float32)[:, None].repeat(2, axis=1) * 0.5
    path = tmp_path / "x.wav"
    soundfile.write(str(path), y, 48000, format="RF64", subtype="PCM_16")
    info = soundfile.info(str(path))
    assert info.format == "RF64" and info.frames == 48000 and info.channels == 2
    assert path.read_bytes()[:4] == b"RF64"


# --- item 9: render --json lists every tick, past the renderer's 65,536-tick log -----------------

def test_render_json_lists_more_than_65536_ticks(tmp_path: Path) -> None:
    out = tmp_path / "long.flac"
    # 400 spm for 2 h 50 min = 68,000 ticks (the log ring holds 65,536)
    result = cadence("render", str(out), "--spm", "400", "--force", "--duration", "2h50m", "--sample-rate", "8000",
                     "--channels", "1", "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    doc = strict_json(result.stdout)
    assert doc["n_beats"] == 68000 and len(doc["beats"]) == 68000
    samples = np.array([b["sample"] for b in doc["beats"]])
    assert np.all(np.diff(samples) == 1200)  # 8000 Hz * 60 / 400: none lost, none repeated
    assert "68000 ticks" in result.stderr


# --- item 10: non-finite option values, strict JSON -------------------------------------------------

@pytest.mark.parametrize(("option", "value"), [
    ("--tolerance-ms", "nan"), ("--bleed-db", "nan"), ("--bleed-db", "inf"), ("--headphone-offset-ms", "nan"),
    ("--baseline", "nan"), ("--spm", "-inf"), ("--volume", "nan"), ("--bleed-delay-ms", "inf"),
    ("--bleed-delay-ms", "nan"),
])
def test_run_rejects_non_finite_options(option: str, value: str) -> None:
    base = ["run", "--input-file", str(SAMPLES / "road_earbud.flac"), "--fast", "--no-save"]
    if option != "--baseline":
        base += ["--baseline", "160"]
    result = cadence(*base, option, value, timeout=60)
    line = assert_one_line_error(result, option)
    assert "finite" in line or f"{value} ms is outside 0..500 ms" in line, line


@pytest.mark.parametrize("argv", [
    ["render", "OUT", "--spm", "nan", "--duration", "10s"],
    ["render", "OUT", "--spm", "180", "--duration", "10s", "--baseline", "inf"],
    ["render", "OUT", "--spm", "inf", "--force", "--duration", "10s"],
    ["calibrate", "--input-file", "IN", "--fast", "--bleed-db", "nan"],
    ["baseline", "--from", "IN", "--min-running-spm", "nan", "--no-save"],
    ["target", "--baseline", "nan"],
    ["log", "--pain-during", "nan"],
])
def test_other_commands_reject_non_finite_options(tmp_path: Path, argv: list[str]) -> None:
    argv = [str(tmp_path / "t.wav") if a == "OUT" else str(SAMPLES / "road_earbud.flac") if a == "IN" else a
            for a in argv]
    assert_one_line_error(cadence(*argv, timeout=60), "finite")
    assert not (tmp_path / "t.wav").exists()


def test_nan_tick_sound_file_is_rejected(tmp_path: Path) -> None:
    y = np.zeros(4800, dtype=np.float32)
    y[10:200] = 0.5
    y[300] = np.nan
    sound = tmp_path / "tick.wav"
    soundfile.write(str(sound), y, 48000, subtype="FLOAT")
    result = cadence("render", str(tmp_path / "t.wav"), "--spm", "180", "--duration", "10s", "--sound", str(sound))
    assert_one_line_error(result, "tick sound", "NaN")


def test_json_outputs_are_strict_json(tmp_path: Path) -> None:
    """Every JSON a session touches parses with a strict parser (no NaN/Infinity), including a
    session where figures are undefined (silence: no footfalls)."""
    quiet = tmp_path / "quiet.wav"
    soundfile.write(str(quiet), np.zeros(8000 * 20, dtype=np.float32), 8000)
    report = tmp_path / "r.json"
    result = cadence("run", "--baseline", "160", "--input-file", str(quiet), "--fast", "--json-report", str(report))
    assert result.returncode == 0, result.stderr
    strict_json(report.read_text())
    for argv in (["history", "--json"], ["export", "--format", "json"],
                 ["export", "--format", "json", "--what", "steps"], ["analyze", str(quiet), "--json"]):
        done = cadence(*argv)
        assert done.returncode == 0, done.stderr
        strict_json(done.stdout)


# --- item 8: long files are streamed; memory does not grow with length ------------------------------

def write_long_recording(path: Path, minutes: float, sample_rate: int = 16000) -> None:
    """A real 12-s road recording (earbud mic), mono at ``sample_rate``, repeated for ``minutes``,
    written block by block."""
    from scipy.signal import resample_poly

    y, source_rate = soundfile.read(str(SAMPLES / "road_earbud.flac"), dtype="float64")
    mono = resample_poly(y.mean(axis=1), sample_rate, source_rate)
    n_total = int(minutes * 60 * sample_rate)
    with soundfile.SoundFile(str(path), "w", samplerate=sample_rate, channels=1, subtype="PCM_16") as f:
        written = 0
        while written < n_total:
            chunk = mono[: n_total - written]
            f.write(chunk)
            written += chunk.size


PEAK_RSS = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(done.stderr)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mb(*args: str) -> tuple[int, float, str]:
    """Run ``cadence ARGS`` and return (exit code, its peak resident memory in MB, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "cli", *args],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    code, kib = done.stdout.split()
    return int(code), int(kib) / 1024, done.stderr


def test_analyze_memory_does_not_grow_with_file_length(tmp_path: Path) -> None:
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    write_long_recording(short, 5)
    write_long_recording(long, 30)  # the whole-file reader peaked at ~27 bytes/sample: 780 MB here
    code, short_mb, err = peak_rss_mb("analyze", str(short), "--json")
    assert code == 0, err
    code, long_mb, err = peak_rss_mb("analyze", str(long), "--json")
    assert code == 0, err
    assert long_mb < 300, f"30 min peaked at {long_mb:.0f} MB"
    assert long_mb - short_mb < 40, f"5 min: {short_mb:.0f} MB, 30 min: {long_mb:.0f} MB"
    report = strict_json(cadence("analyze", str(long), "--json", timeout=300).stdout)
    # the 12-s clip repeats 150 times: the same footfalls in every repetition
    per_clip = strict_json(cadence("analyze", str(SAMPLES / "road_earbud.flac"), "--json").stdout)["n_steps"]
    assert abs(report["n_steps"] - 150 * per_clip) <= 150, (report["n_steps"], per_clip)
    assert report["duration_s"] == pytest.approx(1800.0)


@pytest.mark.parametrize("with_ticks", [False, True])
def test_streamed_analysis_equals_the_whole_file_run(tmp_path: Path, with_ticks: bool) -> None:
    """analyze reads 10-s blocks; the footfalls are those of one detector call over the whole
    4-min recording (ticks fed as the stream reaches them, or all at once)."""
    from coach.audio_io import read_audio
    from stepdetect.online import detect_footfalls

    audio = SAMPLES / "session_demo.ogg"
    args = ["analyze", str(audio), "--json"]
    ticks_s = None
    if with_ticks:
        rendered = cadence("render", str(tmp_path / "ticks.wav"), "--spm", "175", "--duration", "4m",
                           "--sample-rate", "22050", "--json")
        ticks_path = tmp_path / "ticks.json"
        ticks_path.write_text(rendered.stdout)
        ticks_s = np.array([b["time_s"] for b in strict_json(rendered.stdout)["beats"]])
        args += ["--ticks", str(ticks_path)]
    streamed = strict_json(cadence(*args).stdout)
    y, rate = read_audio(audio)
    whole = detect_footfalls(y, sample_rate=rate, tick_times_s=ticks_s)
    assert streamed["n_steps"] == len(whole) > 300
    np.testing.assert_allclose([s["time_s"] for s in streamed["steps"]], whole.time_s, atol=5e-5)  # rounded to 0.1 ms
    np.testing.assert_allclose([s["confidence"] for s in streamed["steps"]], whole.confidence, atol=5e-4)


def test_baseline_from_long_recording_is_streamed(tmp_path: Path) -> None:
    long = tmp_path / "long.wav"
    write_long_recording(long, 30)
    code, mb, err = peak_rss_mb("baseline", "--from", str(long), "--json", "--no-save")
    assert code == 0, err
    assert mb < 300, f"baseline --from a 30 min recording peaked at {mb:.0f} MB"


def test_analyze_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    import pty

    long = tmp_path / "long.wav"
    write_long_recording(long, 6)
    piped = cadence("analyze", str(long))
    assert piped.returncode == 0 and "analyzing" not in piped.stderr
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "analyze", str(long)], stdout=subprocess.PIPE,
                            stderr=follower, env=env, text=True, cwd=ROOT)
    os.close(follower)
    out, _ = proc.communicate(timeout=120)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0 and "Footfalls:" in out
    assert b"analyzing" in seen and b"%" in seen


def write_accel_run_with_jump(path: Path, jump_s: int, rng: np.random.Generator, *, run_s: float = 60.0,
                              spm: float = 170.0, rate_hz: float = 100.0) -> None:
    """Two one-minute runs (phone in a pocket: a 2 g loading bump per footfall, sway, noise,
    gravity) logged in the Oxford layout (int64 ns timestamps), ``jump_s`` apart."""
    g = 9.80665
    period_s = 60.0 / spm
    rows = []
    t0_ns = 376_184_715_063
    for k, offset_s in enumerate((0, jump_s)):
        t = np.arange(0.0, run_s, 1.0 / rate_hz)
        steps = np.arange(0.5, run_s - 0.5, period_s)
        vertical = sum(2.0 * g * np.exp(-0.5 * ((t - s) / 0.05) ** 2) for s in steps)
        sway = 3.0 * np.sin(np.pi * t / period_s)
        xyz = np.column_stack([sway, 0.5 * sway, g + vertical - vertical.mean()]) + rng.normal(0, 0.3, (t.size, 3))
        ns = t0_ns + (offset_s * 10**9 + np.round(t * 1e9).astype(np.int64))
        rows += [f"{n},3,{x:.6f},{y:.6f},{z:.6f}" for n, (x, y, z) in zip(ns, xyz)]
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("jump", ["day", "year"])
def test_accel_timestamp_jump_is_a_gap(tmp_path: Path, rng: np.random.Generator, jump: str) -> None:
    """A logger off for a day or a year: two stretches and a gap, not an array over the span
    (a day took 868 MB, a year was a MemoryError)."""
    jump_s = 86400 if jump == "day" else 365 * 86400
    csv_path = tmp_path / "two_runs.csv"
    write_accel_run_with_jump(csv_path, jump_s, rng)
    code, mb, err = peak_rss_mb("analyze", "--accel", str(csv_path), "--json")
    assert code == 0, err
    assert mb < 300, f"{mb:.0f} MB"
    report = strict_json(cadence("analyze", "--accel", str(csv_path), "--json").stdout)
    times = np.array([s["time_s"] for s in report["steps"]])
    first, second = times[times < jump_s], times[times >= jump_s]
    assert 150 <= first.size <= 175 and 150 <= second.size <= 175, (first.size, second.size)  # 167 per run
    assert report["cadence_spm"] == pytest.approx(170.0, abs=2.0)
    assert len(report["gaps"]) == 1 and report["gaps"][0]["end_s"] >= jump_s
    assert report["duration_s"] == pytest.approx(jump_s + 60.0, abs=1.0)
    assert len(report["cadence_track"]) < 200  # windows over the runs, none over the pause
    summary = cadence("analyze", "--accel", str(csv_path))
    assert summary.returncode == 0 and "Gaps:" in summary.stdout


# --- item 7: plan expansion is bounded -------------------------------------------------------------

NESTED_PLAN = """
[[segment]]
times = 1000
segments = [ { times = 1000, segments = [ { times = 1000, segments = [ { duration = "1s", spm = "target" } ] } ] } ]
"""

TINY_REPEAT_PLAN = """
repeat = true
[[segment]]
duration = 0.001
spm = "target"
[[segment]]
duration = 0.001
spm = "baseline"
"""


def test_nested_times_are_capped(tmp_path: Path) -> None:
    plan = tmp_path / "nested.toml"
    plan.write_text(NESTED_PLAN)
    result = cadence("render", str(tmp_path / "t.wav"), "--spm", "170", "--duration", "10s", "--plan", str(plan),
                     timeout=30)  # a billion segments used to hang
    assert_one_line_error(result, "1000 x 1000 segments", "10,000")


def test_repeating_millisecond_segments_are_capped(tmp_path: Path) -> None:
    plan = tmp_path / "tiny.toml"
    plan.write_text(TINY_REPEAT_PLAN)
    # no --duration: laid out over 24 h, 86 million entries (out of memory before)
    result = cadence("run", "--baseline", "160", "--spm", "170", "--plan", str(plan), "--input-file",
                     str(SAMPLES / "road_earbud.flac"), "--fast", "--no-save", timeout=30)
    assert_one_line_error(result, "more than 100,000 segments", "24 h")
    result = cadence("render", str(tmp_path / "t.wav"), "--spm", "170", "--duration", "2h", "--plan", str(plan),
                     timeout=30)
    assert_one_line_error(result, "more than 100,000 segments")
    # a short render of the same plan is fine: 10 s hold 10,000 segments
    result = cadence("render", str(tmp_path / "t.wav"), "--spm", "170", "--duration", "10s", "--plan", str(plan),
                     "--json")
    assert result.returncode == 0, result.stderr
    assert abs(len(strict_json(result.stdout)["segments"]) - 10_000) <= 1  # (float sums of 1 ms)


# --- item 11: headphone offsets are range-checked --------------------------------------------------

def test_negative_offset_with_input_file_is_refused_clearly() -> None:
    base = ["run", "--baseline", "160", "--input-file", str(SAMPLES / "road_earbud.flac"), "--fast", "--no-save"]
    line = assert_one_line_error(cadence(*base, "--headphone-offset-ms", "-20"), "--headphone-offset-ms -20")
    assert "tick times" not in line and "0 to 1000 ms" in line
    assert_one_line_error(cadence(*base, "--headphone-offset-ms", "5000"), "-1000.0<=x<=1000.0")
    ok = cadence(*base, "--headphone-offset-ms", "180")
    assert ok.returncode == 0, ok.stderr


BAD_OFFSETS = ["NaN", "Infinity", "1e9", "-3000", "true", '"12"']


@pytest.mark.parametrize("raw", BAD_OFFSETS)
def test_calibration_file_offsets_are_validated(tmp_path: Path, raw: str) -> None:
    from coach.calibration import CalibrationError, load_offset_ms

    from coach.calibration import device_key

    path = tmp_path / "calibration.json"
    key = json.dumps(device_key("Buds", "Mic", 48000))
    path.write_text('{"version": 2, "devices": {%s: {"headphone_offset_ms": %s}}}' % (key, raw))
    with pytest.raises(CalibrationError, match="run 'cadence calibrate' again") as caught:
        load_offset_ms("Buds", "Mic", 48000, path=path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    path.write_text('{"version": 2, "devices": {%s: {"headphone_offset_ms": 212.5}}}' % key)
    assert load_offset_ms("Buds", "Mic", 48000, path=path) == 212.5
    # what loopback calibration stores through PulseAudio's 'pulse' device: a loop of 61 ms against
    # the 170.7 ms PortAudio reports
    path.write_text('{"version": 2, "devices": {%s: {"headphone_offset_ms": -109.5}}}' % key)
    assert load_offset_ms("Buds", "Mic", 48000, path=path) == -109.5


def test_deeply_nested_calibration_file_is_a_clear_error(tmp_path: Path) -> None:
    from coach.calibration import CalibrationError, load_offset_ms

    path = tmp_path / "calibration.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CalibrationError, match="nested too deeply"):
        load_offset_ms("Buds", "Mic", 48000, path=path)


# --- item 12: conflicting options are refused, not resolved silently ------------------------------

def test_baseline_from_and_live_conflict() -> None:
    result = cadence("baseline", "--from", str(SAMPLES / "road_earbud.flac"), "--live", "--input-file",
                     str(SAMPLES / "road_earbud.flac"), "--no-save")
    line = assert_one_line_error(result, "--from", "--live", "not both")
    assert result.returncode == 2, line  # a usage error


# --- item 13: user-caused problems are named as such; misleading messages --------------------------

@pytest.mark.parametrize("ticks", ['{"beats": [1, 2, 3]}', '{"beats": [{"t": 1}]}', '{"ticks_s": [[1]]}',
                                   '[{"a": 1}]', '{"ticks_s": [1, null]}', "[" * 100_000 + "]" * 100_000])
def test_tick_list_of_the_wrong_shape(tmp_path: Path, ticks: str) -> None:
    path = tmp_path / "ticks.json"
    path.write_text(ticks)
    result = cadence("analyze", str(SAMPLES / "road_earbud.flac"), "--ticks", str(path))
    assert_one_line_error(result, str(path), "not a tick list")


def test_deeply_nested_toml_plan(tmp_path: Path) -> None:
    plan = tmp_path / "deep.toml"
    plan.write_text("x = " + "[" * 2000 + "]" * 2000 + "\n")
    result = cadence("render", str(tmp_path / "t.wav"), "--spm", "170", "--duration", "10s", "--plan", str(plan))
    assert_one_line_error(result, "plan deep", "nested too deeply")


def test_read_only_database_is_named(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    assert cadence("history", "--db", str(db)).returncode == 0  # creates it
    immutable = os.geteuid() == 0  # root writes through permissions: make the file immutable instead
    if immutable:
        subprocess.run(["chattr", "+i", str(db)], check=True)
    else:
        db.chmod(0o444)
    try:
        result = cadence("run", "--baseline", "160", "--input-file", str(SAMPLES / "road_earbud.flac"), "--fast",
                         "--db", str(db))
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(db)], check=True)
    assert_one_line_error(result, "history database", "readonly")


def test_sample_rate_message_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "low.wav"
    soundfile.write(str(path), np.zeros(2000 * 10), 2000)
    line = assert_one_line_error(cadence("analyze", str(path)), str(path), "2000 Hz", "4000-384000 Hz")
    assert "period" not in line


def test_no_running_records_counts_those_above_the_range(tmp_path: Path) -> None:
    import re

    gpx = (ROOT / "tests" / "data" / "activities" / "run_garmin.gpx").read_text()
    path = tmp_path / "fast.gpx"
    path.write_text(re.sub(r"<gpxtpx:cad>\d+</gpxtpx:cad>", "<gpxtpx:cad>260</gpxtpx:cad>", gpx))
    line = assert_one_line_error(cadence("baseline", "--from", str(path), "--no-save"), "no running records")
    assert "0 below 140 spm" in line and "above 240 spm" in line and " 0 above" not in line


def test_timestamps_beyond_int64_span(tmp_path: Path) -> None:
    rows = (ROOT / "tests" / "data" / "accel" / "oxford_excerpt.csv").read_text().split()
    out = [",".join([str(-9 * 10**18 if i == 0 else 9 * 10**18 + i), *r.split(",")[1:]]) for i, r in enumerate(rows)]
    path = tmp_path / "wrapped.csv"
    path.write_text("\n".join(out) + "\n")
    line = assert_one_line_error(cadence("analyze", "--accel", str(path)), "292 years")
    assert "not sorted" not in line


def test_a_tone_is_not_a_baseline(tmp_path: Path) -> None:
    path = tmp_path / "square.wav"
    t = np.arange(16000 * 60) / 16000
    soundfile.write(str(path), 0.5 * np.sign(np.sin(2 * np.pi * 1000 * t)), 16000)
    assert_one_line_error(cadence("baseline", "--from", str(path), "--no-save"), "no steady running rhythm")


def test_non_utf8_file_names(tmp_path: Path) -> None:
    src = os.fsdecode(bytes(tmp_path) + b"/run-\xff.flac")
    shutil.copy(SAMPLES / "road_earbud.flac", src)
    analyzed = cadence("analyze", src, "--json")
    assert analyzed.returncode == 0, analyzed.stderr
    assert strict_json(analyzed.stdout)["n_steps"] > 20
    out = os.fsdecode(bytes(tmp_path) + b"/ticks-\xfe.wav")
    rendered = cadence("render", out, "--spm", "170", "--duration", "5s")
    assert rendered.returncode == 0, rendered.stderr
    assert soundfile.info(os.fsencode(out)).frames == 5 * 48000
    ran = cadence("run", "--baseline", "160", "--input-file", src, "--fast")
    assert ran.returncode == 0, ran.stderr
    exported = cadence("export", "--format", "json")
    assert "run-\\\\xff.flac" in exported.stdout  # the device column names the file, bytes escaped


def test_negative_schema_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "history.db"
    assert cadence("history", "--db", str(db)).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = -1")
        tables_before = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    assert_one_line_error(cadence("history", "--db", str(db)), "schema version -1")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == -1
        assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == tables_before


def test_closed_pipe_is_quiet(tmp_path: Path) -> None:
    for argv in (["plan", "--baseline", "165"], ["render", str(tmp_path / "t.wav"), "--spm", "170", "--duration",
                                                  "20m", "--json"]):
        proc = subprocess.Popen([sys.executable, "-m", "cli", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
        proc.stdout.close()  # `| head -0`: the reader is gone before anything is written
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
        proc.stderr.close()
        assert "Broken pipe" not in err and "Error" not in err and "Traceback" not in err, err


def test_gaps_summary_stays_one_short_line(tmp_path: Path) -> None:
    """40 pauses of 4 s in a 10-min run: the text summary lists a few; the JSON lists all."""
    y, rate = soundfile.read(str(SAMPLES / "road_earbud.flac"), dtype="float32")
    path = tmp_path / "stop_and_go.wav"
    with soundfile.SoundFile(str(path), "w", samplerate=rate, channels=y.shape[1], subtype="PCM_16") as f:
        for _ in range(40):
            f.write(y)
            f.write(np.zeros((4 * rate, y.shape[1]), dtype=np.float32))
    report = strict_json(cadence("analyze", str(path), "--json").stdout)
    assert len(report["gaps"]) >= 39
    text = cadence("analyze", str(path)).stdout
    gaps_line = next(line for line in text.splitlines() if line.startswith("Gaps:"))
    assert len(gaps_line) < 400 and f"{len(report['gaps'])}:" in gaps_line and "more (all in --json)" in gaps_line


def test_mp3_decoder_chatter_stays_off_stderr(tmp_path: Path) -> None:
    y, rate = soundfile.read(str(SAMPLES / "road_earbud.flac"))
    clean = tmp_path / "clean.mp3"
    soundfile.write(str(clean), y, rate, format="MP3")
    data = clean.read_bytes()
    odd = tmp_path / "odd.mp3"  # junk in the middle: libmpg123 prints "Note: Illegal Audio-MPEG-Header..."
    odd.write_bytes(data[: len(data) // 2] + b"JUNKJUNK" * 100 + data[len(data) // 2:])
    result = cadence("analyze", str(odd))
    assert result.returncode == 0 and "Footfalls:" in result.stdout
    assert result.stderr == "", result.stderr
