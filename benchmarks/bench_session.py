"""Session benchmark: engine CPU per block, consumer CPU, end-to-end footfall detection latency.

Usage (from the repository root)::

    python benchmarks/bench_session.py            # print the figures
    python benchmarks/bench_session.py --check    # ... and exit 1 if a bar is missed
    python benchmarks/bench_session.py --markdown # the figures as Markdown tables (for the README)

Input: 60 s of a runner at 172 spm synthesized by ``samples/runner.py`` at 48 kHz (footfalls
15 ms before each heard beat, 6 ms jitter, breathing and traffic), for the beats of the session
the benchmark runs (``--plan steady --spm 172 --baseline 161``). The ticks bleed into the "mic"
at 0 dB after 25 ms (an earbud mic), so the session's loop-latency measurement runs too.

Figures
- Callback: wall time of ``DuplexCore.process`` (the audio callback's body: tick rendering and
  the input ring write) per block at 48 kHz, stereo out, mono in, for 64/256/1024 frames:
  mean, p99 and max in µs, p99 as % of the block's duration, and the ratio of the mean to a
  reference callback measured in the same process that only zeroes ``outdata`` and copies
  ``indata`` into a preallocated buffer (the floor any duplex callback pays).
- Consumer: CPU time (this thread's) of ``Session.consume`` (detection, tick handling, latency
  measurement, controller) per second of audio, as % of one core, over the whole session, when
  it runs after every block (FileBackend) and every 50 ms (LiveBackend polls with
  ``poll_s=0.05``: it then takes in the blocks that arrived by then); its ratio to
  ``StepDetector.process_block`` alone on the same blocks.
- Detection latency: for each true footfall the session found (one-to-one within 25 ms), stream
  time at which ``Session.consume`` first held it (``Session.step_reported_at_s``: the input
  sample position after the read that produced it) minus the true contact time; median, p95
  and max in ms. Live, the stream's input latency (ADC, ``stream.latency[0]``) comes on top.

``--check`` exits 1 if at 256 frames the callback's p99 exceeds 25 % of the block, the consumer
takes more than 25 % of one core, or the detection latency's p95 exceeds 100 ms (either
consumer schedule), or the session misses more than 2 % of the footfalls or drops input.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from coach.run import simulated_session  # noqa: E402
from coach.duplex import DuplexCore  # noqa: E402
from metronome.settings import MetronomeSettings, build_renderer, settings_from_options  # noqa: E402
from coach.session import SessionSettings  # noqa: E402
from metronome.schedule import BeatClock  # noqa: E402
from samples.runner import runner_recording, steps_from_beats  # noqa: E402
from stepdetect import StepDetector, match_events  # noqa: E402

SAMPLE_RATE = 48000
DURATION_S = 60.0
TARGET_SPM = 172.0
BASELINE_SPM = 161.0
OFFSET_MS = -15.0  # the runner lands this long before each heard beat
BLEED_GAIN = 1.0  # the mic hears the ticks at their output level (0 dB)
BLEED_DELAY_S = 0.025  # output-to-mic delay of the simulated earbud
LIVE_POLL_S = 0.05  # LiveBackend.run's poll period
MATCH_TOLERANCE_S = 0.025
CALLBACK_BLOCK_SIZES = (64, 256, 1024)
SESSION_BLOCK_SIZES = (256, 1024)
BARS = {"callback_p99_pct_256": 25.0, "consumer_core_pct_256": 25.0, "latency_p95_ms_256": 100.0, "recall": 0.98}


def _metronome() -> MetronomeSettings:
    return settings_from_options(
        spm=TARGET_SPM, duration_s=DURATION_S, plan="steady", baseline_spm=BASELINE_SPM, warmup_s=None,
        cooldown_s=None, every_other_step=False, sound="woodblock", accent_every=0, alternate_ears=False,
        volume_db=-6.0, force=False,
    )


def make_recording(metronome: MetronomeSettings) -> tuple[np.ndarray, np.ndarray]:
    """The runner's mic signal (mono float32) and the true contact times (s)."""
    clock = BeatClock(metronome.timeline, SAMPLE_RATE)
    heard_s = np.array([t.start_sample for t in clock.ticks_until(int(DURATION_S * SAMPLE_RATE))]) / SAMPLE_RATE
    heard_s += BLEED_DELAY_S
    steps_s, feet = steps_from_beats(heard_s, offset_ms=OFFSET_MS, rng=np.random.default_rng(11))
    keep = steps_s < DURATION_S - 0.3
    steps_s, feet = steps_s[keep], [f for f, k in zip(feet, keep) if k]
    audio = runner_recording(steps_s, feet, sample_rate=SAMPLE_RATE, duration_s=DURATION_S, seed=11)
    return audio.astype(np.float32), steps_s


