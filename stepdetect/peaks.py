"""Causal peak picking on the multi-band onset function: candidates, band weights, ticks, the
rhythm tracker, timing.

A *candidate* is a frame where ``odf_db`` (the mean rectified rise of the whitened bands over
10 ms, see :mod:`stepdetect.features`) crosses ``PickParams.odf_db`` upward. It is decided once
``peak_window_s`` of frames after it exist (that, plus the frame, is the detection delay):

* per band, its peak level above the band's own noise floor within that window; the
  candidate's *strength* is the band-weighted mean of those (``min_snr_db`` at least), the band
  weights being learned per session from the rhythm: a band earns weight when it is loud at the
  footfalls the tracker accepts on the rhythm and quiet at the candidates it rejects (wind,
  rustle, music at another tempo do not recur at the step period); a candidate on a known
  metronome tick teaches nothing (its bands are mostly the tick's: learning from it, the tick's
  bands won the weights and the ticks out-scored the steps); until ``weights_after`` such
  footfalls, all bands the input rate holds weigh the same;
* its dominant band (largest weighted peak) must reach ``min_peak_db`` (re full scale; quieter is
  microphone self-noise, not a footfall);
* a metronome tick is not a footfall: a candidate whose 30-250 Hz peak is more than
  ``max_leak_db`` below the energy that varies within a frame (> ~500 Hz) *and* whose spectrum
  (500 Hz-8 kHz, ``tonal_window_s`` from its onset) is tonal (flatness below
  ``max_tonal_flatness``: a few decaying partials, not the noise of a shoe on a surface) is
  rejected -- a thump under a tick keeps its low band, a real footstep heard only above 300 Hz
  is noise-like;
* if the caller said when metronome ticks were played, a candidate starting within
  ``[-tick_before_s, +tick_after_s]`` of a tick is judged by whether the runner is *in sync*
  (at least ``in_sync_fraction`` of the last 8 footfalls landed on known ticks, three of them
  or two in a row, :func:`in_sync`; or, before a fourth footfall, the first three started on one
  tick after the other, one of them 5-20 ms from its tick: a runner on the beat from the first
  step, :func:`_on_the_beat_from_the_start`). In sync, a
  candidate on a tick is most likely the next footfall: it is exempt from the tick test (even a
  tick far louder than the thump). Not in sync, its 30-250 Hz peak must be within
  ``tick_relative_db`` of the upper quartile of recent footfalls' (a tick that leaks is rejected);
* the ticks heard alone teach the detector what a tick brings in each band: known ticks
  between the tracker's footfalls, while the runner is off the beat (their mean jump and its
  spread per band). Off the beat, a candidate starting at a known tick that brings, in the
  footfall bands, no more than such a tick is the tick: a metronome plays the same sound at the
  same level every time, and a footfall under it adds energy in its own bands (before, a tick
  30-100 ms before a step became the footfall and the step merged into it as its toe; the
  rhythm then followed the ticks as they drifted through the steps);
* off the beat, where a tick lands on a step the locked tracker predicts (``tick_step_window_fraction``):
  a candidate there that brings ``tick_step_excess_db`` more than the ticks heard alone is the
  step under the tick, which the tonal and thump-band tick tests no longer veto; one the tick
  tests reject there may hide the step, and a sound ``masked_from_s`` to ``masked_after_s`` after
  it, ``masked_margin_db`` under the median footfall, is a step only right at the prediction
  (a crunchy step's later crunch used to take the step's place and the rhythm followed it);
* once a step's place has gone unheard or the rhythm is lost (the runner may have stopped), a
  candidate whose loudest band peaks more than ``step_level_margin_db`` under the recent
  footfalls' is not one (a headset's noise gate opening on a breath makes a footfall-sized jump
  out of a far quieter sound), unless it jumps as much as the median footfall (the whole signal
  dropped); the level reference sinks after ``step_level_decay_after_s`` without a footfall;
  while the steps come on time such a candidate goes to the tracker marked quiet: a step only on
  the rhythm, close to the prediction (``TrackerParams.quiet_min_closeness``), never off it;
* under the wind (wideband streams whose noise floors are a wind's, the rhythm locked and its
  steps heard above 4 kHz) a candidate -- or an onset the onset function missed -- whose top band
  rises ``wind_top_z`` times that band's usual rises (``features.top_z``) is judged at the bar
  even if its jump is smaller: under a gust a step rises 2-3 dB in every band, but the wind's
  level above 4 kHz is smooth, so there those 2-3 dB stand out;
* through a headset (input rate under ``off_level_max_rate``; no metronome ticks known), a
  candidate more than ``off_level_margin_db`` under the recent footfalls' level is never a step
  *off* the rhythm (``push(soft_db=...)``): a gated breath or scuff 30-60 ms before a step was, and
  the step merged into it as its toe; before the prediction it is a step on the rhythm only close
  to it, the closer the further under the footfalls it lies (``TrackerParams.soft_min_closeness``,
  ``soft_closeness_per_db``: a breath at the rhythm's early edge, not a soft foot's step);
* the survivors go to the step-rhythm tracker (:mod:`stepdetect.tracker`), which merges heel/toe
  and scuff double hits, rejects what is off the rhythm and never invents a footfall.

The footfall time is where the dominant band's level first climbs to ``onset_drop_db`` below its
peak (less for a weak peak), interpolated between frames, minus the constant delay of that
band's filters (``BAND_BIAS_S``) -- the acoustic onset, not the tracker's prediction. A footfall
in two parts inside the look-ahead (gravel's first crunch and a louder second one, a dip
between them) is dated at its first part when that part alone carries at least half the
candidate's weighted jump and a candidate's least (a kick or a gust's wiggle just before a
step does not): walking back from the peak stopped at the dip, 20-65 ms late. A footfall dated at
a known tick whose other bands rose before the tick is dated in the loudest of them
(:func:`_step_beside_tick`): the step came first and a louder tick took its onset.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from stepdetect import ticks
from stepdetect.features import N_BANDS, Frames
from stepdetect.tracker import BANDS_PARAMS, Decision, StepTracker, TrackerParams
from stepdetect.validate import ParameterError

# Constant delay of each band's onset estimate (filters + smoothing), measured on broadband bursts
# and synthetic thumps; subtracted from the onset time.
BAND_BIAS_S = (0.0030, 0.0020, 0.0015, 0.0010, 0.0010)
HALF_POWER_DB = 3.0  # a footfall's first part carries at least half its candidate's (weighted) jump
WIND_FIRST_BAND = 2  # 700-1800 Hz: the first band a wind's rumble and gust noise mask least


@dataclass(frozen=True)
class PickParams:
    """Thresholds of the footfall picker (dB, seconds) and of its rhythm tracker."""

    odf_db: float = 5.0
    min_snr_db: float = 6.0
    bootstrap_snr_db: float = 14.0  # before the first footfall: stricter, relaxing ...
    bootstrap_relax_db_per_s: float = 6.0  # ... by this much per second ...
    bootstrap_floor_db: float = 7.0  # ... down to this, until the tracker has found the rhythm
    min_peak_db: float = -75.0
    peak_window_s: float = 0.030
    onset_drop_db: float = 10.0
    onset_lookback_s: float = 0.030
    pre_window_s: float = 0.025  # a candidate's jump is counted from the lowest level this long before it
    max_leak_db: float = 25.0
    leak_window_s: float = 0.012
    max_tonal_flatness: float = 0.12
    tonal_window_s: float = 0.020
    tick_relative_db: float = 6.0
    in_sync_fraction: float = 0.5
    tick_before_s: float = 0.010
    tick_after_s: float = 0.030
    # a footfall dated at a known tick (within tick_at_s) whose candidate crossed up to
    # step_before_tick_s before it, the frames before the tick alone carrying all its jump but
    # step_before_tick_db, is reported at that crossing: the step came first, under the onset target
    tick_at_s: float = 0.003
    step_before_tick_s: float = 0.016
    step_before_tick_db: float = 0.5
    # a footfall dated at a known tick in its dominant band whose candidate crossed before the tick
    # is reported at the onset of its loudest other band that rose before the tick (the bands but
    # the dominant one jumping min_snr_db there) and is within step_at_tick_db of its peak at the
    # tick: on the beat a step 5-16 ms before a tick louder than it was dated at the tick
    # (_step_beside_tick; session 11: dev metronome-on shower HFP 16 kHz median error 6.1 -> 2.5 ms)
    step_at_tick_db: float = 3.0
    # ... that other band's onset up to step_beside_tick_s before the tick (session 16: a runner on the
    # beat with a wandering asynchrony steps 20-40 ms before some ticks, and the footfall was dated at
    # the tick; 16 ms -> 40 ms: dev metronome-steady mean F1 +0.003, metronome-on median timing errors
    # 0.1-1.0 ms lower, no F1 elsewhere moved)
    step_beside_tick_s: float = 0.040
    # ... or, the runner in sync, a band that peaked before the tick and jumped step_faded_before_tick_db
    # (the step's own sound, faded by the tick: session 16, steady2; dev metronome-steady 0.909 -> 0.914)
    step_faded_before_tick_db: float = 12.0
    # a known tick heard alone (the tracker locked, the runner off the beat, the tick
    # lone_tick_fraction of a period or more from the last footfall and the next prediction) teaches
    # the ticks' per-band jumps (mean and mean deviation); once lone_ticks_after have, a candidate
    # starting at a known tick (tick_before_s before it to tick_alone_s after it) while the runner is
    # off the beat is the tick when, weighted by the footfall bands, it exceeds the ticks' usual
    # jumps (mean + tick_spread x deviation) by less than tick_excess_db: a metronome plays the same
    # sound at the same level every time, a footfall under it adds energy in the footfall's bands
    lone_tick_fraction: float = 0.25
    tick_alone_s: float = 0.005
    lone_ticks_after: int = 3
    tick_excess_db: float = 3.0
    tick_spread: float = 1.5
    # Off the beat a known tick drifts through the steps; where it lands on a step the tracker
    # predicts (within tick_step_window_fraction x the period of the prediction, the tracker locked):
    # - a candidate there that brings tick_step_excess_db more than the ticks heard alone (weighted
    #   by the footfall bands, as tick_excess_db) is the step under the tick, and the tonal and
    #   thump-band tick tests do not veto it (a beep over a shower step is tonal; a crunchy step's
    #   thump band is quiet); within tick_step_near_fraction x the period of the prediction,
    #   tick_excess_db more is enough (what tells a candidate on a tick from the tick alone: closer
    #   to the prediction, less is asked; dev metronome-off shower phone: a step 13 ms from its
    #   prediction, right under its tick, brought 3.1 dB and was lost to the tonal test; from
    #   tick_before_s before a tick to tick_alone_s after it, _only_the_tick has already asked
    #   tick_excess_db of every candidate, so there the near rule only spares the tonal test);
    # - a candidate there the tick tests reject may hide the step (a crunchy step under a click
    #   brings less than tick_excess_db more): a candidate masked_from_s to masked_after_s after it,
    #   not on a tick itself and masked_margin_db or more under the median recent footfall, goes to
    #   the tracker marked quiet (a step only right at its prediction): the step's later crunch
    #   used to take the step's place and pull the rhythm onto the crunches
    tick_step_window_fraction: float = 0.10
    tick_step_near_fraction: float = 0.05
    tick_step_excess_db: float = 5.0
    masked_from_s: float = 0.045
    masked_after_s: float = 0.15
    masked_margin_db: float = 4.0
    weights_after: int = 3
    weight_memory: float = 0.15  # EMA rate of the per-band statistics behind the weights
    weight_power: float = 2.0  # weights grow as this power of the contrast (the best bands dominate)
    # wind: its noise is low-frequency heavy and its skirt reaches 2-4 kHz, so there a band's floor
    # stands close to the floor above 4 kHz (within wind_skirt_db) and the 0.7-1.8 kHz floor well
    # above it (wind_tilt_db); a candidate then counts at least the root mean square of its jumps
    # above 700 Hz (the bands the wind masks least): under gusts a footfall's onset barely rises
    # in the bands the rhythm taught the weights, and its sharp top-band jump was weighed away.
    # Wideband streams only (>= wind_min_rate: a 16 kHz headset's band edge shapes the top floor).
    wind_skirt_db: float = -3.0
    wind_tilt_db: float = 8.0
    wind_min_rate: int = 32000
    # under the wind a candidate -- or an onset the onset function missed -- whose top band (> 4
    # kHz) rises at least wind_top_z times its recent rises' rms (features.top_z, within its
    # look-ahead) is judged as a candidate at the bar (min_snr_db), dated in that band: a step's
    # onset rises only 2-3 dB over a gust in any band, but above 4 kHz the wind's level is smooth.
    # Only while the rhythm is locked and has taught the weights, the steps jump wind_top_steps_db
    # or more in the top band on average (a thump-only step brings nothing there: 0-1.5 dB, and
    # the top band's rises are the wind's), and the floors are a wind's with the 2-4 kHz floor
    # within wind_top_skirt_db of the top band's (an in-ear mic's occlusion boost tilts the floors
    # of every scene, its 2-4 kHz floor stays 2.5-6 dB under: a texture turned into a confident
    # cadence at the plain wind_skirt_db). Dev (benchmarks/FOOTFALL_PASSES.md, session 10): 83 -> 82
    # conditions failing a bar, only wind items moved, summed F1 +0.46
    wind_top_z: float = 2.5
    wind_top_skirt_db: float = -2.5
    wind_top_steps_db: float = 3.0
    # under the wind a footfall heard late, at its loud crunch (gravel: a soft first part whose
    # rise above 4 kHz is 3-8 dB, 25-55 ms before a crunch at 0.25-2 kHz that rides the gust and
    # takes the dominant band), is dated where the top band (> 4 kHz) last rose wind_first_part_db
    # above the level it stood at before (its mean from wind_first_part_base_s[0] to [1] before the
    # onset): walking back from the onset while the top band stays that far
    # up, at most wind_first_part_s, and only when that moves the onset by wind_first_part_min_s
    # or more. A wind's floors (the plain wind_skirt_db) with the weights learned, wideband
    # streams only; not onto a known tick (a tick's top-band onset before the step is no part of
    # it), nor back to within wind_first_part_s of the onset pushed before. Dev (session 14): 70 ->
    # 69 conditions failing a bar, none newly failing, only wind dirt & rocks moved (+0.06-0.09)
    wind_first_part_db: float = 3.0
    wind_first_part_s: float = 0.07
    wind_first_part_base_s: tuple[float, float] = (0.09, 0.06)
    wind_first_part_min_s: float = 0.015
    # ... and that dating holds for wind_dating_hold_s after a candidate last found a wind's floors:
    # the floors test flickers under the wind (a gust's swell lifts the top band's floor over the
    # 2-4 kHz one for a moment: on dev wind dirt & rocks 15-21 % of the candidates fail it), while
    # the wind and a gravel step's soft first part last. Only the dating: the other wind rules
    # (the jumps above 700 Hz counted, the top-band rises) keep the floors test of the moment.
    # Dev (session 18): 56 -> 55 conditions failing a bar, none newly failing (FOOTFALL_PASSES.md)
    wind_dating_hold_s: float = 2.0
    # under the wind a footfall's first part that _carries drops (its weighted jump more than
    # HALF_POWER_DB under the candidate's) still dates the footfall when it carries in the bands
    # above the thump band: the band weights without 30-250 Hz (renormalised), its jump there at
    # least min_snr_db and within wind_part_margin_db of the candidate's jump there. The wind's
    # rumble and its gusts live below 250 Hz, and a footfall's thump (the body's mass landing)
    # follows its first contact: the contact of a gritty sole is a click at 0.25-4 kHz 20-30 ms
    # before the thump and crunch the weights lean on (dev wind dirt & rocks: a step cut dated at
    # its crunch, 21-27 ms late, 25-27 ms under the wind's raised floors: out of the +-25 ms window).
    # A kick's first part is its thump, weighed away here. None: off. Dev (session 17): 59 -> 59,
    # none newly failing, mean F1 phone / in-ear / clipped +0.001 (benchmarks/FOOTFALL_PASSES.md)
    wind_part_margin_db: float | None = 4.5
    # ... and when the band weights have collapsed onto the top band (> 4 kHz the heaviest: under a
    # low-frequency wind the steps' loudest band, which a gritty sole's contact click is not in),
    # that test weighs the bands above 250 Hz by the candidate's own jumps (squared) instead (True)
    wind_part_own_weights: bool = True
    # under the wind, a footfall dated in the top band (its weights' dominant band; not one lifted
    # by a top-band rise) whose jump is at least as large in a band at 250 Hz-4 kHz -- the largest
    # there -- is dated at that band's onset when that comes at most wind_mid_onset_s earlier: the
    # contact click before the crunch (dev wind dirt & rocks: dated 25-27 ms late in the top band
    # once the weights sit there). None: off. Both (with the tracker's free_loud_min_fraction): dev
    # 52 -> 51, wind dirt & rocks full passes, none newly failing (session 18, FOOTFALL_PASSES.md)
    wind_mid_onset_s: float | None = 0.035
    # on a 16 kHz headset stream (at least part_in_band_min_rate, under wind_min_rate) a footfall's
    # first part that the weighted test drops (_carries) still dates it when, in the band that
    # dates the footfall alone, it jumps at least min_snr_db and within HALF_POWER_DB of the
    # candidate's jump there: a gravel sole's contact is as loud as its crunch 25-30 ms later in
    # that band, but the weighted sum over the codec's bands, leaning on a band only the crunch
    # reaches, under-counts it (session 14's diagnosis, branch s14c-windhfp). Not at 8 kHz: there
    # it moves a shower treadmill's dating into a confident cadence an octave off, twice measured.
    # None: off. Dev (session 19): 48 -> 48, none newly failing, HFP 16 kHz 0.9218 -> 0.9241
    part_in_band_min_rate: int | None = 16000
    onset_bias_s: float = 0.0  # extra constant shift (on top of BAND_BIAS_S)
    # a footfall reaches the microphone at about the same level every step (one foot a few dB
    # softer), but a headset's noise gate opening on a breath makes a jump out of a far quieter
    # sound. Once a step's place has gone unheard (step_level_gap_periods of the locked period
    # since the last footfall) or the rhythm is lost -- the runner may have stopped -- a candidate
    # whose loudest band peaks more than step_level_margin_db under the upper quartile of the last
    # footfalls' (once there are 4) is not one, and the tracker never sees it: breaths while
    # standing kept the lock alive and then became a ~55 spm "rhythm". Unless it jumps at least as
    # much as the median footfall (a drop of the whole signal keeps the steps' jumps: the phone
    # slipped into a pocket); the reference sinks step_level_decay_db_per_s once no footfall came
    # for step_level_decay_after_s; a footfall let through from under it restarts it at its own
    # level. Dev (benchmarks/FOOTFALL_PASSES.md, session 8, with the tracker's
    # stop_max_period_ratio): 98 -> 96 conditions failing a bar, none newly failing.
    # While the steps come on time (no step's place unheard yet) the rhythm judges such a
    # candidate, marked quiet: a step only right at its prediction (TrackerParams.quiet_min_closeness;
    # session 9: dev 90 -> 88, none newly failing, HFP 8 kHz +0.007)
    step_level_margin_db: float = 18.0
    # Through a headset (the 8/16 kHz streams, below off_level_max_rate: where the noise gate is) a
    # candidate whose loudest band peaks more than off_level_margin_db under the footfalls' level
    # (the upper quartile above) is not a step off the rhythm (TrackerParams.off_min_rel:
    # `push(soft_db=...)`, the dB past this margin); on the rhythm before the prediction only at a
    # closeness that grows with those dB (TrackerParams.soft_closeness_per_db up to soft_min_closeness;
    # sessions 11-12); merged, later on the rhythm or starting another rhythm it is judged as before.
    # A gated breath or scuff 30-60 ms before a step was taken off the rhythm and the step merged
    # into it as its toe. Not while metronome ticks are known: footfalls on ticks carry the tick's
    # level, and a step then reads far under "the footfalls" (a crackling step in sync under a
    # tick twice as loud was no longer let through off the rhythm, and the rhythm stayed on thuds).
    # Session 10: dev 81 -> 80, none newly failing, HFP 8 kHz +0.002 (benchmarks/FOOTFALL_PASSES.md)
    off_level_margin_db: float = 10.0
    off_level_max_rate: int = 32000
    step_level_gap_periods: float = 1.5
    step_level_decay_after_s: float = 2.0
    step_level_decay_db_per_s: float = 2.0
    # tracker strength = 10 ** (jump_db / this); 0: linear, jump_db - strength_db_offset (a headset's
    # AGC and gate make step strengths differ ~6-fold in the exponential: soft steps were rejected or
    # never locked; linear, dev 133 -> 127 conditions failing a bar with BANDS_PARAMS tuned for it)
    strength_db_scale: float = 0.0
    strength_db_offset: float = 2.0  # linear: tracker strength = jump_db - this (the jumps start at min_snr_db)
    # A footfall dated in the thump band (30-250 Hz: its level rises slowest, and a step's thump
    # swells a few ms after its splash or crunch) is reported at the onset of a higher band that
    # jumped thump_dating_jump_db or more, when that came up to thump_dating_max_s earlier; its
    # tracker still judges it at the thump band's onset (None: reported there). Where noise masks
    # the higher bands the weights pick the thump band: dev treadmill shower HFP 16 kHz's median
    # timing error 5.8 -> 4.2 ms, no F1 moved (benchmarks/FOOTFALL_PASSES.md, session 14)
    thump_dating_jump_db: float | None = 10.0
    thump_dating_max_s: float = 0.005

    def strength(self, snr_db: float) -> float:
        """The tracker's strength of a candidate whose weighted jump is ``snr_db``."""
        if self.strength_db_scale <= 0:
            return max(snr_db - self.strength_db_offset, 0.1)
        return 10.0 ** (snr_db / self.strength_db_scale)
    tracker: TrackerParams = BANDS_PARAMS

    def __post_init__(self) -> None:
        far, near = self.wind_first_part_base_s
        if not (self.wind_first_part_db > 0 and 0 <= self.wind_first_part_min_s < self.wind_first_part_s
                and near < far and self.wind_first_part_s <= far):
            raise ParameterError("picker: need wind_first_part_db > 0, 0 <= wind_first_part_min_s < wind_first_part_s "
                                 "<= the far end of wind_first_part_base_s, and that span in order (far, near)")
        if not (self.tick_step_window_fraction > 0 and 0 <= self.masked_from_s < self.masked_after_s):
            raise ParameterError("picker: need tick_step_window_fraction > 0 and 0 <= masked_from_s < masked_after_s")
        if not 0 <= self.tick_step_near_fraction <= self.tick_step_window_fraction:
            raise ParameterError("picker: need 0 <= tick_step_near_fraction <= tick_step_window_fraction")
        if not self.wind_dating_hold_s >= 0:
            raise ParameterError("picker: need wind_dating_hold_s >= 0")
        if not (self.wind_part_margin_db is None or self.wind_part_margin_db >= 0):
            raise ParameterError("picker: need wind_part_margin_db >= 0 (or None)")
        if not (self.wind_mid_onset_s is None or self.wind_mid_onset_s > 0):
            raise ParameterError("picker: need wind_mid_onset_s > 0 (or None)")
        if not (self.part_in_band_min_rate is None or self.part_in_band_min_rate > 0):
            raise ParameterError("picker: need part_in_band_min_rate > 0 (or None)")
        if not (self.thump_dating_max_s >= 0 and (self.thump_dating_jump_db is None or self.thump_dating_jump_db > 0)):
            raise ParameterError("picker: need thump_dating_max_s >= 0 and thump_dating_jump_db > 0 (or None)")


