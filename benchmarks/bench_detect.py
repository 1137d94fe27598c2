"""Footfall detection benchmark: accuracy per condition and speed, against librosa, same run.

Usage (from the repository root)::

    python benchmarks/bench_detect.py            # print the tables
    python benchmarks/bench_detect.py --check    # ... and exit 1 if a bar is missed
    python benchmarks/bench_detect.py --markdown # tables as Markdown (for the README)

Data: every recording in samples/ (ground truth beside it) plus, for each of the eight real
treadmill sessions in ../shared/data/soundtrackdb/, 30 s of audio at 48 kHz rendered by
samples/generate.py from the session's real step times (``YOLO_Start_Time``).

Scores: one-to-one matching at +-25 ms (stepdetect.evaluate; the match counts are cross-checked
with mir_eval.onset.f_measure), precision, recall, F1, median and 95th-percentile |timing
error|, whole-recording cadence error, and detection latency (stream time at which a footfall
is reported minus its true contact time, for the decision itself and when fed 5 ms blocks).
librosa.onset.onset_detect runs on the same arrays with its defaults and with a 0.2 s minimum
gap between onsets (``wait`` in frames).

Speed: CPU time (``time.process_time``), ours and librosa's runs interleaved in the same process,
best of ``SPEED_REPEAT`` each, so that load from other processes hits both alike; ``x real time``
= audio duration / time. Two librosa references: its defaults at the file's rate (at 8-22 kHz its
512-sample hop is 23-64 ms, too coarse for +-25 ms), and librosa as the footfall benchmark runs
it for step timing (resampled to 44.1 kHz first, as ``librosa.load(sr=44100)`` does; the same as
the default at 44.1 kHz and above). The "faster than librosa" bar compares with the latter; the
ratio to the default is printed beside it. Live cost = CPU time of StepDetector.process_block fed
48 kHz audio in 256-, 512- and 1024-sample blocks (5.3-21 ms: what a live session hands it), best
of 3 runs of 20 s, as a fraction of one core.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from coach.audio_io import read_audio  # noqa: E402
from samples.generate import Condition, render  # noqa: E402
from stepdetect import StepDetector, cadence_spm, detect_footfalls, match_events, score_events  # noqa: E402
from stepdetect.features import to_mono  # noqa: E402

TOLERANCE_S = 0.025
BARS = {"f1": 0.97, "f1_extreme": 0.90, "median_ms": 5.0, "cadence_spm": 0.5, "x_realtime_48k": 500.0,
        "live_core_pct": 5.0}
SPEED_REPEAT = 5
LIBROSA_TIMING_RATE = 44100  # the rate librosa is loaded at for +-25 ms timing (benchmarks/footfall/scoring.py)
LIVE_BLOCKS = (256, 512, 1024)
SESSIONS = [("d57_P35_5_1", 30.0), ("d57_P35_6_0", 40.0), ("d17_P09_6_0", 60.0), ("d55_P11_7_0", 20.0),
            ("d04_P47_8_0", 90.0), ("d04_P47_9_0", 50.0), ("d17_P16_9_0", 70.0), ("d17_P15_10_0", 40.0)]


@dataclass
class Item:
    name: str
    y: np.ndarray
    sample_rate: int
    ref_s: np.ndarray
    extreme: bool


def load_items() -> list[Item]:
    items = []
    from samples.generate import CONDITIONS

    for cond in CONDITIONS:
        truth_path = ROOT / "samples" / f"{cond.name}.json"
        audio = truth_path.with_suffix("." + cond.fmt)
        y, sr = read_audio(audio)
        truth = json.loads(truth_path.read_text())
        items.append(Item(truth_path.stem, y, sr, np.array([s["time_s"] for s in truth["steps"]]), truth["extreme"]))
    for k, (session, start_s) in enumerate(SESSIONS):
        cond = Condition(f"real_{session}", "", session, start_s, 48000, "wav", duration_s=30.0,
                         layers={"breathing": -16.0, "traffic": -26.0}, gain_swing_db=4.0, seed=500 + k)
        y, truth = render(cond)
        items.append(Item(f"real_{session}", y, 48000, np.array([s["time_s"] for s in truth["steps"]]), False))
    return items


def best_cpu_s(fns: dict, repeat: int = SPEED_REPEAT) -> tuple[dict, dict]:
    """Best CPU time (s) of each function over ``repeat`` interleaved rounds, and each one's last output."""
    best = {k: math.inf for k in fns}
    out = {}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.process_time()
            out[k] = fn()
            best[k] = min(best[k], time.process_time() - t0)
    return best, out


