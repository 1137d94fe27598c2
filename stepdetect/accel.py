"""Step detection in 3-axis accelerometer streams (phone, earbud or watch IMU), in any carrying
position (hand, front or back pocket, armband, neck pouch, bag) and any orientation.

The front end (:mod:`stepdetect.accel_front`) turns the stream into one orientation-free,
band-passed step signal with its local step period. This module picks the steps in it.

Steps (:func:`detect_steps_accel`): candidate events are the signal's peaks with their prominence
(:func:`step_candidates`), times refined to sub-sample precision; only those in a periodic,
moving window (a still phone gives no steps) with a prominence above a fraction of the local RMS
go on. Then, by default (``method="tracker"``), the step-rhythm tracker shared with the audio
detector (:mod:`stepdetect.tracker`, parameter set :data:`~stepdetect.tracker.ACCEL_PARAMS`)
decides, each candidate carrying the front end's local step period as its period hint (the front
end tells steps from strides, lopsided ones included): steps on or near the rhythm, a knock or
the sway between steps rejected, a missing step a gap, never a step. Offline, a walk's first
step (no step before it to be on a rhythm with) and its fading last step (under the tracker's
reference) are added when they sit one step period from the walk's run. ``method="picker"`` keeps
the earlier two-sided picker: at least a fraction of the local step period from a stronger peak,
as strong as a fraction of the median of the steps within +-10 s, with a neighbour about one
step period away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from stepdetect.accel_front import (
    MAX_CADENCE_SPM,
    MIN_CADENCE_SPM,
    AccelFrontEnd,
    accel_front_end,
    validate_stream,
)
from stepdetect.tracker import ACCEL_PARAMS, TrackerParams, track_events
from stepdetect.validate import ParameterError

MIN_GAIT_RMS_M_S2 = 0.2
REFERENCE_WINDOW_S = 10.0  # +- window of the typical step strength
RHYTHM_TOLERANCE = 0.5  # a step needs a neighbour at (1 +- this) x the local step period
STEP_METHODS = ("tracker", "picker")  # who decides among the candidates
WALK_START_STEPS = 4  # offline: a walk's first step is judged against its next steps ...
WALK_START_MIN_STRENGTH = 0.6  # ... and needs this fraction of their median strength
WALK_END_MIN_FRACTION = 0.4  # offline: a walk's last step fades; after the tracker's last, one more ...
WALK_END_MIN_RUN = 4  # ... at this fraction of its strength, after a run of at least this many steps
RUN_GAP_PERIODS = 1.5  # a run of steps starts / ends where no step is within this x the step period


def detect_steps_accel(time_s: NDArray[np.floating], xyz: NDArray[np.floating], **params: Any) -> NDArray[np.float64]:
    """Step times (s, sorted, on the ``time_s`` axis) of a 3-axis accelerometer stream: the
    ``time_s`` of :func:`accel_steps` (same parameters, same errors)."""
    return accel_steps(time_s, xyz, **params).time_s


@dataclass(frozen=True)
class AccelSteps:
    """Steps found in an accelerometer stream and what the front end chose.

    Attributes
    ----------
    time_s : ndarray, float64, shape (n_steps,)
        Step times in seconds on the input's time axis, sorted.
    strength_m_s2 : ndarray, float64, shape (n_steps,)
        Each step's peak prominence in the step signal (m/s²).
    step_period_s : float
        Median local step period over the periodic (gait) stretches, s (NaN if none).
    front : AccelFrontEnd
        The front end the steps came from (signal, band, period and periodicity tracks).
    """

    time_s: NDArray[np.float64]
    strength_m_s2: NDArray[np.float64]
    step_period_s: float
    front: AccelFrontEnd
    method: str = "tracker"
    rhythm_salience: float = float("nan")  # tracker: share of the candidates' strength on the rhythm

    @property
    def band_hz(self) -> tuple[float, float]:
        """The adaptive band-pass (Hz), from the recording's own step rate."""
        return self.front.band_hz

    @property
    def has_gravity(self) -> bool:
        """Gravity was in the data (``|a|`` used), not a gravity-free export (principal axis)."""
        return self.front.has_gravity

    @property
    def rate_hz(self) -> float:
        """Working sample rate, Hz."""
        return self.front.rate_hz


