"""Footfall features: a small multi-band onset function (whitened per band) and the low-band
(heel-thump) envelope the tick logic relies on.

Everything here is a pure function of its input and an explicit, returned state, so the
streaming detector and the offline analysis run the *same* code: feeding a signal in blocks
of any size gives bit-identical frames to feeding it at once.

Pipeline (per channel-mixed sample stream)::

    mono mixdown -> boxcar pool by ``decimation`` (to ~4 kHz) -> Butterworth low-pass
    250 Hz (4th order) + high-pass 30 Hz (2nd order) (heel thump; removes DC, most wind infrasound, breathing, ticks > 800 Hz)
    -> envelope energy (in-phase^2 + scaled first difference^2, nearly ripple-free for 40-160 Hz)
    -> energy per frame of ``FRAME_DECIMATED`` pooled samples (~1 ms)
    -> fast one-pole smoothing (``level_db``) and slow smoothing + trailing minimum (``floor_db``)
    -> rise over ``FLUX_LAG_S`` (``flux_db``)

Multi-band onset function (``bands_db``, ``odf_db``): five roughly octave-wide, log-spaced bands
that any microphone fills with something -- the heel-thump band above (30-250 Hz), 250-700 Hz and
700-1800 Hz (Butterworth band-passes on the pooled signal), 2-4 kHz and above 4 kHz (the energy
that varies within one pooling run / half-run of the raw signal: a cheap high-pass that needs no
filtering at the input rate). A band the input rate cannot hold (above 4 kHz at 8 kHz) stays
empty. Per band: frame energy, one-pole smoothing, log; its own noise floor (slow smoothing +
trailing minimum); the level above that floor (``bands_db``: adaptive whitening -- a treadmill
hum, belt hiss or wind rumble raises its band's floor and is gone); its rise over ``FLUX_LAG_S``
counted from ``WHITE_MARGIN_DB`` above the floor and half-wave rectified; ``odf_db`` is the mean
rise over the bands the input rate holds. The picker weights the bands per session from the
rhythm of the footfalls.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

from stepdetect.validate import ParameterError, validate_sample_rate

FEATURE_RATE_HZ = 4000.0  # target rate after boxcar pooling (>= 4 kHz)
FRAME_DECIMATED = 4  # pooled samples per feature frame (~1 ms)
BAND_LOW_HZ = 30.0
BAND_HIGH_HZ = 250.0
LEVEL_TAU_S = 0.003  # smoothing of the frame energy for level_db
FLOOR_TAU_S = 0.050  # smoothing before the trailing minimum (noise level, not its dips)
FLOOR_WINDOW_S = 0.6  # trailing-minimum window for the noise floor
FLUX_LAG_S = 0.010  # rise is measured over this lag
WARMUP_S = 0.200  # the filters settle; frames before this never set the noise floor
QUADRATURE_HZ = 80.0  # centre of the thump band: envelope = in-phase^2 + quadrature^2 is flat here
_EPS_ENERGY = 1e-14  # -140 dB: keeps log10 finite in digital silence
MID_BANDS_HZ = ((250.0, 700.0), (700.0, 1800.0))  # band-passes on the pooled signal
BAND_NAMES = ("30-250 Hz", "250-700 Hz", "700-1800 Hz", "2-4 kHz", "4 kHz-Nyquist")
N_BANDS = len(BAND_NAMES)
WHITE_MARGIN_DB = 4.0  # rises are counted from this far above a band's floor (noise ripple is not an onset)


def decimation_factor(sample_rate: int) -> int:
    """Boxcar pooling factor that brings ``sample_rate`` down to about 4 kHz (>= 1)."""
    return max(1, int(sample_rate // FEATURE_RATE_HZ))


def hop_size(sample_rate: int) -> int:
    """Input samples per feature frame (``decimation_factor * FRAME_DECIMATED``)."""
    return decimation_factor(sample_rate) * FRAME_DECIMATED


def frame_period_s(sample_rate: int) -> float:
    """Duration of one feature frame, in seconds (about 1 ms at every rate)."""
    return hop_size(sample_rate) / float(sample_rate)


@dataclass
class FeatureState:
    """Carry-over between blocks: unfinished frame samples and filter memories."""

    sample_rate: int
    pending: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    band_zi: NDArray[np.float64] | None = None
    last_band: float = 0.0  # last band-passed sample of the previous block
    level_zi: NDArray[np.float64] | None = None
    high_zi: NDArray[np.float64] | None = None
    floor_zi: NDArray[np.float64] | None = None
    floor_tail: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    level_tail: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    n_frames: int = 0  # frames produced so far
    mid_zi: list[NDArray[np.float64]] = field(default_factory=list)
    band_level_zi: NDArray[np.float64] | None = None  # (N_BANDS, 1) smoothing memories
    band_floor_zi: NDArray[np.float64] | None = None
    band_floor_tail: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, N_BANDS)))
    band_white_tail: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, N_BANDS)))


@dataclass(frozen=True)
class Frames:
    """Feature frames produced by one call, starting at absolute frame ``first_frame``."""

    first_frame: int
    level_db: NDArray[np.float64]  # smoothed low-band energy, dB
    floor_db: NDArray[np.float64]  # trailing noise floor, dB
    background_db: NDArray[np.float64]  # slowly smoothed level (FLOOR_TAU_S), dB: the local background
    flux_db: NDArray[np.float64]  # level_db rise over FLUX_LAG_S, dB
    high_db: NDArray[np.float64]  # smoothed energy of what varies within a frame (> ~500 Hz), dB
    bands_level_db: NDArray[np.float64] | None = None  # (n, N_BANDS) smoothed band levels, dB
    bands_db: NDArray[np.float64] | None = None  # (n, N_BANDS) level above the band's own floor, dB (>= 0)
    odf_db: NDArray[np.float64] | None = None  # mean rectified rise of the whitened bands, dB


def _one_pole(tau_s: float, frame_s: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    a = float(np.exp(-frame_s / tau_s))
    return np.array([1.0 - a]), np.array([1.0, -a])


class _Design:
    """Filter coefficients for one sample rate (computed once, cached)."""

    _cache: dict[int, "_Design"] = {}

    def __init__(self, sample_rate: int) -> None:
        self.decimation = decimation_factor(sample_rate)
        self.hop = self.decimation * FRAME_DECIMATED
        pooled_hz = sample_rate / self.decimation
        high_hz = min(BAND_HIGH_HZ, 0.45 * pooled_hz)
        self.band_sos = np.vstack((
            signal.butter(4, high_hz, btype="lowpass", fs=pooled_hz, output="sos"),
            signal.butter(2, BAND_LOW_HZ, btype="highpass", fs=pooled_hz, output="sos"),
        ))
        frame_s = self.hop / sample_rate
        self.level_ba = _one_pole(LEVEL_TAU_S, frame_s)
        self.floor_ba = _one_pole(FLOOR_TAU_S, frame_s)
        self.floor_frames = max(1, int(round(FLOOR_WINDOW_S / frame_s)))
        self.flux_lag = max(1, int(round(FLUX_LAG_S / frame_s)))
        w = 2 * np.pi * QUADRATURE_HZ / pooled_hz
        self.quad_scale = 1.0 / (2.0 * np.sin(w / 2))
        self.mid_scale = 1.0 / np.cos(w / 2)
        self.warmup_frames = int(np.ceil(WARMUP_S / frame_s))
        self.mid_sos = []
        for lo_hz, hi_hz in MID_BANDS_HZ:
            hi_hz = min(hi_hz, 0.45 * pooled_hz)
            self.mid_sos.append(signal.butter(2, [lo_hz, hi_hz], btype="bandpass", fs=pooled_hz, output="sos")
                                if hi_hz > lo_hz * 1.2 else None)
        # above ~2 kHz: within-pool variance; above ~4 kHz: within-half-pool variance (pools >= 4)
        self.half_pool = self.decimation // 2 if self.decimation >= 4 else 0
        self.band_present = np.array([True, self.mid_sos[0] is not None, self.mid_sos[1] is not None,
                                      self.decimation >= 2, self.half_pool > 0])

    @classmethod
    def get(cls, sample_rate: int) -> "_Design":
        if sample_rate not in cls._cache:
            cls._cache[sample_rate] = cls(sample_rate)
        return cls._cache[sample_rate]


def _strided_sum(x: NDArray[np.float64], width: int) -> NDArray[np.float64]:
    """Sum of each run of ``width`` samples (``len(x)`` is a multiple of ``width``).

    Short runs use strided adds in a fixed order (numpy's reductions over a short inner axis are
    slow); either way every output depends only on its own run (block-size invariant).
    """
    if width > 8:
        return x.reshape(-1, width).sum(axis=1)
    out = x[0::width].copy()
    for k in range(1, width):
        out += x[k::width]
    return out


def bands_present(sample_rate: int) -> NDArray[np.bool_]:
    """Which of ``BAND_NAMES`` a stream at ``sample_rate`` holds."""
    return _Design.get(int(validate_sample_rate(sample_rate, low_hz=4000.0, high_hz=384_000.0))).band_present.copy()


def new_state(sample_rate: int) -> FeatureState:
    """A fresh :class:`FeatureState` for a stream at ``sample_rate`` Hz."""
    sample_rate = int(validate_sample_rate(sample_rate, low_hz=4000.0, high_hz=384_000.0))
    design = _Design.get(sample_rate)
    return FeatureState(
        sample_rate=sample_rate,
        band_zi=np.zeros((design.band_sos.shape[0], 2)),
        level_zi=np.zeros(1),
        high_zi=np.zeros(1),
        floor_zi=np.zeros(1),
        mid_zi=[np.zeros((sos.shape[0], 2)) if sos is not None else np.zeros((0, 2)) for sos in design.mid_sos],
        band_level_zi=np.zeros((N_BANDS, 1)),
        band_floor_zi=np.zeros((N_BANDS, 1)),
    )


def to_mono(y: NDArray[np.floating]) -> NDArray[np.float64]:
    """Mix (frames,) or (frames, channels) audio down to float64 mono."""
    if y.ndim == 1:
        return y.astype(np.float64, copy=False)
    if y.shape[1] == 1:
        return y[:, 0].astype(np.float64, copy=False)
    out = y[:, 0].astype(np.float64)  # column adds: faster than mean(axis=1) on (frames, channels)
    for c in range(1, y.shape[1]):
        out += y[:, c]
    return out * (1.0 / y.shape[1])


def footfall_features(y: NDArray[np.floating], *, state: FeatureState) -> tuple[Frames, FeatureState]:
    """Turn the next block of audio into feature frames.

    Parameters
    ----------
    y : ndarray, shape (n_samples,) or (n_samples, channels)
        Next block of audio, float, any length (0 allowed). Not modified.
    state : FeatureState
        From :func:`new_state` or the previous call. Not modified.

    Returns
    -------
    frames : Frames
        The complete frames this block finished (possibly none), each ``hop_size`` samples;
        frame ``k`` covers input samples ``[k * hop, (k + 1) * hop)``.
    state : FeatureState
        The state to pass with the next block.
    """
    design = _Design.get(state.sample_rate)
    x = to_mono(y)
    if state.pending.size:
        x = np.concatenate((state.pending, x))
    n_frames = x.size // design.hop
    used = n_frames * design.hop
    pending = x[used:].copy()
    if n_frames == 0:
        empty = np.zeros(0)
        frames = Frames(state.n_frames, empty, empty, empty, empty, empty,
                        np.zeros((0, N_BANDS)), np.zeros((0, N_BANDS)), empty)
        return frames, replace(state, pending=pending)
    xs = x[:used]
    # Full-rate work is three passes (square, and sums over half-pools or pools); everything
    # else is built from those sums at the pooled rate.
    d = design.decimation
    sq = np.square(xs)
    halves = half_sq = None
    if design.half_pool and d == 2 * design.half_pool:
        halves = _strided_sum(xs, design.half_pool)
        half_sq = _strided_sum(sq, design.half_pool)
        pool_x = halves[0::2] + halves[1::2]
        pool_sq = half_sq[0::2] + half_sq[1::2]
    elif d >= 2:
        pool_x = _strided_sum(xs, d)
        pool_sq = _strided_sum(sq, d)
    else:
        pool_x, pool_sq = xs, sq
    pooled = pool_x * (1.0 / d)
    # Energy that changes within one ~1 ms frame: ticks, contact bursts, breath (not thumps).
    frame_mean = _strided_sum(pool_x, FRAME_DECIMATED) * (1.0 / design.hop)
    high_e = np.maximum(_strided_sum(pool_sq, FRAME_DECIMATED) * (1.0 / design.hop) - np.square(frame_mean), 0.0)
    band, band_zi = signal.sosfilt(design.band_sos, pooled, zi=state.band_zi)
    prev_band = np.empty_like(band)
    prev_band[0] = state.last_band
    prev_band[1:] = band[:-1]
    in_phase = (band + prev_band) * (0.5 * design.mid_scale)
    quadrature = (band - prev_band) * design.quad_scale
    envelope = np.square(in_phase) + np.square(quadrature)
    energy = _strided_sum(envelope, FRAME_DECIMATED) * (1.0 / FRAME_DECIMATED)
    level_e, level_zi = signal.lfilter(*design.level_ba, energy, zi=state.level_zi)
    floor_e, floor_zi = signal.lfilter(*design.floor_ba, energy, zi=state.floor_zi)
    level_db = 10.0 * np.log10(level_e + _EPS_ENERGY)
    high_s, high_zi = signal.lfilter(*design.level_ba, high_e, zi=state.high_zi)
    high_db = 10.0 * np.log10(high_s + _EPS_ENERGY)
    smooth_db = 10.0 * np.log10(floor_e + _EPS_ENERGY)
    background_db = smooth_db.copy()
    if state.n_frames < design.warmup_frames:  # no floor (+inf: no footfall) while filters settle
        smooth_db[: design.warmup_frames - state.n_frames] = np.inf

    # Trailing minimum over FLOOR_WINDOW_S: window [k - N + 1, k], never ahead.
    n_win = design.floor_frames
    ext = np.concatenate((state.floor_tail, smooth_db))
    origin = (n_win - 1) // 2  # scipy: positive origin shifts the window into the past
    floor_all = ndimage.minimum_filter1d(ext, size=n_win, mode="nearest", origin=origin)
    floor_db = floor_all[state.floor_tail.size:]

    # ---- multi-band, whitened -------------------------------------------------------------
    band_e = np.zeros((N_BANDS, n_frames))
    band_e[0] = energy
    mid_zi = []
    for b, sos in enumerate(design.mid_sos):
        if sos is None:
            mid_zi.append(state.mid_zi[b])
            continue
        mb, zi = signal.sosfilt(sos, pooled, zi=state.mid_zi[b])
        mid_zi.append(zi)
        band_e[1 + b] = _strided_sum(np.square(mb), FRAME_DECIMATED) * (1.0 / FRAME_DECIMATED)
    if d >= 2:
        within = np.maximum(pool_sq - d * np.square(pooled), 0.0)  # per pool, > ~2 kHz
        if design.half_pool:
            h = design.half_pool
            if halves is not None:
                within_half = np.maximum(half_sq - np.square(halves) * (1.0 / h), 0.0)
                within_half = within_half[0::2] + within_half[1::2]
            else:  # odd pools: the first 2h samples of each
                x2 = xs.reshape(-1, d)[:, : 2 * h]
                s2 = sq.reshape(-1, d)[:, : 2 * h]
                halves2 = x2.reshape(-1, 2, h).sum(axis=2)
                half_sq2 = s2.reshape(-1, 2, h).sum(axis=2)
                within_half = np.maximum(half_sq2 - np.square(halves2) * (1.0 / h), 0.0).sum(axis=1)
                within_half *= d / (2.0 * h)
            band_e[4] = _strided_sum(within_half, FRAME_DECIMATED) * (1.0 / design.hop)
            within = np.maximum(within - within_half, 0.0)
        band_e[3] = _strided_sum(within, FRAME_DECIMATED) * (1.0 / design.hop)
    blevel_e, band_level_zi = signal.lfilter(*design.level_ba, band_e, axis=1, zi=state.band_level_zi)
    bfloor_e, band_floor_zi = signal.lfilter(*design.floor_ba, band_e, axis=1, zi=state.band_floor_zi)
    bands_level_db = (10.0 * np.log10(blevel_e + _EPS_ENERGY)).T  # (n, N_BANDS)
    bsmooth_db = (10.0 * np.log10(bfloor_e + _EPS_ENERGY)).T
    if state.n_frames < design.warmup_frames:
        bsmooth_db[: design.warmup_frames - state.n_frames] = np.inf
    bext = np.concatenate((state.band_floor_tail, bsmooth_db))
    bfloor_all = ndimage.minimum_filter1d(bext, size=n_win, axis=0, mode="nearest", origin=origin)
    bands_floor_db = bfloor_all[state.band_floor_tail.shape[0]:]
    white = np.maximum(bands_level_db - bands_floor_db, 0.0)
    white[:, ~design.band_present] = 0.0
    counted = np.maximum(white, WHITE_MARGIN_DB)
    wext = np.concatenate((state.band_white_tail, counted))
    wprev = np.empty_like(wext)
    lag = design.flux_lag
    wprev[lag:] = wext[:-lag]
    wprev[:lag] = wext[0]
    rise = np.maximum(wext - wprev, 0.0)[state.band_white_tail.shape[0]:]
    odf_db = rise.sum(axis=1)

    lext = np.concatenate((state.level_tail, level_db))
    prev = np.empty_like(lext)
    prev[lag:] = lext[:-lag]
    prev[:lag] = lext[0]  # before the first frame: no rise
    flux_db = (lext - prev)[state.level_tail.size:]

    new = FeatureState(
        sample_rate=state.sample_rate,
        pending=pending,
        band_zi=band_zi,
        last_band=float(band[-1]),
        level_zi=level_zi,
        high_zi=high_zi,
        floor_zi=floor_zi,
        floor_tail=ext[-(n_win - 1):] if n_win > 1 else ext[:0],
        level_tail=lext[-lag:],
        n_frames=state.n_frames + n_frames,
        mid_zi=mid_zi,
        band_level_zi=band_level_zi,
        band_floor_zi=band_floor_zi,
        band_floor_tail=bext[-(n_win - 1):] if n_win > 1 else bext[:0],
        band_white_tail=wext[-lag:],
    )
    return Frames(state.n_frames, level_db, floor_db, background_db, flux_db, high_db,
                  bands_level_db, white, odf_db), new


def onset_curve(
    y: NDArray[np.floating], *, sample_rate: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Offline convenience: frame times (s, frame starts), ``level_db`` and ``floor_db``.

    Used for plots; the detector itself streams through :func:`footfall_features`.
    """
    if y.shape[0] == 0:
        raise ParameterError("audio is empty")
    frames, _ = footfall_features(y, state=new_state(sample_rate))
    times_s = (np.arange(frames.level_db.size) * frame_period_s(sample_rate)).astype(np.float64)
    return times_s, frames.level_db, frames.floor_db