# ------------------------------------------------------------------------------ callback
def _time_blocks(process: Callable[[np.ndarray, np.ndarray, int], None], audio: np.ndarray, frames: int,
                 n_out_channels: int) -> np.ndarray:
    """Wall time of ``process(indata, outdata, frames)`` for each block of ``audio``, µs."""
    indata = np.zeros((frames, 1), dtype=np.float32)
    outdata = np.zeros((frames, n_out_channels), dtype=np.float32)
    n_blocks = audio.size // frames
    costs_ns = np.empty(n_blocks)
    clock = time.perf_counter_ns
    for k in range(n_blocks):
        indata[:, 0] = audio[k * frames : (k + 1) * frames]  # the driver's copy, not timed
        t0 = clock()
        process(indata, outdata, frames)
        costs_ns[k] = clock() - t0
    return costs_ns / 1000.0


def bench_callback(metronome: MetronomeSettings, audio: np.ndarray) -> list[dict[str, float]]:
    rows = []
    for frames in CALLBACK_BLOCK_SIZES:
        core = DuplexCore(build_renderer(metronome, SAMPLE_RATE, 2), 1, SAMPLE_RATE)
        costs = _time_blocks(core.process, audio, frames, 2)
        scratch = np.zeros((frames, 1), dtype=np.float32)

        def zero_and_copy(indata: np.ndarray, outdata: np.ndarray, n: int) -> None:
            outdata.fill(0.0)
            scratch[:n] = indata

        floor = _time_blocks(zero_and_copy, audio, frames, 2)
        block_us = 1e6 * frames / SAMPLE_RATE
        p99 = float(np.percentile(costs, 99))
        rows.append({
            "frames": frames, "block_us": block_us, "mean_us": float(costs.mean()), "p99_us": p99,
            "max_us": float(costs.max()), "p99_pct": 100.0 * p99 / block_us,
            "ratio_to_floor": float(costs.mean() / floor.mean()),
        })
    return rows


# ------------------------------------------------------------------------------ session
@dataclass
class SessionRun:
    block_size: int
    schedule: str  # "every block" | "every 50 ms"
    consumer_core_pct: float
    detector_core_pct: float
    latency_ms: np.ndarray  # per matched footfall
    recall: float
    dropped_frames: int
    loop_latency_ms: float | None


def run_session(metronome: MetronomeSettings, audio: np.ndarray, truth_s: np.ndarray, *, block_size: int,
                poll_s: float | None) -> SessionRun:
    """The real session over ``audio`` (FileBackend, bleed on); consume after every block, or
    ``poll_s`` apart in stream time (taking in the blocks that arrived by then)."""
    wav = io.BytesIO()
    soundfile.write(wav, audio, SAMPLE_RATE, format="WAV", subtype="FLOAT")
    wav.seek(0)
    with soundfile.SoundFile(wav) as source:
        session, backend = simulated_session(
            metronome, SessionSettings(metronome=metronome), source, block_size=block_size,
            bleed_gain=BLEED_GAIN, bleed_delay_frames=round(BLEED_DELAY_S * SAMPLE_RATE),
        )
        session.warm_up()
        poll_frames = None if poll_s is None else round(poll_s * SAMPLE_RATE)
        next_poll = poll_frames
        cpu_s = 0.0

        def consume() -> bool:
            nonlocal cpu_s, next_poll
            position = backend.core.position
            if poll_frames is not None and next_poll is not None:
                if position + block_size <= next_poll and position < source.frames:
                    return True  # the next block arrives before the poll: wait for it
                next_poll += poll_frames
                while next_poll <= position:  # blocks longer than the poll period
                    next_poll += poll_frames
            t0 = time.thread_time()
            keep_going = session.consume()
            cpu_s += time.thread_time() - t0
            return keep_going

        backend.run(consume)
    detector_s = _detector_cpu_s(audio, block_size if poll_s is None else round(poll_s * SAMPLE_RATE))
    found_s = np.asarray(session.step_times_s)
    pairs = match_events(truth_s, found_s, tolerance_s=MATCH_TOLERANCE_S)
    reported_s = np.asarray(session.step_reported_at_s)
    latency_ms = np.array([1000.0 * (reported_s[j] - truth_s[i]) for i, j in pairs])
    measured = session.measured_loop_latency_s
    return SessionRun(
        block_size=block_size,
        schedule="every block" if poll_s is None else f"every {1000 * poll_s:.0f} ms",
        consumer_core_pct=100.0 * cpu_s / DURATION_S,
        detector_core_pct=100.0 * detector_s / DURATION_S,
        latency_ms=latency_ms,
        recall=len(pairs) / truth_s.size,
        dropped_frames=session.core.ring.lost_frames,
        loop_latency_ms=None if measured is None else 1000.0 * measured,
    )


