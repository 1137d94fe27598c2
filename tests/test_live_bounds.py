"""A live `cadence run` refuses a calibration file whose stored headphone offset is not a
plausible delay, before it opens a stream (real PortAudio devices on the PulseAudio null sink)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.audio


@pytest.mark.parametrize("raw", ["NaN", "1e9", "-3000", "true"])
def test_run_refuses_a_bad_stored_headphone_offset(pulse_sink: str, tmp_path: Path, raw: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    names = subprocess.run(
        [sys.executable, "-c", "from metronome.engine import resolve_device as r, candidate_sample_rates as c; "
         "import json; from coach.calibration import device_key; i, out = r('pulse', 'output'); j, inp = r('pulse', 'input'); "
         "print(json.dumps(device_key(out['name'], inp['name'], c(j, inp, i, out)[0])))"],  # the rate run opens first
        env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    key = names.stdout.strip()
    calibration = tmp_path / "calibration.json"
    calibration.write_text('{"version": 2, "devices": {%s: {"headphone_offset_ms": %s}}}' % (key, raw))
    result = subprocess.run([sys.executable, "-m", "cli", "run", "--baseline", "160", "--device", "pulse",
                             "--duration", "5s", "--no-save"], env={**env, "CADENCE_CALIBRATION": str(calibration)},
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: calibration file"), result.stderr
    assert "headphone offset" in lines[0] and "cadence calibrate" in lines[0]
