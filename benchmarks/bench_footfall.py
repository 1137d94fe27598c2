"""Footfall detection on a corpus it was not designed around: real footstep sounds, modelled
microphones, hostile scenes; ours (``cadence analyze --json``) beside librosa, dev and eval splits.

Usage (from the repository root)::

    python benchmarks/bench_footfall.py                  # both splits, tables side by side
    python benchmarks/bench_footfall.py --split dev      # tune on this one only
    python benchmarks/bench_footfall.py --split redraw   # dev's material drawn again: is a rule fitted to dev's draws?
    python benchmarks/bench_footfall.py --split redraw2  # a third draw of dev's material (once the redraw judged rules)
    python benchmarks/bench_footfall.py --split redraw3  # a fourth draw (the check once dev, redraw, redraw2 judged rules)
    python benchmarks/bench_footfall.py --split eval_redraw  # eval's material drawn again (report only)
    python benchmarks/bench_footfall.py --check          # exit 1 if a bar fails on EVAL
    python benchmarks/bench_footfall.py --scene wind --mic hfp8 -v   # a subset, every item listed
    python benchmarks/bench_footfall.py --json out.json  # every item's scores

The corpus (benchmarks/footfall/corpus.py) is generated once, seeded, and cached under
benchmarks/.cache/footfall/ (gitignored). An item is one condition: surface x scene x mic path.
Bars (per condition, eval split): F1 at +-25 ms >= 0.95 (full, phone, hfp16, inear) or 0.90
(hfp8, clipped); |cadence error| <= 1 spm; median |timing error| <= 5 ms; F1 >= librosa's
(default and DEV-tuned) F1 on the same item; texture items: no confident cadence.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from benchmarks.footfall import corpus  # noqa: E402
from benchmarks.footfall.fates import FATE_GROUPS, item_fates  # noqa: E402
from benchmarks.footfall.micpaths import MIC_PATHS  # noqa: E402
from benchmarks.footfall.scoring import (  # noqa: E402
    LIBROSA_DELTAS,
    LIBROSA_LOAD_RATES,
    LIBROSA_WAITS_S,
    TOLERANCE_S,
    analyze_json,
    is_confident,
    librosa_envelope,
    librosa_onsets,
    librosa_result,
    score,
)
from stepdetect.evaluate import ErrorClasses, classify_errors, match_events  # noqa: E402

F1_BAR = {"full": 0.95, "phone": 0.95, "hfp16": 0.95, "inear": 0.95, "hfp8": 0.90, "clipped": 0.90}
CADENCE_BAR_SPM = 1.0
MEDIAN_BAR_MS = 5.0


def envelope_cached(item: corpus.Item, load_rate: int | None = None) -> tuple[np.ndarray, int]:
    p = item.path.with_suffix(f".librosa{load_rate or ''}.npz")
    if p.exists():
        z = np.load(p)
        return z["env"], int(z["sr"])
    env, sr = librosa_envelope(item.path, load_rate)
    np.savez(p, env=env, sr=sr)
    return env, sr


def tune_librosa(dev_items: list[corpus.Item], cache_dir: Path) -> dict:
    """librosa's load rate, delta and wait with the best mean F1 over the DEV (non-texture)
    items; cached."""
    p = cache_dir / "librosa_dev_best.json"
    if p.exists():
        return json.loads(p.read_text())
    items = [it for it in dev_items if not it.texture]
    best = None
    for load_rate in LIBROSA_LOAD_RATES:
        envs = [envelope_cached(it, load_rate) for it in items]
        for delta in LIBROSA_DELTAS:
            for wait_s in LIBROSA_WAITS_S:
                f1 = np.mean([librosa_result(it.truth_s, librosa_onsets(env, sr, delta=delta, wait_s=wait_s)).f1
                              for it, (env, sr) in zip(items, envs)])
                if best is None or f1 > best["dev_mean_f1"]:
                    best = {"load_rate": load_rate, "delta": delta, "wait_s": wait_s,
                            "dev_mean_f1": round(float(f1), 4)}
    p.write_text(json.dumps(best))
    return best


def report_latencies_ms(item: corpus.Item) -> list[float]:
    """For every footfall matched to a true step (the F1's one-to-one matching at +-25 ms): how long after that step's contact
    the streaming detector could report it (``decided_at_s``, the last sample its decision needed,
    minus the true onset), ms. A live caller adds its block and polling delay to this."""
    import soundfile as sf

    from stepdetect import detect_footfalls

    y, sr = sf.read(str(item.path), dtype="float32")
    found = detect_footfalls(y, sample_rate=sr, tick_times_s=item.ticks_s)
    order = np.argsort(found.time_s, kind="stable")
    times, decided = found.time_s[order], found.decided_at_s[order]
    pairs = match_events(item.truth_s, times, tolerance_s=TOLERANCE_S)  # the pairs the F1 counts
    return [round(float(decided[j] - item.truth_s[i]) * 1000.0, 2) for i, j in pairs]


def _asynchrony_cell(row: dict) -> str:
    a = row.get("asynchrony")
    if not a or a["found"]["mean_ms"] is None or a["true"]["mean_ms"] is None:
        return ""
    return f" | async mean {a['found']['mean_ms']:+.1f} ms (true {a['true']['mean_ms']:+.1f})"


def latency_line(rows: list[dict], split: str) -> str:
    lat = np.array([x for r in rows if r["split"] == split for x in r.get("report_latency_ms", [])])
    if lat.size == 0:
        return f"[{split}] report latency: no matched footfalls"
    return (f"[{split}] report latency after the true contact ({lat.size} matched footfalls, before any block or "
            f"polling delay of the caller): median {np.median(lat):.1f} ms, p95 {np.percentile(lat, 95):.1f}, "
            f"p99 {np.percentile(lat, 99):.1f}, max {lat.max():.1f}; over 50 ms: {100 * np.mean(lat > 50):.2f} %")


def asynchrony_row(item: corpus.Item, found_s: np.ndarray) -> dict | None:
    """What a session would report of the runner's asynchrony to the ticks (``stepdetect.drift``,
    the functions a session's report uses): mean and SD (ms) and the share within +-40 ms, from the
    true steps and from the footfalls found; None without ticks."""
    if item.ticks_s is None or item.truth_s.size < 3:
        return None
    from stepdetect.drift import asynchronies_ms, asynchrony_stats

    out: dict = {}
    for key, steps in (("true", item.truth_s), ("found", np.sort(found_s))):
        a, p = asynchronies_ms(steps, item.ticks_s)
        st = asynchrony_stats(steps, a, p)
        out[key] = {"mean_ms": st.mean_ms, "sd_ms": st.sd_ms, "within_pct": st.within_pct, "n": st.n}
    return out


def asynchrony_line(rows: list[dict], split: str) -> str:
    """Per tick scene: how far the reported mean asynchrony is from the true one (median and worst
    over the items, ms) and the SD reported vs true (median over the items)."""
    parts = []
    for scene in dict.fromkeys(r["scene"] for r in rows if r["split"] == split and r.get("asynchrony")):
        rs = [r["asynchrony"] for r in rows if r["split"] == split and r["scene"] == scene and r.get("asynchrony")]
        err = [abs(a["found"]["mean_ms"] - a["true"]["mean_ms"]) for a in rs
               if a["found"]["mean_ms"] is not None and a["true"]["mean_ms"] is not None]
        sd = [(a["found"]["sd_ms"], a["true"]["sd_ms"]) for a in rs if a["found"]["sd_ms"] and a["true"]["sd_ms"]]
        if err:
            parts.append(f"{scene} |mean error| median {np.median(err):.1f} ms, max {max(err):.1f}; SD reported / true "
                         f"{np.median([f for f, _ in sd]):.1f} / {np.median([t for _, t in sd]):.1f} ms")
    return f"[{split}] asynchrony to the ticks as a session reports it: " + ("; ".join(parts) if parts else "no tick scene")


def run_item(item: corpus.Item, tuned: dict) -> dict:
    ticks = corpus.ticks_path(item.path) if item.ticks_s is not None else None
    t0 = time.perf_counter()
    rep = analyze_json(item.path, ticks)
    t_ours = time.perf_counter() - t0
    found = np.array([s["time_s"] for s in rep["steps"]])
    ours = score(item.truth_s, found, rep.get("cadence_spm"), is_confident(rep))
    env, sr = envelope_cached(item)
    lib_def = librosa_result(item.truth_s, librosa_onsets(env, sr))
    env_t, sr_t = envelope_cached(item, tuned["load_rate"])
    lib_tun = librosa_result(item.truth_s, librosa_onsets(env_t, sr_t, delta=tuned["delta"], wait_s=tuned["wait_s"]))
    return {"name": item.name, "split": item.split, "scene": item.scene, "surface": item.surface, "mic": item.mic,
            "texture": item.texture, "info_only": item.info_only, "duration_s": item.duration_s, "n_true": int(item.truth_s.size),
            "seconds_ours": t_ours, "report_latency_ms": [] if item.texture else report_latencies_ms(item),
            "ours": asdict(ours), "librosa": asdict(lib_def), "librosa_tuned": asdict(lib_tun),
            "errors": classify_errors(item.truth_s, np.sort(found), tolerance_s=TOLERANCE_S).as_dict(),
            "asynchrony": asynchrony_row(item, found)}


def failures(row: dict) -> list[str]:
    """The bars this item misses."""
    o = row["ours"]
    if row["info_only"]:
        return []
    if row["texture"]:
        return ["confident cadence on texture"] if o["confident"] else []
    out = []
    bar = F1_BAR[row["mic"]]
    if not o["f1"] >= bar:
        out.append(f"F1 {o['f1']:.3f} < {bar}")
    if not o["cadence_err_spm"] <= CADENCE_BAR_SPM:
        out.append(f"cadence error {o['cadence_err_spm']:.2f} spm > {CADENCE_BAR_SPM}")
    if not o["median_ms"] <= MEDIAN_BAR_MS:
        out.append(f"median timing error {o['median_ms']:.1f} ms > {MEDIAN_BAR_MS}")
    lib = max(row["librosa"]["f1"], row["librosa_tuned"]["f1"])
    if o["f1"] < lib:
        out.append(f"F1 {o['f1']:.3f} < librosa {lib:.3f}")
    return out


def _json_safe(x):
    """Strict JSON: NaN and infinities (no match, no cadence) become null."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _from_json(row: dict) -> dict:
    """A row read back from ``--json``: the nulls of :func:`_json_safe` become what failed to
    score (F1 0, cadence error inf, median NaN)."""
    row = json.loads(json.dumps(row))
    for k in ("ours", "librosa", "librosa_tuned"):
        r = row[k]
        for f in ("f1", "precision", "recall"):
            r[f] = 0.0 if r[f] is None else r[f]
        r["cadence_err_spm"] = math.inf if r["cadence_err_spm"] is None else r["cadence_err_spm"]
        r["median_ms"] = math.nan if r["median_ms"] is None else r["median_ms"]
    return row


def compare(rows: list[dict], base_rows: list[dict], splits: list[str], *, f1_change: float = 0.05) -> str:
    """This run against an earlier ``--json`` (same corpus): conditions failing a bar then and
    now, the ones that changed sides, mean F1 per mic path then -> now, and the conditions whose
    F1 moved by more than ``f1_change``."""
    base = {r["name"]: r for r in base_rows}
    out = []
    for s in splits:
        now = [r for r in rows if r["split"] == s and r["name"] in base]
        now_by_name = {r["name"]: r for r in now}
        if not now:
            out.append(f"[{s}] compare: no condition of this run is in the baseline")
            continue
        was_failing = {r["name"] for r in now if failures(base[r["name"]])}
        is_failing = {r["name"] for r in now if failures(r)}
        out.append(f"[{s}] conditions failing a bar: baseline {len(was_failing)} -> now {len(is_failing)} "
                   f"(of {len(now)}); newly failing {len(is_failing - was_failing)}, "
                   f"newly passing {len(was_failing - is_failing)}")
        for name in sorted(is_failing - was_failing):
            out.append(f"  now failing:  {name}: {'; '.join(failures(now_by_name[name]))}")
        for name in sorted(was_failing - is_failing):
            out.append(f"  now passing:  {name}")
        cells = []
        for m in MIC_PATHS:
            st = [r for r in now if r["mic"] == m and not r["texture"] and not r["info_only"]]
            if st:
                was = np.mean([base[r["name"]]["ours"]["f1"] for r in st])
                cells.append(f"{m} {was:.3f} -> {np.mean([r['ours']['f1'] for r in st]):.3f}")
        out.append(f"[{s}] mean F1 per mic path: " + ", ".join(cells))
        moved = sorted(((r["ours"]["f1"] - base[r["name"]]["ours"]["f1"], r["name"]) for r in now
                        if abs(r["ours"]["f1"] - base[r["name"]]["ours"]["f1"]) > f1_change), reverse=True)
        for d, name in moved:
            out.append(f"  F1 {d:+.3f}  {name} ({base[name]['ours']['f1']:.3f} -> {base[name]['ours']['f1'] + d:.3f})")
    return "\n".join(out)


def _fmt(x: float, spec: str) -> str:
    return "  -  " if x is None or (isinstance(x, float) and math.isnan(x)) else ("inf" if x == math.inf else format(x, spec))


def table(rows: list[dict], split: str, *, markdown: bool = False) -> str:
    """Scene (and texture) rows x mic path columns; a cell = worst surface:
    ours F1 / librosa-tuned F1, and the number of that row's items failing a bar. The mean row
    leaves out the texture and information-only items."""
    mine = [r for r in rows if r["split"] == split]
    if not mine:
        return ""
    mics = [m for m in MIC_PATHS if any(r["mic"] == m for r in mine)]
    scenes = list(dict.fromkeys(r["scene"] for r in mine))
    head = ["scene"] + mics + ["cad err max", "med ms max", "fails"]
    lines = []
    for sc in scenes:
        rs = [r for r in mine if r["scene"] == sc]
        cells = [sc + (" (info)" if rs[0]["info_only"] else "")]
        for m in mics:
            rm = [r for r in rs if r["mic"] == m]
            if not rm:
                cells.append("")
            elif rm[0]["texture"]:
                n_conf = sum(r["ours"]["confident"] for r in rm)
                cells.append(f"conf {n_conf}/{len(rm)}")
            else:
                cells.append(f"{min(r['ours']['f1'] for r in rm):.2f}/{min(r['librosa_tuned']['f1'] for r in rm):.2f}")
        steady = [r for r in rs if not r["texture"]]
        cells.append(_fmt(max((r["ours"]["cadence_err_spm"] for r in steady), default=float("nan")), ".2f"))
        cells.append(_fmt(max((r["ours"]["median_ms"] for r in steady if not math.isnan(r["ours"]["median_ms"])),
                              default=float("nan")), ".1f"))
        cells.append(f"{sum(bool(failures(r)) for r in rs)}/{len(rs)}")
        lines.append(cells)
    mean = ["mean F1"]
    for m in mics:
        rm = [r for r in mine if r["mic"] == m and not r["texture"] and not r["info_only"]]
        mean.append(f"{np.mean([r['ours']['f1'] for r in rm]):.2f}/{np.mean([r['librosa_tuned']['f1'] for r in rm]):.2f}"
                    if rm else "")
    lines.append(mean + ["", "", f"{sum(bool(failures(r)) for r in mine)}/{len(mine)}"])
    return _render(head, lines, markdown=markdown)


def _render(head: list[str], lines: list[list[str]], *, markdown: bool) -> str:
    """A table as Markdown or as aligned text (first column left, the others right)."""
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                         + ["| " + " | ".join(c) + " |" for c in lines])
    widths = [max(len(str(c[i])) for c in [head] + lines) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(cs, widths))) for cs in [head] + lines)


