"""Live playback through real PortAudio into a PulseAudio null sink, recorded independently
from the sink's monitor with parecord (PulseAudio's own client, not PortAudio)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from audio_helpers import find_tick_onsets
from conftest import ROOT
from session_process import sigint_as_in_a_terminal

pytestmark = pytest.mark.audio

SAMPLE_RATE = 48000


def _cadence(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _record(sink: str, path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["parecord", f"--device={sink}.monitor", f"--rate={SAMPLE_RATE}", "--channels=2", "--format=float32le",
         "--file-format=wav", str(path)],
    )


def _stop(recorder: subprocess.Popen[bytes]) -> None:
    recorder.send_signal(signal.SIGINT)
    recorder.wait(timeout=10)


def test_sixty_seconds_sample_exact_with_at_most_one_underflow(pulse_sink: str, tmp_path: Path) -> None:
    """62 s of `cadence play`: every tick interval in the independent recording sample-exact (99 %).

    At most one output underflow: this process runs no detector, and `cadence play` freezes the
    heap before its stream starts as sessions do (no full garbage collection of the ~70 000 objects
    its imports made, 20 ms on the loaded machine, while the callback needs the GIL); yet one
    underflow came, before that freeze, in one of the runs made
    beside the non-audio suite and six CPU-bound benchmarks on the 2-core test machine (load ~8):
    PortAudio's thread or the sound server not scheduled for longer than the buffer at
    ``--latency high`` lasts. The underflow inserts silence once, so at most two intervals are off:
    the 99 % sample-exact bar below still holds the timing to account."""
    spm = 170.0
    recording = tmp_path / "monitor.wav"
    recorder = _record(pulse_sink, recording)
    time.sleep(0.5)
    try:
        played = subprocess.run(
            _cadence("play", "--spm", str(spm), "--duration", "62s", "--device", "pulse", "--sample-rate",
                     str(SAMPLE_RATE), "--latency", "high", "--json"),
            env=_env(), capture_output=True, text=True, timeout=120,
        )
        time.sleep(0.5)
    finally:
        _stop(recorder)
    assert played.returncode == 0, played.stderr
    summary = json.loads(played.stdout)
    assert summary["stream"]["output_underflows"] <= 1, summary["stream"]
    assert summary["duration_s"] >= 60.0
    audio, rate = soundfile.read(recording, dtype="float64")
    assert rate == SAMPLE_RATE
    onsets = find_tick_onsets(audio, threshold=0.05)
    assert len(onsets) >= len(summary["beats"]) - 2 >= 170, (len(onsets), len(summary["beats"]))
    intervals = np.diff(onsets)
    exact = 60.0 * SAMPLE_RATE / spm  # 16941.18 samples
    within = np.abs(intervals - exact) <= 1.0
    off = {int(i): round(float(intervals[i] - exact), 1) for i in np.flatnonzero(~within)}
    assert within.mean() >= 0.99, (f"{within.mean():.3f} of {intervals.size} intervals within ±1 sample; "
                                   f"off (interval: samples): {off}; stream {summary['stream']}")


def test_ctrl_c_stops_cleanly_with_a_summary(pulse_sink: str) -> None:
    proc = subprocess.Popen(
        _cadence("play", "--spm", "180", "--device", "pulse", "--sample-rate", str(SAMPLE_RATE), "--plan", "intervals",
                 "--json"),
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_as_in_a_terminal,
    )
    try:
        assert proc.stderr is not None
        first_line = proc.stderr.readline()  # "playing on ...": the stream is running
        assert first_line.startswith("playing on"), first_line
        time.sleep(5.0)  # opening the stream takes part of this (ALSA through PulseAudio: ~2 s here)
        proc.send_signal(signal.SIGINT)
        stdout, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:  # never left playing into the sink the next tests record
            proc.kill()
            proc.communicate()
    stderr = first_line + rest
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "stopped after" in stderr
    summary = json.loads(stdout)
    assert summary["interrupted"] is True
    played_s = summary["duration_s"]
    assert 1.0 < played_s < 6.0  # at most the 5 s before SIGINT, plus reacting to it and stopping
    # Every tick of the audio that was played, no more: 3 ticks/s from t = 0.
    assert len(summary["beats"]) == int(np.ceil(played_s * 3 - 1e-9)) or \
        abs(len(summary["beats"]) - played_s * 3) <= 1, (len(summary["beats"]), played_s)
    assert summary["stream"]["output_underflows"] == 0


def test_unknown_device_is_one_line_exit_1(pulse_sink: str) -> None:
    result = subprocess.run(_cadence("play", "--spm", "170", "--device", "no-such-headphones"), env=_env(),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no-such-headphones" in result.stderr, result.stderr
    assert result.stderr.startswith("Error: no output device") and "internal error" not in result.stderr


def test_devices_lists_the_pulse_device(pulse_sink: str) -> None:
    result = subprocess.run(_cadence("devices"), env=_env(), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "pulse" in result.stdout