# Long only by its docstring, which documents the eleven tuning parameters where a caller sets
# them; the body is twenty lines that call one helper per stage.
def accel_steps(
    time_s: NDArray[np.floating],
    xyz: NDArray[np.floating],
    *,
    min_cadence_spm: float = MIN_CADENCE_SPM,
    max_cadence_spm: float = MAX_CADENCE_SPM,
    window_s: float = 4.0,
    refractory_fraction: float = 0.6,
    threshold_fraction: float = 0.5,
    min_periodicity: float = 0.3,
    min_rms_m_s2: float = MIN_GAIT_RMS_M_S2,
    min_relative_strength: float = 0.3,
    method: str = "tracker",
    tracker_params: TrackerParams | None = None,
) -> AccelSteps:
    """Detect steps (one per foot contact) in a 3-axis accelerometer stream.

    Parameters
    ----------
    time_s : ndarray, shape (N,)
        Sample times in seconds, non-decreasing; may be irregularly spaced. Median rate must be
        at least ``MIN_INPUT_RATE_HZ`` (15 Hz).
    xyz : ndarray, shape (N, 3)
        Acceleration along three device axes in m/s², any orientation, with or without gravity.
    min_cadence_spm, max_cadence_spm : float > 0
        Plausible cadence range in steps per minute (both feet). Sets the band-pass and the
        autocorrelation lag range. Defaults 60–240 spm cover slow walking to sprinting.
    window_s : float > 0
        Length of the windows used to estimate the local step period and RMS, in seconds.
    refractory_fraction : float in (0, 1)
        Picker only: minimum time between steps as a fraction of the local step period.
    threshold_fraction : float >= 0
        Minimum peak prominence as a fraction of the local RMS of the filtered signal.
    min_periodicity : float in [0, 1)
        Minimum normalised autocorrelation at the step period for a window to count as
        walking/running; below it no steps are reported there.
    min_rms_m_s2 : float >= 0
        Minimum RMS of the band-passed signal (m/s²) for a window to count as gait. The default
        0.2 m/s² (0.02 g) is well above phone MEMS noise in the step band and below the gentlest
        walk seen (carpet, in hand: 0.6 m/s²).
    min_relative_strength : float >= 0
        Picker only: minimum peak prominence as a fraction of the median prominence of the steps within
        ``REFERENCE_WINDOW_S`` (10 s): the sway of a phone after the walk stopped, or handling
        before it starts, is much weaker than a step.
    method : "tracker" or "picker"
        Who decides among the candidates: the causal step-rhythm tracker shared with the audio
        detector (default) or the two-sided picker.
    tracker_params : TrackerParams, optional
        Tracker tuning; default :data:`stepdetect.tracker.ACCEL_PARAMS` with its period range
        set to the cadence range.

    Returns
    -------
    AccelSteps
        Step times (s, on the ``time_s`` axis, sorted), their strengths, and the front end's band,
        step period and gravity decision.

    Raises
    ------
    ParameterError
        On malformed input (shape, non-finite values, unsorted or too sparse time) or
        inconsistent parameters.
    """
    time_s, xyz = validate_stream(time_s, xyz)
    _check_step_params(min_cadence_spm, max_cadence_spm, window_s=window_s,
                       refractory_fraction=refractory_fraction, method=method)
    front = accel_front_end(
        time_s,
        xyz,
        min_cadence_spm=min_cadence_spm,
        max_cadence_spm=max_cadence_spm,
        window_s=window_s,
    )
    gait = front.periodicity >= min_periodicity
    median_period_s = float(np.median(front.step_period_s[gait])) if gait.any() else float("nan")
    if front.signal.size < 3:
        return AccelSteps(np.empty(0), np.empty(0), median_period_s, front)
    cand_s, strength, period_s = _gated_candidates(
        front, max_cadence_spm=max_cadence_spm, threshold_fraction=threshold_fraction,
        min_periodicity=min_periodicity, min_rms_m_s2=min_rms_m_s2,
    )
    if method == "tracker":
        params = tracker_params or accel_tracker_params(min_cadence_spm, max_cadence_spm)
        steps_s, step_strength, salience = _tracked_steps(cand_s, strength, period_s, params)
        return AccelSteps(steps_s, step_strength, median_period_s, front, method, salience)
    steps_s, step_strength = _picked_steps(cand_s, strength, period_s, refractory_fraction=refractory_fraction,
                                           min_relative_strength=min_relative_strength)
    return AccelSteps(steps_s, step_strength, median_period_s, front, method)