def surface_table(rows: list[dict], split: str, *, markdown: bool = False) -> str:
    """Surface rows x mic path columns: mean F1 over the scene conditions, ours / librosa tuned."""
    mine = [r for r in rows if r["split"] == split and not r["texture"] and not r["info_only"]]
    if not mine:
        return ""
    mics = [m for m in MIC_PATHS if any(r["mic"] == m for r in mine)]
    head = ["surface"] + mics
    lines = []
    for su in dict.fromkeys(r["surface"] for r in mine):
        cells = [su]
        for m in mics:
            rm = [r for r in mine if r["surface"] == su and r["mic"] == m]
            cells.append(f"{np.mean([r['ours']['f1'] for r in rm]):.2f}/{np.mean([r['librosa_tuned']['f1'] for r in rm]):.2f}"
                         if rm else "")
        lines.append(cells)
    return _render(head, lines, markdown=markdown)


ERROR_CLASSES = tuple(f.name for f in fields(ErrorClasses))  # early, late, missed, extra


def error_table(rows: list[dict], split: str, *, markdown: bool = False) -> str:
    """Per scene, what our errors were (:func:`stepdetect.evaluate.classify_errors`), summed over
    the scored step conditions (all mic paths and surfaces) and over those failing a bar: a
    footfall dated 25-150 ms early or late (one miss and one false report each), a contact missed
    outright, a report of a sound that was no footfall. Rows from a ``--json`` written before the
    classes were recorded are left out."""
    mine = [r for r in rows if r["split"] == split and not r["texture"] and not r["info_only"] and r.get("errors")]
    if not mine:
        return ""
    head = ["scene", "early", "late", "missed", "extra", "misdated share", "failing: early / late / missed / extra"]
    lines = []
    for sc in [*dict.fromkeys(r["scene"] for r in mine), "all"]:
        rs = [r for r in mine if sc in ("all", r["scene"])]
        tot = [sum(r["errors"][k] for r in rs) for k in ERROR_CLASSES]
        fail = [sum(r["errors"][k] for r in rs if failures(r)) for k in ERROR_CLASSES]
        # a misdated footfall is two errors (a miss and a false report)
        n_err = 2 * (tot[0] + tot[1]) + tot[2] + tot[3]
        share = f"{2 * (tot[0] + tot[1]) / n_err:.2f}" if n_err else "  -  "
        lines.append([sc, *map(str, tot), share, " / ".join(map(str, fail))])
    return _render(head, lines, markdown=markdown)