def librosa_onsets(y: np.ndarray, sample_rate: int, *, min_gap_s: float | None,
                   load_rate: int | None = None) -> np.ndarray:
    """librosa onset_detect (default hop) on ``y``; with ``load_rate``, resampled to it first
    (librosa.resample's default, as librosa.load does) when the file's rate is lower."""
    import librosa

    mono = to_mono(y).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if load_rate is not None and sample_rate < load_rate:
            mono = librosa.resample(mono, orig_sr=sample_rate, target_sr=load_rate)
            sample_rate = load_rate
        kwargs = {}
        if min_gap_s is not None:
            kwargs["wait"] = int(math.ceil(min_gap_s * sample_rate / 512))
        return librosa.onset.onset_detect(y=mono, sr=sample_rate, units="time", **kwargs)


def mir_eval_matches(ref_s: np.ndarray, est_s: np.ndarray) -> int:
    import mir_eval

    if ref_s.size == 0 or est_s.size == 0:
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return len(mir_eval.util.match_events(ref_s, est_s, TOLERANCE_S))


def streaming_latency_ms(item: Item, block_s: float = 0.005) -> float:
    """Max over matched footfalls of (end of the 5 ms block that reported it - true contact time), ms."""
    block_size = max(1, round(block_s * item.sample_rate))
    det = StepDetector(sample_rate=item.sample_rate)
    times, reported = [], []
    for pos in range(0, item.y.shape[0], block_size):
        out = det.process_block(item.y[pos : pos + block_size])
        times.extend(out.time_s)
        reported.extend([min(pos + block_size, item.y.shape[0]) / item.sample_rate] * len(out))
    pairs = match_events(item.ref_s, np.array(times), tolerance_s=TOLERANCE_S)
    return max((reported[j] - item.ref_s[i] for i, j in pairs), default=float("nan")) * 1000