@dataclass
class PickerState:
    """What the picker remembers between blocks."""

    scan_frame: int = 1
    tracker: StepTracker = field(default_factory=StepTracker)
    last_pushed_s: float = -np.inf
    windy_s: float = -np.inf  # the last candidate (its crossing, s) that found a wind's floors
    strengths_db: deque = field(default_factory=lambda: deque(maxlen=16))  # recent footfalls' strength
    low_peaks_db: deque = field(default_factory=lambda: deque(maxlen=16))  # ... and 30-250 Hz peak level
    on_tick: deque = field(default_factory=lambda: deque(maxlen=8))  # recent footfalls: on a known tick?
    step_levels_db: deque = field(default_factory=lambda: deque(maxlen=12))  # ... and their loudest band's peak
    at_steps_db: NDArray[np.float64] = field(default_factory=lambda: np.zeros(N_BANDS))  # EMA per band
    elsewhere_db: NDArray[np.float64] = field(default_factory=lambda: np.zeros(N_BANDS))
    n_rhythmic: int = 0
    n_rejected: int = 0
    tick_db: NDArray[np.float64] = field(default_factory=lambda: np.zeros(N_BANDS))  # EMA per band: lone ticks
    tick_dev_db: NDArray[np.float64] = field(default_factory=lambda: np.zeros(N_BANDS))  # ... and their spread
    n_lone_ticks: int = 0
    tick_wave: NDArray[np.float64] | None = None  # the lone ticks' mean waveform (TICK_WAVE)
    n_tick_waves: int = 0
    # the first footfalls: (their known tick, the known tick before it then, offset from the tick), s; NaN: none
    beats: list[tuple[float, float, float]] = field(default_factory=list)
    masked_s: float = -np.inf  # the last candidate the tick tests rejected where the tracker predicted a step
    # the candidates its tracker rejected, in decision order, for online's arbitration to take (and clear):
    # (time, decided at, the tracker's rhythm salience then)
    rejections: list[tuple[float, float, float]] = field(default_factory=list)
    weights: NDArray[np.float64] | None = None  # per band, sum 1 over the bands present
    # the last footfall the tracker took: (its onset, its per-band jumps) -- a tick it was dated at?
    last_step: tuple[float, NDArray[np.float64]] | None = None
    trace: "Trace | None" = None  # told what became of every candidate (FATES)


