"""The step-rhythm tracker's tuning (:class:`TrackerParams`, one set per detector) and its rhythm
lock (:class:`Lock`: period, left/right asymmetry and the prediction arithmetic on them).

:mod:`stepdetect.tracker` decides on candidates with these; :mod:`stepdetect.tracker_chain`
finds the regular chains a lock starts from.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from stepdetect.tracker_beat import BeatParams
from stepdetect.validate import ParameterError


@dataclass(frozen=True)
class TrackerParams:
    """Tuning of :class:`StepTracker` (seconds, fractions)."""

    min_period_s: float = 0.25  # 240 spm
    max_period_s: float = 1.2  # 50 spm
    merge_s: float = 0.15  # heel/toe and scuff double hits: 30-150 ms apart
    override_after_s: float = 0.02  # ... unless this late and override_ratio x louder than the step
    override_ratio: float = 1.5
    sigma_fraction: float = 0.12  # sd of the closeness Gaussian, fraction of the period
    min_sigma_s: float = 0.015
    # ... and at most this long: a footfall's timing does not wander further at a slow (walking)
    # period -- walkers' step times vary 2-3 % (~15 ms at 0.6 s) -- and 12 % of a walking period
    # (~70 ms) let a breath through a headset's noise gate, or a scuff, 60-100 ms before the step
    # pass for it (the step then merged into it as its toe); reached only above 0.42 s (< 144 spm)
    max_sigma_s: float = 0.05
    accept_score: float = 0.25  # min(strength/reference, max_rel) x closeness needed while locked
    max_rel: float = 2.0  # a candidate louder than this x the reference counts as this loud
    window_fraction: float = 0.3  # the rhythm's window around the prediction (fraction of the period)
    off_min_rel: float = 0.6  # locked: a candidate off the rhythm is still a step this loud (x reference) ...
    off_max_rel: float = math.inf  # ... up to this loud (a cap would also reject the real, irregular loud steps)
    off_min_fraction: float = 0.7  # ... at least this fraction of the period after the last step
    off_of_interval: bool = False  # ... of the expected (lopsided) interval instead of the mean period
    # ... or, at least this loud (x reference), from this fraction of the period after the last step
    # (real step intervals have a short one now and then: 0.25 s in a 0.4 s rhythm)
    off_loud_rel: float = math.inf
    off_loud_fraction: float = 0.6
    # locked: a step taken off the rhythm at least this loud (x reference) whose next candidate
    # falls on the rhythm counted from it (closer than to the old prediction) was a stumble: the
    # rhythm re-phases to it (inf: never; the phase then only follows steps on the rhythm)
    rephase_min_rel: float = math.inf
    # locked: a candidate after the predicted time (nothing came at it) and inside the rhythm's
    # window is the late footfall when at least this loud (x reference): real step intervals
    # wander more than the closeness allows
    late_min_rel: float = 0.3
    # ... but not a candidate the caller flags soft (``push(soft_db=...)``) across unheard steps
    # (k >= 2): after a predicted step nobody heard the prediction is no evidence that a step is
    # late; such a one is a step only on its score (True: the late rule takes it as any other)
    late_soft_across_gaps: bool = True
    # ... and, when a step was taken off the rhythm since the anchor (early, before this prediction),
    # only a candidate at least anchor_min_rel x as strong as that step (True): a softer one after
    # it is that step's later part -- a crunch, a scuff --, not a footfall late for the prediction
    # the step off the rhythm already answered (False: the late rule takes it as any other)
    late_after_off_loud_only: bool = False
    # locked: a candidate rejected at most merge_s before a footfall on the rhythm, at least this
    # strong (x that footfall), is its soft heel: the footfall is reported there (inf: never) ...
    heel_min_rel: float = math.inf
    heel_max_rel: float = 0.6  # ... and at most this strong (a louder toe: a heel about as loud would have been taken)
    # locked: a candidate merged into a footfall on the rhythm that fits the rhythm better (a kick
    # drum was taken just before the step) moves the predictions to it when at least this strong
    # (x that footfall; 0: always)
    anchor_min_rel: float = 0.0
    # locked at a period of at most split_max_period_s: a candidate within merge_s after a step taken
    # *before* its prediction at closeness under split_max_closeness, itself at least
    # split_min_closeness to that prediction and at most split_max_gap_s after the step, is a
    # footfall of its own, not a part of that step (a 240 spm runner's crunch ~215 ms after a contact
    # is heard 30-40 ms before the next contact): the rhythm follows it, the step before stays
    # reported; and a rhythm that fast found on a candidate locks on an onset within merge_s before
    # it that ends a regular chain at the same period (StepTracker._lock_on_earlier_part) (None:
    # neither)
    split_max_closeness: float | None = None
    split_min_closeness: float = 0.8
    split_max_period_s: float = 0.28
    split_max_gap_s: float = 0.05
    # ... and (True) the same for a step taken *off* the rhythm before the prediction: the candidate
    # at split_min_closeness or more within split_max_gap_s after it, at least anchor_min_rel x its
    # strength, is not merged as that step's toe (StepTracker._splits_off_rhythm)
    split_off_rhythm: bool = False
    # ... and at a slower lock too, within merge_s, when that step came this far off its
    # prediction (its closeness under split_off_far_closeness) and this candidate is at least
    # split_off_far_min_ratio x as strong as it (None: only at the fast locks)
    split_off_far_closeness: float | None = None
    split_off_far_min_ratio: float = 0.9
    # locked: a candidate within merge_s after a step taken on the rhythm at under
    # yield_max_rel x the reference (well under the footfalls' level), itself at least
    # yield_ratio x that step's strength and inside the rhythm's window around the prediction that
    # step was judged against, is the footfall even when farther from that prediction (the step
    # before was a scuff or a breath heard 30-80 ms before the heel, the heel's thump cut by a
    # narrowband path): the rhythm follows it, the soft one stays reported (None: never)
    yield_ratio: float | None = None
    yield_max_rel: float = 0.5
    yield_min_gap_s: float = 0.03  # ... and at least this long after it (nearer, the two are one footfall's parts)
    yield_max_gap_s: float = 0.075  # ... and at most this long (later, the louder one is a later part of that step)
    # locked: a candidate the caller flags as far quieter than the footfalls (``push(quiet=True)``:
    # the multi-band picker's level test, a headset's gate opening on a breath) is a step only on
    # the rhythm at least this close to the prediction; anything else of it is rejected (None: the
    # flag does nothing)
    quiet_min_closeness: float | None = 0.8
    # locked: a candidate the caller flags as well under the footfalls' level (``push(soft_db=...)``:
    # through a headset, more than 10 dB, soft_db past that) is never a step off the rhythm, and on
    # it *before* the prediction a step only at least soft_closeness_per_db x soft_db close to it,
    # up to soft_min_closeness (None: no such bound; a slope of None: soft_min_closeness whatever
    # the level); nearer the rhythm's early edge it is rejected. A gated breath 30-60 ms before a
    # step fell on the rhythm at closeness 0.3-0.5 and the step merged into it (session 11, a flat
    # 0.6: dev 80 -> 78); a soft foot's true steps through a headset's AGC, 11 dB under the
    # footfalls, come early at closeness 0.55-0.6 too, and were lost (treadmill synthetic HFP 8 kHz
    # 0.85 -> 0.78), while the breaths lie 12-17 dB under. Session 12: the bound follows the level,
    # from 0 at the margin to 0.7 at 3.5 dB past it (dev mean F1 HFP 16 / 8 kHz +0.001 / +0.003,
    # none down; benchmarks/FOOTFALL_PASSES.md)
    soft_min_closeness: float | None = 0.7
    soft_closeness_per_db: float | None = 0.2
    free_min_strength: float = 0.4  # strength/reference needed for a provisional step
    # ... at least min_period_s after the last step, or (True) sooner when override_ratio x louder
    # than it (that one was a precursor); False: never sooner (a louder sound right after a
    # footfall is its later crunch: crunchy ice's loudest low crunches come 60-220 ms after contact)
    free_override: bool = True
    # ... or (not None) from this x min_period_s when at least as strong as the last step: a 240 spm
    # runner's steps are min_period_s apart, and a candidate's onset is dated to the frame, so the
    # second footfall came 0.3 ms "too soon" and the lock found later sat on the crunches (dev wind
    # dirt & rocks full: 0.850 s rejected, cadence 1.04 spm off; session 18, FOOTFALL_PASSES.md)
    free_loud_min_fraction: float | None = 0.99
    # ... but not after a stop (the lock let go, not found again): the runner sets off with a
    # footfall, and a louder sound right after it is its later part (crunchy ice's loud low crunch
    # ~220 ms after the contact), while a new provisional step there put every step after it on the
    # crunch's phase until a rhythm was found (True: the override applies after a stop too)
    stop_free_override: bool = False
    # after a stop (the lock let go for max_missing unheard steps) a provisional step also
    # needs a candidate about the lost rhythm's period before it, unless at least this loud
    # (x reference): a breath or a rustle heard while standing is not a footfall (None: no such test)
    stop_min_rel: float | None = None
    # ... "about": within this x that period (None: hint_neighbour_tolerance; a headset's gate opens
    # on a breath as a burst of onsets 0.1-0.25 s apart, and at 0.5 x a running period the burst's
    # later onsets "followed a step")
    stop_neighbour_tolerance: float | None = None
    # ... or nothing at least stop_quiet_rel x as strong was heard for stop_quiet_s before it: the
    # first footfall of a runner setting off out of the quiet has no step before it, a breath among
    # breaths has the last breath (None: no such exception)
    stop_quiet_s: float | None = None
    stop_quiet_rel: float = 0.5
    # ... a candidate the caller flags soft (``push(soft_db=...)``: well under the footfalls' level) is
    # never out of the quiet when this is True and the stop let go of a lock living on soft
    # candidates (stop_sparse_steps): the restarted runner's first step is as loud as the footfalls,
    # a headset's gated breath every 1.1-1.2 s is quieter and has "quiet" before it. (After a stop
    # by silence -- a lasting drop in level: the steps go on, soft -- a soft one still may be.)
    stop_quiet_loud_only: bool = False
    # after a stop, candidates the caller flagged soft are no members of the chain a lock is found
    # on (the newest, which completes it, may be soft): through a headset, gated breaths every
    # 1.1-1.2 s and the restarted runner's first steps made a chain at 1.5 x the step, and the
    # steps after were judged on that rhythm (False: every candidate heard may be a member)
    stop_chain_loud_only: bool = False
    # after a stop, a regular chain is locked on only at up to this x the lost rhythm's period: a
    # runner sets off again running or walking (180 -> 90 spm is 2 x), while a standing runner's
    # breaths (every 1.0-1.2 s, gated up by a headset) come at 2.5-3.5 x a running step period;
    # locked on them, the restarted runner's steps were off that rhythm for seconds (None: no test;
    # dev: no condition flips, 6 items up, none down; see benchmarks/FOOTFALL_PASSES.md, session 8)
    stop_max_period_ratio: float | None = 2.2
    # locked: a regular chain over stop_max_period_ratio x slower that would take the lock over
    # while the lock bridged 2 or more unheard steps at one of its last chain_steps steps is a
    # standing runner's breathing (gated up by a headset, near enough to the predictions to keep
    # the lock alive): the lock is let go instead -- a stop -- and the stop's rules apply (False:
    # the switch as any other)
    stop_on_slow_switch: bool = False
    # locked: a candidate the caller flags soft (``push(soft_db=...)``: a headset, well under the
    # footfalls' level) on the rhythm across unheard steps, that would leave the lock's last
    # chain_steps steps (this one included) spanning at least this many predicted steps each on
    # average -- half or more of them unheard --, is no running step: the runner stopped and the
    # lock lives on gated breaths near its predictions; the lock is let go instead -- a stop -- and
    # the stop's rules judge it (None: the lock bridges as long as max_missing allows)
    stop_sparse_steps: float | None = None
    chain_steps: int = 4  # regularly spaced candidates needed to lock
    chain_tolerance: float = 0.12  # spread of a chain's intervals around their mean (fraction)
    chain_min_strength: float = 0.4  # every chain member: strength/reference at least this ...
    chain_start_strength: float = 0.5  # ... and the candidate that completes it at least this
    # ... and its newest interval at least this x min_period_s (its mean interval still at least
    # min_period_s): a 240 spm runner's steps come 0.233-0.283 s apart, so with 1.0 a chain of
    # steps ending on a short interval never formed and the tracker locked on a chain of steps and
    # their crunches instead (1.5 or 2 x the period)
    chain_newest_min_fraction: float = 1.0
    # locked: a candidate about to be rejected, one period after the last step, that completes a
    # regular chain of candidates at least this fraction (up to chain_tolerance) off the lock's
    # period, two of the lock's steps within its span, corrects the lock's period to the chain's
    # and is a step on it (StepTracker._period_corrected; None: no such check)
    period_check_min_off: float | None = None
    adapt: float = 0.25  # the period moves this fraction towards every new interval
    max_change: float = 0.15  # ... counting at most this fraction of the period per interval
    max_missing: int = 3  # unheard predicted steps bridged before the lock is let go
    switch_margin: float = 1.2  # another regular chain replaces the lock when this much stronger than its last steps
    # a lock whose last chain_steps steps each came after an unheard predicted step gives way to a
    # regular chain up to this x slower (more than 1 + chain_tolerance x) when every candidate heard
    # over that chain's last chain_steps periods (at least halve_midpoint_min_rel x the reference)
    # lies on it: the runner slowed to a walk at 3 : 2 or 2 : 1 of the running step and the lock
    # took every other (or second) walking step across "unheard" steps (a soft foot is still heard
    # half-way; breaths while standing come at 2.5-3.5 x the step). None: no such test
    relock_max_ratio: float | None = 2.15
    halve_min_period_s: float = 0.29  # a regular chain at half the locked period (>= this) replaces it: strides
    # ... or a shorter one (a fast cadence) when its summed strength is at least this x the lock's last steps'
    halve_fast_score: float = 0.9
    # locked on a period of at least halve_midpoint_min_period_s (slower than a run): when this many
    # of the last halve_midpoint_of intervals between consecutive steps on the rhythm had a
    # candidate at their midpoint (within halve_midpoint_fraction of the interval), at least
    # halve_midpoint_min_rel x the reference, the lock was on a runner's strides and halves (0:
    # never). A softer foot under a headset's gate can stay below the chain floor
    # (chain_min_strength) and so never form the half-period chain, yet still be heard half-way
    # between the other foot's steps, stride after stride. Not at a walk's period (a regular sound
    # between walking steps, a deck or a bouncing bottle, is no step; 116 spm is 0.52 s)
    halve_midpoint_count: int = 0
    halve_midpoint_min_period_s: float = 0.6
    halve_midpoint_of: int = 4
    halve_midpoint_fraction: float = 0.08
    halve_midpoint_min_rel: float = 0.2
    # ... counting the strides of the chain a lock is found on as its first strides, only when no
    # lock was held (the first lock, or the first after a stop; on every relock a lock on music's
    # 0.6 s chain halved to its eighth notes: dev music crunchy ice full 0.851 -> 0.448)
    halve_midpoint_chain: bool = False
    # locked: a candidate at least exact_min_closeness close to its prediction, right after a step
    # (the anchor) taken on the rhythm as close to its own, is a step from exact_min_rel x the
    # reference (under accept_score): a soft foot's step heard where the rhythm puts it while the
    # lock hears every step (None: no such rule). Only then: a soft candidate near a prediction
    # after a step off it, or bridging unheard steps (breaths while standing), stays refused
    exact_min_closeness: float | None = None
    exact_min_rel: float = 0.2
    history_s: float = 4.0  # candidates kept for (re)locking
    same_foot_factor: float = 2.0  # locked: the reference is at most this x the step two back (same foot)
    n_reference: int = 12  # accepted strengths in the reference (their upper quartile)
    # A caller that knows the step period (the accelerometer front end tells steps from strides)
    # passes it with each candidate as ``period_hint_s``; then a rhythm locks only on a chain
    # whose mean interval is within ``hint_tolerance`` of the hint (never on strides or every
    # other step) and, while locked, the period is pulled ``hint_weight`` of the way to the hint
    # before each prediction. Without hints these two do nothing.
    hint_tolerance: float = 0.25
    hint_weight: float = 0.5
    # ... and, not locked, a provisional step needs a candidate (1 +- this) x the hint before it
    hint_neighbour_tolerance: float = 0.5
    # locked: a candidate on an exact grid of earlier candidates at another period (the beat of
    # music, a machine's seam) is not a footfall (None: no such test)
    beat: BeatParams | None = BeatParams()

    def __post_init__(self) -> None:
        if not (0 < self.min_period_s < self.max_period_s):
            raise ParameterError("tracker: need 0 < min_period_s < max_period_s")
        if not (self.free_loud_min_fraction is None or 0 < self.free_loud_min_fraction <= 1):
            raise ParameterError("tracker: need 0 < free_loud_min_fraction <= 1 (or None)")
        if not (0 <= self.merge_s < self.min_period_s):
            raise ParameterError("tracker: need 0 <= merge_s < min_period_s")
        if not (0 < self.chain_newest_min_fraction <= 1):
            raise ParameterError("tracker: need 0 < chain_newest_min_fraction <= 1")
        if self.chain_steps < 3:
            raise ParameterError("tracker: chain_steps must be >= 3")
        if not (0 < self.hint_tolerance < 1 and 0 <= self.hint_weight <= 1 and 0 < self.hint_neighbour_tolerance < 1):
            raise ParameterError("tracker: need 0 < hint_tolerance, hint_neighbour_tolerance < 1 and 0 <= hint_weight <= 1")
        if self.stop_neighbour_tolerance is not None and not 0 < self.stop_neighbour_tolerance < 1:
            raise ParameterError("tracker: need 0 < stop_neighbour_tolerance < 1")
        if self.soft_min_closeness is not None and not 0 < self.soft_min_closeness <= 1:
            raise ParameterError("tracker: need 0 < soft_min_closeness <= 1")
        if self.soft_closeness_per_db is not None and not 0 < self.soft_closeness_per_db < math.inf:
            raise ParameterError("tracker: need soft_closeness_per_db > 0 (finite)")
        if self.stop_sparse_steps is not None and not 1 < self.stop_sparse_steps < math.inf:
            raise ParameterError("tracker: need 1 < stop_sparse_steps (finite)")
        if self.split_max_closeness is not None and not 0 < self.split_max_closeness <= 1:
            raise ParameterError("tracker: need 0 < split_max_closeness <= 1")
        if self.yield_ratio is not None and not (1 < self.yield_ratio < math.inf and 0 < self.yield_max_rel
                                                 and 0 <= self.yield_min_gap_s <= self.yield_max_gap_s):
            raise ParameterError("tracker: need 1 < yield_ratio (finite), 0 < yield_max_rel, "
                                 "0 <= yield_min_gap_s <= yield_max_gap_s")
        if self.split_max_closeness is not None and not (
                0 < self.split_min_closeness <= 1 and 0 < self.split_max_period_s < math.inf
                and 0 < self.split_max_gap_s <= self.merge_s):
            raise ParameterError("tracker: with split_max_closeness, need 0 < split_min_closeness <= 1, "
                                 "split_max_period_s > 0 (finite) and 0 < split_max_gap_s <= merge_s")
        if self.exact_min_closeness is not None and not (0 < self.exact_min_closeness <= 1 and 0 < self.exact_min_rel < math.inf):
            raise ParameterError("tracker: with exact_min_closeness, need 0 < exact_min_closeness <= 1 and exact_min_rel > 0 (finite)")
        if self.stop_quiet_s is not None and not self.stop_quiet_s > 0:
            raise ParameterError("tracker: need stop_quiet_s > 0")
        if self.period_check_min_off is not None and not 0 < self.period_check_min_off < self.chain_tolerance:
            raise ParameterError("tracker: need 0 < period_check_min_off < chain_tolerance")
        if self.relock_max_ratio is not None and not self.relock_max_ratio > 1 + self.chain_tolerance:
            raise ParameterError("tracker: need relock_max_ratio > 1 + chain_tolerance")


# Per-detector parameter sets. Audio: running footfalls heard by a microphone (the defaults).
# Accelerometer: walking and running steps from the inertial front end, which passes each
# candidate's step period as a hint; walking steps wander more around the rhythm than running
# footfalls (wider closeness, a lower bar for a step off the rhythm, chains of looser
# intervals), and a bag or pocket may miss a few steps in a row (longer bridge). Chosen on the
# Oxford dev walkers (Jamie, Carmelo) only, see ``benchmarks/bench_accel.py``.
AUDIO_PARAMS = TrackerParams()
ACCEL_PARAMS = TrackerParams(
    sigma_fraction=0.2, window_fraction=0.3, off_min_rel=0.25, off_min_fraction=0.55, off_of_interval=True,
    chain_tolerance=0.25, chain_min_strength=0.25, max_missing=5, late_min_rel=math.inf, max_sigma_s=math.inf,
    beat=None,  # an accelerometer does not hear music
    stop_max_period_ratio=None,  # nor breathing; its chains follow the hinted step period
    stop_free_override=True,  # nor crunches after a footfall
    free_loud_min_fraction=None,  # nor a 240 spm runner's frame-dated onsets
)
# The multi-band picker's tracker (``PickParams.tracker``). Its relative thresholds belong to the
# picker's strength mapping (``PickParams.strength``: jump dB - 2, linear, see there), re-tuned for
# it on the dev split: a provisional step and the step that completes a chain need a little more
# (free_min_strength 0.5, chain_start_strength 0.7: on the linear scale a breath or kick 12 dB
# under the steps is 0.43 of them, not 0.37, and locked music beats instead of steps); a step off
# the rhythm at least 1.5 x the reference may come from 0.6 of the period; the rhythm re-phases
# after a stumble. Dev (of 276): 133 -> 127 conditions failing a bar; the linear strength alone
# with the audio set 126 but the 16 kHz real-step timing and the off-beat woodblock tests failed.
# A candidate on a beat grid of the music is a footfall only when 2 x as strong as the grid's
# members (1.5: on the linear scale a soft kick 2 dB over the grid's median at 6 dB is 1.5 x it;
# dev 125 -> 124 conditions failing a bar, mean F1 phone +0.003, clipped +0.002).
# A candidate merged into a footfall moves the predictions to it only when at least 0.6 x as
# strong as that footfall (anchor_min_rel; 0.6 = heel_max_rel, the softest/loudest ratio of the
# two parts of one footfall): a slap, scuff or echo after an early footfall is softer than it,
# and predicting from it put the next footfall ~80 ms early (dev 121 -> 115 failing a bar with
# the known-tempo beat test, see benchmarks/FOOTFALL_PASSES.md, session 7).
# A lock on strides halves when 3 of its last 4 strides had a candidate at their midpoint, at least
# 0.2 x the reference (halve_midpoint_count; dev treadmill synthetic HFP 8 kHz 0.68 -> 0.85, no
# other condition moves; see benchmarks/FOOTFALL_PASSES.md, session 9).
# After a stop (the lock let go, or a lock bridging unheard steps would have switched to a chain
# over 2.2 x slower: the breathing) a provisional footfall needs a candidate 0.75-1.25 x the lost
# step period before it, unless 0.8 x the reference or out of a second's quiet (stop_min_rel,
# stop_neighbour_tolerance, stop_quiet_s, stop_on_slow_switch; dev 82 -> 82, stop scene: false
# footfalls while standing 62 -> 40, see benchmarks/FOOTFALL_PASSES.md, session 10).
# A chain may end on an interval down to 0.9 x min_period_s (its mean still at least min_period_s):
# a 240 spm runner's chains of steps now form (dev: no condition flips, 9 items up 0.007-0.14, none
# down; treadmill crunchy ice phone 0.64 -> 0.72, its cadence 29.6 -> 0.08 spm off; see
# benchmarks/FOOTFALL_PASSES.md, session 10). With those chains found, a stride lock at such a
# cadence halves on a chain of the steps between from 0.8 x (was 0.9 x) the lock's last steps'
# strength (dev: treadmill crunchy ice HFP 16 kHz 0.76 -> 0.80, its confident cadence 19.2 -> 0.5 spm
# off; treadmill shower clipped 0.966 -> 0.952, still passing; no flips).
# After a stop on a headset, the lock lets go when a soft candidate would leave its last 4 steps
# spanning 8 predicted steps (it lived on gated breaths), and a soft candidate is never "out of
# the quiet" (stop_sparse_steps, stop_quiet_loud_only; dev: no flips, stop shower HFP 16 kHz
# 0.831 -> 0.873, stop crunchy ice HFP 8 kHz 0.772 -> 0.833, none down; session 12); and soft
# candidates are no members of the chain the restarted lock is found on (stop_chain_loud_only;
# dev 76 -> 75: stop crunchy ice HFP 8 kHz 0.833 -> 0.907 passes, stop shower HFP 16 kHz 0.899).
# The thump path's tracker (fed 10 ** (dB / 30)) always uses the audio set.
# After a stop, "a step a period before" a restarting candidate means within this x the lost period
# (both paths' trackers; 0.5 took a headset's breath burst -- a soft onset, a louder one 0.25-0.3 s
# later -- for a step after a step: sessions 10 and 11)
STOP_NEIGHBOUR_TOLERANCE = 0.25
# At a lock of at most 0.28 s, a candidate within 50 ms after a step taken before its prediction
# under closeness 0.5, itself at closeness 0.8 or more to it, is a footfall of its own (split_*; a
# 240 spm runner's crunch ~215 ms after a contact was taken ~35 ms before the next contact and the
# contact merged into it). Nothing reported is revised and nothing waits: the crunch stays a false
# footfall, the contact is no longer lost (dev 76 -> 75, treadmill crunchy ice full passes; report
# latency unchanged; see benchmarks/FOOTFALL_PASSES.md, session 12).
# The same for a crunch taken *off* the rhythm (too far before the prediction to be on it, loud
# enough for a step off it): the contact within 50 ms after it, at closeness 0.8 or more and at least
# anchor_min_rel (0.6) x its strength, was merged as its toe by the heel/toe re-phase; now a footfall
# of its own (split_off_rhythm; dev 59 -> 59, none newly failing, 7 items up, none down: treadmill
# crunchy ice HFP 16 kHz 0.813 -> 0.837; session 17).
# Right after a step taken on its strength at closeness 0.95 or more, a candidate at or just after the
# next prediction as close is a step from 0.2 x the reference (exact_min_closeness; a soft foot's
# step at closeness ~1.0 and rel 0.22-0.24 was refused under accept_score): dev 74 -> 73, stop
# synthetic phone passes, none newly failing; report latency unchanged (session 13).
# A first lock (none held: the first, or the first after a stop) found on a runner's strides counts
# its chain's three strides toward the midpoint halving at once (halve_midpoint_chain; the loud foot
# locked, the soft one heard half-way: dev 61 -> 60, clicks dirt & rocks HFP 16 kHz passes, treadmill
# synthetic full / HFP 16 / HFP 8 kHz up, none down; session 16).
# A rejected candidate one period after the last step that completes a regular chain (no merged
# parts) 6-12 % off the lock's period, two of the lock's steps in its span, corrects the period
# (period_check_min_off; a lock found on one long interval of an irregular start stays ~10 % slow
# while the runner's weak lifts under a gust come at the true period): dev 61 -> 61, wind synthetic
# phone 0.840 -> 0.884 and its cadence confident (1.12 spm), none down; 0.04-0.09 the same on the
# wind scene; on the thump path too, clicks dirt & rocks HFP 8 kHz fails (session 16).
# Right after a step taken on the rhythm under 0.5 x the reference, a candidate 3 x as strong 30-75 ms
# later is the footfall though farther from the prediction (yield_*; through an 8 kHz headset a scuff
# ~50 ms before the heel was taken where a walker's wandering rhythm put the step and the heel merged
# as its toe; the scuff stays reported): dev 57 -> 56, walk crunchy ice HFP 8 kHz passes, none newly
# failing; at 2.5 x, 3 newly failing; 1.6 x, 15 (session 17, softstep).
# After a footfall taken off the rhythm before its prediction (an early step), a candidate after
# that prediction under anchor_min_rel (0.6) x the early step's strength is its later part, not a
# late footfall (late_after_off_loud_only): a crunch 215 ms after an early footfall was taken late
# and the next footfall rejected off the new phase. Dev 56 -> 55, quiet road crunchy ice HFP 16 kHz
# passes, none newly failing; for any late candidate after a step off the rhythm (no strength
# test) 56 -> 55 but in-ear -0.008, HFP 16 kHz -0.006 (true late footfalls 0.85-2 x the early
# step's strength lost; session 18).
# At a slower lock too, an off-rhythm step taken far before its prediction (closeness under 0.05:
# over 2.4 sd, 122 ms at a walk's 50 ms sd) and a candidate at that prediction within merge_s, at
# least 0.9 x as strong, is a footfall of its own, not the early sound's toe (split_off_far_closeness;
# a heel-to-toe double hit is a contact and its softer later part, and no foot lands 2.4 sd early and
# then again on time): dev 48 -> 48, none newly failing, clipped mean F1 +0.002 (wind crunchy ice /
# synthetic clipped up, nothing down); at 0.1 true steps 2.1-2.2 sd early with a thud or crunch 0.94-1.37 x
# as loud 60-96 ms after were split (a metronome test's runner lost to the thuds); without the strength
# ratio metronome-on shower clipped newly failed (a true early step's later part 0.72 x) (session 19).
BANDS_PARAMS = dataclasses.replace(
    AUDIO_PARAMS, free_min_strength=0.5, chain_start_strength=0.7, off_loud_rel=1.5, rephase_min_rel=0.6,
    anchor_min_rel=0.6, beat=BeatParams(louder_than_beat=2.0), halve_midpoint_count=3,
    stop_min_rel=0.8, stop_neighbour_tolerance=STOP_NEIGHBOUR_TOLERANCE, stop_quiet_s=1.0, stop_on_slow_switch=True,
    stop_sparse_steps=2.0, stop_quiet_loud_only=True, late_soft_across_gaps=False, stop_chain_loud_only=True,
    chain_newest_min_fraction=0.9, halve_fast_score=0.8, split_max_closeness=0.5, exact_min_closeness=0.95,
    halve_midpoint_chain=True, late_after_off_loud_only=True,
    period_check_min_off=0.06, split_off_rhythm=True, yield_ratio=3.0,
    split_off_far_closeness=0.05,
)
PARAMETER_SETS: dict[str, TrackerParams] = {"audio": AUDIO_PARAMS, "accel": ACCEL_PARAMS}


@dataclass
class Lock:
    """A rhythm the tracker is locked on."""

    period_s: float
    asym_s: float = 0.0  # half the difference between the two feet's step times
    parity: int = 1  # sign of asym_s for the next interval
    # a walk locked on from a run (StepTracker._walk_relock): the running step period the runner
    # slowed from (NaN: not such a walk; a copy keeps it, a new or halved lock has none)
    walked_from_s: float = dataclasses.field(default=math.nan, compare=False)
    # the times of the chain the lock was found on, oldest first (() when not found on one)
    chain_s: tuple[float, ...] = dataclasses.field(default=(), compare=False)

    def next_interval_s(self) -> float:
        """The interval from the anchor to the next predicted step (this foot's)."""
        return self.period_s + self.parity * self.asym_s

    def steps_in(self, since_s: float) -> int:
        """How many predicted steps an interval of ``since_s`` after the anchor spans (>= 1)."""
        return max(1, int(round((since_s - self.next_interval_s()) / self.period_s)) + 1)

    def closeness(self, dev_s: float, params: TrackerParams) -> float:
        """0-1: a Gaussian of the distance ``dev_s`` to a prediction (sd ``sigma_fraction`` of the period)."""
        return math.exp(-0.5 * (dev_s / self.sigma_s(params)) ** 2)

    def sigma_s(self, params: TrackerParams) -> float:
        """The closeness Gaussian's sd: ``sigma_fraction`` of the period, within [``min_sigma_s``, ``max_sigma_s``]."""
        return min(params.max_sigma_s, max(params.min_sigma_s, params.sigma_fraction * self.period_s))

    def update(self, interval_s: float, k: int, params: TrackerParams) -> None:
        """Follow an observed interval spanning ``k`` predicted steps (period, asymmetry, parity)."""
        p = params
        if k == 1:
            err = interval_s - self.next_interval_s()
            err = max(-p.max_change * self.period_s, min(p.max_change * self.period_s, err))
            self.period_s += p.adapt * err
            self.asym_s += 0.5 * p.adapt * self.parity * err
            self.asym_s = max(-0.25 * self.period_s, min(0.25 * self.period_s, self.asym_s))
            self.parity = -self.parity
        else:  # across a gap: only the mean period is observable
            err = interval_s / k - self.period_s
            self.period_s += p.adapt * max(-p.max_change * self.period_s, min(p.max_change * self.period_s, err))
            if k % 2:
                self.parity = -self.parity
        self.period_s = min(p.max_period_s, max(p.min_period_s, self.period_s))
