"""Run every benchmark (benchmarks/bench_*.py) with --check; exit 1 if any misses a target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script), "--check"]).returncode != 0:
            failed.append(script.name)
    if failed:
        print("benchmarks missing their targets:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
