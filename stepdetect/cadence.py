"""Step times -> cadence (whole recording and sliding windows), gaps, feet, asymmetry.

All functions are pure and take sorted step times in seconds (from any detector: audio or
accelerometer). A *gap* is an interval clearly longer than the local step interval (missed
steps or a pause); gaps are flagged, and no steps are ever invented to fill them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from stepdetect.validate import ParameterError, validate_events

GAP_FACTOR = 1.5  # an interval > 1.5 x the local median interval is a gap
PAUSE_FACTOR = 2.5  # an interval > 2.5 x the recording's typical step: no stride spans it (a stop, missed steps)
SHORT_FACTOR = 0.6  # an interval < 0.6 x the local median is an extra event, not a step
LOCAL_STEPS = 9  # intervals in the running-median window
MIN_STEPS_FOR_CADENCE = 4
# The cadence counts only *regular* intervals: within REGULAR_BAND of the local typical step (a
# missed or extra footfall makes the intervals around it irregular), or a pair of neighbours each
# within PAIR_EACH_BAND that add up to two typical steps within PAIR_TOLERANCE (a footfall heard
# early or late moves one step time: the two intervals around it still span two steps; when
# they do not, neither counts); and
# within GLOBAL_BAND of the gait's typical step (so a run of sparse sounds while the runner
# stands cannot become a local "cadence" of 30 spm). A limp (0.30 / 0.40 s) is regular: the
# typical step is half a stride.
REGULAR_BAND = (0.8, 1.2)
PAIR_EACH_BAND = (0.5, 1.5)
PAIR_TOLERANCE = 0.1
# ... and a footfall counts as misplaced (neither of its intervals counts) only when one of them is
# at least MISPLACED_MIN of a step off (a runner's own step-to-step variation, even at +-20 ms
# around a metronome's ticks, stays under it), between regular intervals, one short and one long,
# at local typical steps within MISPLACED_SAME_REFERENCE of each other (not a walk / run change)
MISPLACED_MIN = 0.3
MISPLACED_SAME_REFERENCE = 1.05
GLOBAL_BAND = (0.5, 2.0)
# The gait's typical step is that of the steps on either side of an interval (:func:`_gait_steps_s`),
# not the whole recording's: a run / walk session (rehab intervals, 180 spm running and 90
# walking) has two typical steps 2 : 1 apart, and against the recording's median one of them sits
# on the edge of GLOBAL_BAND. A side is the half strides within SIDE_WINDOW_S before (after) the
# interval, at least SIDE_MIN_STRIDES of them; it has a gait of its own when at least
# STEADY_SIDE_SHARE of them lie within STEADY_SIDE_TOLERANCE of their median (walking or running
# steps vary by a few %; the sounds heard while standing at a stop, 0.7-1.15 s apart, and a
# detector's missed and extra footfalls do not), else the recording's typical step stands for it.
SIDE_WINDOW_S = 10.0
SIDE_MIN_STRIDES = 9
STEADY_SIDE_TOLERANCE = 0.1
STEADY_SIDE_SHARE = 0.8
# An interval within MISSED_STEP_TOLERANCE of two or three local step intervals is missed steps
# (:func:`_missed_step_gaps`); a limp's long step (0.70 / 0.40 s: 1.75) is not.
MISSED_STEP_MULTIPLES = (2.0, 3.0)
MISSED_STEP_TOLERANCE = 0.1
MAX_BRIDGED_MISSING = 3  # feet stay labelled across at most this many missed steps
# The cadence's local step reference (half the local median stride) is the runner's step only
# where it agrees within MAX_REFERENCE_DRIFT (either way) with the typical step of the gait before
# or after it (:func:`_gait_steps_s`): where sounds between the steps are taken as footfalls
# (a crunch's tail, a breath through a headset's gate, 0.2 s after a step), the half strides of
# that stretch make a reference of their own (0.28 s in a 0.36 s run) against which those
# intervals look regular. A ramp or a walk/run change moves the reference smoothly, and the
# 10 s sides follow it (a 160 -> 180 spm ramp over 30 s: within 3 %).
MAX_REFERENCE_DRIFT = 1.1
# A steady side of the cadence's gait (:func:`_gait_steps_s`) is a gait only with a median half
# stride of at least MIN_SIDE_STEP_S (300 spm: faster than any runner; a stretch of extra sounds
# or duplicate times is none). Not the pair of MAX_GAIT_STEP_S, which bounds the tracker's
# periods in :func:`tracked_step_s`.
MIN_SIDE_STEP_S = 0.2
MIN_CONFIDENT_STEPS = 20  # fewer steps than this: the estimate is flagged low-confidence
# A confident cadence needs a steady step rhythm (texture -- grass, leaves, gravel shuffle,
# rustle -- is not one): most footfalls accepted on the tracked rhythm, the onsets heard recurring
# at the step period, and regular strides.
MIN_RHYTHMIC_FRACTION = 0.4  # of the footfalls accepted on the tracked rhythm
# Pulse clarity (stepdetect.tracker_state.pulse_clarity): the onsets' autocorrelation at the step
# period over its mean. On the dev split of the footfall benchmark: textures the tracker found a
# "rhythm" in 1.3-1.4 (random onsets: ~1, the peak searched near the period adds a little), steps
# found with F1 >= 0.85 2.1 and more (crunches, clicks, ticks, a stop's noise, narrowband noise
# between them); a tracker locked on a wrong rhythm (treadmill seams): 1.2-1.7. The bar sits at
# about the geometric middle of 1.4 and 2.1.
MIN_RHYTHM_CLARITY = 1.75
# Median |stride / local median stride - 1|. Steady steps: 0.00-0.06 on the dev split of the footfall
# benchmark with every mic path and scene (gait varies by a few %, detection jitter adds ~1 %);
# a texture the rhythm tracker has picked a "rhythm" out of: 0.07-0.20.
MAX_STRIDE_IRREGULARITY = 0.065
MIN_STEPS_FOR_REGULARITY = 7  # fewer steps (5 strides): too few to judge, the stride rule does not apply
# The cadence and the rhythm tracker measure the same steps: a confident cadence agrees with the
# step period the tracker followed (:func:`tracked_step_s`) within MAX_TRACKED_DISAGREEMENT (either
# way). Where it does not, the cadence counts intervals the tracker did not follow as steps --
# breaths every 1.2 s while standing at a traffic light, every third step heard through a
# narrowband headset (dev stop shower HFP 8 kHz: 96 spm for a 149 spm runner, 1.54 x the tracked
# step; wind shower HFP 8 kHz 125 for 148, 1.21 x) -- or the tracker followed a wrong rhythm. On
# the dev split of the footfall benchmark every confident cadence within 1 spm of the truth agrees
# within 0.95-1.06 x. 15 % is more than a whole step of a cadence plan (5-10 %).
MAX_TRACKED_DISAGREEMENT = 1.15
# The tracked step is the mean of the tracker's periods within TRACKED_BAND x their median or x
# the median of the steady periods of the SIDE_WINDOW_S before or after each (a gait: the tracker
# re-locks on a walk up to 2.15 x slower than the run, TrackerParams.relock_max_ratio, and a run /
# walk session at 180 / 90 spm has two step periods 2 : 1 apart); a moment's lock on strides,
# every third step or breaths (2-3.5 x the periods around it) is not the runner's step.
# A mean, as the cadence is one: a median would take a run / walk session's more frequent rhythm
# for the whole. A side is a gait only with at least SIDE_MIN_STRIDES periods (one footfall, or a
# few locked on strides, is none) and a median of at most MAX_GAIT_STEP_S: a walk's step is at
# most ~0.75 s (80 spm); a steady lock on breaths or on every third step (1.2 s) for 10 s is no
# gait, and on the dev split of the footfall benchmark every lock over 0.8 s was a wrong one.
# (MAX_GAIT_STEP_S guards only :func:`tracked_step_s`; the cadence's sides have MIN_SIDE_STEP_S.)
TRACKED_BAND = 1.8
MAX_GAIT_STEP_S = 0.8

Foot = Literal["L", "R"]



# Step times may span a long pause in a recording (an accelerometer log with a day or a year
# between two runs): allow any span up to 20 years.
MAX_STEP_TIME_S = 20 * 365.25 * 86400.0
# cadence_track skips windows inside a pause longer than this (no steps: nothing to report).
TRACK_PAUSE_S = 60.0


def _step_times(step_times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    return validate_events(step_times_s, name="step times", max_time_s=MAX_STEP_TIME_S)

def _local_median_interval_s(intervals_s: NDArray[np.float64], *, width: int = LOCAL_STEPS,
                             edges: Literal["shrink", "shift"] = "shrink") -> NDArray[np.float64]:
    """Centred running median of the step intervals (NaN left out; NaN where a window holds only
    NaN). At the edges the window is shorter (``"shrink"``) or, with at least ``width`` intervals, the first/last full window
    (``"shift"``: two misplaced footfalls at the start cannot carry the reference with them)."""
    n = intervals_s.size
    half = width // 2
    # without NaN, the plain median (the same values; nanmedian of short rows is ~10 x slower)
    median = np.nanmedian if np.isnan(intervals_s).any() else np.median
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a window of NaN only: NaN
        if edges == "shift" and n >= width:
            full = median(sliding_window_view(intervals_s, width), axis=1)  # window starting at each index
            return full[np.clip(np.arange(n) - half, 0, n - width)]
        out = np.empty(n)
        if n > 2 * half:
            out[half : n - half] = median(sliding_window_view(intervals_s, 2 * half + 1), axis=1)
        for i in (*range(min(half, n)), *range(max(half, n - half), n)):
            out[i] = median(intervals_s[max(0, i - half) : i + half + 1])
    return out


def interval_flags(step_times_s: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Step intervals (s), and which are gaps and which are too short to be one step.

    Returns
    -------
    intervals_s : ndarray, shape (n - 1,)
    is_gap : ndarray of bool, interval > GAP_FACTOR x local median
    is_short : ndarray of bool, interval < SHORT_FACTOR x local median
    """
    t = _step_times(step_times_s)
    intervals = np.diff(t)
    if intervals.size == 0:
        z = np.zeros(0, dtype=bool)
        return intervals, z, z
    med = _local_step_reference_s(t, intervals)
    return intervals, intervals > GAP_FACTOR * med, intervals < SHORT_FACTOR * med


