"""Start-up time of the ``cadence`` command: wall time of whole processes, warm file cache.

Runs each command ``--repeat`` times (after one unmeasured run) as a real process (the
installed ``cadence`` script next to this Python, else ``python -m cli``) against an empty
history in a temporary directory, and prints the median and the slowest run, and the median CPU
time (user + system: less sensitive than wall time to other work on the machine). The commands
that need no audio stack (``--help``, ``--version``, ``history``, ``log``, ``target``) must
start in under 0.5 s; ``run --help`` and ``analyze --help`` (which load scipy) are listed for
comparison, and so is importing every command module, which is what every command paid before
the commands were loaded lazily.

``--check`` exits 1 if the median CPU time of any of the fast commands is 0.5 s or more (CPU
time, because on a machine busy with other work the wall time of a short process is mostly
waiting for a core; the wall times are printed next to it).
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
ALL_MODULES = "import cli.cmd_metronome, cli.cmd_analyze, cli.cmd_session, cli.cmd_history, cli.cmd_plan, cli.cmd_calibrate"
BAR_S = 0.5


def _command() -> list[str]:
    script = Path(sys.executable).parent / "cadence"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cli"]


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(args: list[str], repeat: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """(wall times, CPU times) of ``repeat`` runs, seconds (``args`` None: import every command module)."""
    times, cpu = [], []
    argv = [sys.executable, "-c", ALL_MODULES] if args is None else [*_command(), *args]
    for k in range(repeat + 1):
        cpu_before = _children_cpu_s()
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode(errors='replace').strip()}")
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
        for args in [*FAST, *SLOW, None]:
            times, cpu = time_command(args, opts.repeat, env)
            median_cpu = statistics.median(cpu)
            fast = args in FAST
            mark = "" if not fast else ("  ok" if median_cpu < BAR_S else f"  SLOW (bar {BAR_S} s)")
            name = "every command module (before)" if args is None else "cadence " + " ".join(args)
            print(f"{name:32s} {statistics.median(times):7.2f}s {max(times):7.2f}s {median_cpu:7.2f}s{mark}",
                  flush=True)
            if fast and median_cpu >= BAR_S:
                failed.append(" ".join(args))
    if opts.check and failed:
        print("start-up over the bar:", ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