@dataclass(frozen=True)
class Pick:
    """One accepted footfall."""

    time_s: float
    confidence: float
    peak_db: float
    decided_at_s: float  # end of the last frame needed to decide
    rhythmic: bool = False
    band: int = 0  # dominant band
    closeness: float = 0.0  # 0-1: how near its tracker's prediction it fell (0 when not on the rhythm)
    on_tick: bool = False  # it started on a known metronome tick
    in_sync: bool = False  # most of its picker's recent footfalls (this one included) started on known ticks
    music: bool = False  # when it was taken, its tracker followed the beat of music (StepTracker.hears_beat)
    sync_tick: bool = False  # its tracker rejected it off the rhythm, but it started on a known tick while in sync
    # its tracker merged it into the step before as that step's toe, but it started on a known tick
    # while in sync and that step did not (online.TOE_ON_TICK decides)
    toe_on_tick: bool = False
    # its tracker merged it into the footfall before as its toe, but that footfall was dated at a known
    # tick while in sync and this is the runner's step after the tick (STEP_AFTER_TICK_*): reported
    step_after_tick: bool = False
    # not a footfall: a candidate on a known tick the tick tests took for the tick alone, the runner off
    # the beat (where its locked tracker predicted a step when TICK_ALONE_DUE_ONLY): online.HEARD_UNDER_TICK
    # decides whether the thump path heard the step under the tick
    tick_alone: bool = False
    period_s: float = math.nan  # on the rhythm: the step period its tracker followed (Decision.period_s)
    contact_s: float = math.nan  # when to report it, if not at time_s (PickParams.thump_dating_jump_db)


# What became of a candidate, as PickerState.trace is told (bench_footfall.py --fates, the error
# analysis): no band jumped min_snr_db ("weak"); under the bar before the rhythm was found, noted only
# ("below_bar"); under min_peak_db ("quiet_peak"); an onset already pushed, crossing in another band
# ("same_onset"); the tick tests took it for the tick alone ("tick"); far under the footfalls' level
# ("too_quiet"); else the tracker's decision ("step", "merged", "rejected").
FATES = ("weak", "below_bar", "quiet_peak", "same_onset", "tick", "too_quiet", "step", "merged", "rejected")
Trace = Callable[[float, float, str], None]  # (its crossing, its onset or NaN when not dated, s; its fate)


def _tell(state: PickerState, cross_s: float, onset_s: float, fate: str) -> None:
    """Tell the trace, if any, what became of a candidate."""
    if state.trace is not None:
        state.trace(cross_s, onset_s, fate)