def fate_table(rows: list[dict], split: str, *, markdown: bool = False) -> str:
    """Per scene, the misdated footfalls (early / late) by what became of the candidate at their
    contact (:mod:`benchmarks.footfall.fates`), summed over the scored step conditions; rows
    without ``"fates"`` (a run without ``--fates``) are left out."""
    mine = [r for r in rows if r["split"] == split and not r["texture"] and not r["info_only"] and "fates" in r]
    if not mine:
        return ""
    lines = []
    for sc in [*dict.fromkeys(r["scene"] for r in mine), "all"]:
        rs = [r for r in mine if sc in ("all", r["scene"])]
        n = {k: sum(r["fates"].get(k, 0) for r in rs) for k in (f"{e} {g}" for e in ("early", "late") for g in FATE_GROUPS)}
        lines.append([sc, *(f"{n['early ' + g]} / {n['late ' + g]}" for g in FATE_GROUPS), str(sum(n.values()))])
    return _render(["scene", *FATE_GROUPS, "misdated"], lines, markdown=markdown)


def summary(rows: list[dict], splits: list[str]) -> str:
    """Per mic path, side by side per split: mean F1 ours / librosa default / librosa tuned, fails."""
    head = ["mic"] + [f"{s}: ours / lib / lib-tuned, fails" for s in splits]
    lines = [head]
    for m in MIC_PATHS:
        cells = [m]
        for s in splits:
            rm = [r for r in rows if r["split"] == s and r["mic"] == m]
            st = [r for r in rm if not r["texture"] and not r["info_only"]]
            if not rm:
                cells.append("")
                continue
            f = lambda k: np.mean([r[k]["f1"] for r in st]) if st else float("nan")  # noqa: E731
            cells.append(f"{f('ours'):.3f} / {f('librosa'):.3f} / {f('librosa_tuned'):.3f}, "
                         f"{sum(bool(failures(r)) for r in rm)}/{len(rm)}")
        lines.append(cells)
    widths = [max(len(c[i]) for c in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(cs, widths)) for cs in lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="footfall benchmark on real footsteps, mic paths and scenes")
    ap.add_argument("--split", choices=["dev", "eval", "both", *corpus.REDRAWN], default="both",
                    help="both = dev and eval; redraw, redraw2 / eval_redraw = the dev / eval material drawn "
                         "again under another seed")
    ap.add_argument("--check", action="store_true", help="exit 1 if an eval condition misses a bar")
    ap.add_argument("--scene", action="append", help="only these scenes (repeatable)")
    ap.add_argument("--surface", action="append", help="only these surfaces (repeatable)")
    ap.add_argument("--mic", action="append", choices=MIC_PATHS, help="only these mic paths (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every item")
    ap.add_argument("--markdown", action="store_true", help="tables as Markdown")
    ap.add_argument("--json", type=Path, help="write every item's scores here")
    ap.add_argument("--fates", action="store_true",
                    help="per misdated footfall, what became of the candidate at its contact (runs the detector "
                         "again with a trace)")
    ap.add_argument("--compare", type=Path, metavar="BASE_JSON",
                    help="compare with an earlier --json: conditions that changed sides, F1 moves")
    args = ap.parse_args(argv)
    base_rows = None
    if args.compare:
        try:
            base_rows = [_from_json(r) for r in json.loads(args.compare.read_text())["items"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            ap.error(f"--compare {args.compare}: not a bench_footfall --json file ({e.__class__.__name__}: {e})")
    if args.scene:
        unknown = set(args.scene) - set(corpus.SCENES) - set(corpus.EXTRA_SCENES)
        if unknown:
            ap.error(f"unknown scene(s) {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(list(corpus.SCENES) + list(corpus.EXTRA_SCENES))}")
    splits = ["dev", "eval"] if args.split == "both" else [args.split]
    if args.check and "eval" not in splits:
        ap.error("--check applies the bars to the eval split: use --split eval or both")

    t0 = time.perf_counter()
    dev_all = [corpus.load_item(corpus.SPLITS["dev"], *c) for c in corpus.conditions(corpus.SPLITS["dev"])]
    tuned = tune_librosa(dev_all, corpus.CACHE / corpus._key())
    rows = []
    for s in splits:
        sp = corpus.SPLITS[s]
        for c in corpus.conditions(sp, scenes=args.scene, surfaces=args.surface, mics=args.mic):
            item = corpus.load_item(sp, *c)
            rows.append(run_item(item, tuned))
            if args.fates and not (item.texture or item.info_only):
                rows[-1]["fates"] = item_fates(item.path, item.truth_s, item.ticks_s)
    elapsed = time.perf_counter() - t0

    audio_s = sum(r["duration_s"] for r in rows)
    ours_s = sum(r["seconds_ours"] for r in rows)
    print(f"footfall corpus v{corpus.CORPUS_VERSION}: {len(rows)} conditions, {audio_s / 60:.1f} min of audio; "
          f"librosa tuned on dev: loaded at {tuned['load_rate'] or 'the file rate'} Hz, delta={tuned['delta']}, "
          f"wait={tuned['wait_s']} s (dev mean F1 "
          f"{tuned['dev_mean_f1']:.3f}); ours via 'cadence analyze --json' {audio_s / max(ours_s, 1e-9):.0f}x "
          f"real time; whole run {elapsed:.0f} s")
    print("cell = worst surface's F1 at +-25 ms, ours/librosa(tuned on dev); texture: confident cadences reported")
    for s in splits:
        print(f"\n[{s}] surfaces: {', '.join(corpus.SPLITS[s].surfaces)}; runners: "
              f"{', '.join(corpus.SPLITS[s].sessions)}; textures: {', '.join(corpus.SPLITS[s].textures)} "
              f"(rhythmic, info: {', '.join(corpus.SPLITS[s].rhythmic_textures)})")
        print(table(rows, s, markdown=args.markdown))
        print(f"\n[{s}] mean F1 per surface over the scenes, ours/librosa(tuned on dev)")
        print(surface_table(rows, s, markdown=args.markdown))
        print(latency_line(rows, s))
        print(asynchrony_line(rows, s))
        print(f"\n[{s}] our errors per scene (misdated: the footfall dated 25-150 ms from its contact, "
              f"a miss and a false report at once; share of all errors)")
        print(error_table(rows, s, markdown=args.markdown))
        if args.fates:
            print(f"\n[{s}] misdated footfalls (early / late) by what became of the candidate at the contact")
            print(fate_table(rows, s, markdown=args.markdown))
    print("\nmean F1 per mic path (ours / librosa default / librosa tuned on dev), conditions failing a bar")
    print(summary(rows, splits))
    if args.verbose:
        print()
        for r in rows:
            o, lt = r["ours"], r["librosa_tuned"]
            fl = failures(r)
            print(f"{r['name']:45s} F1 {o['f1']:.3f} (P {o['precision']:.2f} R {o['recall']:.2f}, "
                  f"{o['n_found']}/{r['n_true']}) med {_fmt(o['median_ms'], '.1f')} ms cad err "
                  f"{_fmt(o['cadence_err_spm'], '.2f')} conf {o['confident']} | librosa {r['librosa']['f1']:.3f} "
                  f"tuned {lt['f1']:.3f}" + _asynchrony_cell(r) + (f"  FAIL: {'; '.join(fl)}" if fl else ""))
    if base_rows is not None:
        print(f"\ncompared with {args.compare}")
        print(compare(rows, base_rows, splits))
    if args.json:
        args.json.write_text(json.dumps(_json_safe({"librosa_tuned": tuned, "items": rows}), indent=1))
    if args.check:
        bad = [(r, failures(r)) for r in rows if r["split"] == "eval" and failures(r)]
        n_eval = sum(r["split"] == "eval" for r in rows)
        if bad:
            print(f"\nCHECK FAILED: {len(bad)} of {n_eval} eval conditions miss a bar")
            for r, fl in bad[:40]:
                print(f"  {r['name']}: {'; '.join(fl)}")
            if len(bad) > 40:
                print(f"  ... and {len(bad) - 40} more (-v lists all)")
            return 1
        print(f"\ncheck passed: all {n_eval} eval conditions meet the bars")
    return 0


if __name__ == "__main__":
    sys.exit(main())
