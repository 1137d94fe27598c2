"""Start-up time of the ``cadence`` command: wall time of whole processes, warm file cache.

Runs each command ``--repeat`` times (after one unmeasured run) as a real process (the
installed ``cadence`` script next to this Python, else ``python -m cli``) against an empty
history in a temporary directory, and prints the median and the slowest run, and the median CPU
time (user + system: less sensitive than wall time to other work on the machine). The commands
that need no audio stack (``--help``, ``--version``, ``history``, ``log``, ``target``) must
start in under 0.5 s; ``run --help`` and ``analyze --help`` (which load scipy) are listed for
comparison.

``--check`` exits 1 if the median of any of the fast commands is 0.5 s or more.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = [["--help"], ["--version"], ["history"], ["log", "--help"], ["target", "--baseline", "165"]]
SLOW = [["run", "--help"], ["analyze", "--help"]]
BAR_S = 0.5


def _command() -> list[str]:
    script = Path(sys.executable).parent / "cadence"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cli"]


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(args: list[str], repeat: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """(wall times, CPU times) of ``repeat`` runs, seconds."""
    times, cpu = [], []
    for k in range(repeat + 1):
        cpu_before = _children_cpu_s()
        start = time.perf_counter()
        proc = subprocess.run([*_command(), *args], env=env, cwd=ROOT, capture_output=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"cadence {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
        if k:  # the first run warms the file cache
            times.append(elapsed)
            cpu.append(_children_cpu_s() - cpu_before)
    return times, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", action="store_true")
    opts = parser.parse_args()
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CADENCE_DB": str(Path(tmp) / "cadence.db")}
        print(f"{'command':32s} {'median':>8s} {'max':>8s} {'CPU':>8s}   (load average {os.getloadavg()[0]:.1f})")
        for args in FAST + SLOW:
            times, cpu = time_command(args, opts.repeat, env)
            median = statistics.median(times)
            fast = args in FAST
            mark = "" if not fast else ("  ok" if median < BAR_S else f"  SLOW (bar {BAR_S} s)")
            print(f"{'cadence ' + ' '.join(args):32s} {median:7.2f}s {max(times):7.2f}s "
                  f"{statistics.median(cpu):7.2f}s{mark}", flush=True)
            if fast and median >= BAR_S:
                failed.append(" ".join(args))
    if opts.check and failed:
        print("start-up over the bar:", ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
