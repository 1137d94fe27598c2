"""`cadence calibrate --mode loopback` through real PortAudio and the PulseAudio null sink.

The calibration ticks into the null sink and listens to its monitor, so the "microphone"
hears every tick. Two calibrations in a row must each be stable (per-tick spread < 2 ms),
lie where a duplex loop can (above 0, at most the input + output buffering the stream
reports), and be stored for the device pair (history of two).

What the two runs are *not* asked: to agree within 2 ms. Through PortAudio's ALSA "pulse"
device the loop latency of a duplex stream is fixed while the stream runs but changes
from one open to the next by whole ALSA periods (measured: 61.2 / 103.8 / 146.4 ms at
--latency 0.1, steps of 2048 frames; 39.8 / 50.5 ms at 'high', steps of 512 frames; an
independent sounddevice.playrec shows the same: 42.8 / 128.0 ms). So the runs must agree
within 2 ms or differ by at least one period (512 frames = 10.7 ms), never by a drift.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import sys
from pathlib import Path

import pytest

from coach.calibration import stored_headphone_offset_ms
from conftest import ROOT

pytestmark = pytest.mark.audio

SAMPLE_RATE = 48000
DURATION_S = 8.0
TICKS_PER_MIN = 120.0
MIN_PERIOD_MS = 1000.0 * 512 / SAMPLE_RATE


def _calibrate(calibration: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "calibrate", "--mode", "loopback", "--device", "pulse", "--sample-rate",
         str(SAMPLE_RATE), "--duration", f"{DURATION_S:g}s", "--spm", f"{TICKS_PER_MIN:g}", "--json"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "CADENCE_CALIBRATION": str(calibration)},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_live_loopback_calibration_is_stable_and_stored(pulse_sink: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calibration = tmp_path / "calibration.json"
    runs = [_calibrate(calibration)]
    time.sleep(2.0)  # let PulseAudio settle after the first stream closes (a stream opened at once can underrun)
    runs.append(_calibrate(calibration))
    for doc in runs:
        # xruns are reported (the 0-xrun bar is on the 60 s playback and session tests); what must
        # hold here is the measurement: stable to 2 ms over most ticks, whatever the sound server did.
        assert set(doc["xruns"]) >= {"output_underflows", "input_overflows", "startup_underflows"}
        assert doc["n_ticks"] >= 0.75 * DURATION_S * TICKS_PER_MIN / 60, doc  # the first tick or two may be missed
        assert doc["spread_ms"] < 2.0, doc
        # Through PulseAudio the loop holds its own buffering on top of what PortAudio reports, so the
        # nominal figure is no bound; a loop beyond a second would mean a mismatched tick.
        assert 0.0 < doc["loop_latency_ms"] < 1000.0, doc
        assert doc["headphone_offset_ms"] == pytest.approx(doc["loop_latency_ms"] - doc["nominal_loop_latency_ms"],
                                                           abs=0.01)
        assert doc["saved"] and doc["calibration_file"] == str(calibration)
    difference_ms = abs(runs[0]["loop_latency_ms"] - runs[1]["loop_latency_ms"])
    assert difference_ms < 2.0 or difference_ms >= MIN_PERIOD_MS - 0.5, [r["loop_latency_ms"] for r in runs]

    stored = json.loads(calibration.read_text())
    key = f"{runs[1]['output_device']} | {runs[1]['input_device']} | {runs[1]['sample_rate']} Hz"
    entry = stored["devices"][key]
    assert entry["headphone_offset_ms"] == pytest.approx(runs[1]["headphone_offset_ms"], abs=0.001)
    assert [h["method"] for h in entry["history"]] == ["loopback", "loopback"]
    assert [h["loop_latency_ms"] for h in entry["history"]] == [r["loop_latency_ms"] for r in runs]
    # What `cadence run --device pulse --sample-rate 48000` will look up: the same pair, resolved
    # through PortAudio, at the same rate; at another rate the offset is not reused.
    monkeypatch.setenv("CADENCE_CALIBRATION", str(calibration))
    assert stored_headphone_offset_ms("pulse", sample_rate=SAMPLE_RATE) == pytest.approx(
        runs[1]["headphone_offset_ms"], abs=0.001)
    assert stored_headphone_offset_ms("pulse", sample_rate=44100) is None
