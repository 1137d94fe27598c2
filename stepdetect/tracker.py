"""A causal step-rhythm tracker, shared by the audio and the accelerometer detectors.

Input: candidate events in time order, each a time (s) and a positive strength (any unit: the
tracker only compares strengths with each other). Output: one :class:`Decision` per candidate,
made as soon as the candidate arrives (nothing is revised later, so a live caller reports it at
once):

* ``"merged"``: it follows the last step by less than ``merge_s`` -- the toe after the heel, a
  scuff, an echo, a belt bounce: part of that footfall, not a new one;
* ``"step"``: a footfall. While the tracker is *locked* on a rhythm it predicts the next
  footfall from the step period (and the left/right alternation of a lopsided stride) and a
  candidate is a step when ``strength / reference x closeness >= accept_score``, closeness
  being a Gaussian of its distance to the prediction (sd ``sigma_fraction`` of the period).
  Such a step is ``rhythmic``. When the tracker is not locked (the first steps, after a stop)
  a candidate at least ``free_min_strength`` of the reference and ``min_period_s`` after the
  last step is a *provisional* step (``rhythmic`` False);
* ``"rejected"``: anything else (a loud click off the rhythm, a kick drum at another tempo,
  rustle between steps).

Locking: when ``chain_steps`` candidates (the newest included) are spaced by nearly equal
intervals (within ``chain_tolerance`` of their mean, mean in ``[min_period_s, max_period_s]``),
the tracker locks on that period. It follows ramps and drifting intervals (the period moves
``adapt`` of the way to every new interval), bridges up to ``max_missing`` unheard steps -- each
predicted step that nobody heard is returned as a *gap* in ``Decision.gaps_s``, never as a
footfall -- and lets go after a longer silence (a stop) or when another rhythm has taken over
(walk -> run): then it re-locks on the new chain.

Heel, toe and scuff: a step taken off the rhythm (heard early) and followed within ``merge_s``
by a candidate on the rhythm is one footfall at the first onset, and the rhythm re-phases to it;
with ``heel_min_rel`` a footfall taken on the rhythm is dated at a softer candidate rejected just
before it (its heel). A candidate after the prediction, with nothing at it, is the late footfall
when at least ``late_min_rel`` as loud. When the rhythm was just found on a candidate, a much
louder one right after it is the footfall (the first was a precursor). A regular chain at half
the locked period (``halve_min_period_s``) replaces a lock on strides.

The time of a step is the candidate's own time (the caller's acoustic/inertial onset, or the
heel's), never the prediction. Everything is O(1) per candidate apart from a search over the last
``history_s`` of candidates when (re)locking.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from stepdetect.tracker_chain import find_chain
from stepdetect.tracker_lock import ACCEL_PARAMS, AUDIO_PARAMS, PARAMETER_SETS, Lock, TrackerParams  # noqa: F401 - re-exported
from stepdetect.validate import ParameterError

Kind = Literal["step", "merged", "rejected"]


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

    @property
    def is_step(self) -> bool:
        return self.kind == "step"


@dataclass
class _Judgement:
    """One candidate as :meth:`StepTracker.push` judges it against the lock."""

    t: float
    s: float
    hint: float | None  # the caller's step period
    ref: float | None  # the reference strength (None before the first step)
    rel: float  # strength / reference
    lock: Lock | None  # the rhythm it is judged against
    nxt: float = math.nan  # interval from the anchor to the next predicted step
    k: int = 0  # predicted steps since the anchor, this one included
    predicted: float = math.nan  # the prediction it is judged against
    closeness: float = 0.0
    score: float = 0.0  # min(rel, max_rel) x closeness
    on_rhythm: bool = False


@dataclass
class StepTracker:
    """Streaming tracker: :meth:`push` each candidate in time order."""

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
        self._before_last: tuple[float, float, float | None, Lock] | None = None  # anchor and lock before the last step
        self._anchor_s = -math.inf  # where predictions start from (the last step or a better-fitting double hit)
        self._anchor_pred_s = math.nan
        self._anchor_score: float | None = None
        self._last_time_s = -math.inf
        self._strengths: deque[float] = deque(maxlen=self.params.n_reference)
        self._history: deque[tuple[float, float]] = deque()
        # (strength, predicted steps in its interval) of the last rhythmic steps: the lock's evidence
        self._recent: deque[tuple[float, int]] = deque(maxlen=self.params.chain_steps)
        # leaky sums of the (relative) strength of what the lock took and of what it left
        self._on_strength = 0.0
        self._off_strength = 0.0
        self.n_candidates = 0
        self.candidate_strength = 0.0  # sum over non-merged candidates
        self.rhythmic_strength = 0.0  # sum over rhythmic steps
        self.n_steps = 0
        self.n_rhythmic = 0
        self._fresh_lock = False  # the last step found the rhythm (nothing judged against it yet)
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

    # -- internals ----------------------------------------------------------------------
    def _reference(self) -> float | None:
        if not self._strengths:
            return None
        v = sorted(self._strengths)  # upper quartile: extra events accepted by mistake do not drag it down
        return v[(3 * (len(v) - 1)) // 4]

    def _start_lock(self) -> None:
        self._fresh_lock = True
        self._recent.clear()
        self._on_strength = self._off_strength = 0.0

    def _switch_to(self, found: tuple[Lock, float], lock: Lock, closeness: float) -> bool:
        """Whether a chain found while locked is a better rhythm than the lock."""
        other, score = found
        tol = self.params.chain_tolerance
        ratio = other.period_s / lock.period_s
        if abs(ratio - 1.0) <= tol and closeness > 0.1:
            return False  # our own rhythm
        if min(abs(ratio - 2.0), abs(ratio - 3.0)) <= tol:
            return False  # every 2nd or 3rd of our steps: our rhythm heard badly
        if abs(ratio - 0.5) <= 0.5 * tol and other.period_s >= self.params.halve_min_period_s:
            return True  # a regular chain of steps between ours: the lock was on strides
        if self._off_strength <= self._on_strength:
            return False  # the lock explains most of what is heard: keep it
        evidence = sum(st * 0.7 ** (k - 1) for st, k in self._recent)
        evidence *= self.params.chain_steps / max(1, len(self._recent))
        return score > self.params.switch_margin * evidence

    def _accept(self, t: float, s: float, *, rhythmic: bool, predicted_s: float, confidence: float,
                gaps: tuple[float, ...] = (), score: float | None = None, move_anchor: bool = True) -> Decision:
        self._last_step_s = t
        self._last_rhythmic = rhythmic
        self._last_step_strength = s
        lock = self._lock
        self._last_step_closeness = lock.closeness(t - predicted_s, self.params) if lock and math.isfinite(predicted_s) else 0.0
        if move_anchor:
            self._anchor_s = t
            self._anchor_pred_s = predicted_s
            self._anchor_score = score
        self._strengths.append(s)
        self.n_steps += 1
        if rhythmic:
            self.n_rhythmic += 1
            self.rhythmic_strength += s
        return Decision(t, s, "step", rhythmic, predicted_s, round(min(1.0, max(0.0, confidence)), 3), gaps,
                        self._last_step_closeness)

    # -- the public step ------------------------------------------------------------------
    def push(self, time_s: float, strength: float, period_hint_s: float | None = None) -> Decision:
        """Decide one candidate (times must not decrease from call to call).

        ``period_hint_s``: the caller's own estimate of the step period around this candidate
        (s, optional; NaN counts as none). It decides which chain may lock (steps, not strides,
        lopsided or not) and pulls the predicted period towards it (``hint_tolerance``,
        ``hint_weight``).
        """
        c = self._judge(*self._checked(time_s, strength, period_hint_s))
        merged = self._double_hit(c)
        if merged is not None:
            return merged
        self.n_candidates += 1
        self.candidate_strength += c.s
        decision = self._decide_locked(c, c.lock) if c.lock is not None else self._decide_free(c)
        self._history.append((c.t, c.s))
        rel_capped = min(c.rel, self.params.max_rel)
        if decision.rhythmic:
            self._on_strength = 0.75 * self._on_strength + rel_capped
            self._off_strength *= 0.75
        else:
            self._off_strength += rel_capped
        return decision

    def _checked(self, time_s: float, strength: float, period_hint_s: float | None) -> tuple[float, float, float | None]:
        """The candidate's time, strength and hint (None: no hint), or a ParameterError."""
        t, s = float(time_s), float(strength)
        if not (math.isfinite(t) and math.isfinite(s) and s > 0):
            raise ParameterError(f"tracker: candidate needs a finite time and a positive strength, got {t!r}, {s!r}")
        hint = None if period_hint_s is None or math.isnan(period_hint_s) else float(period_hint_s)
        if hint is not None and not (math.isfinite(hint) and hint > 0):
            raise ParameterError(f"tracker: period_hint_s must be a positive number of seconds, got {hint!r}")
        if t < self._last_time_s:
            raise ParameterError(f"tracker: candidates must come in time order ({t} s after {self._last_time_s} s)")
        self._last_time_s = t
        return t, s, hint

    def _judge(self, t: float, s: float, hint: float | None) -> _Judgement:
        """The candidate against the reference strength and the lock's prediction (the lock is
        pulled towards the hint, and let go after a stop)."""
        p = self.params
        while self._history and self._history[0][0] < t - p.history_s:
            self._history.popleft()
        ref = self._reference()
        if ref is not None and len(self._strengths) >= 2 and self._lock is not None:
            # the same foot's last footfall: one foot may land much softer than the other
            ref = min(ref, p.same_foot_factor * self._strengths[-2])
        c = _Judgement(t, s, hint, ref, s / ref if ref else 1.0, self._lock)
        lock = self._lock
        if lock is not None and hint is not None:
            lock.period_s += p.hint_weight * (min(p.max_period_s, max(p.min_period_s, hint)) - lock.period_s)
        if lock is not None:
            since = t - self._anchor_s
            c.nxt = lock.next_interval_s()
            c.k = lock.steps_in(since)
            if c.k > p.max_missing + 1:
                self._lock = c.lock = lock = None  # a stop: let go
        if lock is not None:
            c.predicted = self._anchor_s + c.nxt + (c.k - 1) * lock.period_s
            c.closeness = lock.closeness(t - c.predicted, self.params)
            c.score = min(c.rel, p.max_rel) * c.closeness
            late = t > c.predicted and c.rel >= p.late_min_rel and t - self._last_step_s >= p.merge_s
            c.on_rhythm = ((c.score >= p.accept_score or late)
                           and since >= p.min_period_s * 0.8 and abs(t - c.predicted) <= p.window_fraction * lock.period_s)
        return c

    def _double_hit(self, c: _Judgement) -> Decision | None:
        """A candidate within ``merge_s`` of the last step: part of that footfall (merged), or
        the footfall itself when the last one was a precursor (accepted here); None: judge it
        as any other candidate (the rhythm may have forgotten an intruder, see
        :meth:`_replace_intruder`)."""
        p = self.params
        since_step = c.t - self._last_step_s
        if (since_step < p.merge_s and c.on_rhythm and not self._last_rhythmic and c.lock is not None
                and self._last_step_s > self._anchor_s
                and abs(self._last_step_s - c.predicted) <= p.window_fraction * c.lock.period_s):
            # the step just reported off the rhythm, then this on it within merge_s: one footfall
            # (heel, then toe or scuff), heard early -- the rhythm follows its first onset
            self._rephase_to_last_step(c.lock)
            return self._merge(c.t, c.s, c.rel)
        if not (since_step < p.merge_s and not (c.on_rhythm and not self._last_rhythmic)):
            return None
        louder = since_step >= p.override_after_s and c.s >= p.override_ratio * self._last_step_strength
        if self._fresh_lock and louder and c.lock is not None:
            # the rhythm was found on the candidate just reported and this one, right after
            # it, is much louder: that one was a precursor (a breath, a scuff), this the
            # footfall the rhythm is anchored on
            self._fresh_lock = False
            self.n_candidates += 1
            self.candidate_strength += c.s
            self._history.append((c.t, c.s))
            return self._accept(c.t, c.s, rhythmic=True, predicted_s=c.t, confidence=0.5 * min(c.rel, 1.0) + 0.5,
                                score=min(c.rel, p.max_rel))
        if self._last_rhythmic and self._before_last is not None and louder:
            self._replace_intruder(c, self._before_last)
            louder = False
        elif self._last_rhythmic:
            louder = False
        if louder is False and not c.on_rhythm or (louder is False and since_step < p.merge_s and c.lock is None):
            return self._merge(c.t, c.s, c.rel)
        # unlocked: much louder than the provisional step just reported: that one was the intruder
        return None

    def _replace_intruder(self, c: _Judgement, before_last: tuple[float, float, float | None, Lock]) -> None:
        """Judge a much louder candidate right after a rhythmic step against the prediction that
        step was judged against; when it is closer to the rhythm, the last step was an intruder
        (a kick, a tick, a breath) and this is the footfall: the rhythm forgets the intruder."""
        p = self.params
        prev_anchor, prev_anchor_pred, prev_score, prev_lock = before_last
        prev_pred = self._anchor_pred_s  # what the last step was judged against
        c.closeness = prev_lock.closeness(c.t - prev_pred, self.params)
        if c.closeness > self._last_step_closeness and abs(c.t - prev_pred) <= p.window_fraction * prev_lock.period_s:
            self._lock = c.lock = prev_lock
            self._anchor_s, self._anchor_pred_s, self._anchor_score = prev_anchor, prev_anchor_pred, prev_score
            c.k = prev_lock.steps_in(c.t - prev_anchor)
            c.nxt = prev_lock.next_interval_s()
            c.predicted = prev_pred
            c.score = min(c.rel, p.max_rel) * c.closeness
            c.on_rhythm = True

    def _decide_locked(self, c: _Judgement, lock: Lock) -> Decision:
        """Locked: a step on the rhythm, a switch to another rhythm, a step off it, or rejected."""
        p = self.params
        if c.on_rhythm:
            gaps = tuple(self._anchor_s + c.nxt + i * lock.period_s for i in range(c.k - 1))
            self._recent.append((c.s, c.k))
            self._before_last = (self._anchor_s, self._anchor_pred_s, self._anchor_score, copy.copy(lock))
            self._fresh_lock = False
            onset = self._heel_before(c.t, c.s, c.predicted, lock)
            lock.update(onset - self._anchor_s, c.k, self.params)
            return self._accept(onset, c.s, rhythmic=True, predicted_s=c.predicted,
                                confidence=0.5 * min(c.rel, 1.0) + 0.5 * c.closeness, gaps=gaps, score=c.score)
        if c.rel >= p.chain_min_strength:
            # Off our rhythm: is there another rhythm with more evidence (walk <-> run, or a
            # lock on the wrong phase or on every third step)?
            found = find_chain(self._history, c.t, c.s, c.ref, c.hint, p)
            if found is not None and self._switch_to(found, lock, c.closeness):
                self._lock = found[0]
                self._start_lock()
                return self._accept(c.t, c.s, rhythmic=True, predicted_s=c.t,
                                    confidence=0.5 * min(c.rel, 1.0) + 0.5, score=min(c.rel, p.max_rel))
        if (p.off_min_rel <= c.rel <= p.off_max_rel
                and c.t - self._last_step_s >= p.off_min_fraction * (
                    c.nxt if p.off_of_interval and self._last_step_s == self._anchor_s else lock.period_s)):
            # as loud as a footfall, where one may be (steps are not a metronome): a step
            # off the rhythm: the phase follows it, the period does not
            return self._accept(c.t, c.s, rhythmic=False, predicted_s=c.predicted,
                                confidence=0.5 * min(c.rel, 1.0), move_anchor=False)
        self._last_rejected = (c.t, c.s)
        return Decision(c.t, c.s, "rejected", False, c.predicted, 0.0)

    def _decide_free(self, c: _Judgement) -> Decision:
        """Not locked: a step that finds the rhythm, a provisional step, or rejected."""
        p = self.params
        found = find_chain(self._history, c.t, c.s, c.ref, c.hint, p)
        if found is not None:
            self._lock = found[0]
            self._start_lock()
            return self._accept(c.t, c.s, rhythmic=True, predicted_s=c.t, confidence=0.5 * min(c.rel, 1.0) + 0.5,
                                score=min(c.rel, p.max_rel))
        if (c.s >= p.free_min_strength * self._free_reference(c.ref, hinted=c.hint is not None)
                and (c.t - self._last_step_s >= p.min_period_s or c.s >= p.override_ratio * self._last_step_strength)
                and (c.hint is None or self._follows_a_step(c.t, c.s, c.hint))):
            return self._accept(c.t, c.s, rhythmic=False, predicted_s=math.nan, confidence=0.5 * min(c.rel, 1.0))
        return Decision(c.t, c.s, "rejected", False, math.nan, 0.0)

    def _follows_a_step(self, t: float, s: float, hint: float) -> bool:
        """With a step-period hint and no lock: a provisional step needs a candidate about one
        hinted period before it, at least ``free_min_strength`` as strong (an isolated knock or
        the handling before a walk is not a step)."""
        tol = self.params.hint_neighbour_tolerance * hint
        floor = self.params.free_min_strength * s
        return any(abs(t - ht - hint) <= tol and hs >= floor for ht, hs in self._history)

    def _free_reference(self, ref: float | None, *, hinted: bool = False) -> float:
        """What a provisional step is compared with: before any rhythm was found, the loudest
        footfall so far (breath and rustle come before the first steps); later the reference.
        With a hint the first candidates may all have been refused (no step a period before
        them), so the loudest candidate so far counts too."""
        if self.n_rhythmic == 0 and hinted and self._history:
            return max([*self._strengths, *(hs for _, hs in self._history)])
        if self.n_rhythmic == 0 and self._strengths:
            return max(self._strengths)
        return ref or 0.0

    def note(self, time_s: float, strength: float) -> None:
        """Remember a candidate for finding the rhythm without deciding on it (one the caller
        will not report anyway, e.g. below its start-up threshold). Same time order as push."""
        t, s = float(time_s), float(strength)
        if not (math.isfinite(t) and math.isfinite(s) and s > 0) or t < self._last_time_s:
            return
        self._last_time_s = t
        self._history.append((t, s))

    def _heel_before(self, t: float, s: float, predicted: float, lock: Lock) -> float:
        """Where the footfall accepted at ``t`` began: the candidate rejected just before it (at
        most ``merge_s``, inside the rhythm's window, at least ``heel_min_rel`` x as strong) is its
        soft heel, the louder one its toe or scuff -- one footfall, at the onset of the first."""
        p = self.params
        if self._last_rejected is None:
            return t
        rt, rs = self._last_rejected
        if (0 < t - rt <= p.merge_s and rt - self._last_step_s >= p.min_period_s * 0.8
                and p.heel_min_rel * s <= rs <= p.heel_max_rel * s
                and abs(rt - predicted) <= p.window_fraction * lock.period_s):
            return rt
        return t

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

    def _merge(self, t: float, s: float, rel: float) -> Decision:
        """Part of the last footfall (toe after heel, scuff, echo)."""
        self._history.append((t, s))  # it may yet prove the rhythm (the last step was the intruder)
        if self._anchor_score is not None and self._lock is not None and self._last_rhythmic:
            # if it fits the rhythm better than what was reported (a kick drum just before the
            # step), predict from it
            score = min(rel, self.params.max_rel) * self._lock.closeness(t - self._anchor_pred_s, self.params)
            if score > self._anchor_score:
                self._anchor_score = score
                self._anchor_s = t
        return Decision(t, s, "merged", False, math.nan, 0.0)

    def pending_gaps(self, now_s: float) -> tuple[float, ...]:
        """Predicted steps that should have been heard by ``now_s`` (plus 2 sd) and were not.

        For a live display; the same gaps come with the next step's :class:`Decision`.
        """
        lock = self._lock
        if lock is None:
            return ()
        sigma = max(self.params.min_sigma_s, self.params.sigma_fraction * lock.period_s)
        out: list[float] = []
        pred = self._anchor_s + lock.next_interval_s()
        while pred + 2 * sigma < now_s and len(out) < self.params.max_missing:
            out.append(pred)
            pred += lock.period_s
        return tuple(out)


