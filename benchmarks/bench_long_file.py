"""Long-file benchmark: peak memory and speed of ``cadence analyze`` / ``baseline --from`` on
recordings of 3 hours, which are streamed block by block through the detector.

Usage (from the repository root)::

    python benchmarks/bench_long_file.py            # 3 h at 16 kHz mono (WAV, 346 MB)
    python benchmarks/bench_long_file.py --stereo48 # ... and 3 h at 48 kHz stereo (FLAC)
    python benchmarks/bench_long_file.py --minutes 30 --check   # shorter, with the bar

Input: ``samples/road_earbud.flac`` (a 12-s road run recorded on an earbud mic) repeated for
the length, written block by block into a temporary directory (deleted afterwards).

Figures: for each file and command, the peak resident set size (``ru_maxrss`` of the child
process: the whole Python process, interpreter and libraries included), wall time, and speed
as a multiple of real time. The whole-file reader this replaced peaked at ~27 bytes per
sample (3 h at 16 kHz mono: 4.75 GB; 3 h 48 kHz stereo: ~17 GB).

``--check`` exits 1 if any peak exceeds 300 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parent.parent
BAR_MB = 300.0

PEAK_RSS = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(done.stderr[-2000:])
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def write_recording(path: Path, minutes: float, sample_rate: int, n_channels: int) -> None:
    y, source_rate = soundfile.read(str(ROOT / "samples" / "road_earbud.flac"), dtype="float64", always_2d=True)
    clip = resample_poly(y, sample_rate, source_rate, axis=0)
    clip = clip.mean(axis=1, keepdims=True) if n_channels == 1 else clip[:, :n_channels]
    n_total = int(minutes * 60 * sample_rate)
    with soundfile.SoundFile(str(path), "w", samplerate=sample_rate, channels=n_channels,
                             subtype="PCM_16") as f:
        written = 0
        while written < n_total:
            chunk = clip[: n_total - written]
            f.write(chunk)
            written += chunk.shape[0]


def measure(*args: str) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of ``cadence ARGS``."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "cli", *args],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "CADENCE_DB": os.devnull})
    wall_s = time.perf_counter() - started
    code, kib = done.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"cadence {' '.join(args)} failed: {done.stderr}")
    return int(kib) / 1024, wall_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=180.0)
    parser.add_argument("--stereo48", action="store_true", help="also 48 kHz stereo (FLAC)")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    cases = [("16 kHz mono WAV", 16000, 1, ".wav")]
    if args.stereo48:
        cases.append(("48 kHz stereo FLAC", 48000, 2, ".flac"))
    worst = 0.0
    print(f"| file ({args.minutes:g} min) | command | peak RSS | wall | speed |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="cadence-long-") as tmp:
        for label, rate, channels, ext in cases:
            path = Path(tmp) / f"long{ext}"
            write_recording(path, args.minutes, rate, channels)
            for command in (["analyze", str(path), "--json"], ["baseline", "--from", str(path), "--json", "--no-save"]):
                mb, wall_s = measure(*command)
                worst = max(worst, mb)
                print(f"| {label}, {path.stat().st_size / 1e6:.0f} MB | {command[0]} | {mb:.0f} MB | {wall_s:.0f} s | "
                      f"{args.minutes * 60 / wall_s:.0f}x real time |", flush=True)
            path.unlink()
    if args.check and worst > BAR_MB:
        print(f"FAIL: peak {worst:.0f} MB > {BAR_MB:g} MB")
        return 1
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
