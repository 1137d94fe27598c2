"""A causal step-rhythm tracker, shared by the audio and the accelerometer detectors.

Input: candidate events in time order, each a time (s) and a positive strength (any unit: the
tracker only compares strengths with each other). Output: one :class:`Decision` per candidate,
made as soon as the candidate arrives (nothing is revised later, so a live caller reports it at
once):

* ``"merged"``: it follows the last step by less than ``merge_s`` -- the toe after the heel, a
  scuff, an echo, a belt bounce: part of that footfall, not a new one. Except at a fast lock
  (``split_max_closeness``): right after a step taken far before its prediction, a candidate close
  to that prediction is a footfall of its own (the step before was the late crunch of the footfall
  before it; it stays reported);
* ``"step"``: a footfall. While the tracker is *locked* on a rhythm it predicts the next
  footfall from the step period (and the left/right alternation of a lopsided stride) and a
  candidate is a step when ``strength / reference x closeness >= accept_score``, closeness
  being a Gaussian of its distance to the prediction (sd ``sigma_fraction`` of the period, at
  most ``max_sigma_s``) -- or, right after a step taken on its strength at its own prediction,
  when it is as close at or just after the next one and at least ``exact_min_rel`` as loud (a
  soft foot: ``exact_min_closeness``).
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
(walk -> run): then it re-locks on the new chain -- after a stop, not on one more than
``stop_max_period_ratio`` x slower than the lost rhythm (breaths while standing); a lock living
on candidates the caller flags soft across most of its predicted steps lets go too
(``stop_sparse_steps``: a headset's gated breaths while standing); after any stop soft
candidates are no members of the restart's chain, after such a one none is out of the quiet. Once a hi-hat
was heard before the first lock (:meth:`BeatGrids.faster_than_steps`), a candidate merged into a
provisional step and softer than it is no member of the chain the first lock is found on.

Heel, toe and scuff: a step taken off the rhythm (heard early) and followed within ``merge_s``
by a candidate on the rhythm is one footfall at the first onset, and the rhythm re-phases to it;
a step off the rhythm (at least ``rephase_min_rel`` as loud) whose next candidate falls on the
rhythm counted from it, closer than to the old prediction, was a stumble: the phase moves to it;
with ``heel_min_rel`` a footfall taken on the rhythm is dated at a softer candidate rejected just
before it (its heel). A candidate after the prediction, with nothing at it, is the late footfall
when at least ``late_min_rel`` as loud. When the rhythm was just found on a candidate, a much
louder one right after it is the footfall (the first was a precursor); a fast rhythm found on a
candidate while the one heard within ``merge_s`` before it ends a regular chain at the same period
is found on that earlier onset instead (the contact before its crunch). A regular chain at half
the locked period (``halve_min_period_s``) replaces a lock on strides; a slow lock halves too when
most of its recent strides had a candidate at their midpoint (``halve_midpoint_count``). A lock
whose last steps each came across unheard predicted steps gives way to a regular chain up to
``relock_max_ratio`` x slower that explains every candidate heard: a runner slowed to a walk. On
such a walk a running step after the last walking one may be a step off the rhythm, and a chain
up to ``relock_max_ratio`` x faster explaining every candidate heard takes over: the walker set
off running again.

The time of a step is the candidate's own time (the caller's acoustic/inertial onset, or the
heel's), never the prediction. Everything is O(1) per candidate apart from a search over the last
``history_s`` of candidates when (re)locking.

Where the parts live: the tuning and the lock's arithmetic in :mod:`stepdetect.tracker_lock`, the
chain search in :mod:`stepdetect.tracker_chain`, the remembered state and its bookkeeping in
:mod:`stepdetect.tracker_state`; the decisions (:meth:`StepTracker.push`) here.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stepdetect.tracker_beat import BeatGrids
from stepdetect.tracker_chain import chains_ending_at, find_chain
from stepdetect.tracker_lock import (  # noqa: F401 - the parameter sets are re-exported
    ACCEL_PARAMS,
    AUDIO_PARAMS,
    BANDS_PARAMS,
    PARAMETER_SETS,
    Lock,
    TrackerParams,
)
from stepdetect.tracker_state import Decision, Kind, TrackerState  # noqa: F401 - re-exported
from stepdetect.validate import ParameterError


# The lock's period check (TrackerParams.period_check_min_off): the rejected candidate comes one
# chain period after the last step within this fraction of it, and the lock's steps counted are
# those within this x chain_steps chain periods before it (a fifth more for the chain's spread).
PERIOD_CHECK_PHASE = 0.1
PERIOD_CHECK_SPAN = 1.2


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
    beat_s: float | None = None  # the period of another rhythm's exact grid it lies on (music), if any
    soft: bool = False  # well under the footfalls' level (push(soft_db=...)): no step off the rhythm
    exact: bool = False  # on the rhythm only by its place (StepTracker._exact_after_exact), not its strength


class StepTracker(TrackerState):
    """Streaming tracker: :meth:`push` each candidate in time order.

    ``StepTracker(params)``; the state it keeps and what callers may read of it
    (``locked``, ``period_s``, ``rhythm_salience``, ``pending_gaps`` ...) are in
    :class:`~stepdetect.tracker_state.TrackerState`.
    """

    def _walk_relock(self, other: Lock, lock: Lock, t: float, ref: float | None) -> bool:
        """Whether the lock's last steps each came after an unheard predicted step while the
        regular chain ``other`` found at ``t`` -- 1 + ``chain_tolerance`` to ``relock_max_ratio``
        x slower -- explains every candidate heard over its last ``chain_steps`` periods: the
        runner slowed to a walk (3 : 2, 2 : 1) and the lock kept taking some walking steps
        across "unheard" running ones (``relock_max_ratio``)."""
        p = self.params
        ratio = other.period_s / lock.period_s
        if p.relock_max_ratio is None or ref is None or not 1.0 + p.chain_tolerance < ratio <= p.relock_max_ratio:
            return False
        if len(self._recent) < p.chain_steps or any(k < 2 for _, k in self._recent):
            return False
        return self._explains_every_candidate(other, t, ref)

    def _run_relock(self, other: Lock, lock: Lock, t: float, ref: float | None) -> bool:
        """Locked on a walk by :meth:`_walk_relock`: whether the regular chain ``other`` found at
        ``t`` -- 1 + ``chain_tolerance`` to ``relock_max_ratio`` x faster -- explains every
        candidate heard over its last ``chain_steps`` periods: the walker set off running again.
        (On any other lock a faster chain goes through :meth:`_switch_to`'s evidence tests: a walk
        lock yields to a run only once the run outweighs it, seconds of running steps lost.)"""
        p = self.params
        ratio = lock.period_s / other.period_s
        if not math.isfinite(lock.walked_from_s) or p.relock_max_ratio is None or ref is None:
            return False
        return 1.0 + p.chain_tolerance < ratio <= p.relock_max_ratio and self._explains_every_candidate(other, t, ref)

    def _explains_every_candidate(self, other: Lock, t: float, ref: float) -> bool:
        """Whether every candidate heard (at least ``halve_midpoint_min_rel`` x ``ref``) over the
        last ``chain_steps`` periods of the chain ``other`` found at ``t`` lies on it (within
        ``window_fraction`` of a period): a soft foot heard half-way between the loud foot's steps
        is a runner, not a walk. Only the last ``history_s`` are kept: a slow chain's last
        ``chain_steps`` periods (up to ``chain_steps`` x ``max_period_s``, 4.8 s) may reach further
        back, the candidates before are not judged."""
        p = self.params
        span = min(p.chain_steps * other.period_s, p.history_s)  # the history holds no more
        width = p.window_fraction * other.period_s
        floor = p.halve_midpoint_min_rel * ref
        for ht, hs in self._history:
            if t - span <= ht < t and hs >= floor:
                off = (t - ht) % other.period_s
                if min(off, other.period_s - off) > width:
                    return False
        return True

    def _switch_to(self, found: tuple[Lock, float], lock: Lock, closeness: float) -> bool:
        """Whether a chain found while locked is a better rhythm than the lock."""
        other, score = found
        tol = self.params.chain_tolerance
        ratio = other.period_s / lock.period_s
        if abs(ratio - 1.0) <= tol and closeness > 0.1:
            return False  # our own rhythm
        if min(abs(ratio - 2.0), abs(ratio - 3.0)) <= tol:
            return False  # every 2nd or 3rd of our steps: our rhythm heard badly
        evidence = sum(st * 0.7 ** (k - 1) for st, k in self._recent)
        evidence *= self.params.chain_steps / max(1, len(self._recent))
        if abs(ratio - 0.5) <= 0.5 * tol and (
                other.period_s >= self.params.halve_min_period_s
                or score >= self.params.halve_fast_score * (evidence if len(self._recent) >= 2 else self._chain_score)):
            # a regular chain of steps between ours: the lock was on strides (at a fast cadence
            # only when the steps between ours are about as strong as the lock's last steps, or
            # than the chain it was found on while it has taken fewer than two)
            return True
        if self._off_strength <= self._on_strength:
            return False  # the lock explains most of what is heard: keep it
        return score > self.params.switch_margin * evidence

    # -- the public step ------------------------------------------------------------------
    def push(self, time_s: float, strength: float, period_hint_s: float | None = None, *,
             quiet: bool = False, soft_db: float | None = None) -> Decision:
        """Decide one candidate (times must not decrease from call to call).

        ``period_hint_s``: the caller's own estimate of the step period around this candidate
        (s, optional; NaN counts as none). It decides which chain may lock (steps, not strides,
        lopsided or not) and pulls the predicted period towards it (``hint_tolerance``,
        ``hint_weight``).

        ``quiet``: the caller found it far quieter than the footfalls (a headset's noise gate
        opening on a breath makes a footfall-sized jump out of it): it is a step only on the
        rhythm, at least ``quiet_min_closeness`` close to the prediction; else it is rejected
        (it cannot be a step off the rhythm, a heel, a toe, a stumble or start another rhythm).

        ``soft_db``: the caller found it well under the footfalls' level, this many dB past its
        margin (None: not so): never a step off the rhythm, and before the prediction a step on it
        only at least :meth:`soft_closeness_bound` close -- a bound that grows with ``soft_db`` (a
        breath through a headset's gate at the rhythm's early edge lies further under the footfalls
        than a soft foot's step); nearer the edge it is rejected as a ``quiet`` one is.
        """
        if soft_db is not None and not (math.isfinite(soft_db) and soft_db >= 0):
            raise ParameterError(f"tracker: soft_db must be a finite number of dB >= 0, got {soft_db!r}")
        quiet = quiet and self.params.quiet_min_closeness is not None
        c = self._judge(*self._checked(time_s, strength, period_hint_s), quiet=quiet, soft=soft_db is not None)
        if c.soft and self.params.stop_chain_loud_only:
            self._soft_heard.add((c.t, c.s))
        # a quiet one off the prediction: rejected, never merged as a heel, toe or scuff
        quiet_off = quiet and not (c.on_rhythm and c.closeness >= (self.params.quiet_min_closeness or 0.0))
        quiet_off = quiet_off or (soft_db is not None and c.on_rhythm and c.t < c.predicted
                                  and c.closeness < self.soft_closeness_bound(soft_db))
        if not quiet_off:
            merged = self._double_hit(c)
            if merged is not None:
                return merged
        self._count_candidate(c.t, c.s)
        if quiet_off:
            self._last_rejected = (c.t, c.s)
            decision = Decision(c.t, c.s, "rejected", False, c.predicted, 0.0)
        else:
            decision = self._decide_locked(c, c.lock) if c.lock is not None else self._decide_free(c)
        self._history.append((c.t, c.s))
        rel_capped = min(c.rel, self.params.max_rel)
        if decision.rhythmic:
            self._on_strength = 0.75 * self._on_strength + rel_capped
            self._off_strength *= 0.75
        elif decision.kind != "merged":  # (merged here: the crunch of the footfall _lock_on_earlier_part found)
            self._off_strength += rel_capped
        return decision

    def soft_closeness_bound(self, soft_db: float) -> float:
        """The closeness to the prediction a soft candidate ``soft_db`` past the caller's soft margin
        needs before the prediction to be a step: ``soft_closeness_per_db`` x that, up to
        ``soft_min_closeness`` (all of it without a slope; 0 without a bound)."""
        p = self.params
        if p.soft_min_closeness is None:
            return 0.0
        if p.soft_closeness_per_db is None:
            return p.soft_min_closeness
        return min(p.soft_min_closeness, p.soft_closeness_per_db * max(0.0, soft_db))

    def _checked(self, time_s: float, strength: float,
                 period_hint_s: float | None) -> tuple[float, float, float | None]:
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

    def _judge(self, t: float, s: float, hint: float | None, *, quiet: bool = False, soft: bool = False) -> _Judgement:
        """The candidate against the reference strength and the lock's prediction (the lock is
        pulled towards the hint, and let go after a stop; a ``quiet`` one confirms no stumble)."""
        p = self.params
        while self._history and self._history[0][0] < t - p.history_s:
            gone = self._history.popleft()
            self._step_times.discard(gone[0])
            self._merged_free.discard(gone)
            self._soft_heard.discard(gone)
            self._merged_heard.discard(gone)
        ref = self._reference()
        if ref is not None and len(self._strengths) >= 2 and self._lock is not None:
            # the same foot's last footfall: one foot may land much softer than the other
            ref = min(ref, p.same_foot_factor * self._strengths[-2])
        c = _Judgement(t, s, hint, ref, s / ref if ref else 1.0, self._lock, soft=soft)
        lock = self._lock
        if lock is not None and hint is not None:
            lock.period_s += p.hint_weight * (min(p.max_period_s, max(p.min_period_s, hint)) - lock.period_s)
        if lock is not None:
            since = t - self._anchor_s
            c.nxt = lock.next_interval_s()
            c.k = lock.steps_in(since)
            if c.k > p.max_missing + 1:
                self._let_go(c, lock)  # a stop
                lock = None
        if lock is not None:
            c.predicted = self._anchor_s + c.nxt + (c.k - 1) * lock.period_s
            c.closeness = lock.closeness(t - c.predicted, self.params)
            c.score = min(c.rel, p.max_rel) * c.closeness
            late = (t > c.predicted and c.rel >= p.late_min_rel and t - self._last_step_s >= p.merge_s
                    and (p.late_soft_across_gaps or not soft or c.k == 1)
                    and not self._later_part_of_off_step(c))
            c.exact = c.score < p.accept_score and not late and self._exact_after_exact(c)
            c.on_rhythm = ((c.score >= p.accept_score or late or c.exact)
                           and since >= p.min_period_s * 0.8 and abs(t - c.predicted) <= p.window_fraction * lock.period_s)
            if (not quiet and not self._last_rhythmic and self._anchor_s < self._last_step_s <= t - p.merge_s
                    and ref and self._last_step_strength >= p.rephase_min_rel * ref):
                self._stumble(c, lock)
            if self._beats is not None and self._history:
                times, strengths = zip(*self._history)
                c.beat_s = self._beats.judge(times, strengths, t, s, lock.period_s, self._step_times)
                c.on_rhythm = c.on_rhythm and c.beat_s is None
        return c

    def _later_part_of_off_step(self, c: _Judgement) -> bool:
        """Whether candidate ``c``, after its prediction, is no late footfall (``late_after_off_loud_only``):
        a step was taken off the rhythm since the anchor, before this prediction -- the first one
        after the anchor (``c.k == 1``), so that step answered it -- and ``c`` is under
        ``anchor_min_rel`` x as strong as that step (its later part: a crunch or scuff after an early
        footfall)."""
        p = self.params
        return (p.late_after_off_loud_only and c.k == 1 and self._anchor_s < self._last_step_s < c.predicted
                and c.s < p.anchor_min_rel * self._last_step_strength)

    def _exact_after_exact(self, c: _Judgement) -> bool:
        """Whether a candidate under ``accept_score`` is a step all the same (``exact_min_closeness``):
        at least ``exact_min_rel`` x the reference, at or after the very next prediction (a softer onset
        just before it may be a precursor of the footfall), at a closeness of ``exact_min_closeness``
        or more, right after the lock's newest step -- the anchor, taken on the rhythm and on its
        strength at ``exact_min_closeness`` or more to its own prediction, the lock ``chain_steps``
        steps old: a soft foot's step where the rhythm puts it, the other foot's step heard just
        before at its place (never a soft step after a soft step: no lock lives on such steps alone)."""
        p = self.params
        return (p.exact_min_closeness is not None and c.k == 1 and c.rel >= p.exact_min_rel and c.t >= c.predicted
                and c.closeness >= p.exact_min_closeness and len(self._recent) == p.chain_steps
                and self._last_rhythmic and self._last_step_level and self._last_step_s == self._anchor_s
                and self._last_step_closeness >= p.exact_min_closeness)

    def _stumble(self, c: _Judgement, lock: Lock) -> None:
        """The last step was taken off the rhythm: when this candidate is on the rhythm counted
        from that step (and closer to it than to the old prediction), the runner stumbled -- the
        phase moved to that step (the period did not); predict from it and judge this one so."""
        p = self.params
        k_off = lock.steps_in(self._last_step_s - self._anchor_s)
        parity = -lock.parity if k_off % 2 else lock.parity
        nxt = lock.period_s + parity * lock.asym_s
        predicted = self._last_step_s + nxt
        if c.t - self._last_step_s > nxt + p.window_fraction * lock.period_s:
            return  # only the very next step confirms a new phase
        closeness = lock.closeness(c.t - predicted, p)
        score = min(c.rel, p.max_rel) * closeness
        if (closeness <= c.closeness or score < p.accept_score or c.t - self._last_step_s < p.min_period_s * 0.8
                or abs(c.t - predicted) > p.window_fraction * lock.period_s):
            return
        self._anchor_pred_s = self._anchor_s + lock.next_interval_s() + (k_off - 1) * lock.period_s
        self._anchor_s = self._last_step_s
        self._anchor_score = None
        lock.parity = parity
        c.nxt, c.k, c.predicted, c.closeness, c.score, c.on_rhythm = nxt, 1, predicted, closeness, score, True

    def _double_hit(self, c: _Judgement) -> Decision | None:
        """A candidate within ``merge_s`` of the last step: part of that footfall (merged), or
        the footfall itself when the last one was a precursor (accepted here); None: judge it
        as any other candidate (the rhythm may have forgotten an intruder, see
        :meth:`_replace_intruder`)."""
        p = self.params
        since_step = c.t - self._last_step_s
        if (since_step < p.merge_s and c.on_rhythm and not self._last_rhythmic and c.lock is not None
                and self._last_step_s > self._anchor_s
                and abs(self._last_step_s - c.predicted) <= p.window_fraction * c.lock.period_s
                and not self._splits_off_rhythm(c)):
            # the step just reported off the rhythm, then this on it within merge_s: one footfall
            # (heel, then toe or scuff), heard early -- the rhythm follows its first onset
            self._rephase_to_last_step(c.lock)
            return self._merge(c.t, c.s, c.rel, beat=c.beat_s is not None)
        if not (since_step < p.merge_s and not (c.on_rhythm and not self._last_rhythmic)):
            return None
        if self._last_rhythmic and self._before_last is not None and self._splits(c):
            self._replace_intruder(c, self._before_last)
            if c.on_rhythm:
                return None  # judged against the prediction the step before was: a footfall of its own
        louder = since_step >= p.override_after_s and c.s >= p.override_ratio * self._last_step_strength
        if self._fresh_lock and louder and c.lock is not None:
            # the rhythm was found on the candidate just reported and this one, right after
            # it, is much louder: that one was a precursor (a breath, a scuff), this the
            # footfall the rhythm is anchored on
            self._fresh_lock = False
            self._count_candidate(c.t, c.s)
            self._history.append((c.t, c.s))
            return self._accept_found(c)
        if self._last_rhythmic and self._before_last is not None and louder:
            self._replace_intruder(c, self._before_last)
            louder = False
        elif self._last_rhythmic:
            louder = False
        if louder is False and not c.on_rhythm or (louder is False and since_step < p.merge_s and c.lock is None):
            return self._merge(c.t, c.s, c.rel, beat=c.beat_s is not None)
        # unlocked: much louder than the provisional step just reported: that one was the intruder
        return None

    def _splits(self, c: _Judgement) -> bool:
        """Whether a candidate right after the last step (a rhythmic one) is a footfall of its own
        (``split_max_closeness``): at a fast lock, that step was taken before its prediction far
        from it, and this one falls close to that same prediction, ``split_max_gap_s`` after it at
        most. The step before was the late crunch of the footfall before it."""
        p = self.params
        lock = c.lock
        if (p.split_max_closeness is None or lock is None or lock.period_s > p.split_max_period_s
                or not math.isfinite(self._anchor_pred_s) or self._anchor_s != self._last_step_s):
            return False
        return (self._last_step_s < self._anchor_pred_s and self._last_step_closeness < p.split_max_closeness
                and c.t - self._last_step_s <= p.split_max_gap_s
                and lock.closeness(c.t - self._anchor_pred_s, p) >= p.split_min_closeness)

    def _splits_off_rhythm(self, c: _Judgement) -> bool:
        """Whether a candidate on the rhythm right after a step taken *off* it is a footfall of its
        own rather than that step's toe (``split_off_rhythm``, with the ``split_*`` bounds): at a lock
        of at most ``split_max_period_s``, that step came before the prediction and this one, at most
        ``split_max_gap_s`` after it, is at least ``split_min_closeness`` to the prediction and
        ``anchor_min_rel`` x as strong (as a part that may move the rhythm): the step before was the
        late crunch of the footfall before it."""
        p = self.params
        lock = c.lock
        if not p.split_off_rhythm or p.split_max_closeness is None or lock is None:
            return False
        fast = lock.period_s <= p.split_max_period_s and c.t - self._last_step_s <= p.split_max_gap_s
        far = (p.split_off_far_closeness is not None and lock.period_s > p.split_max_period_s
               and self._last_step_closeness < p.split_off_far_closeness
               and c.s >= p.split_off_far_min_ratio * self._last_step_strength)
        return ((fast or far) and self._last_step_s < c.predicted and c.closeness >= p.split_min_closeness
                and c.s >= p.anchor_min_rel * self._last_step_strength)

    def _replace_intruder(self, c: _Judgement, before_last: tuple[float, float, float | None, Lock]) -> None:
        """Judge a much louder candidate right after a rhythmic step against the prediction that
        step was judged against; when it is closer to the rhythm, the last step was an intruder
        (a kick, a tick, a breath) and this is the footfall: the rhythm forgets the intruder."""
        p = self.params
        prev_anchor, prev_anchor_pred, prev_score, prev_lock = before_last
        prev_pred = self._anchor_pred_s  # what the last step was judged against
        c.closeness = prev_lock.closeness(c.t - prev_pred, self.params)
        closer = c.closeness > self._last_step_closeness
        if ((closer or self._yields_to(c)) and abs(c.t - prev_pred) <= p.window_fraction * prev_lock.period_s):
            self._lock = c.lock = prev_lock
            self._anchor_s, self._anchor_pred_s, self._anchor_score = prev_anchor, prev_anchor_pred, prev_score
            c.k = prev_lock.steps_in(c.t - prev_anchor)
            c.nxt = prev_lock.next_interval_s()
            c.predicted = prev_pred
            c.score = min(c.rel, p.max_rel) * c.closeness
            c.on_rhythm = True

    def _yields_to(self, c: _Judgement) -> bool:
        """Whether the rhythmic step just taken, well under the footfalls' level (under
        ``yield_max_rel`` x the reference), was a soft sound before the footfall this candidate is
        (at least ``yield_ratio`` x as strong): a scuff or a breath 30-80 ms before a heel."""
        p = self.params
        return (p.yield_ratio is not None and c.ref is not None and c.ref > 0
                and p.yield_min_gap_s <= c.t - self._last_step_s <= p.yield_max_gap_s
                and self._last_step_strength < p.yield_max_rel * c.ref
                and c.s >= p.yield_ratio * self._last_step_strength)

    def _decide_locked(self, c: _Judgement, lock: Lock) -> Decision:
        """Locked: a step on the rhythm, a switch to another rhythm, a step off it, or rejected."""
        p = self.params
        if c.on_rhythm and c.k >= 2 and c.rel >= p.chain_min_strength and c.beat_s is None:
            # taken across unheard steps: has the runner slowed to a walk (_walk_relock)?
            found = find_chain(self._history, c.t, c.s, c.ref, c.hint, p)
            if found is not None and self._walk_relock(found[0], lock, c.t, c.ref):
                return self._switch(found, c, walked_from_s=lock.period_s)
        if c.on_rhythm and c.soft and self._sparse(c.k):
            self._let_go(c, lock)  # a stop: the lock lived on breaths near its predictions
            self._lived_on_soft = True
            return self._decide_free(c)
        if c.on_rhythm:
            gaps = tuple(self._anchor_s + c.nxt + i * lock.period_s for i in range(c.k - 1))
            self._recent.append((c.s, c.k))
            self._before_last = (self._anchor_s, self._anchor_pred_s, self._anchor_score, copy.copy(lock))
            self._fresh_lock = False
            onset = self._heel_before(c.t, c.s, c.predicted, lock)
            prev_anchor = self._anchor_s
            lock.update(onset - self._anchor_s, c.k, self.params)
            self._halve_on_midpoints(prev_anchor, onset, c.k, c.ref, lock)
            return self._accept(onset, c.s, rhythmic=True, predicted_s=c.predicted,
                                confidence=0.5 * min(c.rel, 1.0) + 0.5 * c.closeness, gaps=gaps, score=c.score,
                                level=not c.exact)
        if c.rel >= p.chain_min_strength and c.beat_s is None:
            # Off our rhythm: is there another rhythm with more evidence (walk <-> run, or a
            # lock on the wrong phase or on every third step)? Not on a beat of the music.
            found = find_chain(self._history, c.t, c.s, c.ref, c.hint, p)
            if found is not None:
                walk = self._walk_relock(found[0], lock, c.t, c.ref)
                if walk or self._run_relock(found[0], lock, c.t, c.ref):
                    return self._switch(found, c, walked_from_s=lock.period_s if walk else None)
                if self._switch_to(found, lock, c.closeness):
                    if (p.stop_on_slow_switch and p.stop_max_period_ratio is not None
                            and found[0].period_s > p.stop_max_period_ratio * lock.period_s
                            and len(self._recent) == p.chain_steps and any(k > 2 for _, k in self._recent)):
                        self._let_go(c, lock)
                        return self._decide_free(c)
                    return self._switch(found, c)
        if c.beat_s is not None:
            # a beat of the music: not a step, nor a heel
            return Decision(c.t, c.s, "rejected", False, c.predicted, 0.0, beat=True)
        min_fraction = p.off_min_fraction if c.rel < p.off_loud_rel else p.off_loud_fraction
        if math.isfinite(lock.walked_from_s):
            # a walk re-locked on from a run: the walker may set off running at any step (the
            # first running steps come a running step after the last walking one)
            off_after_s = lock.walked_from_s
        else:
            off_after_s = c.nxt if p.off_of_interval and self._last_step_s == self._anchor_s else lock.period_s
        if (not c.soft and p.off_min_rel <= c.rel <= p.off_max_rel
                and c.t - self._last_step_s >= min_fraction * off_after_s):
            # as loud as a footfall, where one may be (steps are not a metronome): a step
            # off the rhythm: the phase follows it, the period does not
            return self._accept(c.t, c.s, rhythmic=False, predicted_s=c.predicted,
                                confidence=0.5 * min(c.rel, 1.0), move_anchor=False)
        corrected = self._period_corrected(c, lock)
        if corrected is not None:
            lock.period_s, lock.asym_s, lock.parity = corrected.period_s, corrected.asym_s, corrected.parity
            return self._accept_found(c)
        self._last_rejected = (c.t, c.s)
        return Decision(c.t, c.s, "rejected", False, c.predicted, 0.0)

    def _period_corrected(self, c: _Judgement, lock: Lock) -> Lock | None:
        """The lock's period checked against the candidates it rejects (``period_check_min_off``):
        when this one, about to be rejected, comes one chain period after the last step (within
        ``PERIOD_CHECK_PHASE``) and completes a regular chain of candidates (a footfall's merged
        parts are no members) at ``period_check_min_off`` to ``chain_tolerance`` off the lock's
        period, with at least two of the lock's steps within the chain's span, the lock's period was
        wrong: the chain's rhythm (None: keep the lock). A lock found on one long interval of an
        irregular start stays slow, and its steps across gaps lengthen it further, while the
        runner's weak lifts under a gust keep coming at the true period."""
        p = self.params
        if p.period_check_min_off is None or c.soft or c.ref is None or c.rel < p.chain_min_strength:
            return None
        longest = (1.0 + p.chain_tolerance) * lock.period_s  # the slowest chain judged
        since = (c.t - self._last_step_s) / lock.period_s
        if not (1.0 - PERIOD_CHECK_PHASE) * (1.0 - p.chain_tolerance) <= since <= (1.0 + PERIOD_CHECK_PHASE) * (1.0 + p.chain_tolerance):
            return None  # no chain period in reach is one period after the last step
        reach_s = PERIOD_CHECK_SPAN * p.chain_steps * longest  # (a chain spans under 1.3 x its periods)
        history = [h for h in self._history if c.t - reach_s <= h[0] and h not in self._merged_heard]
        best: tuple[float, Lock] | None = None
        for mean, score, other in chains_ending_at(history, c.t, c.s, p.chain_min_strength * c.ref, p):
            if not p.period_check_min_off <= abs(mean / lock.period_s - 1.0) <= p.chain_tolerance:
                continue
            if abs(c.t - self._last_step_s - mean) > PERIOD_CHECK_PHASE * mean:
                continue
            span = PERIOD_CHECK_SPAN * p.chain_steps * mean
            if sum(1 for ht in self._step_times if c.t - span <= ht < c.t) < 2:
                continue
            if best is None or score > best[0]:
                best = (score, other)
        return best[1] if best is not None else None

    def _switch(self, found: tuple[Lock, float], c: _Judgement, *, walked_from_s: float | None = None) -> Decision:
        """Lock on the chain found at this candidate (the first rhythm, or another that took over): a step on it.
        ``walked_from_s``: the running step period the runner slowed to this walk from
        (:meth:`_walk_relock`; see :meth:`_run_relock`)."""
        if walked_from_s is not None:
            found[0].walked_from_s = walked_from_s
        unlocked = self._lock is None
        after_stop = self._stopped_period_s is not None
        self._lock = found[0]
        self._start_lock(found[1])
        if unlocked:
            self._halve_on_chain_midpoints(found[0], c.ref, leave_out=self._soft_heard if after_stop else None)
        return self._accept_found(c)

    def _accept_found(self, c: _Judgement) -> Decision:
        """A step on the rhythm just found at it (anchored on it: half its strength, half sure)."""
        return self._accept(c.t, c.s, rhythmic=True, predicted_s=c.t,
                            confidence=0.5 * min(c.rel, 1.0) + 0.5, score=min(c.rel, self.params.max_rel))

    def _sparse(self, k: int) -> bool:
        """Whether a step on the rhythm across ``k`` predicted steps would leave the lock's last
        ``chain_steps`` steps spanning ``stop_sparse_steps`` predicted steps each (most unheard)."""
        p = self.params
        if p.stop_sparse_steps is None or k < 2 or len(self._recent) < p.chain_steps - 1:
            return False
        ks = [kk for _, kk in self._recent][-(p.chain_steps - 1):]
        return sum(ks) + k >= p.stop_sparse_steps * p.chain_steps

    def _let_go(self, c: _Judgement, lock: Lock) -> None:
        """A stop: the lock is let go (the stop's rules then apply to its period)."""
        self._stopped_period_s = lock.period_s
        self._lock = c.lock = None

    def _halve_on_midpoints(self, prev_s: float, t: float, k: int, ref: float | None, lock: Lock) -> None:
        """A stride (``prev_s`` to ``t``, ``k`` predicted steps) just ended on the rhythm: remember
        whether a candidate fell near its midpoint; when most recent strides had one, the lock was
        on every other step: halve it (the next prediction half a period after ``t``)."""
        p = self.params
        if p.halve_midpoint_count <= 0 or lock.period_s < p.halve_midpoint_min_period_s or ref is None:
            self._midpoints.clear()
            return
        self._midpoints.append(k == 1 and self._heard_midway(prev_s, t, ref))
        self._halve_if_midpoints(lock)

    def _halve_on_chain_midpoints(self, lock: Lock, ref: float | None, *,
                                  leave_out: set[tuple[float, float]] | None = None) -> None:
        """A rhythm just found on a chain while no lock was held (the first, or the first after a
        stop): the chain's intervals are the lock's first strides, judged as
        :meth:`_halve_on_midpoints` judges each later one (a lock found on a runner's strides, the
        other foot heard half-way between them, halves at once when ``halve_midpoint_count`` of
        them had a midpoint, not only after as many more strides). Strides remembered from a lock
        let go before (a stop) do not count: the chain's are this lock's first. A switch from one
        lock to another is left to the switch's own rules (a walk, a lock on every other step).
        ``leave_out``: candidates that are no midpoint (after a stop the caller's soft ones, as the
        chain itself is found without them: a headset's gated breaths while standing are no foot)."""
        p = self.params
        if (not p.halve_midpoint_chain or p.halve_midpoint_count <= 0 or ref is None
                or lock.period_s < p.halve_midpoint_min_period_s):
            return
        self._midpoints.clear()
        for prev_s, t in zip(lock.chain_s, lock.chain_s[1:]):
            self._midpoints.append(self._heard_midway(prev_s, t, ref, leave_out))
        self._halve_if_midpoints(lock)

    def _heard_midway(self, prev_s: float, t: float, ref: float,
                      leave_out: set[tuple[float, float]] | None = None) -> bool:
        """Whether a candidate at least ``halve_midpoint_min_rel`` x ``ref`` fell within
        ``halve_midpoint_fraction`` of the interval from its midpoint (none of ``leave_out``)."""
        p = self.params
        mid = 0.5 * (prev_s + t)
        tol = p.halve_midpoint_fraction * (t - prev_s)
        return any(abs(ht - mid) <= tol and hs >= p.halve_midpoint_min_rel * ref
                   and (leave_out is None or (ht, hs) not in leave_out) for ht, hs in self._history)

    def _halve_if_midpoints(self, lock: Lock) -> None:
        """Halve the lock when ``halve_midpoint_count`` of the remembered strides had a midpoint."""
        if sum(self._midpoints) >= self.params.halve_midpoint_count:
            lock.period_s *= 0.5
            lock.asym_s = 0.0
            lock.walked_from_s = math.nan  # a run's steps now, no walk
            self._midpoints.clear()
            self._recent.clear()

    def _decide_free(self, c: _Judgement) -> Decision:
        """Not locked: a step that finds the rhythm, a provisional step, or rejected."""
        p = self.params
        if c.beat_s is not None:  # on another rhythm's exact grid (music): not a step, nor a rhythm's start
            return Decision(c.t, c.s, "rejected", False, math.nan, 0.0, beat=True)
        left_out: set[tuple[float, float]] = set()  # candidates no chain is found through
        if self._hats_heard and self._merged_free and self.n_rhythmic == 0:
            # hi-hats heard before the first lock: the first rhythm is not found through a softer
            # candidate merged into a provisional step (its toe or crunch, or a hi-hat or kick right
            # after it): with eighth notes about, such parts complete chains at the music's pace
            left_out |= self._merged_free
        if self._stopped_period_s is not None and self._soft_heard:
            # after a stop a chain is of candidates at the footfalls' level (the newest may be soft):
            # a headset's gated breaths and the restarted steps made a chain at 1.5 x the step
            left_out |= self._soft_heard
        history = deque(h for h in self._history if h not in left_out) if left_out else self._history
        found = find_chain(history, c.t, c.s, c.ref, c.hint, p)
        if (found is not None and p.stop_max_period_ratio is not None and self._stopped_period_s is not None
                and found[0].period_s > p.stop_max_period_ratio * self._stopped_period_s):
            found = None  # breathing while standing at a traffic light, not the runner setting off again
        if found is not None:
            earlier = self._lock_on_earlier_part(found, c, history)
            if earlier is not None:
                return earlier
            return self._switch(found, c)
        if self._beats is not None and self._history:
            times, strengths = zip(*self._history)
            if self._beats.faster_than_steps(times, strengths, c.t, c.s, p.min_period_s):
                # a hi-hat's eighth notes: no runner steps that fast (before the lock nothing
                # else tells them from footfalls)
                if self.n_rhythmic == 0:  # only before the first lock (what _hats_heard is for)
                    self._hats_heard = True
                return Decision(c.t, c.s, "rejected", False, math.nan, 0.0, beat=True)
        if ((c.s >= p.free_min_strength * self._free_reference(c.ref, hinted=c.hint is not None)
             or self._sets_off_again(c))
                and (c.t - self._last_step_s >= p.min_period_s
                     or (p.free_loud_min_fraction is not None and c.s >= self._last_step_strength
                         and c.t - self._last_step_s >= p.free_loud_min_fraction * p.min_period_s)
                     or (p.free_override and (p.stop_free_override or self._stopped_period_s is None)
                         and c.s >= p.override_ratio * self._last_step_strength))
                and (c.hint is None or self._follows_a_step(c.t, c.s, c.hint))
                and (p.stop_min_rel is None or self._stopped_period_s is None or c.hint is not None
                     or c.rel >= p.stop_min_rel
                     or self._follows_a_step(c.t, c.s, self._stopped_period_s, p.stop_neighbour_tolerance)
                     or (not (c.soft and p.stop_quiet_loud_only and self._lived_on_soft)
                         and self._out_of_quiet(c.t, c.s)))):
            return self._accept(c.t, c.s, rhythmic=False, predicted_s=math.nan, confidence=0.5 * min(c.rel, 1.0))
        return Decision(c.t, c.s, "rejected", False, math.nan, 0.0)

    def _lock_on_earlier_part(self, found: tuple[Lock, float], c: _Judgement,
                              history: deque[tuple[float, float]]) -> Decision | None:
        """A fast rhythm (``split_max_period_s``) found at ``c``: when a candidate heard within
        ``merge_s`` before it ends a regular chain at the same period too, that earlier onset is the
        footfall and ``c`` its later part (a crunch after the contact): the lock is found on it and
        ``c`` is merged (that candidate is not reported now: too late). None: lock on ``c``."""
        p = self.params
        lock = found[0]
        if p.split_max_closeness is None or lock.period_s > p.split_max_period_s:
            return None
        floor = p.chain_min_strength * (c.ref if c.ref is not None else c.s)
        chain_params = dataclasses.replace(p, chain_start_strength=p.chain_min_strength)
        for ht, hs in reversed(history):
            if ht >= c.t - p.override_after_s:
                continue
            if c.t - ht > p.merge_s:
                break
            if hs < floor:
                continue
            other = find_chain([h for h in history if h[0] < ht], ht, hs, c.ref, c.hint, chain_params)
            if other is None or abs(other[0].period_s / lock.period_s - 1.0) > p.chain_tolerance:
                continue
            was_step = ht == self._last_step_s and self._last_step_level  # a provisional step already in the reference
            self._lock = lock  # the rhythm found, its phase on the earlier onset
            self._start_lock(found[1])
            self._fresh_lock = False
            self._last_step_s = self._anchor_s = self._anchor_pred_s = ht
            self._last_step_strength, self._last_step_closeness, self._last_rhythmic = hs, 1.0, True
            self._last_step_level = True
            self._anchor_score = min(hs / c.ref if c.ref else 1.0, p.max_rel)
            # the footfall found (both its parts) counts on the rhythm, nothing of it off it (push);
            # the earlier onset joins the reference and the step times as a step taken when locked
            # (once: a provisional step it already was is in them)
            self._on_strength = self._anchor_score + min(c.rel, p.max_rel)
            if not was_step:
                self._strengths.append(hs)
            self._step_times.add(ht)
            return Decision(c.t, c.s, "merged", False, math.nan, 0.0)
        return None

    def _sets_off_again(self, c: _Judgement) -> bool:
        """After a stop: the runner's steps heard so far come at the lost rhythm's period (the last
        step one period after a candidate at a provisional step's level, this one a period after
        it, within ``stop_neighbour_tolerance``): this one is a step at a chain member's strength
        (``chain_min_strength``), as it would be once the rhythm is found on them."""
        p = self.params
        period = self._stopped_period_s
        if (period is None or p.stop_neighbour_tolerance is None or c.ref is None or c.soft
                or c.rel < p.chain_min_strength):
            return False
        last = self._last_step_s
        return (abs(c.t - last - period) <= p.stop_neighbour_tolerance * period
                and self._follows_a_step(last, c.ref, period, p.stop_neighbour_tolerance))

    def _out_of_quiet(self, t: float, s: float) -> bool:
        """After a stop: nothing at least ``stop_quiet_rel`` x as strong was heard for ``stop_quiet_s``
        before ``t`` (the first footfall of a runner setting off out of the quiet, unlike a breath
        among breaths)."""
        p = self.params
        if p.stop_quiet_s is None:
            return False
        return not any(t - p.stop_quiet_s <= ht < t and hs >= p.stop_quiet_rel * s for ht, hs in self._history)

    def _follows_a_step(self, t: float, s: float, hint: float, tolerance: float | None = None) -> bool:
        """With a step-period hint (or after a stop, the lost rhythm's period) and no lock: a
        provisional step needs a candidate about one such period before it, at least
        ``free_min_strength`` as strong (an isolated knock, the handling before a walk or a breath
        while standing is not a step)."""
        tol = (self.params.hint_neighbour_tolerance if tolerance is None else tolerance) * hint
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