def _local_step_reference_s(t: NDArray[np.float64], intervals: NDArray[np.float64], *,
                            edges: Literal["shrink", "shift"] = "shrink",
                            skip_missed: bool = False) -> NDArray[np.float64]:
    """The typical step around each interval: half the local median *stride* (two steps).

    Left and right step times may differ a lot (a limp, a phone in one pocket seeing the two
    feet at different phases: 0.40 / 0.70 s); the median of alternating intervals is then one
    of the two, and the other would be called short or a gap. A stride holds one of each.

    A stride that spans a pause (an interval over ``PAUSE_FACTOR`` x the recording's typical
    step: a stop, or missed steps) is no stride: the steps on each side of it get the reference
    of their own strides (the pause itself: that of the steps before it; a stretch of fewer than
    ``MIN_STEPS_FOR_REGULARITY`` steps: the recording's typical step). Otherwise the two
    strides across a 10 s stop pull the running median up and the slow or irregular steps
    next to it pass for regular ones.

    ``skip_missed`` (the cadence): strides spanning a missed step are left out too (see
    :func:`_stride_reference_s`).
    """
    if t.size < 4:
        return _stride_reference_s(t, intervals, edges=edges, skip_missed=skip_missed)
    typical_s = _typical_step_s(t, skip_missed=True)  # as the gait's fallback (:func:`_gait_steps_s`)
    pauses = np.flatnonzero(intervals > PAUSE_FACTOR * typical_s)
    if pauses.size == 0:
        return _stride_reference_s(t, intervals, edges=edges, skip_missed=skip_missed)
    out = np.full(intervals.size, np.nan)
    starts = np.r_[0, pauses + 1]
    ends = np.r_[pauses, t.size - 1]  # the steps starts[k]..ends[k]; a pause after each but the last
    for a, b in zip(starts, ends):
        if b > a:
            # a stretch of too few steps to have a stride rhythm of its own: the recording's
            out[a:b] = (_stride_reference_s(t[a : b + 1], intervals[a:b], edges=edges, skip_missed=skip_missed)
                        if b + 1 - a >= MIN_STEPS_FOR_REGULARITY else typical_s)
            if b < intervals.size:
                out[b] = out[b - 1]
    # a pause right after another (a lone step between): the reference of the steps after it
    for i in reversed(range(intervals.size - 1)):
        if np.isnan(out[i]):
            out[i] = out[i + 1]
    return np.where(np.isnan(out), typical_s, out)