@dataclass(frozen=True)
class Track:
    """The result of :func:`track_events` (arrays over the accepted steps)."""

    time_s: NDArray[np.float64]
    strength: NDArray[np.float64]
    confidence: NDArray[np.float64]
    rhythmic: NDArray[np.bool_]
    gaps_s: NDArray[np.float64]  # predicted steps nobody heard (not footfalls)
    n_merged: int
    n_rejected: int
    rhythm_salience: float


def track_events(
    time_s: NDArray[np.floating],
    strength: NDArray[np.floating],
    *,
    params: TrackerParams | None = None,
    period_hint_s: NDArray[np.floating] | None = None,
) -> Track:
    """Offline convenience: run a fresh :class:`StepTracker` over candidate events.

    Parameters
    ----------
    time_s : array, shape (n,), non-decreasing seconds
    strength : array, shape (n,), > 0 (any unit)
    params : TrackerParams, optional
        Default ``TrackerParams()`` (:data:`AUDIO_PARAMS`); :data:`ACCEL_PARAMS` for walking.
    period_hint_s : array, shape (n,), optional
        Each candidate's step-period hint (s; NaN: none), see :meth:`StepTracker.push`.
    """
    t = np.asarray(time_s, dtype=np.float64)
    s = np.asarray(strength, dtype=np.float64)
    if t.shape != s.shape or t.ndim != 1:
        raise ParameterError("tracker: time_s and strength must be 1-D arrays of the same length")
    hints: list[float | None] = [None] * t.size
    if period_hint_s is not None:
        h = np.asarray(period_hint_s, dtype=np.float64)
        if h.shape != t.shape:
            raise ParameterError("tracker: period_hint_s must have one value per candidate")
        hints = h.tolist()
    tracker = StepTracker(params or TrackerParams())
    steps = [tracker.push(a, b, c) for a, b, c in zip(t.tolist(), s.tolist(), hints)]
    acc = [d for d in steps if d.is_step]
    return Track(
        time_s=np.array([d.time_s for d in acc], dtype=np.float64),
        strength=np.array([d.strength for d in acc], dtype=np.float64),
        confidence=np.array([d.confidence for d in acc], dtype=np.float64),
        rhythmic=np.array([d.rhythmic for d in acc], dtype=bool),
        gaps_s=np.array([g for d in acc for g in d.gaps_s], dtype=np.float64),
        n_merged=sum(d.kind == "merged" for d in steps),
        n_rejected=sum(d.kind == "rejected" for d in steps),
        rhythm_salience=tracker.rhythm_salience,
    )
