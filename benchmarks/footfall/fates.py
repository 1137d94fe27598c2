"""What the detector made of the true contact of each footfall it dated at another sound of the
step (``bench_footfall.py --fates``).

A misdated footfall (:func:`stepdetect.evaluate.misdated_pairs`: a missed contact and a false
report 25-150 ms from it) is the step heard and dated wrong. Which part of the detector dated
it wrong depends on what became of the candidate at the contact, which the multi-band path tells
through ``StepDetector(trace=...)`` (``stepdetect.peaks.FATES``):

* ``merged``: the tracker took it as part of the footfall it had just reported (a toe after a
  heel): the report before it was a tick, a hi-hat, a click or a gust;
* ``rejected``: the tracker refused it (off its rhythm or too weak) and took a later sound;
* ``taken``: the tracker took it as a step, yet another report won (the arbitration between the
  multi-band and the heel-thump paths);
* ``tick``: the tick tests took it for the metronome tick alone;
* ``not pushed``: a candidate crossed, but never reached the tracker (too weak before the
  rhythm was found, a quiet peak, an onset pushed already, far under the footfalls' level);
* ``no candidate``: the onset function never crossed at the contact.

A candidate "at the contact" is one whose onset lies within the scoring tolerance of it, or (for
one never dated) whose crossing falls from 5 ms before to 45 ms after it. The report of the
footfall may come from either path; only the multi-band path's candidates are traced.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

from stepdetect.evaluate import DEFAULT_TOLERANCE_S, misdated_pairs
from stepdetect.online import StepDetector, detect_footfalls

FATE_GROUPS = ("merged", "rejected", "taken", "tick", "not pushed", "no candidate")
_BY_DECISION = (("step", "taken"), ("merged", "merged"), ("rejected", "rejected"), ("tick", "tick"))
CROSS_WINDOW_S = (-0.005, 0.045)  # a crossing this far from a contact is its candidate's


def contact_fate(trace: list[tuple[float, float, str]], contact_s: float, *,
                 tolerance_s: float = DEFAULT_TOLERANCE_S) -> str:
    """The group (``FATE_GROUPS``) of what became of the candidate at a contact at ``contact_s``,
    from a detector's trace of (crossing s, onset s or NaN, fate) per candidate."""
    dated = {f for _, o, f in trace if math.isfinite(o) and abs(o - contact_s) <= tolerance_s}
    for fate, group in _BY_DECISION:
        if fate in dated:
            return group
    lo, hi = CROSS_WINDOW_S
    if dated or any(lo <= c - contact_s <= hi for c, o, _ in trace if not math.isfinite(o)):
        return "not pushed"
    return "no candidate"


def item_fates(audio_path: Path, truth_s: np.ndarray, ticks_s: np.ndarray | None) -> dict[str, int]:
    """Per "early <group>" / "late <group>": the misdated footfalls of one item, by what became of
    the candidate at their contact (the detector run again over the file, with a trace)."""
    y, sr = sf.read(audio_path, dtype="float64", always_2d=False)
    trace: list[tuple[float, float, str]] = []
    det = StepDetector(sample_rate=sr, trace=lambda c, o, f: trace.append((c, o, f)))
    if ticks_s is not None:
        det.add_ticks(np.asarray(ticks_s, dtype=float))
    found = np.sort(detect_footfalls(y, sample_rate=sr, detector=det).time_s)
    pairs, _, _ = misdated_pairs(truth_s, found)
    out: Counter[str] = Counter()
    for i, j in pairs:
        side = "early" if found[j] < truth_s[i] else "late"
        out[f"{side} {contact_fate(trace, float(truth_s[i]))}"] += 1
    return dict(out)