def live_cpu_fraction(block_size: int, *, duration_s: float = 20.0, repeat: int = 3) -> float:
    """CPU time of StepDetector.process_block per second of 48 kHz audio fed in ``block_size``
    blocks (float32, as from a live stream): best of ``repeat`` runs, as a fraction of one core."""
    cond = Condition("live", "", "d04_P47_8_0", 100.0, 48000, "wav", duration_s=duration_s,
                     layers={"breathing": -16.0})
    y, _ = render(cond)
    y32 = y.astype(np.float32)
    best = math.inf
    for _ in range(repeat):
        det = StepDetector(sample_rate=48000)
        t0 = time.process_time()
        for pos in range(0, y32.size, block_size):
            det.process_block(y32[pos : pos + block_size])
        best = min(best, time.process_time() - t0)
    return best / duration_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="footfall detection benchmark")
    parser.add_argument("--check", action="store_true", help="exit 1 if a bar is missed")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)

    items = load_items()
    rows, failures = [], []
    speed_48k, lib_ratio_48k = [], []
    for it in items:
        dur_s = it.y.shape[0] / it.sample_rate
        t, out = best_cpu_s({
            "ours": lambda: detect_footfalls(it.y, sample_rate=it.sample_rate),
            "librosa": lambda: librosa_onsets(it.y, it.sample_rate, min_gap_s=None),
            "librosa_timing": lambda: librosa_onsets(it.y, it.sample_rate, min_gap_s=None,
                                                     load_rate=LIBROSA_TIMING_RATE),
        })
        t_ours, t_lib, t_lib_timing = t["ours"], t["librosa"], t["librosa_timing"]
        found, lib_default = out["ours"], out["librosa"]
        lib_gap = librosa_onsets(it.y, it.sample_rate, min_gap_s=0.2)
        s = score_events(it.ref_s, found.time_s, tolerance_s=TOLERANCE_S)
        assert s.n_matched == mir_eval_matches(it.ref_s, found.time_s), it.name  # cross-check
        s_lib = score_events(it.ref_s, np.asarray(lib_default), tolerance_s=TOLERANCE_S)
        s_gap = score_events(it.ref_s, np.asarray(lib_gap), tolerance_s=TOLERANCE_S)
        assert s_gap.n_matched == mir_eval_matches(it.ref_s, np.asarray(lib_gap)), it.name
        cad_err = abs(cadence_spm(found.time_s) - cadence_spm(it.ref_s))
        pairs = match_events(it.ref_s, found.time_s, tolerance_s=TOLERANCE_S)
        lat = np.array([found.decided_at_s[j] - it.ref_s[i] for i, j in pairs])  # vs the true contact
        row = {
            "condition": it.name, "rate_hz": it.sample_rate, "steps": it.ref_s.size,
            "precision": s.precision, "recall": s.recall, "f1": s.f1,
            "median_ms": s.median_abs_error_ms, "p95_ms": s.p95_abs_error_ms, "cadence_err_spm": cad_err,
            "latency_median_ms": float(np.median(lat) * 1000) if lat.size else float("nan"),
            "latency_max_ms": float(np.max(lat) * 1000) if lat.size else float("nan"),
            "latency_block5ms_max_ms": streaming_latency_ms(it),
            "f1_librosa": s_lib.f1, "f1_librosa_gap": s_gap.f1,
            "x_realtime": dur_s / t_ours, "x_realtime_librosa": dur_s / t_lib, "speed_ratio": t_lib / t_ours,
            "x_realtime_librosa_timing": dur_s / t_lib_timing, "speed_ratio_timing": t_lib_timing / t_ours,
        }
        rows.append(row)
        if it.sample_rate == 48000:
            speed_48k.append(row["x_realtime"])
            lib_ratio_48k.append(row["speed_ratio"])
        f1_bar = BARS["f1_extreme"] if it.extreme else BARS["f1"]
        if s.f1 < f1_bar:
            failures.append(f"{it.name}: F1 {s.f1:.3f} < {f1_bar}")
        if not s.median_abs_error_ms <= BARS["median_ms"]:
            failures.append(f"{it.name}: median |error| {s.median_abs_error_ms:.2f} ms > {BARS['median_ms']} ms")
        if not it.extreme and not cad_err <= BARS["cadence_spm"]:
            failures.append(f"{it.name}: cadence error {cad_err:.2f} spm > {BARS['cadence_spm']} spm")
        if row["speed_ratio_timing"] <= 1.0:
            failures.append(f"{it.name}: not faster than librosa at {LIBROSA_TIMING_RATE} Hz "
                            f"(ratio {row['speed_ratio_timing']:.2f})")
        if not row["latency_max_ms"] <= 50.0:
            failures.append(f"{it.name}: a footfall decided {row['latency_max_ms']:.1f} ms after contact (> 50 ms)")
    live = {b: live_cpu_fraction(b) for b in LIVE_BLOCKS}
    if 100 * max(live.values()) >= BARS["live_core_pct"]:
        failures.append(f"live StepDetector {100 * max(live.values()):.2f} % of a core >= {BARS['live_core_pct']} %")
    if min(speed_48k) < BARS["x_realtime_48k"]:
        failures.append(f"offline speed at 48 kHz {min(speed_48k):.0f}x real time < {BARS['x_realtime_48k']:.0f}x")

    cols = [("condition", "{}"), ("rate_hz", "{}"), ("steps", "{}"), ("precision", "{:.3f}"), ("recall", "{:.3f}"),
            ("f1", "{:.3f}"), ("median_ms", "{:.2f}"), ("p95_ms", "{:.2f}"), ("cadence_err_spm", "{:.2f}"),
            ("latency_median_ms", "{:.1f}"), ("latency_max_ms", "{:.1f}"), ("latency_block5ms_max_ms", "{:.1f}"),
            ("f1_librosa", "{:.3f}"), ("f1_librosa_gap", "{:.3f}"), ("x_realtime", "{:.0f}"),
            ("x_realtime_librosa", "{:.0f}"), ("speed_ratio", "{:.1f}"), ("x_realtime_librosa_timing", "{:.0f}"),
            ("speed_ratio_timing", "{:.1f}")]
    if args.markdown:
        print("| " + " | ".join(c for c, _ in cols) + " |")
        print("|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(f.format(r[c]) for c, f in cols) + " |")
    else:
        widths = [max(len(c), 9) for c, _ in cols]
        print("  ".join(c.rjust(w) for (c, _), w in zip(cols, widths)))
        for r in rows:
            print("  ".join(f.format(r[c]).rjust(w) for (c, f), w in zip(cols, widths)))
    print()
    print(f"offline speed at 48 kHz: min {min(speed_48k):.0f}x, median {np.median(speed_48k):.0f}x real time "
          f"(bar {BARS['x_realtime_48k']:.0f}x); {np.median(lib_ratio_48k):.1f}x faster than librosa onset_detect "
          f"(median over 48 kHz files, same process)")
    print("x real time per rate (median over its files; CPU time, same process): ours / librosa default / "
          f"librosa at {LIBROSA_TIMING_RATE} Hz")
    for rate in sorted({r["rate_hz"] for r in rows}):
        rr = [r for r in rows if r["rate_hz"] == rate]
        med = lambda k: float(np.median([r[k] for r in rr]))  # noqa: E731
        print(f"  {rate / 1000:g} kHz: {med('x_realtime'):.0f} / {med('x_realtime_librosa'):.0f} / "
              f"{med('x_realtime_librosa_timing'):.0f}  (ratio {med('speed_ratio'):.2f} / "
              f"{med('speed_ratio_timing'):.2f})")
    print("live StepDetector, 48 kHz: " + ", ".join(f"{100 * v:.2f} % of one core in {b}-sample blocks"
                                                    for b, v in live.items()))
    print(f"mean F1 over all conditions: ours {np.mean([r['f1'] for r in rows]):.3f}, librosa default "
          f"{np.mean([r['f1_librosa'] for r in rows]):.3f}, librosa 0.2 s gap {np.mean([r['f1_librosa_gap'] for r in rows]):.3f}")
    if failures:
        print("\nBARS MISSED:\n  " + "\n  ".join(failures))
    else:
        print("\nall bars met")
    return 1 if (args.check and failures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
