"""The step-rhythm tracker's state: what it remembers between candidates (the lock and its
anchor, the reference strengths, the recent candidates), what callers may read of it, and the
bookkeeping of a decision (a step accepted, a candidate merged into the last footfall).

:class:`stepdetect.tracker.StepTracker` adds the decisions on this state (``push``).
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from stepdetect.tracker_beat import BeatGrids
from stepdetect.tracker_lock import Lock, TrackerParams

Kind = Literal["step", "merged", "rejected"]

# Pulse clarity (after Lartillot et al. 2008): the autocorrelation of the candidates' onsets, each
# an impulse of its strength, at the step period and its multiples against its mean over all lags.
# Steps recur at the period (with their toe, scuff or crunch at a fixed lag after each); texture,
# noise and clicks at random lags: a flat autocorrelation whatever "rhythm" was picked out of them.
LAG_BIN_S = 0.005  # the autocorrelation's resolution
CLARITY_MAX_LAG_S = 2.0  # lags up to this long (3 steps at a walk of 90 spm) ...
CLARITY_MIN_LAG_S = 0.15  # ... from this long (shorter: one footfall's own double hits)
CLARITY_SMOOTH_S = 0.012  # sd of the Gaussian the autocorrelation is smoothed with (step-time jitter)
CLARITY_WINDOW = 0.06  # its peak is looked for within this fraction of each multiple of the period (>= 20 ms)
CLARITY_MULTIPLES = (1, 2, 3)


def pulse_clarity(lag_strength: np.ndarray, period_s: float) -> float:
    """The mean peak of a lag histogram (``LAG_BIN_S`` bins from 0) near 1, 2 and 3 step periods
    (those up to ``CLARITY_MAX_LAG_S``) over its mean from ``CLARITY_MIN_LAG_S`` to
    ``CLARITY_MAX_LAG_S``, after Gaussian smoothing (``CLARITY_SMOOTH_S``). About 1 for onsets at
    random times, several for a steady rhythm at ``period_s``; NaN without a period or any pair.
    """
    if not (math.isfinite(period_s) and CLARITY_MIN_LAG_S <= period_s <= CLARITY_MAX_LAG_S):
        return math.nan
    half = int(round(3 * CLARITY_SMOOTH_S / LAG_BIN_S))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * LAG_BIN_S / CLARITY_SMOOTH_S) ** 2)
    smooth = np.convolve(lag_strength, kernel / kernel.sum(), mode="same")
    lags_s = np.arange(smooth.size) * LAG_BIN_S
    band = (lags_s >= CLARITY_MIN_LAG_S) & (lags_s <= CLARITY_MAX_LAG_S)
    mean = float(smooth[band].mean())
    if not mean > 0:
        return math.nan
    peaks = [float(smooth[np.abs(lags_s - m * period_s) <= max(0.02, CLARITY_WINDOW * m * period_s)].max())
             for m in CLARITY_MULTIPLES if m * period_s <= CLARITY_MAX_LAG_S]
    return float(np.mean(peaks)) / mean


@dataclass(frozen=True)
class Decision:
    """What the tracker made of one candidate."""

    time_s: float
    strength: float
    kind: Kind
    rhythmic: bool  # a step accepted while locked on a rhythm
    predicted_s: float  # the prediction it was judged against (NaN when not locked)
    confidence: float  # 0-1: relative strength and closeness to the prediction
    gaps_s: tuple[float, ...] = ()  # predicted steps before this one that nobody heard
    closeness: float = 0.0  # 0-1: how near the prediction it fell (0 when not locked)
    beat: bool = False  # rejected as a beat of music at another tempo (see stepdetect.tracker_beat)
    period_s: float = math.nan  # a step on the rhythm: the step period the lock followed, this step counted

    @property
    def is_step(self) -> bool:
        return self.kind == "step"


@dataclass
class TrackerState:
    """What :class:`~stepdetect.tracker.StepTracker` remembers, and its bookkeeping."""

    params: TrackerParams = field(default_factory=TrackerParams)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        self._lock: Lock | None = None
        self._last_step_s = -math.inf  # the last reported step
        self._last_rhythmic = False
        self._last_step_strength = math.inf
        self._last_step_closeness = 0.0
        self._last_step_level = True  # the last step was taken on its strength (not by its place alone)
        self._before_last: tuple[float, float, float | None, Lock] | None = None  # anchor and lock before the last step
        self._anchor_s = -math.inf  # where predictions start from (the last step or a better-fitting double hit)
        self._anchor_pred_s = math.nan
        self._anchor_score: float | None = None
        self._last_time_s = -math.inf
        self._strengths: deque[float] = deque(maxlen=self.params.n_reference)
        self._history: deque[tuple[float, float]] = deque()
        self._step_times: set[float] = set()  # the candidates in _history taken as steps while locked
        # ... merged into a provisional step, softer than it, before the first lock: (time, strength), the
        # history entry itself (a candidate at the same time, not merged, stays a chain member)
        self._merged_free: set[tuple[float, float]] = set()
        # the last stop let go of a lock living on soft candidates (stop_sparse_steps)
        self._lived_on_soft = False
        # candidates in history_s the caller flagged soft (stop_chain_loud_only: no chain member after a stop)
        self._soft_heard: set[tuple[float, float]] = set()
        self._merged_heard: set[tuple[float, float]] = set()  # candidates merged into a footfall (its parts)
        self._hats_heard = False  # a candidate before the first lock continued a grid faster than steps (hi-hats)
        self._beats = BeatGrids(self.params.beat) if self.params.beat is not None else None  # music heard
        # (strength, predicted steps in its interval) of the last rhythmic steps: the lock's evidence
        self._recent: deque[tuple[float, int]] = deque(maxlen=self.params.chain_steps)
        self._midpoints: deque[bool] = deque(maxlen=self.params.halve_midpoint_of)  # the last strides on the rhythm: a candidate near the midpoint?
        # leaky sums of the (relative) strength of what the lock took and of what it left
        self._on_strength = 0.0
        self._off_strength = 0.0
        self.n_candidates = 0
        self.candidate_strength = 0.0  # sum over non-merged candidates
        self.rhythmic_strength = 0.0  # sum over rhythmic steps
        self.n_steps = 0
        self.n_rhythmic = 0
        # the candidates' onset autocorrelation (pulse_clarity): strength products per lag bin
        self._lag_strength = np.zeros(int(round(CLARITY_MAX_LAG_S / LAG_BIN_S)) + int(round(3 * CLARITY_SMOOTH_S / LAG_BIN_S)) + 1)
        self._lag_recent: deque[tuple[float, float]] = deque()
        self._fresh_lock = False  # the last step found the rhythm (nothing judged against it yet)
        self._chain_score = 0.0  # the summed strength of the chain the lock was found on
        self._stopped_period_s: float | None = None  # the period of the lock a stop let go (until the next lock)
        self._last_rejected: tuple[float, float] | None = None  # (time, strength) of the last rejected candidate

    # -- what callers may read ------------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self._lock is not None

    @property
    def last_step_s(self) -> float:
        """When the last step was (-inf before the first)."""
        return self._last_step_s

    @property
    def period_s(self) -> float:
        """Current step period (NaN when not locked)."""
        return self._lock.period_s if self._lock else math.nan

    @property
    def predicted_next_s(self) -> float:
        """When the next footfall is expected (NaN when not locked)."""
        if self._lock is None:
            return math.nan
        return self._anchor_s + self._lock.next_interval_s()

    @property
    def rhythm_salience(self) -> float:
        """Share of all candidate strength that fell on the tracked rhythm (0-1).

        Near 1 for steps with little else; low for texture (rustle, gravel shuffle), where most
        onsets fall between any rhythm's predictions.
        """
        return self.rhythmic_strength / self.candidate_strength if self.candidate_strength > 0 else 0.0

    def hears_beat(self, now_s: float) -> bool:
        """Whether the tracker follows the beat of music at ``now_s`` (see
        :meth:`~stepdetect.tracker_beat.BeatGrids.heard`; False without a beat test)."""
        return self._beats is not None and self._beats.heard(now_s)

    def rhythm_clarity(self, period_s: float) -> float:
        """How much more the candidates' onset strength recurs at ``period_s`` (and 2 and 3 x it)
        than at any lag (:func:`pulse_clarity`): several for steps, about 1 for texture."""
        return pulse_clarity(self._lag_strength, period_s)

    def pending_gaps(self, now_s: float) -> tuple[float, ...]:
        """Predicted steps that should have been heard by ``now_s`` (plus 2 sd) and were not.

        For a live display; the same gaps come with the next step's :class:`Decision`.
        """
        lock = self._lock
        if lock is None:
            return ()
        sigma = lock.sigma_s(self.params)
        out: list[float] = []
        pred = self._anchor_s + lock.next_interval_s()
        while pred + 2 * sigma < now_s and len(out) < self.params.max_missing:
            out.append(pred)
            pred += lock.period_s
        return tuple(out)

    # -- bookkeeping --------------------------------------------------------------------
    def _reference(self) -> float | None:
        if not self._strengths:
            return None
        v = sorted(self._strengths)  # upper quartile: extra events accepted by mistake do not drag it down
        return v[(3 * (len(v) - 1)) // 4]

    def _count_candidate(self, t: float, s: float) -> None:
        """A candidate judged (not merged into a footfall): into the salience and autocorrelation sums."""
        self.n_candidates += 1
        self.candidate_strength += s
        max_lag_s = (self._lag_strength.size - 1) * LAG_BIN_S
        while self._lag_recent and self._lag_recent[0][0] < t - max_lag_s:
            self._lag_recent.popleft()
        for u, w in self._lag_recent:
            self._lag_strength[int(round((t - u) / LAG_BIN_S))] += s * w
        self._lag_recent.append((t, s))

    def _start_lock(self, chain_score: float) -> None:
        self._chain_score = chain_score  # the summed strength of the chain the lock was found on
        self._fresh_lock = True
        self._stopped_period_s = None
        self._lived_on_soft = False
        self._recent.clear()
        self._on_strength = self._off_strength = 0.0

    def _accept(self, t: float, s: float, *, rhythmic: bool, predicted_s: float, confidence: float,
                gaps: tuple[float, ...] = (), score: float | None = None, move_anchor: bool = True,
                level: bool = True) -> Decision:
        """A step at ``t``; ``level``: its strength joins the reference (not for a step taken by its
        place alone, a soft one: the reference and the same foot's level stay the footfalls')."""
        self._last_step_s = t
        self._last_rhythmic = rhythmic
        self._last_step_strength = s
        lock = self._lock
        self._last_step_closeness = lock.closeness(t - predicted_s, self.params) if lock and math.isfinite(predicted_s) else 0.0
        if move_anchor:
            self._anchor_s = t
            self._anchor_pred_s = predicted_s
            self._anchor_score = score
        self._last_step_level = level
        if level:
            self._strengths.append(s)
        if lock is not None:
            # a provisional step (no rhythm found yet) may have been a beat of music heard
            # before the steps: it stays free to be a member of a beat grid (BeatGrids)
            self._step_times.add(t)
        self.n_steps += 1
        if rhythmic:
            self.n_rhythmic += 1
            self.rhythmic_strength += s
        return Decision(t, s, "step", rhythmic, predicted_s, round(min(1.0, max(0.0, confidence)), 3), gaps,
                        self._last_step_closeness, period_s=lock.period_s if rhythmic and lock is not None else math.nan)

    def note(self, time_s: float, strength: float) -> None:
        """Remember a candidate for finding the rhythm without deciding on it (one the caller
        will not report anyway, e.g. below its start-up threshold). Same time order as push."""
        t, s = float(time_s), float(strength)
        if not (math.isfinite(t) and math.isfinite(s) and s > 0) or t < self._last_time_s:
            return
        self._last_time_s = t
        self._history.append((t, s))

    def _merge(self, t: float, s: float, rel: float, *, beat: bool = False) -> Decision:
        """Part of the last footfall (toe after heel, scuff, echo); ``beat``: on a beat of the music."""
        self._history.append((t, s))  # it may yet prove the rhythm (the last step was the intruder)
        self._merged_heard.add((t, s))
        if self.n_rhythmic == 0 and s < self._last_step_strength:
            self._merged_free.add((t, s))  # its toe or crunch, or music right after it (see StepTracker._decide_free)
        if (self._anchor_score is not None and self._lock is not None and self._last_rhythmic and not beat
                and s >= self.params.anchor_min_rel * self._last_step_strength):
            # if it fits the rhythm better than what was reported (a kick drum just before the
            # step), predict from it
            score = min(rel, self.params.max_rel) * self._lock.closeness(t - self._anchor_pred_s, self.params)
            if score > self._anchor_score:
                self._anchor_score = score
                self._anchor_s = t
        return Decision(t, s, "merged", False, math.nan, 0.0)

    def _rephase_to_last_step(self, lock: Lock) -> None:
        """The last step (accepted off the rhythm) was this rhythm's footfall: predict from it."""
        since = self._last_step_s - self._anchor_s
        k = lock.steps_in(since)
        predicted = self._anchor_s + lock.next_interval_s() + (k - 1) * lock.period_s
        self._recent.append((self._last_step_strength, k))
        self._before_last = (self._anchor_s, self._anchor_pred_s, self._anchor_score, copy.copy(lock))
        lock.update(since, k, self.params)
        self._anchor_s, self._anchor_pred_s = self._last_step_s, predicted
        self._anchor_score = min(self._last_step_strength / (self._reference() or self._last_step_strength),
                                 self.params.max_rel) * lock.closeness(self._last_step_s - predicted, self.params)
        self._last_rhythmic = True
        self._last_step_closeness = lock.closeness(self._last_step_s - predicted, self.params)