def _check_step_params(min_cadence_spm: float, max_cadence_spm: float, *, window_s: float,
                       refractory_fraction: float, method: str) -> None:
    """:class:`ParameterError` on inconsistent :func:`accel_steps` parameters."""
    if not (0 < min_cadence_spm < max_cadence_spm):
        raise ParameterError(
            f"cadence range {min_cadence_spm!r}-{max_cadence_spm!r} spm must satisfy 0 < min < max"
        )
    if not 0 < refractory_fraction < 1:
        raise ParameterError(f"refractory_fraction {refractory_fraction!r} must be in (0, 1)")
    if window_s <= 2 * 60.0 / min_cadence_spm:
        raise ParameterError(f"window_s {window_s!r} s must exceed two periods of the slowest cadence")
    if method not in STEP_METHODS:
        raise ParameterError(f"method {method!r} must be one of {', '.join(STEP_METHODS)}")


def _gated_candidates(
    front: AccelFrontEnd, *, max_cadence_spm: float, threshold_fraction: float, min_periodicity: float,
    min_rms_m_s2: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The :func:`step_candidates` in a periodic, moving stretch with a prominence above
    ``threshold_fraction`` of the local RMS: (time_s, strength, local step period_s)."""
    cand_s, strength, period_s = step_candidates(front, max_cadence_spm=max_cadence_spm)
    keep = (
        (strength >= threshold_fraction * np.interp(cand_s, front.grid_s, front.rms))
        & (np.interp(cand_s, front.grid_s, front.periodicity) >= min_periodicity)
        & (np.interp(cand_s, front.grid_s, front.rms) >= min_rms_m_s2)
    )
    return cand_s[keep], strength[keep], period_s[keep]


def _tracked_steps(
    cand_s: NDArray[np.float64], strength: NDArray[np.float64], period_s: NDArray[np.float64], params: TrackerParams
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """``method="tracker"``: the steps the rhythm tracker takes plus the walk starts it cannot
    take (:func:`_walk_starts`) and the fading last steps of a walk it drops
    (:func:`_walk_ends`), sorted: (time_s, strength, the tracker's rhythm salience)."""
    track = track_events(cand_s, strength, params=params, period_hint_s=period_s)
    first = _walk_starts(cand_s, strength, period_s, track.time_s, track.strength, params)
    last = _walk_ends(cand_s, strength, period_s, track.time_s, track.strength, tolerance=params.chain_tolerance)
    added = np.union1d(first, last).astype(np.intp)
    time_out = np.concatenate([track.time_s, cand_s[added]])
    order = np.argsort(time_out, kind="stable")
    return time_out[order], np.concatenate([track.strength, strength[added]])[order], track.rhythm_salience


def _picked_steps(
    cand_s: NDArray[np.float64], strength: NDArray[np.float64], period_s: NDArray[np.float64], *,
    refractory_fraction: float, min_relative_strength: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``method="picker"``: the two-sided picker (refractory gap to a stronger peak, then the
    strength and rhythm checks of :func:`_in_gait`): (time_s, strength)."""
    kept = _enforce_refractory(cand_s, strength, refractory_fraction * period_s)
    cand_s, strength, period_s = cand_s[kept], strength[kept], period_s[kept]
    steps = _in_gait(cand_s, strength, period_s, min_relative_strength=min_relative_strength)
    return cand_s[steps], strength[steps]


def _walk_starts(
    cand_s: NDArray[np.float64],
    strength: NDArray[np.float64],
    period_s: NDArray[np.float64],
    steps_s: NDArray[np.float64],
    step_strength: NDArray[np.float64],
    params: TrackerParams,
) -> NDArray[np.intp]:
    """Offline only, the other side of the tracker's causal rule: the first step of a walk (or
    after a stop) has no step before it, so the tracker cannot take it. Indices of the
    candidates it rejected that come one step period (``hint_neighbour_tolerance``) before a
    step that starts a run of steps (none within ``RUN_GAP_PERIODS`` before it), at least
    ``WALK_START_MIN_STRENGTH`` of the median of the ``WALK_START_STEPS`` steps from there (the
    handling before a walk is weaker)."""
    if steps_s.size == 0:
        return np.zeros(0, dtype=np.intp)
    tol = params.hint_neighbour_tolerance
    _, gap_before, _ = _run_gaps(cand_s, period_s, steps_s)
    out = []
    for k in np.flatnonzero(gap_before):
        j = int(np.searchsorted(cand_s, steps_s[k]))  # the step's own candidate
        before = np.flatnonzero((cand_s < steps_s[k]) & (cand_s > steps_s[k] - (1 + tol) * period_s[j]))
        typical = float(np.median(step_strength[k : k + WALK_START_STEPS]))
        before = before[(steps_s[k] - cand_s[before] >= (1 - tol) * period_s[j])
                        & (strength[before] >= WALK_START_MIN_STRENGTH * typical)]
        if before.size:
            out.append(int(before[np.argmax(strength[before])]))
    return np.asarray(out, dtype=np.intp)


def _run_gaps(cand_s: NDArray[np.float64], period_s: NDArray[np.float64], steps_s: NDArray[np.float64]
              ) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Per step: the local step period, and whether a run of steps starts / ends there (no step
    within ``RUN_GAP_PERIODS`` of it before / after)."""
    period_at = np.interp(steps_s, cand_s, period_s)
    gap_before = np.diff(steps_s, prepend=-np.inf) > RUN_GAP_PERIODS * period_at
    gap_after = np.diff(steps_s, append=np.inf) > RUN_GAP_PERIODS * period_at
    return period_at, gap_before, gap_after


def _walk_ends(cand_s: NDArray[np.float64], strength: NDArray[np.float64], period_s: NDArray[np.float64],
               steps_s: NDArray[np.float64], step_strength: NDArray[np.float64], *, tolerance: float) -> NDArray[np.intp]:
    """Offline only, the end of a walk (or the steps before a stop): its steps fade, each softer
    than the one before, and the last falls under the tracker's reference. Indices of the
    candidates it rejected that carry a walk on by one step past its last step: the run ending
    there (no step within ``RUN_GAP_PERIODS`` after it) has at least ``WALK_END_MIN_RUN`` steps
    (not the handling before a walk), and the candidate comes one step period (+- ``tolerance``,
    the tracker's ``chain_tolerance``) after its last step with at least ``WALK_END_MIN_FRACTION`` of that
    step's strength (the strongest such)."""
    if steps_s.size == 0:
        return np.zeros(0, dtype=np.intp)
    period_at, gap_before, gap_after = _run_gaps(cand_s, period_s, steps_s)
    run_start = np.maximum.accumulate(np.where(gap_before, np.arange(steps_s.size), 0))
    reach = min(tolerance, RUN_GAP_PERIODS - 1.0)  # never as far as the next run's first step
    out = []
    for k in np.flatnonzero(gap_after & (np.arange(steps_s.size) + 1 - run_start >= WALK_END_MIN_RUN)):
        t, period = steps_s[k], period_at[k]
        near = np.flatnonzero((cand_s >= t + (1 - reach) * period) & (cand_s <= t + (1 + reach) * period)
                              & (strength >= WALK_END_MIN_FRACTION * step_strength[k]))
        if near.size:
            out.append(int(near[np.argmax(strength[near])]))
    return np.asarray(out, dtype=np.intp)


def accel_tracker_params(min_cadence_spm: float = MIN_CADENCE_SPM, max_cadence_spm: float = MAX_CADENCE_SPM) -> TrackerParams:
    """:data:`stepdetect.tracker.ACCEL_PARAMS` with the step-period range of a cadence range."""
    min_period_s = 60.0 / max_cadence_spm
    return replace(ACCEL_PARAMS, min_period_s=min_period_s, max_period_s=60.0 / min_cadence_spm,
                   merge_s=min(ACCEL_PARAMS.merge_s, 0.5 * min_period_s))


def step_candidates(
    front: AccelFrontEnd, *, max_cadence_spm: float = MAX_CADENCE_SPM
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Candidate step events of a front end: every local maximum of the step signal.

    Returns (time_s, strength, local step period_s), sorted by time: times refined to sub-sample
    precision, strength the peak's prominence (m/s²). Candidates closer than a fraction of the
    fastest step are merged by ``find_peaks``; the rhythm decides among the rest.
    """
    x = front.signal
    min_distance = max(1, int(np.floor(0.5 * 60.0 / max_cadence_spm * front.rate_hz)))
    peaks, props = signal.find_peaks(x, distance=min_distance, prominence=0)
    time_s = front.grid_s[0] + _refine_peaks(x, peaks) / front.rate_hz
    return time_s, props["prominences"].astype(np.float64), front.step_period_s[peaks]


def _refine_peaks(x: NDArray[np.float64], peaks: NDArray[np.intp]) -> NDArray[np.float64]:
    """Sub-sample peak positions (in samples) by fitting a parabola through each peak's 3 samples."""
    pos = peaks.astype(np.float64)
    inner = (peaks > 0) & (peaks < x.size - 1)
    p = peaks[inner]
    left, mid, right = x[p - 1], x[p], x[p + 1]
    curvature = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curvature < 0, 0.5 * (left - right) / curvature, 0.0)
    pos[inner] += np.clip(shift, -0.5, 0.5)
    return pos


def _enforce_refractory(
    time_s: NDArray[np.float64], strength: NDArray[np.float64], min_gap_s: NDArray[np.float64]
) -> NDArray[np.intp]:
    """Indices of the events kept: strongest first, dropping any event closer than its
    ``min_gap_s`` to a kept one. Sorted by time."""
    kept: list[int] = []
    kept_t = np.empty(0)
    for i in np.argsort(-strength, kind="stable"):
        pos = int(np.searchsorted(kept_t, time_s[i]))
        gap = min_gap_s[i]
        if (pos > 0 and time_s[i] - kept_t[pos - 1] < gap) or (pos < kept_t.size and kept_t[pos] - time_s[i] < gap):
            continue
        kept_t = np.insert(kept_t, pos, time_s[i])
        kept.insert(pos, int(i))
    return np.asarray(kept, dtype=np.intp)


def _in_gait(
    time_s: NDArray[np.float64],
    strength: NDArray[np.float64],
    period_s: NDArray[np.float64],
    *,
    min_relative_strength: float,
) -> NDArray[np.bool_]:
    """Which events are steps of a walk: as strong as a fraction of the nearby steps' median and
    with a neighbour about one step period away (an isolated knock is not a step)."""
    n = time_s.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    lo = np.searchsorted(time_s, time_s - REFERENCE_WINDOW_S)
    hi = np.searchsorted(time_s, time_s + REFERENCE_WINDOW_S)
    reference = np.array([np.median(strength[a:b]) for a, b in zip(lo, hi)])
    strong = strength >= min_relative_strength * reference
    gaps = np.diff(time_s)
    before = np.concatenate([[np.inf], gaps]) / period_s
    after = np.concatenate([gaps, [np.inf]]) / period_s
    rhythmic = (np.abs(before - 1) <= RHYTHM_TOLERANCE) | (np.abs(after - 1) <= RHYTHM_TOLERANCE)
    return strong & rhythmic
