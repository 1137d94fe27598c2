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
                          timeout=timeout, env=full_env, cwd=cwd)


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
    for argv in (["history", "--json"], ["export", "--format", "json"], ["export", "--format", "json", "--what", "steps"],
                 ["analyze", str(quiet), "--json"]):
        done = cadence(*argv)
        assert done.returncode == 0, done.stderr
        strict_json(done.stdout)
