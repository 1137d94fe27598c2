"""The streaming footfall detector and its offline twin (the same code over the whole file).

Detection delay: a footfall is reported when ``PickParams.peak_window_s`` (30 ms) of audio
after the frame where its low-band level starts to rise has been processed: at most 41 ms
after the true contact in the benchmark, medians 16-33 ms (``detection_delay_s`` = 32 ms
nominal), plus however long the caller waits to pass the block in. Each report carries
``decided_at_s``, the stream time of the last sample the decision needed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stepdetect import features
from stepdetect import lowband
from stepdetect.lowband import LowBandParams, LowBandState
from stepdetect.peaks import Pick, PickerState, PickParams, band_weights, pick_footfalls
from stepdetect.tracker import StepTracker
from stepdetect.validate import ParameterError, validate_audio, validate_events

HISTORY_S = 0.25  # feature frames kept between blocks (>= look-back + look-ahead)
_MAX_TICKS = 4096
ARBITRATION_S = 4.0  # the paths are compared on their rhythmic footfalls over this long ...
SWITCH_MARGIN_STEPS = 3  # ... and the other path is reported once it has this many more
SWITCH_RATIO = 1.5  # ... and this many times as many
MIN_DWELL_S = 2.0  # a path is reported at least this long
MERGE_ACROSS_S = 0.15  # after a switch, a footfall this close to the last one reported is the same
_FRAME_FIELDS = ("level_db", "floor_db", "background_db", "flux_db", "high_db", "bands_level_db", "bands_db",
                 "odf_db")


@dataclass(frozen=True)
class Footfalls:
    """Footfalls found by one call, in time order (all arrays have the same length)."""

    time_s: NDArray[np.float64]  # contact instant, s from the stream start
    confidence: NDArray[np.float64]  # 0-1
    peak_db: NDArray[np.float64]  # peak level of the footfall's dominant band, dB (relative)
    decided_at_s: NDArray[np.float64]  # stream time of the last sample the decision needed
    rhythmic: NDArray[np.bool_] | None = None  # accepted on the tracked rhythm (not provisionally)

    def __len__(self) -> int:
        return int(self.time_s.size)

    @classmethod
    def empty(cls) -> "Footfalls":
        z = np.zeros(0)
        return cls(z, z, z, z, np.zeros(0, dtype=bool))

    @classmethod
    def concat(cls, parts: list["Footfalls"]) -> "Footfalls":
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                     ("time_s", "confidence", "peak_db", "decided_at_s", "rhythmic")))


class StepDetector:
    """Causal footfall detector: feed blocks of any size, get each footfall ~30 ms after it.

    Parameters
    ----------
    sample_rate : int, 4000-384000
        Hz.
    params : PickParams, optional
        Picker thresholds; the defaults are the evaluated ones.

    Notes
    -----
    Per block the work is bounded by the block length plus a fixed history of
    ``HISTORY_S`` of feature frames; all filter state is carried, so
    ``process_block`` over any split of a signal returns exactly the footfalls of one call
    over the whole signal.
    """

    def __init__(self, *, sample_rate: int, params: PickParams | None = None,
                 low_params: LowBandParams | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.params = params or PickParams()
        self.low_params = low_params or LowBandParams()
        self.frame_s = features.frame_period_s(self.sample_rate)
        self._history_frames = int(np.ceil(HISTORY_S / self.frame_s))
        self.reset()

    @property
    def detection_delay_s(self) -> float:
        """Audio needed after the rise of a footfall before it is reported, in seconds."""
        return self.params.peak_window_s + 2 * self.frame_s

    def reset(self) -> None:
        """Forget everything: the next block starts a new stream at time 0."""
        self._features = features.new_state(self.sample_rate)
        self._picker = PickerState(tracker=StepTracker(self.params.tracker))
        self._low = LowBandState()
        self._low.peak_levels_db = type(self._low.peak_levels_db)(maxlen=self.low_params.n_reference)
        self._low_tracker = StepTracker(self.params.tracker)  # the rhythm of the thump path's footfalls
        self._active = "thump"  # which path is reported
        self._recent: dict[str, deque] = {"thump": deque(), "bands": deque()}  # tracked footfalls, last ARBITRATION_S
        self._last_out_s = -np.inf
        self._last_switch_s = 0.0
        self._low_tracker_last = 0.0
        self._last_out_path = "thump"
        self._present = features.bands_present(self.sample_rate)
        empty = np.zeros(0)
        eb = np.zeros((0, features.N_BANDS))
        self._hist = features.Frames(0, empty, empty, empty, empty, empty, eb, eb, empty)
        self._raw = empty
        self._ticks_s = np.zeros(0)

    @property
    def path(self) -> str:
        """The path being reported: ``"thump"`` (30-250 Hz alone) or ``"bands"`` (all bands, weighted)."""
        return self._active

    @property
    def bands(self) -> list[dict]:
        """The bands the reported footfalls come from and their current weights."""
        if self._active == "thump":
            return [{"band": features.BAND_NAMES[0], "weight": 1.0}]
        w = band_weights(self._picker, self._present)
        return [{"band": name, "weight": round(float(w[b]), 3)}
                for b, name in enumerate(features.BAND_NAMES) if self._present[b]]

    @property
    def rhythm_salience(self) -> float:
        """Share of the candidates' strength that fell on the tracked rhythm (see StepTracker)."""
        tracker = self._low_tracker if self._active == "thump" else self._picker.tracker
        return tracker.rhythm_salience

    def _arbitrate(self, low: list[Pick], multi: list[Pick]) -> list[tuple[Pick, bool]]:
        """Both paths' footfalls in decision order; report the active path's, and switch paths
        when the other one has clearly more footfalls its rhythm tracker accepts over the last ARBITRATION_S."""
        events = sorted([(p.decided_at_s, 0, p) for p in low] + [(p.decided_at_s, 1, p) for p in multi],
                        key=lambda e: (e[0], e[1]))
        out: list[tuple[Pick, bool]] = []
        for now_s, which, pick in events:
            name = "thump" if which == 0 else "bands"
            if which == 0:
                d = self._low_tracker.push(max(pick.time_s, self._low_tracker_last), 10.0 ** (pick.peak_db / 30.0))
                self._low_tracker_last = max(pick.time_s, self._low_tracker_last)
                rhythmic, counted = d.rhythmic, d.is_step
            else:
                rhythmic, counted = pick.rhythmic, True
            if counted:  # a footfall its path's rhythm tracker accepts
                self._recent[name].append(pick.time_s)
            for q in self._recent.values():
                while q and q[0] < now_s - ARBITRATION_S:
                    q.popleft()
            other = "bands" if self._active == "thump" else "thump"
            if (now_s - self._last_switch_s >= MIN_DWELL_S
                    and len(self._recent[other]) >= max(len(self._recent[self._active]) + SWITCH_MARGIN_STEPS,
                                                        SWITCH_RATIO * len(self._recent[self._active]))):
                self._active, self._last_switch_s = other, now_s
            if name == self._active and pick.time_s > self._last_out_s and (
                    name == self._last_out_path or pick.time_s >= self._last_out_s + MERGE_ACROSS_S):
                out.append((pick, rhythmic))
                self._last_out_s, self._last_out_path = pick.time_s, name
        return out

    def add_ticks(self, tick_times_s: NDArray[np.float64]) -> None:
        """Tell the detector when metronome ticks were (or will be) heard, in stream seconds.

        Ticks already older than the feature history are dropped; at most 4096 are kept.
        """
        ticks = validate_events(np.sort(np.asarray(tick_times_s, dtype=np.float64)), name="tick times")
        horizon_s = (self._hist.first_frame) * self.frame_s - 1.0
        merged = np.union1d(self._ticks_s[self._ticks_s >= horizon_s], ticks)
        self._ticks_s = merged[-_MAX_TICKS:]

    def process_block(self, block: NDArray[np.floating]) -> Footfalls:
        """Feed the next block; return the footfalls decided in it.

        Parameters
        ----------
        block : ndarray, shape (n_samples,) or (n_samples, channels)
            Float audio (scaled to -1..1), any length including 0. Not modified.

        Returns
        -------
        Footfalls
            New footfalls, times in seconds from the start of the stream.
        """
        validate_audio(block)
        mono = features.to_mono(block)
        raw_first = self._features.n_frames * features.hop_size(self.sample_rate) + self._features.pending.size
        frames, self._features = features.footfall_features(mono, state=self._features)
        raw = np.concatenate((self._raw, mono)) if self._raw.size else mono
        raw_first -= self._raw.size
        keep = int(HISTORY_S * self.sample_rate)
        self._raw = raw[-keep:].copy() if raw.size > keep else raw.copy()
        if frames.level_db.size == 0:
            return Footfalls.empty()
        h = self._hist
        hist = features.Frames(
            h.first_frame, *(np.concatenate((getattr(h, f), getattr(frames, f))) for f in _FRAME_FIELDS)
        )
        ticks = self._ticks_s if self._ticks_s.size else None
        multi = pick_footfalls(hist, frame_s=self.frame_s, params=self.params, state=self._picker,
                               present=self._present, tick_times_s=ticks, raw=raw, raw_first_sample=raw_first,
                               sample_rate=self.sample_rate)
        low = lowband.pick_footfalls(hist, frame_s=self.frame_s, params=self.low_params, state=self._low,
                                     tick_times_s=ticks)
        picks = self._arbitrate(low, multi)
        drop = max(0, hist.level_db.size - self._history_frames)
        self._hist = features.Frames(
            hist.first_frame + drop, *(getattr(hist, f)[drop:].copy() for f in _FRAME_FIELDS)
        )
        if not picks:
            return Footfalls.empty()
        return Footfalls(
            np.array([p.time_s for p, _ in picks]),
            np.array([p.confidence for p, _ in picks]),
            np.array([p.peak_db for p, _ in picks]),
            np.array([p.decided_at_s for p, _ in picks]),
            np.array([r for _, r in picks], dtype=bool),
        )


def detect_footfalls(
    y: NDArray[np.floating],
    *,
    sample_rate: int,
    tick_times_s: NDArray[np.float64] | None = None,
    params: PickParams | None = None,
    detector: StepDetector | None = None,
) -> Footfalls:
    """Offline footfall detection: :class:`StepDetector` over the whole signal at once.

    Parameters
    ----------
    y : ndarray, shape (n_samples,) or (n_samples, channels)
        Float audio, any sample rate from 4 kHz.
    sample_rate : int
        Hz.
    tick_times_s : array_like or None
        When metronome ticks were heard (s from the start), if known.
    params : PickParams, optional
    detector : StepDetector, optional
        A fresh detector to run (to read its ``bands`` and ``rhythm_salience`` afterwards);
        ``sample_rate``, ``tick_times_s`` and ``params`` then apply as it was made.

    Returns
    -------
    Footfalls
    """
    y = validate_audio(y)
    if y.shape[0] == 0:
        raise ParameterError("audio is empty (0 samples)")
    if detector is None:
        detector = StepDetector(sample_rate=sample_rate, params=params)
        if tick_times_s is not None:
            detector.add_ticks(tick_times_s)
    return detector.process_block(y)