def _percentile(values: deque, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) for a short deque, without numpy overhead."""
    s = sorted(values)
    pos = q / 100.0 * (len(s) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def tonal_flatness(x: NDArray[np.float64], sample_rate: int) -> float:
    """Spectral flatness (geometric / arithmetic mean power) of ``x`` in 500 Hz-8 kHz (1 = noise-like)."""
    if x.size < 16:
        return 1.0
    n = 1 << int(math.ceil(math.log2(x.size)))
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size), n)) ** 2
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    sel = spec[(f >= 500.0) & (f <= min(8000.0, 0.45 * sample_rate))]
    if sel.size < 4 or not np.any(sel > 0):
        return 1.0
    sel = sel + 1e-30
    return float(np.exp(np.mean(np.log(sel))) / np.mean(sel))


def _update_weights(state: PickerState, params: PickParams, peaks_db: NDArray[np.float64], *, rhythmic: bool,
                    present: NDArray[np.bool_]) -> None:
    """A band earns weight by being loud at footfalls and quiet at the candidates the tracker rejected."""
    a = params.weight_memory
    if rhythmic:
        state.n_rhythmic += 1
        state.at_steps_db += (peaks_db - state.at_steps_db) * (1.0 if state.n_rhythmic == 1 else a)
    else:
        state.n_rejected += 1
        state.elsewhere_db += (peaks_db - state.elsewhere_db) * (1.0 if state.n_rejected == 1 else a)
    if state.n_rhythmic >= params.weights_after:
        contrast = np.maximum(state.at_steps_db - state.elsewhere_db, 0.0) + 0.1 * state.at_steps_db + 1e-3
        contrast[~present] = 0.0
        contrast = contrast ** params.weight_power
        state.weights = contrast / contrast.sum()


def band_weights(state: PickerState, present: NDArray[np.bool_]) -> NDArray[np.float64]:
    """The current band weights (uniform over the bands present until the rhythm has taught them)."""
    if state.weights is not None:
        return state.weights
    return present / present.sum()


@dataclass(frozen=True)
class Candidates:
    """Upward threshold crossings ready to be decided (see :func:`candidate_frames`)."""

    up: NDArray[np.intp]  # crossing frames, as indices into the curve given
    last_decidable: int  # absolute index of the last frame whose look-ahead is complete
    look: int  # look-ahead (peak window), frames
    back: int  # how far an onset may lie before its crossing, frames


def candidate_frames(curve: NDArray[np.float64], threshold: float, *, first_frame: int, scan_frame: int,
                     frame_s: float, peak_window_s: float, onset_lookback_s: float) -> Candidates | None:
    """Upward crossings of ``threshold`` in ``curve`` (element 0 = absolute frame
    ``first_frame``) from absolute frame ``scan_frame`` on whose ``peak_window_s`` of look-ahead
    exists, with the look-ahead and the onset look-back in frames of ``frame_s``. None when
    nothing new can be decided yet. Shared by both pickers (multi-band and thump band)."""
    look = max(1, int(round(peak_window_s / frame_s)))
    back = max(1, int(round(onset_lookback_s / frame_s)))
    last_decidable = first_frame + curve.size - 1 - look
    start = max(scan_frame, first_frame + 1)
    if last_decidable < start:
        return None
    lo, hi = start - first_frame, last_decidable - first_frame + 1
    up = ((curve[lo:hi] >= threshold) & (curve[lo - 1 : hi - 1] < threshold)).nonzero()[0] + lo
    return Candidates(up, last_decidable, look, back)


def windows_at(x: NDArray[np.float64], width: int, starts: NDArray[np.intp]) -> NDArray[np.float64]:
    """``x[k : k + width]`` for each ``k`` in ``starts`` (along axis 0), as one array: shape
    ``(m, width)`` for a 1-D ``x``, ``(m, columns, width)`` for a 2-D one -- the same values and
    layout along the window as ``sliding_window_view(x, width, axis=0)[starts]``, with one gather
    (the view costs ~30 us of Python per call: most of a live block's picking)."""
    idx = starts[:, None] + np.arange(width)
    if x.ndim == 1:
        return x[idx]
    return x.T[:, idx].transpose(1, 0, 2)


def onset_frame(level: NDArray[np.float64], peak: int, *, stop: int, target: float) -> float:
    """Walk back from frame ``peak`` (not before ``stop``) to where ``level`` first reached
    ``target``; the crossing interpolated between frames (fractional frame index)."""
    j = peak
    while j > stop and level[j - 1] >= target:
        j -= 1
    if j > 0 and level[j - 1] < target:
        return (j - 1) + (target - level[j - 1]) / (level[j] - level[j - 1])
    return float(j)


# One readable pass of checks per candidate (~60 lines of code under the docstring): a further
# split would hand the same dozen per-candidate values to another helper on the hot path.
def pick_footfalls(
    frames: Frames,
    *,
    frame_s: float,
    params: PickParams,
    state: PickerState,
    present: NDArray[np.bool_],
    tick_times_s: NDArray[np.float64] | None = None,
    raw: NDArray[np.float64] | None = None,
    raw_first_sample: int = 0,
    sample_rate: int = 0,
) -> list[Pick]:
    """Decide every candidate whose look-ahead is complete in ``frames``.

    Parameters
    ----------
    frames : Frames
        Recent feature history (must reach back ``onset_lookback_s`` before
        ``state.scan_frame``), absolute frame index ``frames.first_frame`` for element 0.
    frame_s : float > 0
        Frame period, seconds.
    params : PickParams
    state : PickerState
        Updated in place.
    present : bool array (N_BANDS,)
        Which bands the input rate holds.
    tick_times_s : ndarray or None
        Known tick times (s, stream time base), sorted; None if unknown.
    raw, raw_first_sample, sample_rate
        Recent mono input (its first sample's absolute index), for the tick test; None skips it.

    Returns
    -------
    list of Pick, in time order. Off the beat, a candidate on a known tick taken for the tick alone
    comes as a Pick with ``tick_alone`` set and confidence 0: no footfall, for the arbitration
    (``online.HEARD_UNDER_TICK``) to pair with the thump path's candidate under that tick.
    """
    first = frames.first_frame
    white, levels, odf = frames.bands_db, frames.bands_level_db, frames.odf_db
    if white is None or levels is None or odf is None:
        raise ValueError("pick_footfalls needs the multi-band frames (bands_db, bands_level_db, odf_db)")
    found = candidate_frames(odf, params.odf_db, first_frame=first, scan_frame=state.scan_frame,
                             frame_s=frame_s, peak_window_s=params.peak_window_s,
                             onset_lookback_s=params.onset_lookback_s)
    if found is None:
        return []
    up, last_decidable, look, back = found.up, found.last_decidable, found.look, found.back
    wideband = sample_rate >= params.wind_min_rate
    top_z = frames.top_z if wideband else None
    missed = np.zeros(up.size, dtype=bool)
    if top_z is not None:
        up, missed = _with_top_onsets(top_z, odf, up, found, params, first=first, scan_frame=state.scan_frame)
    picks: list[Pick] = []
    if up.size == 0:
        state.scan_frame = last_decidable + 1
        return picks
    m = _measure(frames, white, levels, up, look, frame_s=frame_s, params=params)
    top_rise = m.top_z >= params.wind_top_z if top_z is not None else np.zeros(up.size, dtype=bool)
    for n_cand in np.flatnonzero((m.peaks_db.max(axis=1) >= params.min_snr_db) | top_rise):
        i = int(up[n_cand])
        top_ok = bool(top_rise[n_cand]) and _top_rise_counts(state, params, frames, i)
        if missed[n_cand] and not top_ok:
            _tell(state, (first + i + 1.0) * frame_s, math.nan, "weak")
            continue  # an onset the onset function missed is judged only under the wind
        peaks_db = m.peaks_db[n_cand]
        snr_db, w = _weighted_snr_db(state, present, peaks_db)
        lifted = False
        bar_db = _min_snr_db(state, params, first + i, frame_s)
        windy = state.weights is not None and wideband and _windy(params, frames, i)
        cross_s = (first + i + 1.0) * frame_s
        if windy:
            state.windy_s = cross_s
        windy_dating = windy or (state.weights is not None and wideband
                                 and cross_s - state.windy_s <= params.wind_dating_hold_s)
        if windy:
            snr_db = max(snr_db, _above_wind_db(present, peaks_db))
            if top_ok and snr_db < bar_db:
                snr_db, lifted = bar_db, True
        elif peaks_db.max() < params.min_snr_db:
            _tell(state, cross_s, math.nan, "weak")
            continue
        if snr_db < bar_db:
            if snr_db >= params.min_snr_db:  # too weak to report before the rhythm is found, but part of it
                noted_s = (first + i + 1.0) * frame_s - BAND_BIAS_S[0]
                state.tracker.note(noted_s, params.strength(snr_db))
                # a later crossing whose onset lies before this is the same onset (and the tracker
                # takes candidates in time order only)
                state.last_pushed_s = max(state.last_pushed_s, noted_s)
            _tell(state, cross_s, math.nan, "below_bar")
            continue
        b = N_BANDS - 1 if lifted else int(np.argmax(w * peaks_db))
        p = int(m.peak_pos[n_cand, b])
        level = levels[:, b]
        peak_db = float(level[p])
        if peak_db < params.min_peak_db:
            _tell(state, cross_s, math.nan, "quiet_peak")
            continue
        target_db = _onset_target_db(peak_db, float(peaks_db[b]), params)
        part = _first_part(level, p, cross=i, target_db=target_db)
        if part is not None:
            part_jump = np.maximum(white[i : part[1]].max(axis=0) - m.before[n_cand], 0.0)  # per band
            if not (_carries(state, params, present, part_jump, snr_db)
                    or (windy and _carries_above_thump(state, params, present, part_jump, peaks_db))
                    or (not wideband and _carries_in_band(params, part_jump[b], float(peaks_db[b]), sample_rate))):
                part = None
        onset_s = _onset_s(level, p if part is None else part[0], stop=max(0, i - back), band=b, target_db=target_db,
                           first=first, frame_s=frame_s, params=params)
        if windy and not lifted and b == N_BANDS - 1 and params.wind_mid_onset_s is not None:
            onset_s = _wind_mid_onset_s(levels, peaks_db, m.peak_pos[n_cand], present, onset_s, params,
                                        stop=max(0, i - back), first=first, frame_s=frame_s)
        if onset_s <= state.last_pushed_s:
            _tell(state, cross_s, onset_s, "same_onset")
            continue  # the same onset seen through another band crossing
        if windy_dating:
            onset_s = _top_first_part_s(levels[:, N_BANDS - 1], onset_s, params, tick_times_s,
                                        after_s=state.last_pushed_s, first=first, frame_s=frame_s)
        on_tick = near_tick(tick_times_s, onset_s, before_s=params.tick_before_s, after_s=params.tick_after_s)
        step_s = _step_before_tick(state, params, present, white[i:], m.before[n_cand], onset_s, tick_times_s,
                                   cross_s=(first + i + 1.0) * frame_s - BAND_BIAS_S[0], frame_s=frame_s,
                                   snr_db=snr_db)
        sync = _in_sync(state, params)
        if step_s == onset_s:
            step_s = _step_beside_tick(params, levels[: i + look + 1], white[i:], m.before[n_cand], peaks_db,
                                       m.peak_pos[n_cand], w, present, b, onset_s, tick_times_s,
                                       cross_s=(first + i + 1.0) * frame_s - BAND_BIAS_S[0], stop=max(0, i - back),
                                       first=first, frame_s=frame_s, in_sync=sync)
        if step_s == onset_s and sync:
            step_s = _step_after_tick_onset(params, levels[: i + look + 1], peaks_db, m.peak_pos[n_cand], w, present,
                                            b, onset_s, tick_times_s, stop=max(0, i - back), first=first,
                                            frame_s=frame_s)
        decided_at_s = (first + i + look + 1) * frame_s
        off_s, period_s = (_off_prediction_s(state, params, onset_s) if on_tick else math.inf), state.tracker.period_s
        due = off_s <= params.tick_step_window_fraction * period_s
        if (_only_the_tick(state, params, onset_s, tick_times_s, on_tick=on_tick, peaks_db=peaks_db, w=w,
                           raw=raw, raw_first_sample=raw_first_sample, sample_rate=sample_rate,
                           decided_at_s=decided_at_s, step_due=due)
                or (not (due and _brings_a_step(state, params, peaks_db, w,
                                                near=off_s <= params.tick_step_near_fraction * period_s))
                    and _is_tick(state, params, onset_s, on_tick=on_tick, leaky=bool(m.leaky[n_cand]),
                                 low_peak_db=m.low_peak_db[n_cand], raw=raw, raw_first_sample=raw_first_sample,
                                 sample_rate=sample_rate, decided_at_s=decided_at_s))):
            if due:
                state.masked_s = onset_s
            if on_tick and not sync and (due or not TICK_ALONE_DUE_ONLY):  # online.HEARD_UNDER_TICK decides
                picks.append(Pick(onset_s, 0.0, peak_db, decided_at_s, band=b, on_tick=True, tick_alone=True))
            _tell(state, cross_s, onset_s, "tick")
            continue
        state.last_pushed_s = onset_s
        top_db = float(m.top_db[n_cand])
        too_quiet, new_level = _against_step_level(state, params, onset_s, top_db, snr_db)
        if _steps_on_time(state, params, onset_s):
            new_level = False  # the rhythm judges a quiet one: a step only right at its prediction
        elif too_quiet:
            _tell(state, cross_s, onset_s, "too_quiet")
            continue  # far quieter than the footfalls: a gated breath, not a step
        soft_floor_db = _step_level_floor_db(state, params.off_level_margin_db)
        soft_db = (soft_floor_db - top_db if sample_rate < params.off_level_max_rate and tick_times_s is None
                   and soft_floor_db is not None and top_db < soft_floor_db else None)
        # (asked before the push: the tracker may take it as a step of its own, TrackerParams.yield_ratio)
        after_tick = _step_after_tick(state, params, onset_s, peaks_db, snr_db, tick_times_s)
        d = state.tracker.push(onset_s, params.strength(snr_db),
                               quiet=too_quiet or _after_masked_step(state, params, onset_s, snr_db, on_tick=on_tick),
                               soft_db=soft_db)
        _tell(state, cross_s, onset_s, d.kind)
        if d.kind == "merged":
            if after_tick:
                # the footfall before was the tick alone: this is the step after it
                picks.append(Pick(step_s, _confidence(params, snr_db, d), peak_db, decided_at_s, False, b, 0.0,
                                  on_tick, True, state.tracker.hears_beat(onset_s), sync_tick=True,
                                  step_after_tick=True))
            elif on_tick and state.on_tick and not state.on_tick[-1] and _in_sync(state, params):
                # a sound before a step on its tick took the step as its toe: online.TOE_ON_TICK decides
                picks.append(Pick(onset_s, _confidence(params, snr_db, d), peak_db, decided_at_s, False, b, 0.0,
                                  on_tick, True, state.tracker.hears_beat(onset_s), sync_tick=True,
                                  toe_on_tick=True))
            continue
        if not on_tick:  # what lands on a known tick is mostly the tick: it teaches the bands nothing
            _update_weights(state, params, peaks_db, rhythmic=d.kind == "step", present=present)
        if d.kind == "rejected" and on_tick and _in_sync(state, params):
            # off the rhythm but on a tick the runner is in sync with: online.REPORT_SYNC_TICKS decides
            picks.append(Pick(onset_s, _confidence(params, snr_db, d), peak_db, decided_at_s, False, b, 0.0, on_tick,
                              True, state.tracker.hears_beat(onset_s), sync_tick=True))
            continue
        if d.kind == "rejected":
            state.rejections.append((onset_s, decided_at_s, state.tracker.rhythm_salience))
        if d.kind != "step":
            continue
        state.strengths_db.append(snr_db)
        state.last_step = (onset_s, peaks_db)
        if new_level:  # let through from under the footfalls' level: their level has changed
            state.step_levels_db.clear()
        state.step_levels_db.append(top_db)
        state.low_peaks_db.append(float(m.low_peak_db[n_cand]))
        state.on_tick.append(on_tick)
        time_s = step_s if d.time_s == onset_s else d.time_s
        jump_db = params.thump_dating_jump_db
        contact_s = (_contact_s(levels, peaks_db, m.peak_pos[n_cand], present, onset_s, stop=max(0, i - back),
                                first=first, frame_s=frame_s, params=params, jump_db=jump_db)
                     if b == 0 and part is None and time_s == onset_s and jump_db is not None else math.nan)
        _note_beat(state, params, time_s, tick_times_s, on_tick=on_tick)
        picks.append(Pick(time_s, _confidence(params, snr_db, d), peak_db, decided_at_s,
                          d.rhythmic, b, d.closeness if d.rhythmic else 0.0, on_tick,
                          _in_sync(state, params),
                          state.tracker.hears_beat(onset_s), period_s=d.period_s, contact_s=contact_s,
                          sync_tick=after_tick, step_after_tick=after_tick))
    state.scan_frame = last_decidable + 1
    return picks


@dataclass(frozen=True)
class _Measures:
    """The look-ahead measures of the candidates (one row each), computed at once."""

    peaks_db: NDArray[np.float64]  # (m, N_BANDS) per band: jump from just before the candidate to its peak
    peak_pos: NDArray[np.intp]  # (m, N_BANDS) per band: frame (index into the frames) of that peak
    before: NDArray[np.float64]  # (m, N_BANDS) per band: the whitened level just before the candidate
    low_peak_db: NDArray[np.float64]  # (m,) 30-250 Hz peak level
    leaky: NDArray[np.bool_]  # (m,) what varies within a frame is max_leak_db above the thump band: a tick?
    top_db: NDArray[np.float64]  # (m,) the loudest band's peak level (dB re full scale)
    top_z: NDArray[np.float64]  # (m,) the top band's largest rise in units of its recent rises (features.top_z)


def _measure(frames: Frames, white: NDArray[np.float64], levels: NDArray[np.float64], up: NDArray[np.intp],
             look: int, *, frame_s: float, params: PickParams) -> _Measures:
    """The measures of the candidates at frames ``up`` over ``look`` frames of look-ahead."""
    win = windows_at(white, look + 1, up)  # (m, N_BANDS, look + 1)
    # per band: how far the level jumps from just before the candidate to its peak (a breath or a
    # gust swells slowly: its level is high, its jump small; a footfall jumps)
    pre = max(1, int(round(params.pre_window_s / frame_s)))
    before = windows_at(white, pre + 1, np.maximum(up - pre, 0)).mean(axis=2)
    peaks_all = np.maximum(win.max(axis=2) - before, 0.0)
    peak_pos_all = up[:, None] + win.argmax(axis=2)
    low_peak_all = windows_at(frames.level_db, look + 1, up).max(axis=1)
    # the tick test looks only just after the onset: a thump 20-30 ms after a tick is not under it
    leak_look = max(1, int(round(params.leak_window_s / frame_s)))
    leak_low = windows_at(frames.level_db, leak_look + 1, up).max(axis=1)
    high_all = windows_at(frames.high_db, look + 1, up).max(axis=1)
    top = windows_at(levels, look + 1, up).max(axis=(1, 2))
    top_z = (windows_at(frames.top_z, look + 1, up).max(axis=1) if frames.top_z is not None
             else np.zeros(up.size))
    return _Measures(peaks_all, peak_pos_all, before, low_peak_all, high_all - leak_low > params.max_leak_db, top,
                     top_z)


def _top_rise_counts(state: PickerState, params: PickParams, frames: Frames, i: int) -> bool:
    """Whether a candidate at frame ``i`` whose top band rose ``wind_top_z`` times its usual rises
    is judged at the bar: the rhythm has taught the weights and is locked, the steps are heard in
    the top band (``wind_top_steps_db``), and the floors are a wind's with the 2-4 kHz floor within
    ``wind_top_skirt_db`` of the top band's (see :class:`PickParams`)."""
    return (state.weights is not None and state.tracker.locked
            and state.at_steps_db[N_BANDS - 1] >= params.wind_top_steps_db
            and _windy(params, frames, i, skirt_db=params.wind_top_skirt_db))


def _with_top_onsets(z: NDArray[np.float64], odf: NDArray[np.float64], up: NDArray[np.intp], found: Candidates,
                     params: PickParams, *, first: int, scan_frame: int) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """The onset function's crossings ``up`` and, in time order among them, the upward crossings of
    ``wind_top_z`` by the top band's rise (features.top_z) where the onset function stays under its
    threshold for the look-ahead either side (an onset it missed; the picker judges it only under
    the wind); and which of the result are such onsets."""
    look = found.look
    lo = max(scan_frame, first + 1) - first
    hi = found.last_decidable - first + 1
    zc = ((z[lo:hi] >= params.wind_top_z) & (z[lo - 1 : hi - 1] < params.wind_top_z)).nonzero()[0] + lo
    if zc.size:
        starts = np.minimum(np.maximum(zc - look, 0), odf.size - 2 * look - 1)
        zc = zc[windows_at(odf, 2 * look + 1, starts).max(axis=1) < params.odf_db]
    if zc.size == 0:
        return up, np.zeros(up.size, dtype=bool)
    both = np.union1d(up, zc)
    return both, np.isin(both, zc)


def _steps_on_time(state: PickerState, params: PickParams, onset_s: float) -> bool:
    """Whether the tracker is locked and its last footfall less than ``step_level_gap_periods``
    periods before ``onset_s`` (no step's place has gone unheard)."""
    tracker = state.tracker
    return tracker.locked and onset_s - tracker.last_step_s < params.step_level_gap_periods * tracker.period_s


def _step_level_floor_db(state: PickerState, margin_db: float) -> float | None:
    """``margin_db`` under the upper quartile of the last footfalls' loudest-band peaks (None before
    there are 4: no level yet)."""
    if len(state.step_levels_db) < 4:
        return None
    return _percentile(state.step_levels_db, 75.0) - margin_db


def _against_step_level(state: PickerState, params: PickParams, onset_s: float, top_db: float,
                        snr_db: float) -> tuple[bool, bool]:
    """A candidate whose loudest band peaks at ``top_db`` (its jump ``snr_db``) against the level of
    the footfalls: (too quiet to be one, let through from under their level: a new level)."""
    tracker = state.tracker
    floor_db = _step_level_floor_db(state, params.step_level_margin_db)
    if floor_db is None or top_db >= floor_db:
        return False, False
    if snr_db >= _percentile(state.strengths_db, 50.0):
        return False, True  # it jumps as a footfall does: the whole signal dropped (the phone moved)
    sunk_db = params.step_level_decay_db_per_s * max(
        0.0, onset_s - tracker.last_step_s - params.step_level_decay_after_s)
    return top_db < floor_db - sunk_db, True


def _weighted_snr_db(state: PickerState, present: NDArray[np.bool_],
                     peaks_db: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """A candidate's strength (dB above the band floors) and the band weights it was weighed with."""
    w = band_weights(state, present)
    if state.weights is None:  # nothing learned yet: the loudest bands count most
        return float(np.mean(peaks_db[present] ** 4) ** 0.25), w
    return float(np.dot(w, peaks_db)), w


def _windy(params: PickParams, frames: Frames, i: int, *, skirt_db: float | None = None) -> bool:
    """Whether the noise floors at frame ``i`` are a wind's: the 2-4 kHz floor within
    ``wind_skirt_db`` of the > 4 kHz floor and the 0.7-1.8 kHz floor ``wind_tilt_db`` above it."""
    if frames.bands_floor_db is None:
        return False
    floor = frames.bands_floor_db[i]
    skirt_db = params.wind_skirt_db if skirt_db is None else skirt_db
    return bool(floor[3] - floor[4] >= skirt_db and floor[2] - floor[4] >= params.wind_tilt_db)


def _top_first_part_s(top: NDArray[np.float64], onset_s: float, params: PickParams,
                      tick_times_s: NDArray[np.float64] | None, *, after_s: float, first: int, frame_s: float) -> float:
    """Under the wind, where a footfall dated at ``onset_s`` began: where the top band's level
    ``top`` last rose ``wind_first_part_db`` above its mean over ``wind_first_part_base_s`` before
    the onset, walking back from the onset at most ``wind_first_part_s`` (the first part of a
    footfall whose loud crunch made the onset); ``onset_s`` unless that is ``wind_first_part_min_s``
    or more earlier, more than ``wind_first_part_s`` after ``after_s`` (the onset pushed before)
    and on no known tick (see :class:`PickParams`)."""
    k = int(round((onset_s + BAND_BIAS_S[N_BANDS - 1]) / frame_s)) - first - 1  # the onset's frame in the top band
    far, near = (int(round(s / frame_s)) for s in params.wind_first_part_base_s)
    reach = int(round(params.wind_first_part_s / frame_s))
    if not far <= k < top.size or not math.isfinite(params.wind_first_part_db):
        return onset_s
    up_db = float(top[k - far : k - near].mean()) + params.wind_first_part_db
    j = k
    while j > k - reach and top[j - 1] >= up_db:
        j -= 1
    if top[k] < up_db or j <= k - reach:
        return onset_s  # not up at the onset, or up for the whole reach: a gust, no first part
    early_s = (first + j + 1.0) * frame_s - BAND_BIAS_S[N_BANDS - 1]
    if (onset_s - early_s < params.wind_first_part_min_s or early_s <= after_s + params.wind_first_part_s
            or near_tick(tick_times_s, early_s, before_s=params.tick_before_s, after_s=params.tick_after_s)):
        return onset_s
    return early_s


def _above_wind_db(present: NDArray[np.bool_], peaks_db: NDArray[np.float64]) -> float:
    """Root mean square of a candidate's jumps in the bands above 700 Hz (those present)."""
    hi = present.copy()
    hi[:WIND_FIRST_BAND] = False
    return float(np.sqrt(np.mean(np.square(peaks_db[hi])))) if hi.any() else 0.0


def _onset_target_db(peak_db: float, jump_db: float, params: PickParams) -> float:
    """The level a footfall's onset is dated at: ``onset_drop_db`` below its peak (less for a weak jump)."""
    return peak_db - min(params.onset_drop_db, max(3.0, 0.7 * jump_db))


def _first_part(level: NDArray[np.float64], peak: int, *, cross: int, target_db: float) -> tuple[int, int] | None:
    """A footfall in two parts: when ``level`` came within the onset target after the crossing at
    frame ``cross``, fell out of it and rose to the ``peak`` later in the look-ahead (gravel's
    first crunch and a louder second one, a heel and its toe), the first part's frames
    ``(start, end)`` (end exclusive); None when the level stayed within the target up to the peak."""
    seg = level[cross : peak + 1]
    k = int(np.argmax(seg >= target_db))
    gap = np.flatnonzero(seg[k:] < target_db)
    return (cross + k, cross + k + int(gap[0])) if gap.size else None


def _carries(state: PickerState, params: PickParams, present: NDArray[np.bool_], part_jump: NDArray[np.float64],
             snr_db: float) -> bool:
    """Whether a footfall's first part (its jump per band, ``part_jump``) alone jumps as a candidate
    must (``min_snr_db``, weighted) and carries at least half the whole candidate's jump ``snr_db``
    -- a kick or a gust's wiggle just before a step does not."""
    part_db, _ = _weighted_snr_db(state, present, part_jump)
    return part_db >= max(params.min_snr_db, snr_db - HALF_POWER_DB)


def _carries_in_band(params: PickParams, part_db: float, jump_db: float, sample_rate: int) -> bool:
    """Whether a footfall's first part carries, in its dating band alone (its jump there
    ``part_db``), at least ``min_snr_db`` and half the candidate's jump there ``jump_db``, on a
    stream of ``sample_rate`` at least ``part_in_band_min_rate`` (the caller asks narrowband
    streams only): a second way past :func:`_carries` for a headset, whose codec bands under-count
    a gritty sole's contact in the weighted sum."""
    min_rate = params.part_in_band_min_rate
    return min_rate is not None and sample_rate >= min_rate and part_db >= max(params.min_snr_db,
                                                                                jump_db - HALF_POWER_DB)


def _carries_above_thump(state: PickerState, params: PickParams, present: NDArray[np.bool_],
                         part_jump: NDArray[np.float64], peaks_db: NDArray[np.float64]) -> bool:
    """Whether a footfall's first part (its jump per band, ``part_jump``) carries in the bands
    above the thump band (``wind_part_margin_db``): weighed with the band weights less 30-250 Hz,
    it jumps at least ``min_snr_db`` and within the margin of the whole candidate's jumps
    ``peaks_db`` weighed so."""
    margin_db = params.wind_part_margin_db
    if margin_db is None:
        return False
    w = band_weights(state, present).copy()
    if params.wind_part_own_weights and int(np.argmax(w)) == N_BANDS - 1:
        w = np.where(present, np.maximum(peaks_db, 0.0), 0.0) ** 2  # the weights collapsed onto the top band
    w[0] = 0.0
    if not w.sum() > 0:
        return False
    w /= w.sum()
    part_db = float(np.dot(w, part_jump))
    return part_db >= max(params.min_snr_db, float(np.dot(w, peaks_db)) - margin_db)


def _wind_mid_onset_s(levels: NDArray[np.float64], peaks_db: NDArray[np.float64], peak_pos: NDArray[np.intp],
                      present: NDArray[np.bool_], onset_s: float, params: PickParams, *, stop: int, first: int,
                      frame_s: float) -> float:
    """A footfall dated ``onset_s`` in the top band: the onset of its largest jump at 250 Hz-4 kHz
    when that jump is at least the top band's and the onset at most ``wind_mid_onset_s`` earlier
    (a gritty sole's contact click before its crunch); else ``onset_s``."""
    mid = present[1 : N_BANDS - 1]
    if params.wind_mid_onset_s is None or not mid.any():
        return onset_s
    band = 1 + int(np.argmax(np.where(mid, peaks_db[1 : N_BANDS - 1], -np.inf)))
    if peaks_db[band] < peaks_db[N_BANDS - 1]:
        return onset_s
    level = levels[:, band]
    peak = int(peak_pos[band])
    target_db = _onset_target_db(float(level[peak]), float(peaks_db[band]), params)
    early_s = _onset_s(level, peak, stop=stop, band=band, target_db=target_db, first=first, frame_s=frame_s,
                       params=params)
    return early_s if 0 < onset_s - early_s <= params.wind_mid_onset_s else onset_s


def _onset_s(level: NDArray[np.float64], start: int, *, stop: int, band: int, target_db: float, first: int,
             frame_s: float, params: PickParams) -> float:
    """Onset time (s) of a footfall in its dominant ``band``: walking back from frame ``start``
    (its peak, or its first part's first frame at the target), where the level first came to
    ``target_db``, less the band's delay."""
    k = onset_frame(level, start, stop=stop, target=target_db)
    return max(0.0, (first + k + 1.0) * frame_s - BAND_BIAS_S[band] - params.onset_bias_s)


def _contact_s(levels: NDArray[np.float64], peaks_db: NDArray[np.float64], peak_pos: NDArray[np.intp],
               present: NDArray[np.bool_], onset_s: float, *, stop: int, first: int, frame_s: float,
               params: PickParams, jump_db: float) -> float:
    """When to report a footfall dated in the thump band at ``onset_s``: at the earliest onset of a
    higher band that jumped ``jump_db`` (``thump_dating_jump_db``) or more (its own peak and jump,
    walked back no further than frame ``stop``), when that came up to ``thump_dating_max_s``
    earlier; else ``onset_s``."""
    best = onset_s
    for b in np.flatnonzero(present[1:] & (peaks_db[1:] >= jump_db)) + 1:
        level = levels[:, b]
        p = int(peak_pos[b])
        t = _onset_s(level, p, stop=stop, band=int(b), target_db=_onset_target_db(float(level[p]), float(peaks_db[b]), params),
                     first=first, frame_s=frame_s, params=params)
        if onset_s - params.thump_dating_max_s <= t < best:
            best = t
    return best


def _step_before_tick(state: PickerState, params: PickParams, present: NDArray[np.bool_],
                      white_from: NDArray[np.float64], before: NDArray[np.float64], onset_s: float,
                      tick_times_s: NDArray[np.float64] | None, *, cross_s: float, frame_s: float,
                      snr_db: float) -> float:
    """When to report a footfall whose onset was dated at a known tick: at its candidate's
    crossing ``cross_s`` if that came up to ``step_before_tick_s`` before the tick and the frames
    before the tick (``white_from``: the whitened bands from the crossing on) alone carry all the
    candidate's jump but ``step_before_tick_db`` -- the step came first and the tick, as loud
    (a runner in sync steps 0-20 ms either side of it), made the peak the onset is dated from:
    the step stayed under the onset target. Otherwise ``onset_s``. The tracker still judges
    the onset (this moves the reported time only)."""
    tick_s = tick_near(tick_times_s, onset_s, before_s=params.tick_at_s, after_s=params.tick_at_s)
    if tick_s is None:
        return onset_s
    lead_s = tick_s - cross_s
    if not params.tick_at_s < lead_s <= params.step_before_tick_s:
        return onset_s
    part = white_from[: max(1, int(lead_s / frame_s))]
    part_db, _ = _weighted_snr_db(state, present, np.maximum(part.max(axis=0) - before, 0.0))
    return cross_s if part_db >= max(params.min_snr_db, snr_db - params.step_before_tick_db) else onset_s


def _step_beside_tick(params: PickParams, levels: NDArray[np.float64], white_from: NDArray[np.float64],
                      before: NDArray[np.float64], peaks_db: NDArray[np.float64],
                      peak_pos: NDArray[np.intp], w: NDArray[np.float64], present: NDArray[np.bool_], b: int,
                      onset_s: float, tick_times_s: NDArray[np.float64] | None, *, cross_s: float, stop: int,
                      first: int, frame_s: float, in_sync: bool = False) -> float:
    """When to report a footfall whose onset was dated at a known tick in its dominant band ``b``
    (``levels``: the band levels up to the end of its look-ahead): when its candidate crossed
    more than ``tick_at_s`` before the tick and the frames before the tick, in the bands but ``b``,
    already jump ``min_snr_db`` (weighted), at the onset of its loudest other band (weighted) that
    jumps ``min_snr_db``, started ``tick_at_s`` to ``step_beside_tick_s`` before the tick and is
    still within ``step_at_tick_db`` of its peak at the tick -- the step came first and the tick,
    louder in ``b``, took the onset; a sound that peaked and faded before the tick is not the step,
    unless the runner is ``in_sync`` (on the beat) and that band jumped ``step_faded_before_tick_db``.
    Otherwise ``onset_s``. The tracker still judges the onset (this moves the reported time only)."""
    tick_s = tick_near(tick_times_s, onset_s, before_s=params.tick_at_s, after_s=params.tick_at_s)
    if tick_s is None or tick_s - cross_s <= params.tick_at_s:
        return onset_s
    others = w * present
    others[b] = 0.0
    # the frames before the tick in every band: cross_s is on band 0's time (frame end - BAND_BIAS_S[0]),
    # so tick_s - cross_s frames reach the tick in band 0, and the faster bands tested here (delays
    # 1-2 ms) see it up to BAND_BIAS_S[0] sooner: cut that much more (deliberate, unlike
    # _step_before_tick, whose test weighs the dominant band too: there the frames may touch the tick)
    part = white_from[: max(1, int((tick_s - cross_s - BAND_BIAS_S[0]) / frame_s))]
    if others.sum() <= 0 or float(np.dot(others, np.maximum(part.max(axis=0) - before, 0.0))) < params.min_snr_db * others.sum():
        return onset_s
    return next((t for c, t, p, level, at_tick in _other_band_onsets(params, levels, peaks_db, peak_pos, w, present, b,
                                                                     tick_s, stop=stop, first=first, frame_s=frame_s)
                 if (tick_s - params.step_beside_tick_s <= t < tick_s - params.tick_at_s
                     and (level[at_tick] >= level[p] - params.step_at_tick_db
                          or (in_sync and p < at_tick and peaks_db[c] >= params.step_faded_before_tick_db)))),
                onset_s)


# A candidate the tick tests reject on a known tick, the runner off the beat, is handed to the
# arbitration as Pick.tick_alone (online.HEARD_UNDER_TICK): every such candidate (False), or only where a
# step is due (True: the tracker locked, its prediction within tick_step_window_fraction of the period).
# Every one, chosen on dev at the merge (session 17): dev 57 -> 57 with seven items up and none down
# (metronome-off crunchy ice full 0.889 -> 0.901, phone 0.901 -> 0.923 and its cadence error 0.84 ->
# 0.05 spm, clipped 0.913 -> 0.945, dirt & rocks HFP 16 kHz 0.979 -> 0.990; metronome-steady shower
# phone 0.867 -> 0.889, HFP 8 kHz 0.267 -> 0.295); the steady scene's asynchrony mean error median 1.6
# -> 1.8 ms, max 7.6 -> 6.6 ms (shower phone 1.6 -> 4.0 ms: a splash 92 ms after its tick replaced by
# the step; the false footfall had offset the ticks reported for steps 28-37 ms after them).
TICK_ALONE_DUE_ONLY = False


def _other_band_onsets(params: PickParams, levels: NDArray[np.float64], peaks_db: NDArray[np.float64],
                       peak_pos: NDArray[np.intp], w: NDArray[np.float64], present: NDArray[np.bool_], b: int,
                       tick_s: float, *, stop: int, first: int,
                       frame_s: float) -> Iterator[tuple[int, float, int, NDArray[np.float64], int]]:
    """The bands of a candidate but its dominant one ``b`` that weigh (``w``) and jump ``min_snr_db``,
    loudest (weighted jump) first: per band its index, its onset (s, walked back from its peak no
    further than frame ``stop``), its peak's frame, its levels (``levels``: up to the end of the
    look-ahead) and the known tick's (``tick_s``) frame in it; each band's onset is walked back only
    when the caller asks for it (the first that fits ends the search)."""
    bands = np.flatnonzero(present & (w > 0) & (peaks_db >= params.min_snr_db))
    for c in sorted(bands, key=lambda c: -float(w[c] * peaks_db[c])):  # stable: ties keep the band order
        if c == b:
            continue
        level = levels[:, c]
        p = int(peak_pos[c])
        t = _onset_s(level, p, stop=stop, band=int(c), target_db=_onset_target_db(float(level[p]), float(peaks_db[c]), params),
                     first=first, frame_s=frame_s, params=params)
        at_tick = min(level.size - 1, int(round((tick_s + BAND_BIAS_S[c]) / frame_s)) - first - 1)  # the tick's frame
        yield int(c), t, p, level, at_tick


# In sync, a step 5-40 ms after a known tick as loud as it: the tick made the candidate and the
# footfall was dated at the tick, the step's own band rising later within the candidate's look-ahead.
# A band other than the dominant one that jumps min_snr_db, whose onset lies STEP_UNDER_TICK_S after
# the tick and whose level at the tick was still STEP_UNDER_TICK_RISE_DB under its peak (the tick did
# not bring it) dates the footfall at that onset (_step_after_tick_onset).
STEP_UNDER_TICK_S = (0.005, 0.040)
STEP_UNDER_TICK_RISE_DB = 6.0


def _step_after_tick_onset(params: PickParams, levels: NDArray[np.float64], peaks_db: NDArray[np.float64],
                           peak_pos: NDArray[np.intp], w: NDArray[np.float64], present: NDArray[np.bool_], b: int,
                           onset_s: float, tick_times_s: NDArray[np.float64] | None, *, stop: int, first: int,
                           frame_s: float) -> float:
    """When to report a footfall whose onset was dated at a known tick in its dominant band ``b``
    (``levels``: the band levels up to the end of its look-ahead), the runner in sync: at the onset
    of its loudest other band (weighted) that jumps ``min_snr_db``, started ``STEP_UNDER_TICK_S``
    after the tick and was at the tick still ``STEP_UNDER_TICK_RISE_DB`` under its peak -- the
    step came after the tick, which took the onset. Otherwise ``onset_s``."""
    tick_s = tick_near(tick_times_s, onset_s, before_s=params.tick_at_s, after_s=params.tick_at_s)
    if tick_s is None:
        return onset_s
    return next((t for _, t, p, level, at_tick in _other_band_onsets(params, levels, peaks_db, peak_pos, w, present, b,
                                                                     tick_s, stop=stop, first=first, frame_s=frame_s)
                 if (tick_s + STEP_UNDER_TICK_S[0] <= t <= tick_s + STEP_UNDER_TICK_S[1]
                     and level[at_tick] <= level[p] - STEP_UNDER_TICK_RISE_DB)), onset_s)


def _only_the_tick(state: PickerState, params: PickParams, onset_s: float,
                   tick_times_s: NDArray[np.float64] | None, *, on_tick: bool, peaks_db: NDArray[np.float64],
                   w: NDArray[np.float64], raw: NDArray[np.float64] | None = None, raw_first_sample: int = 0,
                   sample_rate: int = 0, decided_at_s: float = 0.0, step_due: bool = True) -> bool:
    """Whether a candidate starting at a known tick (``tick_before_s`` before it to
    ``tick_alone_s`` after it) is the tick alone, the runner off the beat: it brings no more than
    the ticks heard alone do (:func:`_no_more_than_tick`), or, where no step is due (``step_due``:
    the tracker predicts none under the tick), the lone ticks' waveform explains it (``TICK_WAVE``:
    in ``raw``, which starts at sample ``raw_first_sample``, up to ``decided_at_s``). A candidate on
    a tick heard alone (:func:`_lone_tick`) teaches the ticks' per-band jumps and waveform first."""
    lone = on_tick and _lone_tick(state, onset_s, params.lone_tick_fraction)
    # what the stream holds when the candidate is decided (none after it: streamed == offline)
    held = raw if raw is None else raw[: max(0, int(round(decided_at_s * sample_rate)) - raw_first_sample)]
    if lone:
        _learn_tick(state, params, peaks_db)
        if TICK_WAVE and held is not None:
            _learn_tick_wave(state, params, held, raw_first_sample, sample_rate,
                             tick_near(tick_times_s, onset_s, before_s=params.tick_before_s, after_s=params.tick_after_s))
    tick_s = tick_near(tick_times_s, onset_s, before_s=params.tick_before_s, after_s=params.tick_alone_s)
    if tick_s is None or _in_sync(state, params):
        return False
    if _no_more_than_tick(state, params, peaks_db, w):
        return True
    return (TICK_WAVE and not step_due and held is not None and state.tick_wave is not None
            and state.n_tick_waves >= params.lone_ticks_after
            and ticks.residual_fraction(held, raw_first_sample, tick_s, sample_rate, state.tick_wave) < TICK_WAVE_LEFT)


# A candidate on a known tick, off the beat, where the tracker predicts no step, that the ticks'
# own waveform explains -- the lone ticks' mean waveform subtracted, it leaves less than
# TICK_WAVE_LEFT of the energy (stepdetect.ticks.residual_fraction) -- is the tick alone: a step
# under it would leave its own sound. The band jumps (tick_excess_db) miss such a tick where the
# decay of a step before it, or the step's own onset just after, lifts them. Not where a step is
# due: a soft onset (a shower step's first 25 ms under a beep) leaves no more than a lone tick's
# spread does. Dev metronome-off: 9 firings, all at ticks with no step within 25 ms (session 19).
TICK_WAVE = True
TICK_WAVE_LEFT = 0.1


def _learn_tick_wave(state: PickerState, params: PickParams, raw: NDArray[np.float64], raw_first_sample: int,
                     sample_rate: int, tick_s: float | None) -> None:
    """Fold a lone tick's waveform into the tick's mean waveform."""
    if tick_s is None:
        return
    seg = ticks.wave_at(raw, raw_first_sample, tick_s, sample_rate)
    if seg is None:
        return
    if state.tick_wave is None or state.tick_wave.size != seg.size:
        state.tick_wave, state.n_tick_waves = seg.copy(), 1
        return
    state.n_tick_waves += 1
    state.tick_wave += (seg - state.tick_wave) * max(params.weight_memory, 1.0 / state.n_tick_waves)


def _lone_tick(state: PickerState, onset_s: float, fraction: float) -> bool:
    """Whether a candidate on a known tick at ``onset_s`` is the tick heard alone: the tracker is
    locked, the runner is off the beat (at most a quarter of the recent footfalls on known
    ticks) and the tick falls between its last footfall and its next prediction, ``fraction`` of
    the period or more from both."""
    tracker = state.tracker
    if not tracker.locked or len(state.on_tick) < 4 or 4 * sum(state.on_tick) > len(state.on_tick):
        return False
    far_s = fraction * tracker.period_s
    return tracker.last_step_s + far_s <= onset_s <= tracker.predicted_next_s - far_s


def _learn_tick(state: PickerState, params: PickParams, peaks_db: NDArray[np.float64]) -> None:
    """Fold a lone tick's per-band jumps into the tick profile."""
    state.n_lone_ticks += 1
    a = 1.0 if state.n_lone_ticks == 1 else params.weight_memory
    if state.n_lone_ticks > 1:
        state.tick_dev_db += (np.abs(peaks_db - state.tick_db) - state.tick_dev_db) * (1.0 if state.n_lone_ticks == 2 else a)
    state.tick_db += (peaks_db - state.tick_db) * a


def _off_prediction_s(state: PickerState, params: PickParams, onset_s: float) -> float:
    """How far ``onset_s`` is from the next footfall the tracker predicts while the runner is off
    the beat and the tracker locked (``inf`` otherwise): a step is due on a tick within
    ``tick_step_window_fraction`` of the period of it."""
    tracker = state.tracker
    if not tracker.locked or _in_sync(state, params):
        return math.inf
    return abs(onset_s - tracker.predicted_next_s)


def _brings_a_step(state: PickerState, params: PickParams, peaks_db: NDArray[np.float64],
                   w: NDArray[np.float64], *, near: bool) -> bool:
    """Whether a candidate on a known tick where a step is due brings enough more than the ticks
    heard alone to be the step under the tick: ``tick_step_excess_db``, or ``tick_excess_db`` when
    ``near`` (within ``tick_step_near_fraction`` of the period of the prediction)."""
    return _tick_excess_db(state, params, peaks_db, w) >= (params.tick_excess_db if near else params.tick_step_excess_db)


def _after_masked_step(state: PickerState, params: PickParams, onset_s: float, snr_db: float, *,
                       on_tick: bool) -> bool:
    """Whether a candidate is a weaker sound ``masked_from_s`` to ``masked_after_s`` after a
    candidate the tick tests rejected where a step was due (``PickParams.masked_*``): the step
    may have been under that tick, and this its later crunch."""
    return (not on_tick and params.masked_from_s <= onset_s - state.masked_s <= params.masked_after_s
            and len(state.strengths_db) >= 4
            and snr_db < _percentile(state.strengths_db, 50.0) - params.masked_margin_db)


def _tick_excess_db(state: PickerState, params: PickParams, peaks_db: NDArray[np.float64],
                    w: NDArray[np.float64]) -> float:
    """How much more than the ticks heard alone usually do (their mean jump plus ``tick_spread``
    x their mean deviation, per band) a candidate on a known tick brings, weighted by the
    footfall bands ``w``; 0 until ``lone_ticks_after`` lone ticks taught the profile."""
    if state.n_lone_ticks < params.lone_ticks_after:
        return 0.0
    usual = state.tick_db + params.tick_spread * state.tick_dev_db
    return float(np.dot(w, np.maximum(peaks_db - usual, 0.0)))


def _no_more_than_tick(state: PickerState, params: PickParams, peaks_db: NDArray[np.float64],
                       w: NDArray[np.float64]) -> bool:
    """Whether a candidate on a known tick brings, weighted by the footfall bands ``w``, less than
    ``tick_excess_db`` more than the ticks heard alone usually do (their mean jump plus
    ``tick_spread`` x their mean deviation, per band): the tick, no footfall under it."""
    return state.n_lone_ticks >= params.lone_ticks_after and _tick_excess_db(state, params, peaks_db, w) < params.tick_excess_db


# In sync, a runner on the beat with a wandering asynchrony steps 25-40 ms after some ticks: the
# tick, as loud as a step, made the candidate and the footfall was dated at it; the step's own
# candidate came STEP_AFTER_TICK_S after the tick and the tracker merged it into that footfall as its
# toe (the step lost, the tick reported 25-40 ms early: dev metronome-steady, tick times known).
# Such a candidate, merged into a footfall dated at a known tick (within PickParams.tick_at_s), that
# jumps STEP_AFTER_TICK_DB more than that footfall did in some band (the step's own bands: a thump, a
# crunch under the beep) and is about as strong as the footfalls (at most STEP_AFTER_TICK_MARGIN_DB
# under their median weighted jump: a toe or the second part of a crunch is weaker) is the step:
# online.StepDetector reports it (Pick.step_after_tick). The tick's report stays (a report is final).
# Dev (benchmarks/FOOTFALL_PASSES.md, session 16): metronome-steady mean F1 0.882 -> 0.892, failing
# 61 -> 61, none newly failing; metronome-on in-ear shower 1.000 -> 0.989 the only other item moved.
STEP_AFTER_TICK_S = (0.025, 0.040)
STEP_AFTER_TICK_DB = 8.0
STEP_AFTER_TICK_MARGIN_DB = 10.0


def _step_after_tick(state: PickerState, params: PickParams, onset_s: float, peaks_db: NDArray[np.float64],
                     snr_db: float, tick_times_s: NDArray[np.float64] | None) -> bool:
    """Whether a candidate at ``onset_s`` (per-band jumps ``peaks_db``, weighted jump ``snr_db``) that
    its tracker merged into the last footfall is the runner's step after the known tick that footfall
    was dated at, the runner in sync (``STEP_AFTER_TICK_*``)."""
    last = state.last_step
    if last is None or last[0] != state.tracker.last_step_s or not _in_sync(state, params):
        return False
    tick_s = tick_near(tick_times_s, last[0], before_s=params.tick_at_s, after_s=params.tick_at_s)
    if tick_s is None or not STEP_AFTER_TICK_S[0] <= onset_s - tick_s <= STEP_AFTER_TICK_S[1]:
        return False
    return (bool(np.max(peaks_db - last[1]) >= STEP_AFTER_TICK_DB)
            and snr_db >= _percentile(state.strengths_db, 50.0) - STEP_AFTER_TICK_MARGIN_DB)


def _confidence(params: PickParams, snr_db: float, d: Decision) -> float:
    """0-1: half the strength above ``min_snr_db`` (10 dB: full), half the tracker's confidence."""
    snr_term = min(1.0, max(0.0, (snr_db - params.min_snr_db) / 10.0))
    return round(0.5 * snr_term + 0.5 * (d.confidence if d.rhythmic else min(1.0, 2 * d.confidence)), 3)


def _min_snr_db(state: PickerState, params: PickParams, frame: int, frame_s: float) -> float:
    """The strength a candidate at absolute ``frame`` needs to be reported: higher, relaxing
    with time, until the rhythm is found (breath, rustle, ticks before the first steps)."""
    min_snr_db = params.min_snr_db
    if state.tracker.n_rhythmic == 0:  # bootstrap: breath, rustle, ticks before the rhythm is found
        min_snr_db = max(min_snr_db, params.bootstrap_floor_db,
                         params.bootstrap_snr_db - params.bootstrap_relax_db_per_s * frame * frame_s)
    return min_snr_db


def tick_near(tick_times_s: NDArray[np.float64] | None, onset_s: float, *, before_s: float,
              after_s: float) -> float | None:
    """The first known tick (sorted times) an onset starts within ``[-before_s, +after_s]`` of,
    or None."""
    if tick_times_s is None or not tick_times_s.size:
        return None
    t = int(np.searchsorted(tick_times_s, onset_s - after_s))
    return float(tick_times_s[t]) if t < tick_times_s.size and tick_times_s[t] <= onset_s + before_s else None


def near_tick(tick_times_s: NDArray[np.float64] | None, onset_s: float, *, before_s: float, after_s: float) -> bool:
    """Whether an onset starts within ``[-before_s, +after_s]`` of a known tick (sorted times).
    Shared by both pickers."""
    return tick_near(tick_times_s, onset_s, before_s=before_s, after_s=after_s) is not None


IN_SYNC_MIN_TICKS = 3
IN_SYNC_MIN_FOOTFALLS = 4  # in_sync judges no fewer recent footfalls


def in_sync(on_tick: deque, fraction: float) -> bool:
    """Whether the runner is in sync: at least ``fraction`` of the recent footfalls (4 or more)
    landed on known ticks, and at least ``IN_SYNC_MIN_TICKS`` of them or two in a row. A runner in
    sync steps on one tick after another; footfalls alternating between a tick and a step are a
    path that hears the ticks of a metronome the runner is off (it starts before the run, its ticks
    drift through the steps): half of four footfalls on ticks used to read as in sync, the ticks
    were then exempt from the tick tests and the rhythm locked on them (dev metronome-off dirt &
    rocks phone, HFP 16 kHz, in-ear, clipped 0.81-0.93 -> 0.93-1.00). Shared by both pickers."""
    n = sum(on_tick)
    if len(on_tick) < IN_SYNC_MIN_FOOTFALLS or n < fraction * len(on_tick):
        return False
    return n >= IN_SYNC_MIN_TICKS or any(a and b for a, b in zip(on_tick, list(on_tick)[1:]))


# A runner on the beat from the first step: the picker's first BEAT_STEPS footfalls on one known tick
# after the other, at least one of them BEAT_APART_S to BEAT_NEAR_S from its tick, count as in sync
# until a fourth footfall (in_sync needs four; meanwhile the next steps on their ticks were judged by
# the tick tests and rejected: dev metronome-on crunchy ice HFP 8 kHz 0.828 -> 0.898). A path hearing
# the ticks dates its footfalls at them; a step 27 ms after the tick of a metronome the runner is
# off (ticks 6 % faster, starting in phase) is no step on the beat (session 11, FOOTFALL_PASSES.md).
BEAT_STEPS = IN_SYNC_MIN_FOOTFALLS - 1  # the rule covers exactly the footfalls before in_sync can judge
BEAT_APART_S = 0.005
BEAT_NEAR_S = 0.020


def _note_beat(state: PickerState, params: PickParams, time_s: float, tick_times_s: NDArray[np.float64] | None, *,
               on_tick: bool) -> None:
    """Note one of the first ``BEAT_STEPS`` footfalls: the known tick it started on, the known tick
    before that one now, and how far from its tick it started (a footfall off the ticks: NaN ticks).
    Times, not indices: a stream is told its ticks a few at a time and drops the old ones, so a
    tick's index moves between footfalls (``StepDetector.add_ticks``)."""
    if len(state.beats) >= BEAT_STEPS:
        return
    tick_s = tick_near(tick_times_s, time_s, before_s=params.tick_before_s, after_s=params.tick_after_s)
    if not on_tick or tick_s is None or tick_times_s is None:
        state.beats.append((math.nan, math.nan, 0.0))
        return
    j = int(np.searchsorted(tick_times_s, tick_s))
    before_s = float(tick_times_s[j - 1]) if j > 0 else math.nan
    state.beats.append((tick_s, before_s, time_s - tick_s))


def _on_the_beat_from_the_start(state: PickerState) -> bool:
    """Whether the first ``BEAT_STEPS`` footfalls (and no more yet) started on one known tick after the
    other (each one's tick the known tick right after the previous one's, as the stream knew them
    then: ticks are dropped oldest first, so the one before stays known while it matters), each at
    most ``BEAT_NEAR_S`` from its tick and at least one ``BEAT_APART_S`` or more: a runner on the beat
    from the first step (a path hearing the ticks dates its footfalls at them; a runner steps around
    them)."""
    if len(state.on_tick) != BEAT_STEPS or len(state.beats) != BEAT_STEPS:
        return False
    offsets = [abs(off) for _, _, off in state.beats]
    return (all(not math.isnan(t) for t, _, _ in state.beats)
            and all(before_s == tick_s for (tick_s, _, _), (_, before_s, _) in zip(state.beats, state.beats[1:]))
            and BEAT_APART_S <= max(offsets) <= BEAT_NEAR_S)


def _in_sync(state: PickerState, params: PickParams) -> bool:
    """The runner in sync with the ticks (:func:`in_sync`), or on the beat from the first step."""
    return in_sync(state.on_tick, params.in_sync_fraction) or _on_the_beat_from_the_start(state)


def _is_tick(state: PickerState, params: PickParams, onset_s: float, *, on_tick: bool, leaky: bool,
             low_peak_db: float, raw: NDArray[np.float64] | None, raw_first_sample: int, sample_rate: int,
             decided_at_s: float) -> bool:
    """Whether a candidate is a metronome tick, not a footfall: tonal high-band partials with no
    thump under them (unless in sync on a known tick), or, on a known tick while not in sync, a
    thump-band peak well below the recent footfalls'. The tonal test reads the input from the onset
    on, but none after ``decided_at_s``: a stream has no more yet, and offline must see the same."""
    sync = _in_sync(state, params)
    have_ref = len(state.strengths_db) >= 3
    if leaky and not (on_tick and sync and have_ref) and raw is not None:
        a = int(round(onset_s * sample_rate)) - raw_first_sample
        end = min(max(0, a) + int(params.tonal_window_s * sample_rate),
                  int(round(decided_at_s * sample_rate)) - raw_first_sample)
        seg = raw[max(0, a): max(0, end)]
        if tonal_flatness(seg, sample_rate) < params.max_tonal_flatness:
            return True  # a tick (high-band partials, no thump under it)
    if on_tick and not sync and have_ref:  # a tick that leaks into the thump band is quieter there
        if low_peak_db < _percentile(state.low_peaks_db, 75.0) - params.tick_relative_db:
            return True
    return False
