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

The time of a step is the candidate's own time (the caller's acoustic/inertial onset), never
the prediction. Everything is O(1) per candidate apart from a search over the last
``history_s`` of candidates when (re)locking.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from stepdetect.validate import ParameterError

Kind = Literal["step", "merged", "rejected"]


@dataclass(frozen=True)
class TrackerParams:
    """Tuning of :class:`StepTracker` (seconds, fractions)."""

    min_period_s: float = 0.25  # 240 spm
    max_period_s: float = 1.2  # 50 spm
    merge_s: float = 0.15  # heel/toe and scuff double hits: 30-150 ms apart
    sigma_fraction: float = 0.08  # sd of the closeness Gaussian, fraction of the period
    min_sigma_s: float = 0.015
    accept_score: float = 0.2  # min(strength/reference, 2) x closeness needed while locked
    free_min_strength: float = 0.3  # strength/reference needed for a provisional step
    chain_steps: int = 4  # regularly spaced candidates needed to lock
    chain_tolerance: float = 0.12  # spread of a chain's intervals around their mean (fraction)
    chain_min_strength: float = 0.25  # every chain member: strength/reference at least this
    adapt: float = 0.25  # the period moves this fraction towards every new interval
    max_change: float = 0.15  # ... counting at most this fraction of the period per interval
    max_missing: int = 3  # unheard predicted steps bridged before the lock is let go
    relock_after_periods: float = 2.5  # locked, but nothing accepted for this long: look for another rhythm
    history_s: float = 4.0  # candidates kept for (re)locking
    n_reference: int = 12  # accepted strengths in the reference (median)

    def __post_init__(self) -> None:
        if not (0 < self.min_period_s < self.max_period_s):
            raise ParameterError("tracker: need 0 < min_period_s < max_period_s")
        if not (0 <= self.merge_s < self.min_period_s):
            raise ParameterError("tracker: need 0 <= merge_s < min_period_s")
        if self.chain_steps < 3:
            raise ParameterError("tracker: chain_steps must be >= 3")


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

    @property
    def is_step(self) -> bool:
        return self.kind == "step"


@dataclass
class _Lock:
    period_s: float
    asym_s: float = 0.0  # half the difference between the two feet's step times
    parity: int = 1  # sign of asym_s for the next interval


