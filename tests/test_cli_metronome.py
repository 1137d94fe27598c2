import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from audio_helpers import find_tick_onsets
from cli.main import cli
from conftest import ROOT


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_render_json_lists_every_tick_that_sounds(tmp_path: Path) -> None:
    out = tmp_path / "track.wav"
    code, stdout, stderr = _run("render", str(out), "--spm", "172", "--duration", "7m", "--plan", "intervals", "--json")
    assert code == 0, stderr
    doc = json.loads(stdout)
    audio, sample_rate = soundfile.read(out, dtype="float32")
    assert sample_rate == 48000 and audio.shape == (7 * 60 * 48000, 2)
    onsets = find_tick_onsets(audio, threshold=0.02)
    assert [b["sample"] for b in doc["beats"]] == onsets.tolist()
    times = np.array([b["time_s"] for b in doc["beats"]])
    np.testing.assert_allclose(times, onsets / 48000, atol=1e-12)
    assert all((t % 180) < 120 for t in times), "no tick in an off minute"
    period = Fraction(60 * 48000) / 172
    assert doc["beats"][0]["sample"] == 0 and doc["beats"][1]["sample"] == math.floor(period + Fraction(1, 2))
    assert {b["channel"] for b in doc["beats"]} == {"both"} and not any(b["accent"] for b in doc["beats"])
    assert doc["n_beats"] == len(doc["beats"]) and doc["plan"] == "intervals" and doc["target_spm"] == 172
    assert "wrote" in stderr


def test_bpm_alias_every_other_step_flac_and_ears(tmp_path: Path) -> None:
    out = tmp_path / "track.flac"
    code, stdout, stderr = _run("render", str(out), "--bpm", "180", "--duration", "30s", "--every-other-step",
                                "--alternate-ears", "--accent", "2", "--sound", "cowbell", "--sample-rate", "44100",
                                "--json")
    assert code == 0, stderr
    beats = json.loads(stdout)["beats"]
    assert len(beats) == 45  # 90 ticks per minute for 30 s
    assert {b["channel"] for b in beats} == {"left"}
    assert [b["accent"] for b in beats[:4]] == [True, False, True, False]
    audio, sample_rate = soundfile.read(out)
    assert sample_rate == 44100 and np.abs(audio[:, 1]).max() == 0.0 and np.abs(audio[:, 0]).max() > 0.3


def test_user_wav_tick_and_toml_plan(tmp_path: Path) -> None:
    sound = tmp_path / "my-tick.wav"
    t = np.arange(2205) / 22050
    soundfile.write(sound, 0.8 * np.sin(2 * np.pi * 1800 * t) * np.exp(-t / 0.01), 22050)
    plan = tmp_path / "ladder.toml"
    plan.write_text('[[segment]]\nduration="10s"\nspm="baseline"\n[[segment]]\nduration="10s"\nspm="target"\n')
    code, stdout, stderr = _run("render", str(tmp_path / "o.wav"), "--spm", "180", "--baseline", "165",
                                "--duration", "20s", "--plan", str(plan), "--sound", str(sound), "--json")
    assert code == 0, stderr
    beats = json.loads(stdout)["beats"]
    intervals = np.diff([b["sample"] for b in beats])
    assert set(intervals[:25].tolist()) <= {17454, 17455}  # 60 * 48000 / 165
    assert set(intervals[-20:].tolist()) == {16000}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spm", "300"], "outside 60-240 spm"),
        (["--spm", "170", "--plan", "tempo-run"], "unknown plan 'tempo-run'"),
        (["--spm", "170", "--sound", "gong"], "tick sound 'gong'"),
        (["--spm", "170", "--baseline", "20"], "baseline 20 spm is outside"),
    ],
)
def test_bad_input_is_one_line_exit_1(tmp_path: Path, args: list[str], message: str) -> None:
    code, stdout, stderr = _run("render", str(tmp_path / "x.wav"), "--duration", "10s", *args)
    assert code == 1, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("Error:") and message in stderr, stderr
    assert stdout == ""


