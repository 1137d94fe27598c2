"""The streaming footfall detector and its offline twin (the same code over the whole file).

Detection delay: a footfall is reported when ``PickParams.peak_window_s`` (20 ms) of audio
after the frame where its low-band level starts to rise has been processed, i.e. about 22 ms
after the contact (plus however long the caller waits to pass the block in). Each report
carries ``decided_at_s``, the stream time of the last sample it needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stepdetect import features
from stepdetect.peaks import PickerState, PickParams, pick_footfalls
from stepdetect.validate import ParameterError, validate_audio, validate_events

HISTORY_S = 0.25  # feature frames kept between blocks (>= look-back + look-ahead)
ONSET_BIAS_S = 0.0030  # filter/smoothing delay of the onset estimate, measured on synthetic thumps
_MAX_TICKS = 4096
_FRAME_FIELDS = ("level_db", "floor_db", "background_db", "flux_db", "high_db")


@dataclass(frozen=True)
class Footfalls:
    """Footfalls found by one call, in time order (all arrays have the same length)."""

    time_s: NDArray[np.float64]  # contact instant, s from the stream start
    confidence: NDArray[np.float64]  # 0-1
    peak_db: NDArray[np.float64]  # low-band peak level, dB (relative)
    decided_at_s: NDArray[np.float64]  # stream time of the last sample the decision needed

    def __len__(self) -> int:
        return int(self.time_s.size)

    @classmethod
    def empty(cls) -> "Footfalls":
        z = np.zeros(0)
        return cls(z, z, z, z)

    @classmethod
    def concat(cls, parts: list["Footfalls"]) -> "Footfalls":
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                     ("time_s", "confidence", "peak_db", "decided_at_s")))


class StepDetector:
    """Causal footfall detector: feed blocks of any size, get each footfall ~22 ms after it.

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

    def __init__(self, *, sample_rate: int, params: PickParams | None = None) -> None:
        self.sample_rate = int(sample_rate)
        base = params or PickParams()
        if base.onset_bias_s == 0.0:
            base = PickParams(**{**base.__dict__, "onset_bias_s": ONSET_BIAS_S})
        self.params = base
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
        self._picker = PickerState()
        self._picker.peak_levels_db = type(self._picker.peak_levels_db)(maxlen=self.params.n_reference)
        empty = np.zeros(0)
        self._hist = features.Frames(0, empty, empty, empty, empty, empty)
        self._ticks_s = np.zeros(0)

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
        frames, self._features = features.footfall_features(block, state=self._features)
        if frames.level_db.size == 0:
            return Footfalls.empty()
        h = self._hist
        hist = features.Frames(
            h.first_frame, *(np.concatenate((getattr(h, f), getattr(frames, f))) for f in _FRAME_FIELDS)
        )
        ticks = self._ticks_s if self._ticks_s.size else None
        picks = pick_footfalls(hist, frame_s=self.frame_s, params=self.params, state=self._picker,
                               tick_times_s=ticks)
        drop = max(0, hist.level_db.size - self._history_frames)
        self._hist = features.Frames(
            hist.first_frame + drop, *(getattr(hist, f)[drop:].copy() for f in _FRAME_FIELDS)
        )
        if not picks:
            return Footfalls.empty()
        return Footfalls(
            np.array([p.time_s for p in picks]),
            np.array([p.confidence for p in picks]),
            np.array([p.peak_db for p in picks]),
            np.array([p.decided_at_s for p in picks]),
        )


def detect_footfalls(
    y: NDArray[np.floating],
    *,
    sample_rate: int,
    tick_times_s: NDArray[np.float64] | None = None,
    params: PickParams | None = None,
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

    Returns
    -------
    Footfalls
    """
    y = validate_audio(y)
    if y.shape[0] == 0:
        raise ParameterError("audio is empty (0 samples)")
    detector = StepDetector(sample_rate=sample_rate, params=params)
    if tick_times_s is not None:
        detector.add_ticks(tick_times_s)
    return detector.process_block(y)