def _missed_step_gaps(intervals: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Intervals of about two or three local step intervals (``MISSED_STEP_TOLERANCE``): a
    missed footfall or two, not a slower step (a runner's step interval changes smoothly).

    The local step interval is the running median of the single intervals (``"shift"`` edges):
    each missed step lengthens one interval but the two strides across it, so a few missed steps
    carry the median stride to 1.5 steps long before they move the median interval.
    """
    if intervals.size < LOCAL_STEPS:
        return np.zeros(intervals.size, dtype=bool)
    return _near_multiple(intervals / _local_median_interval_s(intervals, edges="shift"))[0]


def _near_multiple(ratio: NDArray[np.float64]) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Which ``ratio`` (an interval over its local step) lie within ``MISSED_STEP_TOLERANCE`` of
    one of ``MISSED_STEP_MULTIPLES``, and that multiple (0 elsewhere). The tolerance bands do not
    overlap, so the multiple is the nearest one, np.rint of the ratio."""
    multiple = np.zeros(ratio.size)
    for k in MISSED_STEP_MULTIPLES:
        multiple = np.where((multiple == 0) & (np.abs(ratio / k - 1.0) <= MISSED_STEP_TOLERANCE), k, multiple)
    return multiple > 0, multiple


def _stride_reference_s(t: NDArray[np.float64], intervals: NDArray[np.float64], *,
                        edges: Literal["shrink", "shift"] = "shrink",
                        skip_missed: bool = False) -> NDArray[np.float64]:
    """:func:`_local_step_reference_s` of steps with no pause between them.

    With ``skip_missed``, a stride spanning a missed step (:func:`_missed_step_gaps`) is three
    steps, not two: it is left out of the running median (where every stride of a window spans
    one, the reference is that of the recording's strides without)."""
    if t.size < 4:
        return _local_median_interval_s(intervals, edges=edges)
    half_strides = (t[2:] - t[:-2]) / 2.0  # one per interval except the last
    med = _local_median_interval_s(half_strides, edges=edges)
    missed = _missed_step_gaps(intervals) if skip_missed else np.zeros(intervals.size, dtype=bool)
    spans_missed = missed[:-1] | missed[1:]  # stride i holds intervals i and i + 1
    if spans_missed.any() and not spans_missed.all():
        clean = _local_median_interval_s(np.where(spans_missed, np.nan, half_strides), edges=edges)
        fallback = float(np.median(half_strides[~spans_missed]))
        med = np.where(np.isnan(clean), fallback, clean)
    return np.append(med, med[-1])  # the last interval shares the last stride's reference


def drop_extra_events(step_times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Remove one event of each too-short pair: the one whose removal leaves the more regular
    interval (closest to the local typical step). Used for cadence, never to edit the reported steps.

    The pairs are those flagged in the original sequence; removals do not re-flag the
    neighbours (a merged interval would otherwise inflate the reference and cascade).
    """
    t = _step_times(step_times_s)
    intervals, _, is_short = interval_flags(t)
    if not is_short.any():
        return t
    ref = _local_step_reference_s(t, intervals)
    keep = np.ones(t.size, dtype=bool)
    for i in np.flatnonzero(is_short):
        if not (keep[i] and keep[i + 1]):
            continue  # one of the pair is already gone
        prev = np.flatnonzero(keep[:i])
        nxt = np.flatnonzero(keep[i + 2 :])
        before = t[prev[-1]] if prev.size else None
        after = t[i + 2 + nxt[0]] if nxt.size else None
        # the interval each removal leaves next to the pair (at the ends: the one on the other side)
        cost_first = abs(t[i + 1] - before - ref[i]) if before is not None else (
            abs(after - t[i + 1] - ref[i]) if after is not None else 0.0)
        cost_second = abs(after - t[i] - ref[i]) if after is not None else (
            abs(t[i] - before - ref[i]) if before is not None else 0.0)
        keep[i if cost_first <= cost_second else i + 1] = False
    return t[keep]


def _typical_step_s(t: NDArray[np.float64], *, skip_missed: bool = False) -> float:
    """The recording's typical step (s): half its median stride (one step with fewer than 3).

    ``skip_missed``: strides spanning a missed step (:func:`_missed_step_gaps`) left out (where
    every stride spans one, all count): with a footfall missed every few steps, a third of the
    strides or more are three steps long and carry the median with them."""
    if t.size < 3:
        return float(np.median(np.diff(t)))
    half = (t[2:] - t[:-2]) / 2.0
    if skip_missed:
        missed = _missed_step_gaps(np.diff(t))
        clean = ~(missed[:-1] | missed[1:])
        if clean.any():
            half = half[clean]
    return float(np.median(half))


def _gait_steps_s(t: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The typical step of the gait before and after each interval of sorted step times ``t``.

    A side is the half strides (``(t[i + 2] - t[i]) / 2``, dated at ``t[i + 1]``) within
    ``SIDE_WINDOW_S`` before (after) the interval's middle, at least ``SIDE_MIN_STRIDES`` of them
    (the nearest, at the recording's ends from the other side too). Its typical step is their
    median when at least ``STEADY_SIDE_SHARE`` of them lie within ``STEADY_SIDE_TOLERANCE`` of it
    (a steady walk or run), else the recording's typical step (:func:`_typical_step_s`, strides
    across a missed step left out), as
    everywhere in steps spanning at most ``SIDE_WINDOW_S`` (the cadence windows, the live cadence).
    """
    n = t.size - 1
    typical_s = _typical_step_s(t, skip_missed=True)
    before, after = np.full(n, typical_s), np.full(n, typical_s)
    if t.size < 4 or t[-1] - t[0] <= SIDE_WINDOW_S:
        return before, after  # one side's worth of steps: the recording's own gait
    half = (t[2:] - t[:-2]) / 2.0
    centre_s = t[1:-1]
    middle_s = (t[:-1] + t[1:]) / 2.0
    m, k = half.size, min(SIDE_MIN_STRIDES, half.size)
    split = np.searchsorted(centre_s, middle_s)  # half strides [0, split) before, [split, m) after
    first = np.minimum(np.searchsorted(centre_s, middle_s - SIDE_WINDOW_S), np.maximum(split - k, 0))
    last = np.maximum(np.searchsorted(centre_s, middle_s + SIDE_WINDOW_S, side="right"), np.minimum(split + k, m))
    for out, a, b in ((before, first, np.maximum(split, np.minimum(first + k, m))),
                      (after, np.minimum(split, np.maximum(last - k, 0)), last)):
        med, share = _steady_medians(half, a, b)
        out[:] = np.where((share >= STEADY_SIDE_SHARE) & (med >= MIN_SIDE_STEP_S), med, out)
    return before, after


_MAX_CELLS = 1 << 20  # side windows are handled as rows of a matrix of at most this many cells


def _steady_medians(x: NDArray[np.float64], a: NDArray[np.intp],
                    b: NDArray[np.intp]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """For each non-empty ``x[a[j]:b[j]]``: its median, and the share of it within
    ``STEADY_SIDE_TOLERANCE`` of that median."""
    width = int(np.max(b - a))
    rows = max(1, _MAX_CELLS // width)
    med, share = np.empty(a.size), np.empty(a.size)
    for lo in range(0, a.size, rows):
        sl = slice(lo, lo + rows)
        idx = a[sl, None] + np.arange(width)
        side = np.where(idx < b[sl, None], x[np.minimum(idx, x.size - 1)], np.nan)  # NaN-padded rows
        med[sl] = np.nanmedian(side, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):  # a median of 0 (duplicate times): not steady
            share[sl] = np.sum(np.abs(side / med[sl, None] - 1.0) <= STEADY_SIDE_TOLERANCE, axis=1) / (b[sl] - a[sl])
    return med, share


def typical_step_s(step_times_s: NDArray[np.float64], *, skip_missed: bool = False) -> float:
    """The typical step (s) of sorted step times: half the median stride, extra events
    (:func:`drop_extra_events`) left out; NaN with fewer than 2 steps. ``skip_missed``: strides
    spanning a missed step left out (see :func:`_typical_step_s`)."""
    t = _step_times(step_times_s)
    return _typical_step_s(drop_extra_events(t), skip_missed=skip_missed) if t.size >= 2 else float("nan")


def _bridged_missed_steps(local: NDArray[np.float64], counted: NDArray[np.bool_],
                          ref_in_gait: NDArray[np.bool_]) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Intervals the cadence counts as two or three steps: each within ``MISSED_STEP_TOLERANCE``
    of ``MISSED_STEP_MULTIPLES`` x its local step (``local``: the interval over it), that step the
    gait's (``ref_in_gait``), not already ``counted`` as one step, in a stretch of such intervals
    with a counted interval right before and right after it (a footfall or a few missed between
    regular steps; not the sounds heard while standing at a stop, or the edges of a recording).
    Returns those intervals and the steps each is (:func:`_near_multiple`)."""
    n = local.size
    cand, multiple = _near_multiple(local)
    cand &= ref_in_gait & ~counted
    if not cand.any():
        return cand, multiple
    edges = np.diff(np.r_[0, cand.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # stretches cand[a:b]
    ok = (starts > 0) & (ends < n)
    ok[ok] = counted[starts[ok] - 1] & counted[ends[ok]]
    out = np.zeros(n, dtype=bool)
    for a, b in zip(starts[ok], ends[ok]):
        out[a:b] = True
    return out, multiple


def cadence_spm(step_times_s: NDArray[np.float64]) -> float:
    """Whole-recording cadence in steps per minute (both feet).

    The number of steps in the *regular* intervals divided by their total duration, after
    :func:`drop_extra_events`: an interval counts when it is within ``REGULAR_BAND`` of the
    local typical step (half the local median stride; strides across a missed step, an interval
    of about 2 or 3 steps, left out: :func:`_missed_step_gaps`) or, with a neighbour, spans two typical
    steps (``PAIR_TOLERANCE``: a footfall heard early or late; when the two do not add up, the
    regular one of them is left out too, so a misplaced footfall never counts on one side only),
    and is within ``GLOBAL_BAND`` of
    the typical step of the steady gait before or after it (:func:`_gait_steps_s`; where neither
    side is steady, the recording's median step), so both parts of a run / walk session count;
    and where the local typical step itself is the gait's (``MAX_REFERENCE_DRIFT``: a stretch of
    extra sounds between the steps has a shorter one of its own). An interval of two or three
    local steps between counted ones is a missed footfall or two: it counts as that many steps
    (:func:`_bridged_missed_steps`), so the stretch's time is not lost and a footfall heard early
    or late next to it is not counted on one side only. Pauses, misplaced or extra footfalls and
    the sparse sounds of a pause are left out, so a wrong detection barely moves the figure. No
    step is invented in the reported steps. Identical step times count as one step. NaN with
    fewer than ``MIN_STEPS_FOR_CADENCE`` steps or no regular interval.

    Parameters
    ----------
    step_times_s : ndarray, shape (n,), sorted, seconds

    Returns
    -------
    float, spm
    """
    t = _step_times(step_times_s)
    t = np.unique(t)  # identical times are one step (a zero interval is none)
    if t.size < MIN_STEPS_FOR_CADENCE:
        return float("nan")
    t = drop_extra_events(t)
    intervals = np.diff(t)
    if intervals.size == 0:
        return float("nan")
    ref = _local_step_reference_s(t, intervals, edges="shift", skip_missed=True)
    local = intervals / ref
    regular = (local >= REGULAR_BAND[0]) & (local <= REGULAR_BAND[1])
    keep = regular.copy()
    each = (local >= PAIR_EACH_BAND[0]) & (local <= PAIR_EACH_BAND[1])
    pair = ((np.abs((intervals[:-1] + intervals[1:]) / (ref[:-1] + ref[1:]) - 1.0) <= PAIR_TOLERANCE)
            & each[:-1] & each[1:])
    keep[:-1] |= pair
    keep[1:] |= pair
    # a footfall heard early or late whose two intervals do not add up to two steps within
    # PAIR_TOLERANCE: the regular one of them is left out too (counting one side of a misplaced
    # footfall biases the cadence: a step found 0.14 s early at the end of a 20 s run kept its short
    # interval and dropped its long one, +1.2 spm)
    steady = np.r_[True, regular[:-2]] & np.r_[regular[2:], True]  # the steps before and after the pair
    lone = (each[:-1] & each[1:] & (keep[:-1] ^ keep[1:]) & ((local[:-1] - 1.0) * (local[1:] - 1.0) < 0)
            & steady & (np.abs(np.log(ref[:-1] / ref[1:])) <= math.log(MISPLACED_SAME_REFERENCE))
            & (np.maximum(np.abs(local[:-1] - 1.0), np.abs(local[1:] - 1.0)) >= MISPLACED_MIN))
    keep[:-1] &= ~lone
    keep[1:] &= ~lone
    in_gait = np.zeros(intervals.size, dtype=bool)
    ref_in_gait = np.zeros(intervals.size, dtype=bool)
    for gait_s in _gait_steps_s(t):
        ratio = intervals / gait_s
        in_gait |= (ratio >= GLOBAL_BAND[0]) & (ratio <= GLOBAL_BAND[1])
        ref_in_gait |= np.abs(np.log(ref / gait_s)) <= math.log(MAX_REFERENCE_DRIFT)
    if t[-1] - t[0] <= SIDE_WINDOW_S:
        # one side's worth of steps (a cadence_track window, the live cadence): _gait_steps_s
        # gives every interval the window's typical step, not the gait on either side of it, and
        # against that a window across a walk/run change or a ramp would drop one of its gaits
        ref_in_gait[:] = True
    keep &= in_gait & ref_in_gait
    missed, multiple = _bridged_missed_steps(local, keep, ref_in_gait)
    steps = np.where(missed, multiple, keep.astype(np.float64))
    keep |= missed
    if not keep.any():
        return float("nan")
    return float(60.0 * steps[keep].sum() / intervals[keep].sum())


def cadence_track(
    step_times_s: NDArray[np.float64], *, window_s: float = 10.0, hop_s: float = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cadence over sliding windows.

    Parameters
    ----------
    step_times_s : ndarray, sorted, seconds
    window_s : float > 0
        Window length, seconds.
    hop_s : float > 0
        Window step, seconds.

    Returns
    -------
    center_times_s : ndarray
        Window centres, seconds.
    spm : ndarray
        :func:`cadence_spm` of the steps in each window (NaN where too few steps).
    """
    if not (window_s > 0 and hop_s > 0):
        raise ParameterError(f"window_s ({window_s!r} s) and hop_s ({hop_s!r} s) must be > 0")
    t = _step_times(step_times_s)
    if t.size < 2:
        return np.zeros(0), np.zeros(0)
    # One grid of windows per stretch of steps: windows inside a long pause hold no steps
    # (and a pause of a year would be 31 million of them).
    breaks = np.flatnonzero(np.diff(t) > max(TRACK_PAUSE_S, window_s))
    firsts, lasts = np.r_[0, breaks + 1], np.r_[breaks, t.size - 1]
    starts = np.concatenate([np.arange(t[a], max(t[a], t[b] - window_s) + hop_s / 2, hop_s)
                             for a, b in zip(firsts, lasts)])
    centres = starts + window_s / 2
    lo = np.searchsorted(t, starts, side="left")
    hi = np.searchsorted(t, starts + window_s, side="left")
    spm = np.array([cadence_spm(t[i:j]) for i, j in zip(lo, hi)])
    return centres, spm


@dataclass(frozen=True)
class Gap:
    """A stretch where steps are missing."""

    start_s: float  # last step before the gap
    end_s: float  # first step after it
    n_missing: int  # estimated missing steps (>= 1; large for a pause)


def find_gaps(step_times_s: NDArray[np.float64]) -> list[Gap]:
    """Intervals flagged as gaps, with the estimated number of missing steps."""
    t = _step_times(step_times_s)
    intervals, is_gap, _ = interval_flags(t)
    if not is_gap.any():
        return []
    ok = intervals[~is_gap]
    typical_s = float(np.median(ok)) if ok.size else float(np.median(intervals))
    return [
        Gap(float(t[i]), float(t[i + 1]), max(1, int(round(intervals[i] / typical_s)) - 1))
        for i in np.flatnonzero(is_gap)
    ]


def assign_feet(step_times_s: NDArray[np.float64], *, first_foot: Foot = "L") -> list[Foot | None]:
    """Left/right labels by alternation.

    Footfalls alternate; across a gap of up to ``MAX_BRIDGED_MISSING`` missed steps the parity
    follows the estimated number of missing steps. After a longer pause, a gap that is not close
    to a whole number of steps, which foot is which is unknown:
    those steps and all later ones get ``None`` (never a guess), as does an extra event (one of a
    too-short pair, see :func:`drop_extra_events`). Audio alone cannot tell left
    from right: ``first_foot`` names the first step (default 'L').

    Returns
    -------
    list of 'L', 'R' or None, one per step.
    """
    if first_foot not in ("L", "R"):
        raise ParameterError(f"first_foot must be 'L' or 'R', got {first_foot!r}")
    t = _step_times(step_times_s)
    if t.size == 0:
        return []
    kept = drop_extra_events(t)  # an extra event gets None; the alternation skips over it
    intervals, is_gap, is_short = interval_flags(kept)
    other: dict[Foot, Foot] = {"L": "R", "R": "L"}
    kept_feet: list[Foot | None] = [first_foot]
    ok = intervals[~(is_gap | is_short)]
    typical_s = float(np.median(ok)) if ok.size else 1.0
    parity: int | None = 0
    for i, dt in enumerate(intervals):
        if parity is None:
            pass
        elif is_short[i]:
            parity = None
        elif is_gap[i]:
            ratio = dt / typical_s
            k = int(round(ratio))
            parity = (parity + k) % 2 if abs(ratio - k) < 0.25 and k - 1 <= MAX_BRIDGED_MISSING else None
        else:
            parity = (parity + 1) % 2
        kept_feet.append(None if parity is None else (first_foot if parity == 0 else other[first_foot]))
    by_time = dict(zip(kept.tolist(), kept_feet))
    return [by_time.get(x) for x in t.tolist()]


@dataclass(frozen=True)
class Asymmetry:
    """Step-time asymmetry between the feet."""

    left_to_right_ms: float  # median time from a L footfall to the next R footfall
    right_to_left_ms: float
    symmetry_index_pct: float  # 100 * (LR - RL) / mean(LR, RL); 0 = symmetric
    n_left_to_right: int
    n_right_to_left: int


def step_asymmetry(step_times_s: NDArray[np.float64], feet: list[Foot | None]) -> Asymmetry:
    """Left-to-right vs right-to-left step times (ms) and the symmetry index (%).

    Only intervals between two labelled, alternating footfalls that are not gaps or extras are
    used. The symmetry index is ``200 * (LR - RL) / (LR + RL)``; its sign says which step is
    longer (positive: L->R). NaN where a direction has no interval.
    """
    t = _step_times(step_times_s)
    if len(feet) != t.size:
        raise ParameterError(f"{len(feet)} foot labels for {t.size} steps")
    intervals, is_gap, is_short = interval_flags(t)
    lr, rl = [], []
    for i, dt in enumerate(intervals):
        if is_gap[i] or is_short[i]:
            continue
        a, b = feet[i], feet[i + 1]
        if a == "L" and b == "R":
            lr.append(dt)
        elif a == "R" and b == "L":
            rl.append(dt)
    lr_ms = float(np.median(lr) * 1000) if lr else float("nan")
    rl_ms = float(np.median(rl) * 1000) if rl else float("nan")
    si = 200.0 * (lr_ms - rl_ms) / (lr_ms + rl_ms) if lr and rl else float("nan")
    return Asymmetry(lr_ms, rl_ms, si, len(lr), len(rl))


def stride_irregularity(step_times_s: NDArray[np.float64]) -> float:
    """How irregular the strides are: the median of ``|stride / local median stride - 1|``.

    A stride is two steps (one of each foot), so a limp or a phone that hears the two feet at
    different phases (0.30 / 0.40 s) is as regular as an even gait; the local median follows a
    ramp or a walk-run change; extra events (:func:`drop_extra_events`) are left out first, and
    a gap or a stop moves only the few strides across it. About 0.01-0.04 for steady steps; a
    texture (grass, leaves, gravel shuffle) gives 0.07-0.2 even after a rhythm tracker has picked
    the events that fit it best. NaN with fewer than ``MIN_STEPS_FOR_REGULARITY`` steps.
    """
    t = drop_extra_events(_step_times(step_times_s))
    if t.size < MIN_STEPS_FOR_REGULARITY:
        return float("nan")
    strides = t[2:] - t[:-2]
    return float(np.median(np.abs(strides / _local_median_interval_s(strides) - 1.0)))


def tracked_step_s(periods_s: NDArray[np.float64], times_s: NDArray[np.float64] | None = None) -> float:
    """The step period a rhythm tracker followed, from its period at each footfall it took on the
    rhythm (NaN entries, footfalls off it, are left out): the mean of those within
    ``TRACKED_BAND`` x the median of all or, given the footfalls' times (``times_s``), of the
    periods of the ``SIDE_WINDOW_S`` before or after them where those are a gait (the walk of a
    run / walk session): at least ``SIDE_MIN_STRIDES`` of them, at least ``STEADY_SIDE_SHARE``
    within ``STEADY_SIDE_TOLERANCE`` of their median, and that median a step (at most
    ``MAX_GAIT_STEP_S``, not breaths or every third step). NaN without any."""
    p = np.asarray(periods_s, dtype=np.float64)
    ok = np.isfinite(p) & (p > 0)
    p = p[ok]
    if p.size == 0:
        return float("nan")
    near = np.abs(np.log(p / np.median(p))) <= math.log(TRACKED_BAND)
    if times_s is not None:
        t = np.asarray(times_s, dtype=np.float64)[ok]
        order = np.argsort(t, kind="stable")
        t, p, near = t[order], p[order], near[order]
        at = np.arange(p.size)
        for a, b in ((np.searchsorted(t, t - SIDE_WINDOW_S), at + 1),
                     (at, np.searchsorted(t, t + SIDE_WINDOW_S, side="right"))):
            med, share = _steady_medians(p, a, b)  # the periods of the SIDE_WINDOW_S before / after
            gait = (b - a >= SIDE_MIN_STRIDES) & (share >= STEADY_SIDE_SHARE) & (med <= MAX_GAIT_STEP_S)
            near |= gait & (np.abs(np.log(p / med)) <= math.log(TRACKED_BAND))
    return float(np.mean(p[near]))


def rhythm_is_steady(step_times_s: NDArray[np.float64], rhythmic: NDArray[np.bool_], clarity: float,
                     tracked_step_s: float = math.nan, spm: float | None = None) -> bool:
    """Whether footfalls form a steady step rhythm (for a confident cadence).

    All of: at least ``MIN_RHYTHMIC_FRACTION`` of them accepted on the tracked rhythm
    (``rhythmic``, one flag per footfall), the onsets heard recurring at the typical step
    (``clarity``, the detector's pulse clarity at :func:`typical_step_s` with strides spanning a
    missed step left out, as ``coach.analysis.detector_rhythm`` measures it, at least
    ``MIN_RHYTHM_CLARITY``: texture's onsets come at random lags), strides no more
    irregular than ``MAX_STRIDE_IRREGULARITY`` (:func:`stride_irregularity`; with too few steps
    to judge, this part does not apply), and, given the step the tracker followed
    (``tracked_step_s``, :func:`tracked_step_s`), a cadence whose step agrees with it within
    ``MAX_TRACKED_DISAGREEMENT``: ``spm``, the footfalls' :func:`cadence_spm` where the caller
    has it (None: computed here).
    """
    t = _step_times(step_times_s)
    rhythmic = np.asarray(rhythmic, dtype=bool)
    if rhythmic.size != t.size:
        raise ParameterError(f"{rhythmic.size} rhythm flags for {t.size} steps")
    if t.size == 0:
        return False
    if float(np.mean(rhythmic)) < MIN_RHYTHMIC_FRACTION or not clarity >= MIN_RHYTHM_CLARITY:
        return False
    irregularity = stride_irregularity(t)
    if not (math.isnan(irregularity) or irregularity <= MAX_STRIDE_IRREGULARITY):
        return False
    if math.isfinite(tracked_step_s) and tracked_step_s > 0:
        if spm is None:
            spm = cadence_spm(t)
        if math.isfinite(spm) and abs(math.log(60.0 / spm / tracked_step_s)) > math.log(MAX_TRACKED_DISAGREEMENT):
            return False
    return True