def test_unwritable_output_is_one_line_exit_1(tmp_path: Path) -> None:
    for target, message in [
        (tmp_path / "missing-dir" / "x.wav", "does not exist"),
        (tmp_path / "x.mp3", "use a .wav, .flac or .ogg"),
        (tmp_path, "is a directory"),
    ]:
        code, _, stderr = _run("render", str(target), "--spm", "170", "--duration", "10s")
        assert code == 1 and stderr.count("\n") == 1 and message in stderr, stderr


def test_force_allows_extreme_tempo(tmp_path: Path) -> None:
    code, stdout, stderr = _run("render", str(tmp_path / "x.wav"), "--spm", "300", "--force", "--duration", "10s", "--json")
    assert code == 0, stderr
    assert len(json.loads(stdout)["beats"]) == 50


def test_plans_lists_presets_and_prints_toml() -> None:
    code, stdout, _ = _run("plans")
    assert code == 0 and all(name in stdout for name in ("steady", "intervals", "itb", "strides", "ramp"))
    code, stdout, _ = _run("plans", "intervals")
    assert code == 0 and 'duration = "2m"' in stdout


BLOCK_SOUNDDEVICE = "import sys; sys.modules['sounddevice'] = None; from cli.main import cli; cli()"
# What sounddevice's loader meets on a machine without libportaudio: find_library finds nothing.
HIDE_PORTAUDIO = "import ctypes.util; ctypes.util.find_library = lambda name: None; from cli.main import cli; cli()"


def test_offline_commands_work_without_portaudio(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    probe = subprocess.run([sys.executable, "-c", "import metronome, stepdetect, metronome.render, cli.main"],
                           env=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    rendered = subprocess.run([sys.executable, "-c", BLOCK_SOUNDDEVICE, "render", str(tmp_path / "a.wav"), "--spm",
                               "170", "--duration", "5s"], env=env, capture_output=True, text=True)
    assert rendered.returncode == 0, rendered.stderr
    for prelude, install in ((BLOCK_SOUNDDEVICE, "pip install sounddevice"), (HIDE_PORTAUDIO, "apt-get install libportaudio2")):
        for command in (["play", "--spm", "170"], ["devices"]):
            live = subprocess.run([sys.executable, "-c", prelude, *command], env=env, capture_output=True, text=True)
            assert live.returncode == 1, live.stderr
            assert live.stderr.count("\n") == 1 and install in live.stderr, live.stderr


def test_cues_chime_at_interval_changes(tmp_path: Path) -> None:
    out = tmp_path / "cues.wav"
    code, stdout, stderr = _run("render", str(out), "--spm", "170", "--duration", "7m", "--plan", "intervals",
                                "--cues", "--json")
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert [(c["time_s"], c["kind"]) for c in doc["cues"]] == [(120.0, "stop"), (180.0, "start"), (300.0, "stop"),
                                                               (360.0, "start")]
    audio, sr = soundfile.read(out)
    off = audio[int(120.5 * sr) : 180 * sr]  # no ticks in the off minute, only the chime at its start
    assert np.abs(off).max() == 0.0
    chime = audio[120 * sr : int(120.25 * sr), 0]
    spectrum = np.abs(np.fft.rfft(chime))
    freqs = np.fft.rfftfreq(chime.size, 1 / sr)
    first_half, second_half = chime[: chime.size // 2], chime[chime.size // 2 :]
    def peak_hz(x: np.ndarray) -> float:
        s = np.abs(np.fft.rfft(x, 8 * x.size))
        return float(np.fft.rfftfreq(8 * x.size, 1 / sr)[np.argmax(s)])
    assert peak_hz(first_half) == pytest.approx(1760, abs=30) and peak_hz(second_half) == pytest.approx(1320, abs=30)
    assert spectrum[freqs < 800].sum() / spectrum.sum() < 0.05
