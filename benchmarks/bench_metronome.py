"""Metronome speed: click-track rendering and the live callback's cost per block.

Prints
- render speed of one hour of 48 kHz stereo (x real time), to memory and to a WAV file,
  with the ratio to writing the same hour of plain silence through soundfile (the I/O floor);
- the live callback's cost per block (mean and 99th percentile, in µs and as % of the
  block's duration) for several block sizes, and its ratio to a callback that only zeroes
  the block (the floor any callback pays).

``--check`` exits 1 if an hour renders in more than 10 s or the callback's p99 exceeds
25 % of the block duration at 256 frames.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metronome.engine import Player  # noqa: E402
from metronome.plans import Timeline, load_plan  # noqa: E402
from metronome.render import TickBank, TickRenderer, render_blocks  # noqa: E402
from metronome.schedule import BeatClock  # noqa: E402

SAMPLE_RATE = 48000
HOUR_S = 3600.0


def _renderer(n_channels: int = 2) -> TickRenderer:
    timeline = Timeline(load_plan("intervals", target_spm=172.0), duration_s=HOUR_S)
    clock = BeatClock(timeline, SAMPLE_RATE, alternate_ears=True, accent_every=4)
    return TickRenderer(clock, TickBank.synthesized("woodblock", SAMPLE_RATE, n_channels=n_channels))


def bench_render(tmp: Path) -> dict[str, float]:
    n_frames = int(HOUR_S * SAMPLE_RATE)
    t0 = time.perf_counter()
    for _ in render_blocks(_renderer(), n_frames):
        pass
    memory_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    with soundfile.SoundFile(tmp / "hour.wav", "w", SAMPLE_RATE, 2, subtype="PCM_16") as f:
        for block in render_blocks(_renderer(), n_frames):
            f.write(block)
    wav_s = time.perf_counter() - t0

    silence = np.zeros((65536, 2), dtype=np.float32)
    t0 = time.perf_counter()
    with soundfile.SoundFile(tmp / "silence.wav", "w", SAMPLE_RATE, 2, subtype="PCM_16") as f:
        done = 0
        while done < n_frames:
            n = min(65536, n_frames - done)
            f.write(silence[:n])
            done += n
    floor_s = time.perf_counter() - t0
    return {"memory_s": memory_s, "wav_s": wav_s, "silence_wav_s": floor_s}


def _time_callback(callback, frames: int, n_blocks: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros((frames, 2), dtype=np.float32)
    stamp = SimpleNamespace(outputBufferDacTime=0.0, inputBufferAdcTime=0.0, currentTime=0.0)
    status = SimpleNamespace(output_underflow=False, priming_output=False, __bool__=lambda self: False)
    costs = np.empty(n_blocks)
    clock = time.perf_counter_ns
    for i in range(n_blocks):
        t0 = clock()
        callback(out, frames, stamp, status)
        costs[i] = clock() - t0
    return costs / 1000.0  # µs


def bench_callback(block_sizes: tuple[int, ...] = (64, 256, 512, 1024, 4096)) -> list[dict[str, float]]:
    rows = []
    for frames in block_sizes:
        n_blocks = max(2000, int(600 * SAMPLE_RATE / frames))  # about 10 minutes of audio
        n_blocks = min(n_blocks, 200_000)
        player = Player(_renderer(), sample_rate=SAMPLE_RATE)
        costs = _time_callback(player._callback, frames, n_blocks)

        def zero_only(outdata, frames, time_info, status):  # type: ignore[no-untyped-def]
            outdata.fill(0.0)

        floor = _time_callback(zero_only, frames, n_blocks)
        block_us = 1e6 * frames / SAMPLE_RATE
        rows.append({
            "frames": frames,
            "block_us": block_us,
            "mean_us": float(costs.mean()),
            "p99_us": float(np.percentile(costs, 99)),
            "max_us": float(costs.max()),
            "p99_pct": 100.0 * float(np.percentile(costs, 99)) / block_us,
            "ratio_to_zero_fill": float(costs.mean() / floor.mean()),
        })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = bench_render(Path(tmp))
    print("render: 1 h of 48 kHz stereo, plan 'intervals' at 172 spm")
    print(f"  to memory   {r['memory_s']:6.2f} s  = {HOUR_S / r['memory_s']:7.0f}x real time")
    print(f"  to WAV file {r['wav_s']:6.2f} s  = {HOUR_S / r['wav_s']:7.0f}x real time "
          f"({r['wav_s'] / r['silence_wav_s']:.2f}x the time to write an hour of silence: {r['silence_wav_s']:.2f} s)")
    rows = bench_callback()
    print("live callback at 48 kHz, stereo (TickRenderer.fill + counters), per block:")
    print("  frames  block µs   mean µs   p99 µs   max µs   p99 % of block   x zero-fill callback")
    for row in rows:
        print(f"  {row['frames']:6d}  {row['block_us']:8.0f}  {row['mean_us']:8.1f}  {row['p99_us']:7.1f}  "
              f"{row['max_us']:7.0f}  {row['p99_pct']:14.2f}   {row['ratio_to_zero_fill']:8.1f}")
    failed = []
    if r["wav_s"] > 10.0:
        failed.append(f"an hour took {r['wav_s']:.1f} s to render (target < 10 s)")
    p99_256 = next(row["p99_pct"] for row in rows if row["frames"] == 256)
    if p99_256 > 25.0:
        failed.append(f"callback p99 is {p99_256:.1f} % of a 256-frame block (target <= 25 %)")
    for message in failed:
        print("FAIL:", message)
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
