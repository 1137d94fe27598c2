"""Test helpers for a real `cadence run` process: its history rows, waiting until it runs, and
running it while something happens to it (a signal, a sound-server restart)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Callable


def sigint_as_in_a_terminal() -> None:
    """``preexec_fn`` for a process that a test interrupts: Ctrl-C acts as it does for a command
    typed at a terminal. A test run started in the background by a shell without job control
    inherits SIGINT ignored, and Python keeps it ignored in its children."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def sessions(db: Path) -> list[dict]:
    """The rows of the history's sessions table (raises sqlite3.Error before it exists)."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM sessions ORDER BY id")]


def wait_until_running(db: Path, *, timeout_s: float = 30.0, settle_s: float = 1.0) -> None:
    """Until the session has written to its history (its stream or input runs: the first flush
    is 2 s into it), then ``settle_s`` more."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if sessions(db):
                time.sleep(settle_s)
                return
        except sqlite3.Error:
            pass
        time.sleep(0.2)
    raise AssertionError("the session never wrote to its history")


def run_disturbed(cmd: list[str], env: dict[str, str], db: Path, disturb: Callable[[subprocess.Popen[str]], None],
                  *, timeout_s: float = 60.0) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``cmd``, wait until it runs, call ``disturb(process)``, wait for it to end:
    (process, stdout, stderr). The process is killed if it outlives the test."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_as_in_a_terminal)
    try:
        wait_until_running(db)
        disturb(proc)
        stdout, stderr = proc.communicate(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc, stdout, stderr