@dataclass
class StepTracker:
    """Streaming tracker: :meth:`push` each candidate in time order."""

    params: TrackerParams = field(default_factory=TrackerParams)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        self._lock: _Lock | None = None
        self._last_step_s = -math.inf  # the last reported step
        self._anchor_s = -math.inf  # where predictions start from (the last step or a better-fitting double hit)
        self._anchor_pred_s = math.nan
        self._anchor_score: float | None = None
        self._last_time_s = -math.inf
        self._strengths: deque[float] = deque(maxlen=self.params.n_reference)
        self._history: deque[tuple[float, float]] = deque()
        self._recent_k: deque[int] = deque(maxlen=4)  # predicted steps per interval of the last rhythmic steps
        self.n_candidates = 0
        self.candidate_strength = 0.0  # sum over non-merged candidates
        self.rhythmic_strength = 0.0  # sum over rhythmic steps
        self.n_steps = 0
        self.n_rhythmic = 0

    # -- what callers may read ------------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self._lock is not None

    @property
    def period_s(self) -> float:
        """Current step period (NaN when not locked)."""
        return self._lock.period_s if self._lock else math.nan

    @property
    def predicted_next_s(self) -> float:
        """When the next footfall is expected (NaN when not locked)."""
        if self._lock is None:
            return math.nan
        return self._anchor_s + self._next_interval_s(self._lock)

    @property
    def rhythm_salience(self) -> float:
        """Share of all candidate strength that fell on the tracked rhythm (0-1).

        Near 1 for steps with little else; low for texture (rustle, gravel shuffle), where most
        onsets fall between any rhythm's predictions.
        """
        return self.rhythmic_strength / self.candidate_strength if self.candidate_strength > 0 else 0.0

    # -- internals ----------------------------------------------------------------------
    @staticmethod
    def _next_interval_s(lock: _Lock) -> float:
        return lock.period_s + lock.parity * lock.asym_s

    def _reference(self) -> float | None:
        return statistics.median(self._strengths) if self._strengths else None

    def _find_chain(self, t: float, ref: float | None) -> _Lock | None:
        """The rhythm of the best regular chain of candidates ending at ``t`` (None if there is none).

        Regular: strides (two consecutive intervals) within ``chain_tolerance`` of their mean,
        so a lopsided left/right step pattern still counts; the lock starts with its asymmetry.
        """
        p = self.params
        hist = [(ht, hs) for ht, hs in self._history if ht < t]
        if len(hist) < p.chain_steps - 1:
            return None
        strongest = max(hs for _, hs in hist)
        floor = p.chain_min_strength * (ref if ref is not None else strongest)
        cands = [(ht, hs) for ht, hs in hist if hs >= floor]
        times = np.array([c[0] for c in cands])
        strengths = np.array([c[1] for c in cands])
        chains: list[tuple[float, float, _Lock]] = []  # (period, score, lock)
        tol = p.chain_tolerance
        for j in range(times.size - 1, -1, -1):
            d = t - times[j]
            if d < p.min_period_s:
                continue
            if d > p.max_period_s:
                break
            chain_t = [t, float(times[j])]
            score = float(strengths[j])
            ok = True
            for _ in range(p.chain_steps - 2):
                period = (chain_t[0] - chain_t[-1]) / (len(chain_t) - 1)
                back = chain_t[-3] - chain_t[-2] if len(chain_t) >= 3 else period  # alternation
                target = chain_t[-1] - back
                # the first step back: the stride is unknown yet, so allow a lopsided one
                width = 0.3 * period if len(chain_t) < 3 else 1.5 * tol * period
                near = np.flatnonzero(np.abs(times - target) <= width)
                if near.size == 0:
                    ok = False
                    break
                k = near[np.argmax(strengths[near] - np.abs(times[near] - target) / period)]
                chain_t.append(float(times[k]))
                score += float(strengths[k])
            if not ok:
                continue
            d_s = -np.diff(chain_t)  # newest interval first
            mean = float(np.mean(d_s))
            strides = d_s[:-1] + d_s[1:]
            if (np.max(np.abs(strides - np.mean(strides))) <= 2 * tol * mean
                    and np.all(np.abs(d_s - mean) <= 0.3 * mean) and p.min_period_s <= mean <= p.max_period_s):
                period = float(0.5 * (d_s[0] + d_s[1]))
                lock = _Lock(period_s=period, asym_s=float(0.5 * (d_s[1] - d_s[0])), parity=1)
                chains.append((mean, score, lock))
        if not chains:
            return None
        best = max(chains, key=lambda c: c[1])
        # A chain of every other step is as regular as the steps: prefer the step period when
        # a chain at about half (a third) of the best period is nearly as strong.
        for div in (3, 2):
            sub = [c for c in chains if abs(c[0] * div - best[0]) <= tol * best[0] and c[1] >= 0.6 * best[1]]
            if sub:
                return max(sub, key=lambda c: c[1])[2]
        return best[2]

    def _closeness(self, dev_s: float, lock: _Lock) -> float:
        sigma = max(self.params.min_sigma_s, self.params.sigma_fraction * lock.period_s)
        return math.exp(-0.5 * (dev_s / sigma) ** 2)

    def _accept(self, t: float, s: float, *, rhythmic: bool, predicted_s: float, confidence: float,
                gaps: tuple[float, ...] = (), score: float | None = None) -> Decision:
        self._last_step_s = t
        self._anchor_s = t
        self._anchor_pred_s = predicted_s
        self._anchor_score = score
        self._strengths.append(s)
        self.n_steps += 1
        if rhythmic:
            self.n_rhythmic += 1
            self.rhythmic_strength += s
        return Decision(t, s, "step", rhythmic, predicted_s, round(min(1.0, max(0.0, confidence)), 3), gaps)

    def _update_lock(self, lock: _Lock, interval_s: float, k: int) -> None:
        p = self.params
        if k == 1:
            err = interval_s - self._next_interval_s(lock)
            err = max(-p.max_change * lock.period_s, min(p.max_change * lock.period_s, err))
            lock.period_s += p.adapt * err
            lock.asym_s += 0.5 * p.adapt * lock.parity * err
            lock.asym_s = max(-0.25 * lock.period_s, min(0.25 * lock.period_s, lock.asym_s))
            lock.parity = -lock.parity
        else:  # across a gap: only the mean period is observable
            err = interval_s / k - lock.period_s
            lock.period_s += p.adapt * max(-p.max_change * lock.period_s, min(p.max_change * lock.period_s, err))
            if k % 2:
                lock.parity = -lock.parity
        lock.period_s = min(p.max_period_s, max(p.min_period_s, lock.period_s))

    # -- the public step ------------------------------------------------------------------
    def push(self, time_s: float, strength: float) -> Decision:
        """Decide one candidate (times must not decrease from call to call)."""
        t, s = float(time_s), float(strength)
        if not (math.isfinite(t) and math.isfinite(s) and s > 0):
            raise ParameterError(f"tracker: candidate needs a finite time and a positive strength, got {t!r}, {s!r}")
        if t < self._last_time_s:
            raise ParameterError(f"tracker: candidates must come in time order ({t} s after {self._last_time_s} s)")
        self._last_time_s = t
        p = self.params
        while self._history and self._history[0][0] < t - p.history_s:
            self._history.popleft()
        if t - self._last_step_s < p.merge_s:
            self._history.append((t, s))  # it may yet prove the rhythm (the last step was the intruder)
            if self._anchor_score is not None and self._lock is not None:
                # Part of the reported footfall; but if it fits the rhythm better than what was
                # reported (a kick drum just before the step), predict from it.
                closeness = self._closeness(t - self._anchor_pred_s, self._lock)
                ref = self._reference()
                score = min(s / ref if ref else 1.0, 2.0) * closeness
                if score > self._anchor_score:
                    self._anchor_score = score
                    self._anchor_s = t
            return Decision(t, s, "merged", False, math.nan, 0.0)
        self.n_candidates += 1
        self.candidate_strength += s
        ref = self._reference()
        rel = s / ref if ref else 1.0
        decision: Decision | None = None
        lock = self._lock
        if lock is not None:
            since = t - self._anchor_s
            nxt = self._next_interval_s(lock)
            k = max(1, int(round((since - nxt) / lock.period_s)) + 1)
            if k > p.max_missing + 1:
                self._lock = lock = None  # a stop: let go
            else:
                predicted = self._anchor_s + nxt + (k - 1) * lock.period_s
                closeness = self._closeness(t - predicted, lock)
                score = min(rel, 2.0) * closeness
                if score >= p.accept_score and since >= p.min_period_s * 0.8:
                    gaps = tuple(self._anchor_s + nxt + i * lock.period_s for i in range(k - 1))
                    self._recent_k.append(k)
                    self._update_lock(lock, since, k)
                    decision = self._accept(t, s, rhythmic=True, predicted_s=predicted,
                                            confidence=0.5 * min(rel, 1.0) + 0.5 * closeness, gaps=gaps,
                                            score=score)
                elif since > p.relock_after_periods * lock.period_s or (
                        sum(k_ > 1 for k_ in self._recent_k) >= 2 and rel >= p.chain_min_strength):
                    # nothing heard for long, or the lock only holds by bridging gaps: is there another rhythm?
                    other = self._find_chain(t, ref)
                    if other is not None and abs(other.period_s - lock.period_s) > p.chain_tolerance * lock.period_s:
                        self._lock = lock = None  # another rhythm took over (walk <-> run)
                if decision is None and lock is not None:
                    decision = Decision(t, s, "rejected", False, predicted, 0.0)
        if decision is None:  # not locked
            found = self._find_chain(t, ref)
            if found is not None:
                self._lock = found
                self._recent_k.clear()
                decision = self._accept(t, s, rhythmic=True, predicted_s=t, confidence=0.5 * min(rel, 1.0) + 0.5,
                                        score=min(rel, 2.0))
            elif rel >= p.free_min_strength and t - self._last_step_s >= p.min_period_s:
                decision = self._accept(t, s, rhythmic=False, predicted_s=math.nan, confidence=0.5 * min(rel, 1.0))
            else:
                decision = Decision(t, s, "rejected", False, math.nan, 0.0)
        self._history.append((t, s))
        return decision

    def pending_gaps(self, now_s: float) -> tuple[float, ...]:
        """Predicted steps that should have been heard by ``now_s`` (plus 2 sd) and were not.

        For a live display; the same gaps come with the next step's :class:`Decision`.
        """
        lock = self._lock
        if lock is None:
            return ()
        sigma = max(self.params.min_sigma_s, self.params.sigma_fraction * lock.period_s)
        out = []
        pred = self._anchor_s + self._next_interval_s(lock)
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
    time_s: NDArray[np.floating], strength: NDArray[np.floating], *, params: TrackerParams | None = None
) -> Track:
    """Offline convenience: run a fresh :class:`StepTracker` over candidate events.

    Parameters
    ----------
    time_s : array, shape (n,), non-decreasing seconds
    strength : array, shape (n,), > 0 (any unit)
    """
    t = np.asarray(time_s, dtype=np.float64)
    s = np.asarray(strength, dtype=np.float64)
    if t.shape != s.shape or t.ndim != 1:
        raise ParameterError("tracker: time_s and strength must be 1-D arrays of the same length")
    tracker = StepTracker(params or TrackerParams())
    steps = [d for d in (tracker.push(a, b) for a, b in zip(t.tolist(), s.tolist()))]
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
