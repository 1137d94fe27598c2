"""Signals to a real `cadence run` process (file backend at real speed: no sound server needed).

SIGTERM, SIGHUP and Ctrl-C (SIGINT) end a session the same way: the report printed, the JSON
written, the history entry complete, exit status 0. Ctrl-C at any moment of start-up (inside
an import, before the session exists) ends the process without a traceback (exit 130), or, once
the session runs, like the above.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES
from session_process import run_disturbed, sessions, sigint_as_in_a_terminal

RECORDING = SAMPLES / "session_demo.ogg"  # 4 minutes: still running when the signal comes


def _command(tmp_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cli", "run", "--baseline", "164", "--target", "175", "--input-file", str(RECORDING),
            "--json-report", str(tmp_path / "run.json"), *extra]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CADENCE_DB": str(tmp_path / "cadence.db")}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_ends_a_file_session_like_ctrl_c(tmp_path: Path, signum: int) -> None:
    proc, stdout, stderr = run_disturbed(_command(tmp_path), _env(tmp_path), tmp_path / "cadence.db",
                                         lambda p: p.send_signal(signum))
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    report = json.loads((tmp_path / "run.json").read_text())
    name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    assert report["ended_by"] == name and report["interrupted"] and report["aborted"] is None
    assert 2.0 < report["duration_s"] < 30.0
    assert "(interrupted)" in stdout
    (row,) = sessions(tmp_path / "cadence.db")
    assert row["status"] == "complete" and row["audio_duration_s"] == report["duration_s"]
    steps = sqlite3.connect(tmp_path / "cadence.db").execute("SELECT COUNT(*) FROM steps").fetchone()[0]
    assert steps == report["summary"]["n_steps"]  # nothing measured was lost


def _interrupted_after(tmp_path: Path, delay_s: float) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(_command(tmp_path, "--no-save"), env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=sigint_as_in_a_terminal)
    try:
        time.sleep(delay_s)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc, stdout, stderr


@pytest.mark.parametrize("delay_s", [0.05, 0.15, 0.3, 0.5, 0.8, 1.2])
def test_ctrl_c_during_start_up_never_prints_a_traceback(tmp_path: Path, delay_s: float) -> None:
    for _ in range(20):
        proc, stdout, stderr = _interrupted_after(tmp_path, delay_s)
        # A Ctrl-C while the interpreter itself starts (its site module or runpy, before any
        # cadence code runs) is Python's; a loaded machine makes that window longer: try a little later.
        if not ("init_import_site" in stderr or ("Traceback" in stderr and "cli" not in stderr)):
            break
        delay_s += 0.05
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    if proc.returncode == 0:  # the session was already running: it ended like Ctrl-C does
        assert json.loads((tmp_path / "run.json").read_text())["ended_by"] == "Ctrl-C"
    else:
        assert proc.returncode == 130, (proc.returncode, stderr)
        assert len(stderr.strip().splitlines()) <= 1  # at most "Aborted."
