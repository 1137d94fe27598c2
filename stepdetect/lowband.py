"""The heel-thump path: causal peak picking on the 30-250 Hz band alone (the detector of the
synthetic-thump era, kept as one of the two paths :class:`stepdetect.online.StepDetector`
arbitrates between by rhythm: where the body-conducted thump reaches the microphone it is the
most precise and the hardest to fool).


A *candidate* is a frame where ``flux_db`` (the rise of the low-band level over 10 ms) crosses
``LowBandParams.flux_db`` upward. It is decided once ``peak_window_s`` of frames after it exist
(that, plus the frame, is the detection delay):

* its peak level must stand ``min_snr_db`` above the noise floor and the local background
  (until a reference level exists, ``bootstrap_snr_db``, relaxing by
  ``bootstrap_relax_db_per_s`` towards ``min_snr_db``), and reach ``min_peak_db`` (band
  energy re full scale; quieter is microphone self-noise, not a footfall);
* its mean energy over the ``peak_window_s`` look-ahead must stand ``min_sustain_db`` above
  that background too: a heel thump fills the window, while wind rumble's envelope (a noise a
  hundred-odd Hz wide) throws 7-10 dB peaks only ~10 ms long -- gusty wind alone made ~12
  "footfalls" in 16 s, ~1 with this test;
* its peak must not be more than ``max_leak_db`` below the energy that varies within a frame
  (> ~500 Hz) at the same time: a metronome tick leaks about 35-45 dB below itself into the
  low band, a heel thump is well above its own contact burst, and a thump under a tick is
  still within ~25 dB of it -- so ticks are not steps even when nobody said when they sounded;
* it must not fall inside the refractory period after the previous footfall (a forefoot slap
  25-60 ms after the heel, a belt bounce, an echo), which is ``refractory_fraction`` of the
  recent step interval, clipped to ``[min_interval_s, max_refractory_s]``;
* once three candidates have passed the tests above, its peak must be within ``relative_db``
  of the upper quartile (``reference_percentile``) of the peaks of the last ``n_reference``
  such candidates (kick drums leaking from earbuds, breath, taps are quieter than the
  body-conducted thump, and footfalls are most of the candidates while running). The reference
  relaxes by ``ref_decay_db_per_s`` once nothing has been accepted for ``ref_decay_after_s``,
  and a footfall accepted only thanks to that relaxation restarts the reference at its level,
  so a sudden drop in level (phone moved, gain change) costs a few footfalls, not seconds;
* if the caller said when metronome ticks were played, a candidate starting within
  ``[-tick_before_s, +tick_after_s]`` of a tick is judged by whether the runner is *in sync*
  (at least ``in_sync_fraction`` of the last 8 footfalls landed on known ticks, three of them
  or two in a row). In sync, a
  candidate on a tick is most likely the next footfall: it is exempt from the leak test (the
  high-band energy is the tick it sits under, even a tick far louder than the thump) and needs
  the usual ``relative_db`` of the reference, so the quieter foot of a runner on the beat is
  kept. Not in sync, it must be within ``tick_relative_db`` of the reference (a tick that leaks
  into the low band is rejected); rejected tick-time candidates do not feed the reference.
  Before a reference exists (the first three candidates, about one second of running) tick
  times cannot be used and candidates are judged as in a recording without them.

The footfall time is where the level first climbs to ``onset_drop_db`` below the peak,
interpolated between frames, minus the constant delay of the filters (``onset_bias_s``).
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from stepdetect.features import Frames
from stepdetect.peaks import (Candidates, Pick, _percentile, candidate_frames, in_sync, near_tick, onset_frame,
                              windows_at)


@dataclass(frozen=True)
class LowBandParams:
    """Thresholds of the footfall picker (dB, seconds)."""

    flux_db: float = 5.0
    min_snr_db: float = 7.0
    min_sustain_db: float = 5.0
    min_peak_db: float = -55.0
    reference_percentile: float = 75.0
    bootstrap_snr_db: float = 14.0
    bootstrap_relax_db_per_s: float = 6.0
    peak_window_s: float = 0.030
    onset_drop_db: float = 10.0
    onset_lookback_s: float = 0.030
    relative_db: float = 10.0
    ref_decay_db_per_s: float = 10.0
    ref_decay_after_s: float = 0.5
    n_reference: int = 16
    refractory_fraction: float = 0.5
    min_interval_s: float = 0.15
    max_refractory_s: float = 0.25
    max_leak_db: float = 25.0
    override_db: float = 5.0
    override_after_s: float = 0.070
    tick_relative_db: float = 6.0
    in_sync_fraction: float = 0.5
    tick_before_s: float = 0.010
    tick_after_s: float = 0.030
    onset_bias_s: float = 0.0030  # filter/smoothing delay of the onset estimate, measured on synthetic thumps


@dataclass
class LowBandState:
    """What the picker remembers between blocks."""

    scan_frame: int = 1
    bootstrap_from_s: float = 0.0
    last_peak_db: float = np.inf
    last_onset_s: float = -np.inf
    last_accept_s: float = -np.inf
    peak_levels_db: deque = field(default_factory=lambda: deque(maxlen=LowBandParams.n_reference))
    intervals_s: deque = field(default_factory=lambda: deque(maxlen=8))
    on_tick: deque = field(default_factory=lambda: deque(maxlen=8))  # recent footfalls: on a known tick?


def pick_footfalls(
    frames: Frames,
    *,
    frame_s: float,
    params: LowBandParams,
    state: LowBandState,
    tick_times_s: NDArray[np.float64] | None = None,
) -> list[Pick]:
    """Decide every candidate of the thump band whose look-ahead is complete in ``frames``:
    the contract of :func:`stepdetect.peaks.pick_footfalls` (``state`` updated in place, picks
    in time order), on ``flux_db`` / ``level_db`` alone."""
    first = frames.first_frame
    found = candidate_frames(frames.flux_db, params.flux_db, first_frame=first, scan_frame=state.scan_frame,
                             frame_s=frame_s, peak_window_s=params.peak_window_s,
                             onset_lookback_s=params.onset_lookback_s)
    if found is None:
        return []
    picks: list[Pick] = []
    level = frames.level_db
    look, back = found.look, found.back
    up, peak_pos, snr_all, leaky_all = _preselect(frames, found, frame_s=frame_s, params=params,
                                                  tick_times_s=tick_times_s)
    for n_cand, i in enumerate(up):
        p = int(peak_pos[n_cand])
        peak_db = float(level[p])
        snr_db = float(snr_all[n_cand])
        have_ref = len(state.peak_levels_db) >= 3
        min_snr_db = params.min_snr_db
        if not have_ref:  # bootstrap: stricter at first, relaxing while nothing is found
            min_snr_db = max(min_snr_db, params.bootstrap_snr_db - params.bootstrap_relax_db_per_s * (
                (first + i) * frame_s - state.bootstrap_from_s))
        if snr_db < min_snr_db:
            continue
        # Onset: walk back from the peak to the last frame below peak - onset_drop_db.
        k = onset_frame(level, p, stop=max(0, i - back), target=peak_db - params.onset_drop_db)
        onset_s = max(0.0, (first + k + 1.0) * frame_s - params.onset_bias_s)
        if _in_refractory(state, params, onset_s, peak_db):
            continue
        on_tick = near_tick(tick_times_s, onset_s, before_s=params.tick_before_s, after_s=params.tick_after_s)
        # The runner is in sync when most recent footfalls landed on known ticks: then a
        # candidate on a tick is most likely the next footfall, not the tick.
        sync = in_sync(state.on_tick, params.in_sync_fraction)
        if leaky_all[n_cand] and not (on_tick and sync and have_ref):
            continue  # high-band energy that no known tick of an in-sync runner explains
        rel_term = _relative_term(state, params, onset_s, peak_db, on_tick=on_tick, sync=sync) if have_ref else 1.0
        if rel_term is None:
            continue
        state.peak_levels_db.append(peak_db)
        snr_term = min(1.0, max(0.0, (snr_db - params.min_snr_db) / 10.0))
        confidence = round(0.5 * snr_term + 0.5 * rel_term, 3)
        if np.isfinite(state.last_onset_s):
            state.intervals_s.append(onset_s - state.last_onset_s)
        state.last_onset_s = onset_s
        state.last_accept_s = onset_s
        state.on_tick.append(on_tick)
        state.last_peak_db = peak_db
        picks.append(Pick(onset_s, confidence, peak_db, (first + i + look + 1) * frame_s, on_tick=on_tick,
                          in_sync=in_sync(state.on_tick, params.in_sync_fraction)))
    state.scan_frame = found.last_decidable + 1
    return picks


def _preselect(frames: Frames, found: Candidates, *, frame_s: float, params: LowBandParams,
               tick_times_s: NDArray[np.float64] | None) -> tuple[NDArray[np.intp], NDArray[np.intp],
                                                                 NDArray[np.float64], NDArray[np.bool_]]:
    """Vectorised pre-selection with the tests that need no state: the candidates that pass
    (frames), their peak frames, their peak above the floor and background (dB) and whether
    the energy that varies within a frame is ``max_leak_db`` above their peak (a tick?).
    Their peak and their mean energy over the window must both stand out (see the module)."""
    up, look = found.up, found.look
    if not up.size:
        return up, up, np.zeros(0), np.zeros(0, dtype=bool)
    windows = windows_at(frames.level_db, look + 1, up)
    peak_all = windows.max(axis=1)
    high_all = windows_at(frames.high_db, look + 1, up).max(axis=1)
    bg_all = np.maximum(frames.floor_db[up], frames.background_db[np.maximum(up - 2, 0)])
    leaky_all = high_all - peak_all > params.max_leak_db
    near_all = np.zeros(up.size, dtype=bool)
    if tick_times_s is not None and tick_times_s.size:
        approx_s = (frames.first_frame + up + 1.0) * frame_s  # the onset lies at most onset_lookback_s before
        j = np.searchsorted(tick_times_s, approx_s - params.onset_lookback_s - params.tick_after_s)
        near_all = (j < tick_times_s.size) & (
            tick_times_s[np.minimum(j, tick_times_s.size - 1)] <= approx_s + params.tick_before_s)
    sustain_all = 10.0 * np.log10(np.mean(10.0 ** (0.1 * windows), axis=1))
    keep = ((peak_all - bg_all >= params.min_snr_db) & (sustain_all - bg_all >= params.min_sustain_db) & (peak_all >= params.min_peak_db)
            & (~leaky_all | near_all))
    return up[keep], up[keep] + windows[keep].argmax(axis=1), (peak_all - bg_all)[keep], leaky_all[keep]


def _in_refractory(state: LowBandState, params: LowBandParams, onset_s: float, peak_db: float) -> bool:
    """Whether an onset falls inside the refractory period after the last footfall (and is not
    ``override_db`` louder than it, ``override_after_s`` on)."""
    refractory_s = params.min_interval_s
    if state.intervals_s:
        refractory_s = min(max(params.refractory_fraction * statistics.median(state.intervals_s),
                               params.min_interval_s), params.max_refractory_s)
    since_s = onset_s - state.last_onset_s
    return since_s < refractory_s and not (
        since_s >= params.override_after_s and peak_db >= state.last_peak_db + params.override_db
    )


def _relative_term(state: LowBandState, params: LowBandParams, onset_s: float, peak_db: float, *,
                   on_tick: bool, sync: bool) -> float | None:
    """Against the reference level (which decays while nothing is accepted): None when the
    peak is too far below it, else the confidence term (0-1). Updates the reference: a
    rejected candidate off the ticks shapes it, one accepted only thanks to the decay
    restarts it."""
    decay_db = params.ref_decay_db_per_s * max(0.0, onset_s - state.last_accept_s - params.ref_decay_after_s)
    ref_db = _percentile(state.peak_levels_db, params.reference_percentile) - decay_db
    margin_db = params.tick_relative_db if on_tick and not sync else params.relative_db
    if peak_db < ref_db - margin_db:
        if not on_tick:
            state.peak_levels_db.append(peak_db)  # plausible candidates shape the reference
        return None
    rel_term = min(1.0, max(0.0, 1.0 - (ref_db - peak_db) / params.relative_db))
    if peak_db < ref_db + decay_db - margin_db:
        state.peak_levels_db.clear()  # accepted only thanks to the decay: a new level regime
        state.peak_levels_db.extend([peak_db] * 2)
    return rel_term