def _detector_cpu_s(audio: np.ndarray, block_size: int) -> float:
    """CPU time of StepDetector.process_block alone over ``audio`` in blocks (the reference)."""
    detector = StepDetector(sample_rate=SAMPLE_RATE)
    detector.process_block(np.zeros(block_size, dtype=np.float32))  # first-call costs, as warm_up does
    detector.reset()
    t0 = time.thread_time()
    for pos in range(0, audio.size, block_size):
        detector.process_block(audio[pos : pos + block_size])
    return time.thread_time() - t0


# ------------------------------------------------------------------------------ output
def callback_table(rows: list[dict[str, float]], markdown: bool) -> list[str]:
    head = ["frames", "block µs", "mean µs", "p99 µs", "max µs", "p99 % of block", "× zero+copy callback"]
    cells = [[f"{r['frames']:d}", f"{r['block_us']:.0f}", f"{r['mean_us']:.1f}", f"{r['p99_us']:.1f}",
              f"{r['max_us']:.0f}", f"{r['p99_pct']:.2f}", f"{r['ratio_to_floor']:.1f}"] for r in rows]
    return _table(head, cells, markdown)


def session_table(runs: list[SessionRun], markdown: bool) -> list[str]:
    head = ["frames", "consume", "consumer % core", "× detector alone", "latency median ms", "p95 ms", "max ms",
            "found"]
    cells = []
    for r in runs:
        lat = r.latency_ms
        cells.append([f"{r.block_size:d}", r.schedule, f"{r.consumer_core_pct:.1f}",
                      f"{r.consumer_core_pct / r.detector_core_pct:.2f}", f"{np.median(lat):.1f}",
                      f"{np.percentile(lat, 95):.1f}", f"{lat.max():.1f}", f"{100 * r.recall:.1f} %"])
    return _table(head, cells, markdown)


def _table(head: list[str], cells: list[list[str]], markdown: bool) -> list[str]:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
        return lines + ["| " + " | ".join(row) + " |" for row in cells]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(head)]
    lines = ["  " + "  ".join(h.rjust(w) for h, w in zip(head, widths))]
    return lines + ["  " + "  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]


def failures(rows: list[dict[str, float]], runs: list[SessionRun]) -> list[str]:
    failed = []
    p99_256 = next(r["p99_pct"] for r in rows if r["frames"] == 256)
    if p99_256 > BARS["callback_p99_pct_256"]:
        failed.append(f"callback p99 is {p99_256:.1f} % of a 256-frame block "
                      f"(bar <= {BARS['callback_p99_pct_256']:g} %)")
    for r in runs:
        where = f"{r.block_size} frames, consume {r.schedule}"
        if r.block_size == 256 and r.consumer_core_pct > BARS["consumer_core_pct_256"]:
            failed.append(f"{where}: consumer takes {r.consumer_core_pct:.1f} % of a core "
                          f"(bar <= {BARS['consumer_core_pct_256']:g} %)")
        p95 = float(np.percentile(r.latency_ms, 95)) if r.latency_ms.size else float("inf")
        if r.block_size == 256 and p95 > BARS["latency_p95_ms_256"]:
            failed.append(f"{where}: detection latency p95 {p95:.1f} ms (bar <= {BARS['latency_p95_ms_256']:g} ms)")
        if r.recall < BARS["recall"]:
            failed.append(f"{where}: found {100 * r.recall:.1f} % of the footfalls (bar >= {100 * BARS['recall']:g} %)")
        if r.dropped_frames:
            failed.append(f"{where}: {r.dropped_frames} input frames dropped")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a bar is missed")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args()
    metronome = _metronome()
    audio, truth_s = make_recording(metronome)
    rows = bench_callback(metronome, audio)
    runs = [run_session(metronome, audio, truth_s, block_size=b, poll_s=poll)
            for b in SESSION_BLOCK_SIZES for poll in (None, LIVE_POLL_S)]
    print(f"input: {DURATION_S:.0f} s runner recording at {SAMPLE_RATE} Hz, {truth_s.size} footfalls at "
          f"{TARGET_SPM:g} spm, ticks bleeding into the mic at 0 dB after {1000 * BLEED_DELAY_S:.0f} ms")
    print()
    print("audio callback (DuplexCore.process: TickRenderer.fill + InputRing.write), 48 kHz, 2 out / 1 in, per block:")
    print("\n".join(callback_table(rows, args.markdown)))
    print()
    print("consumer (Session.consume: detection, ticks, latency measurement, controller) and detection latency")
    print("(true contact -> stream position at which the session holds the footfall):")
    print("\n".join(session_table(runs, args.markdown)))
    loop = [r.loop_latency_ms for r in runs if r.loop_latency_ms is not None]
    print(f"loop latency measured from the ticks in the mic: {min(loop):.2f}-{max(loop):.2f} ms "
          f"(simulated {1000 * BLEED_DELAY_S:.2f} ms)" if loop else "loop latency: not measured")
    failed = failures(rows, runs)
    for message in failed:
        print("FAIL:", message)
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
