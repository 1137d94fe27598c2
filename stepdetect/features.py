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
that varies within one pooling run / half-run of the raw signal's first difference: a cheap
high-pass that needs no filtering at the input rate, steep enough to keep wind and breath below
2 kHz out). A band the input rate cannot hold (above 4 kHz at 8 kHz) stays
empty. Per band: frame energy, one-pole smoothing, log; its own noise floor (slow smoothing +
trailing minimum); the level above that floor (``bands_db``: adaptive whitening -- a treadmill
hum, belt hiss or wind rumble raises its band's floor and is gone); its rise over ``FLUX_LAG_S``
counted from ``WHITE_MARGIN_DB`` above the floor and half-wave rectified; ``odf_db`` is the mean
rise over the bands the input rate holds. The picker weights the bands per session from the
rhythm of the footfalls. ``top_z``: the top band's rise over ``FLUX_LAG_S`` in units of the rms of
its recent rises (a step's 2-3 dB over a gust stands out where the wind's level is smooth).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from stepdetect.sosfilt import sosfilt_rows
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
CHUNK_FRAMES = 4096  # a long input goes through this many frames (~4 s) at a time: its working set stays in cache
WHITE_MARGIN_DB = 4.0  # rises are counted from this far above a band's floor (noise ripple is not an onset)
# The top band's rise in units of its own recent rises (``top_z``): under a gust a step's onset rises
# only 2-3 dB over the wind in any band, but above 4 kHz the wind's level is smooth (a wide band
# smoothed over 3 ms wiggles ~0.5 dB), so the same 2-3 dB there is many times the wind's usual
# rise. The rms of the rises is a one-pole mean of their squares (TOP_Z_TAU_S), read TOP_Z_DELAY_S
# back (the onset being measured does not inflate its own yardstick), at least TOP_Z_MIN_RMS_DB.
TOP_Z_TAU_S = 0.150
TOP_Z_DELAY_S = 0.040
TOP_Z_MIN_RMS_DB = 0.5


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
    """Carry-over between blocks: unfinished frame samples, filter memories and short tails.

    Filter memories are in the layout of scipy's second-order-section kernel:
    ``(rows, sections, 2)``.
    """

    sample_rate: int
    pending: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    thump_zi: NDArray[np.float64] = field(default_factory=lambda: np.zeros((1, 0, 2)))  # (1, sections, 2)
    mid_zi: list[NDArray[np.float64]] = field(default_factory=list)  # one (1, sections, 2) per mid band
    last_band: float = 0.0  # last thump-band sample of the previous block
    last_x: float = 0.0  # last input sample of the previous block (for the first difference)
    level_zi: NDArray[np.float64] = field(default_factory=lambda: np.zeros((N_BANDS + 1, 1, 2)))  # bands, high
    floor_zi: NDArray[np.float64] = field(default_factory=lambda: np.zeros((N_BANDS, 1, 2)))
    floor_tail: NDArray[np.float64] = field(default_factory=lambda: np.zeros((N_BANDS, 0)))  # smoothed dB
    diff_tail: NDArray[np.float64] = field(default_factory=lambda: np.zeros((N_BANDS + 1, 0)))  # last FLUX_LAG_S
    top_tail: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))  # top band level, last FLUX_LAG_S
    top_zi: NDArray[np.float64] = field(default_factory=lambda: np.zeros((1, 1, 2)))  # mean square of its rises
    top_var_tail: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))  # ... last TOP_Z_DELAY_S of it
    n_frames: int = 0  # frames produced so far


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
    bands_floor_db: NDArray[np.float64] | None = None  # (n, N_BANDS) each band's noise floor, dB
    top_z: NDArray[np.float64] | None = None  # top band's rise over FLUX_LAG_S / its recent rises' rms (>= 0)

    @classmethod
    def empty(cls, first_frame: int) -> "Frames":
        """No frames, from absolute frame ``first_frame`` on (every field present, 0 rows)."""
        empty = np.zeros(0)
        return cls(first_frame, empty, empty, empty, empty, empty,
                   np.zeros((0, N_BANDS)), np.zeros((0, N_BANDS)), empty, np.zeros((0, N_BANDS)), empty)

    @classmethod
    def concat(cls, parts: "list[Frames]") -> "Frames":
        """Consecutive frames ``parts`` (at least one) as one, from the first part's first frame."""
        return cls(parts[0].first_frame, *(np.concatenate([getattr(p, f) for p in parts]) for f in FRAME_FIELDS))


_BAND_FIELDS = ("bands_level_db", "bands_db", "bands_floor_db")  # (n, N_BANDS) each
FRAME_FIELDS = ("level_db", "floor_db", "background_db", "flux_db", "high_db", "bands_level_db", "bands_db", "odf_db",
                 "bands_floor_db", "top_z")


class FrameHistory:
    """The last frames of a stream, kept in preallocated arrays: :meth:`append` adds a block's
    frames and returns the history so far, :meth:`keep` forgets all but the newest (at most the
    arrays' capacity). The same frames as :meth:`Frames.concat` of the history and the block (then
    a copy of the newest), without allocating ten new arrays for every block: the kept frames move
    to the front only when the arrays fill up. The returned :class:`Frames` are views, valid until
    the next call; a block that does not fit beside the kept frames (a whole file) is returned
    joined to them (itself when none are kept), and the arrays keep its newest frames."""

    def __init__(self, capacity: int) -> None:
        self._capacity = max(1, capacity)
        self._arrays = [np.empty((self._capacity, N_BANDS) if f in _BAND_FIELDS else self._capacity)
                        for f in FRAME_FIELDS]
        self._start = self._end = 0
        self._first_frame = 0  # absolute index of the frame at self._start

    def append(self, frames: Frames) -> Frames:
        """Add ``frames`` (the stream's next ones) and return every frame kept, the new ones last."""
        if self._end == self._start:
            self._first_frame = frames.first_frame
        n_new, n_kept = frames.level_db.size, self._end - self._start
        if n_kept + n_new > self._capacity:  # a long block: joined, not copied in
            joined = Frames.concat([self._kept(), frames]) if n_kept else frames
            for f, a in zip(FRAME_FIELDS, self._arrays):
                a[:] = getattr(joined, f)[-self._capacity:]
            self._start, self._end = 0, self._capacity
            self._first_frame = joined.first_frame + joined.level_db.size - self._capacity
            return joined
        if self._end + n_new > self._capacity:  # the kept frames to the front
            for a in self._arrays:
                a[:n_kept] = a[self._start:self._end]
            self._start, self._end = 0, n_kept
        end = self._end + n_new
        for f, a in zip(FRAME_FIELDS, self._arrays):
            a[self._end:end] = getattr(frames, f)
        self._end = end
        return self._kept()

    def _kept(self) -> Frames:
        return Frames(self._first_frame, *(a[self._start:self._end] for a in self._arrays))

    def keep(self, n_frames: int) -> None:
        """Forget all but the newest ``n_frames`` frames."""
        drop = max(0, self._end - self._start - n_frames)
        self._start += drop
        self._first_frame += drop

    @property
    def first_frame(self) -> int:
        """Absolute index of the oldest frame kept (of the next frame while none is kept)."""
        return self._first_frame


def _one_pole_sos(tau_s: float, frame_s: float) -> NDArray[np.float64]:
    """A one-pole smoother ``y[k] = (1 - a) x[k] + a y[k - 1]`` as one second-order section."""
    a = float(np.exp(-frame_s / tau_s))
    return np.array([[1.0 - a, 0.0, 0.0, 1.0, -a, 0.0]])


class _Design:
    """Filter coefficients for one sample rate (computed once, cached)."""

    _cache: dict[int, "_Design"] = {}

    def __init__(self, sample_rate: int) -> None:
        self.decimation = decimation_factor(sample_rate)
        self.hop = self.decimation * FRAME_DECIMATED
        pooled_hz = sample_rate / self.decimation
        high_hz = min(BAND_HIGH_HZ, 0.45 * pooled_hz)
        self.band_sos = np.ascontiguousarray(np.vstack((
            signal.butter(4, high_hz, btype="lowpass", fs=pooled_hz, output="sos"),
            signal.butter(2, BAND_LOW_HZ, btype="highpass", fs=pooled_hz, output="sos"),
        )))
        frame_s = self.hop / sample_rate
        self.level_sos = _one_pole_sos(LEVEL_TAU_S, frame_s)
        self.floor_sos = _one_pole_sos(FLOOR_TAU_S, frame_s)
        self.floor_frames = max(1, int(round(FLOOR_WINDOW_S / frame_s)))
        self.flux_lag = max(1, int(round(FLUX_LAG_S / frame_s)))
        self.top_z_sos = _one_pole_sos(TOP_Z_TAU_S, frame_s)
        self.top_z_delay = max(1, int(round(TOP_Z_DELAY_S / frame_s)))
        w = 2 * np.pi * QUADRATURE_HZ / pooled_hz
        self.quad_scale = 1.0 / (2.0 * np.sin(w / 2))
        self.mid_scale = 1.0 / np.cos(w / 2)
        self.warmup_frames = int(np.ceil(WARMUP_S / frame_s))
        self.mid_sos: list[NDArray[np.float64] | None] = []
        for lo_hz, hi_hz in MID_BANDS_HZ:
            hi_hz = min(hi_hz, 0.45 * pooled_hz)
            self.mid_sos.append(signal.butter(2, [lo_hz, hi_hz], btype="bandpass", fs=pooled_hz, output="sos")
                                if hi_hz > lo_hz * 1.2 else None)
        # above ~2 kHz: within-pool variance; above ~4 kHz: within-half-pool variance (pools >= 4)
        self.half_pool = self.decimation // 2 if self.decimation >= 4 else 0
        self.band_present = np.array([True, self.mid_sos[0] is not None, self.mid_sos[1] is not None,
                                      self.decimation >= 2, self.half_pool > 0])
        self.absent_bands = np.flatnonzero(~self.band_present)
        # per-row scale of the frame sums (see footfall_features): pooled means, envelope, mid bands, variances
        self.frame_scale = np.array([1.0 / FRAME_DECIMATED] * 3 + [1.0 / self.hop] * 2
                                    + [1.0] + [1.0 / self.hop] * 2)[:, None]

    @classmethod
    def get(cls, sample_rate: int) -> "_Design":
        if sample_rate not in cls._cache:
            cls._cache[sample_rate] = cls(sample_rate)
        return cls._cache[sample_rate]


def _column_sum(x: NDArray[np.float64], lo: int, hi: int) -> NDArray[np.float64]:
    """Sum of columns ``lo:hi`` of each row of the 2-D ``x``, in column order.

    Up to 12 columns (a whole pool at 44.1 and 48 kHz): strided adds (numpy's reductions over a
    short inner axis are slower, and pairwise), or for a few rows a running sum along them (one
    numpy call); either way every output depends only on its own row, summed left to right
    (block-size invariant).
    """
    if hi - lo > 12:
        return x[:, lo:hi].sum(axis=1)
    if x.shape[0] <= 64:  # a live block: one call (a running sum, the same additions in the same order)
        return np.add.accumulate(x[:, lo:hi], axis=1)[:, -1]
    out = x[:, lo].copy()
    for k in range(lo + 1, hi):
        out += x[:, k]
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
        thump_zi=np.zeros((1, design.band_sos.shape[0], 2)),
        mid_zi=[np.zeros((1, sos.shape[0], 2)) if sos is not None else np.zeros((1, 0, 2)) for sos in design.mid_sos],
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

    Notes
    -----
    The work is a few whole-array passes at the input rate (square; sums over pools and
    half-pools) and, at the pooled and frame rates, one call per filter for all the rows it
    applies to: the cost of a call is nearly all arithmetic from ~10 ms blocks up, and a
    live 5 ms block costs ~60 numpy operations.
    """
    design = _Design.get(state.sample_rate)
    x = to_mono(y)
    if state.pending.size:
        x = np.concatenate((state.pending, x))
    hop = design.hop
    n_frames = x.size // hop
    used = n_frames * hop
    pending = x[used:].copy()
    if n_frames == 0:
        return Frames.empty(state.n_frames), replace(state, pending=pending)
    scratch = _scratch(min(n_frames, CHUNK_FRAMES), design)
    if n_frames <= CHUNK_FRAMES:
        frames, state = _complete_frames(x[:used], state, design, scratch)
        state.pending = pending  # a new state: the caller's is not modified
        return frames, state
    # A long input goes through in chunks: the same results (block-size invariance), with
    # working arrays that stay in the cache instead of fresh pages for every pass.
    parts = []
    for a in range(0, n_frames, CHUNK_FRAMES):
        frames, state = _complete_frames(x[a * hop : min(n_frames, a + CHUNK_FRAMES) * hop], state, design, scratch)
        parts.append(frames)
    state.pending = pending
    return Frames.concat(parts), state


def _scratch(n_frames: int, design: _Design) -> NDArray[np.float64]:
    """Working memory for :func:`_pooled_rows` on up to ``n_frames`` frames, reused by every chunk
    of one input: a long input's chunks would otherwise each take ~6 MB of fresh arrays, and the
    page faults of fresh memory were half of the pooling's time."""
    return np.empty(n_frames * (8 * FRAME_DECIMATED + 2 * design.hop))


def _complete_frames(xs: NDArray[np.float64], state: FeatureState, design: _Design,
                     scratch: NDArray[np.float64]) -> tuple[Frames, FeatureState]:
    """Frames of ``xs`` (a whole number of frames, after ``state.pending``; ``scratch`` from
    :func:`_scratch`); the new state has no pending samples."""
    n_frames = xs.size // design.hop
    rows, pooled = _pooled_rows(xs, n_frames, design, state.last_x, scratch)
    band, thump_zi, mid_zi = _filtered_rows(rows, pooled, state, design)
    energy = _frame_energy(rows, n_frames, design)
    level_e, level_zi = sosfilt_rows(design.level_sos, energy[:N_BANDS + 1], state.level_zi)
    floor_e, floor_zi = sosfilt_rows(design.floor_sos, energy[:N_BANDS], state.floor_zi)
    level_all_db = 10.0 * np.log10(level_e + _EPS_ENERGY)  # (N_BANDS + 1, n): the bands, then high
    smooth_db = 10.0 * np.log10(floor_e + _EPS_ENERGY)  # (N_BANDS, n)
    background_db = smooth_db[0].copy()
    if state.n_frames < design.warmup_frames:  # no floor (+inf: no footfall) while filters settle
        smooth_db[:, : design.warmup_frames - state.n_frames] = np.inf

    # Trailing minimum over FLOOR_WINDOW_S: window [k - N + 1, k], never ahead.
    n_win = design.floor_frames
    n_tail = state.floor_tail.shape[1]
    ext = np.concatenate((state.floor_tail, smooth_db), axis=1)
    bands_floor_db = _trailing_min(ext, n_win, n_tail)
    white, delta, dext = _whitened_rises(level_all_db, bands_floor_db, state, design)
    odf_db = np.maximum(delta[:N_BANDS], 0.0).sum(axis=0)
    top_z, top_ext, top_zi, var_ext = _top_z(level_all_db[N_BANDS - 1], state, design)

    new = FeatureState(
        sample_rate=state.sample_rate,
        thump_zi=thump_zi,
        mid_zi=mid_zi,
        last_band=float(band[-1]),
        last_x=float(xs[-1]),
        level_zi=level_zi,
        floor_zi=floor_zi,
        floor_tail=ext[:, -(n_win - 1):] if n_win > 1 else ext[:, :0],
        diff_tail=dext[:, -design.flux_lag:],
        top_tail=top_ext[-design.flux_lag:],
        top_zi=top_zi,
        top_var_tail=var_ext[-design.top_z_delay:],
        n_frames=state.n_frames + n_frames,
    )
    return Frames(state.n_frames, level_all_db[0], bands_floor_db[0], background_db, delta[N_BANDS],
                  level_all_db[N_BANDS], level_all_db[:N_BANDS].T, white.T, odf_db, bands_floor_db.T, top_z), new


def _pooled_rows(xs: NDArray[np.float64], n_frames: int, design: _Design, last_x: float,
                 scratch: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The rows at the pooled rate (8, n), summed per frame at once later, and the pooled
    signal. Rows: the thump envelope, the two mid bands' squares (0-2, filled by
    :func:`_filtered_rows`), the variance within a pool and within a half-pool (3, 4), a spare
    row (the high-energy row after summing), the pooled sum and sum of squares (6, 7).

    The two variance rows are of the input's first difference (``last_x``: the sample before
    ``xs``), not of the input: +6 dB/octave on the variance's gentle skirt keeps wind, breath
    and voice energy at 0.5-2 kHz out of the 2-4 kHz and > 4 kHz bands.

    The rows and the input-rate squares and differences live in ``scratch`` (see
    :func:`_scratch`): the rows are valid until its next use."""
    d, h = design.decimation, design.half_pool
    n_pooled = n_frames * FRAME_DECIMATED
    rows = scratch[: 8 * n_pooled].reshape(8, n_pooled)
    rows.fill(0.0)  # a row a rate lacks (a mid band, the half-pools) stays 0, and so does the spare row
    sq, dx = scratch[8 * n_pooled : 8 * n_pooled + 2 * xs.size].reshape(2, xs.size)
    np.square(xs, out=sq)
    if d < 2:
        rows[6], rows[7] = xs, sq
        return rows, xs.copy()
    rows[6] = _column_sum(xs.reshape(-1, d), 0, d)
    rows[7] = _column_sum(sq.reshape(-1, d), 0, d)
    dx[0] = xs[0] - last_x
    np.subtract(xs[1:], xs[:-1], out=dx[1:])
    px, ps = dx.reshape(-1, d), np.square(dx, out=sq).reshape(-1, d)
    within = rows[3]
    if h:  # pool = two halves (+ one odd sample); variance within each half: > ~4 kHz
        ax, bx = _column_sum(px, 0, h), _column_sum(px, h, 2 * h)
        aq, bq = _column_sum(ps, 0, h), _column_sum(ps, h, 2 * h)
        within_half = rows[4]
        np.maximum(aq - np.square(ax) * (1.0 / h), 0.0, out=within_half)
        within_half += np.maximum(bq - np.square(bx) * (1.0 / h), 0.0)
        pool_x, pool_q = ax + bx, aq + bq
        if d > 2 * h:
            pool_x += px[:, 2 * h]
            pool_q += ps[:, 2 * h]
            within_half *= d / (2.0 * h)
    else:
        pool_x, pool_q = _column_sum(px, 0, d), _column_sum(ps, 0, d)
    # energy that varies within one pool: > ~2 kHz (less the > ~4 kHz part)
    np.maximum(pool_q - np.square(pool_x) * (1.0 / d), 0.0, out=within)
    if h:
        np.maximum(within - rows[4], 0.0, out=within)
    return rows, rows[6] * (1.0 / d)


def _filtered_rows(rows: NDArray[np.float64], pooled: NDArray[np.float64], state: FeatureState,
                   design: _Design) -> tuple[NDArray[np.float64], NDArray[np.float64], list[NDArray[np.float64]]]:
    """Fill rows 0-2 from the pooled signal: the thump band's envelope energy (in-phase^2 +
    quadrature^2) and the squares of the two mid band-passes. Returns the thump band signal
    and the thump and mid filter memories."""
    band, thump_zi = sosfilt_rows(design.band_sos, pooled[None, :], state.thump_zi)
    band = band[0]
    prev_band = np.empty_like(band)
    prev_band[0] = state.last_band
    prev_band[1:] = band[:-1]
    in_phase = (band + prev_band) * (0.5 * design.mid_scale)
    quadrature = (band - prev_band) * design.quad_scale
    np.square(in_phase, out=rows[0])
    rows[0] += np.square(quadrature)
    mid_zi = []
    for b, sos in enumerate(design.mid_sos):
        if sos is None:
            mid_zi.append(state.mid_zi[b])
            continue
        mb, zi = sosfilt_rows(sos, pooled[None, :], state.mid_zi[b])
        mid_zi.append(zi)
        np.square(mb[0], out=rows[1 + b])
    return band, thump_zi, mid_zi


def _frame_energy(rows: NDArray[np.float64], n_frames: int, design: _Design) -> NDArray[np.float64]:
    """Per-frame sums of the pooled rows, scaled (8, n_frames); row 5 is the energy that
    changes within one ~1 ms frame (ticks, contact bursts, breath: not thumps)."""
    r4 = rows.reshape(8, n_frames, FRAME_DECIMATED)
    energy = r4[:, :, 0].copy()  # (8, n_frames): per-frame sums, in sample order
    for k in range(1, FRAME_DECIMATED):
        energy += r4[:, :, k]
    energy *= design.frame_scale
    np.maximum(energy[7] - np.square(energy[6]), 0.0, out=energy[5])
    return energy


def _trailing_min(ext: NDArray[np.float64], n_win: int, n_tail: int) -> NDArray[np.float64]:
    """Per row, the minimum over the trailing ``n_win`` columns of ``ext`` (window ``[k - n_win + 1,
    k]``, clipped at column 0) for each column ``k`` from ``n_tail`` on. Minima are exact: any
    order of comparisons gives the same values.

    A few new columns after a full tail (a live block): every window holds the stretch from the
    last window's start to the first one's end; the rest of each is a suffix of the columns
    before that stretch and a prefix of those after it (running minima). Otherwise (a long
    block) by doubling: the minima over 2, 4, 8, ... columns, then two overlapping windows of
    the largest power of two make ``n_win`` -- ~10 whole-array passes, several times faster than
    ``scipy.ndimage.minimum_filter1d`` at 600 columns."""
    n_new = ext.shape[1] - n_tail
    if n_tail == n_win - 1 and n_new < n_win // 4:
        out = np.empty((ext.shape[0], n_new))
        out[:] = ext[:, n_new - 1 : n_win].min(axis=1)[:, None]  # in every window
        if n_new > 1:  # window j: columns j .. n_new - 2 before the shared stretch, n_win .. n_win + j - 1 after
            before = np.minimum.accumulate(ext[:, n_new - 2 :: -1], axis=1)[:, ::-1]
            np.minimum(out[:, :-1], before, out=out[:, :-1])
            np.minimum(out[:, 1:], np.minimum.accumulate(ext[:, n_win:], axis=1), out=out[:, 1:])
        return out
    if n_tail < n_win - 1:  # the stream's first frames: windows clipped at column 0
        ext = np.concatenate((np.full((ext.shape[0], n_win - 1 - n_tail), np.inf), ext), axis=1)
    m, span = ext, 1  # m[:, j]: the minimum of columns j .. j + span - 1
    while 2 * span <= n_win:
        m = np.minimum(m[:, :-span], m[:, span:])
        span *= 2
    if span < n_win:
        m = np.minimum(m[:, : m.shape[1] - (n_win - span)], m[:, n_win - span :])
    return m


def _whitened_rises(level_all_db: NDArray[np.float64], bands_floor_db: NDArray[np.float64], state: FeatureState,
                    design: _Design) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Whitening: each band's level above its own floor (``white``); rises over the flux lag
    (``delta``, N_BANDS + 1 rows) counted from WHITE_MARGIN_DB up, the last row the (signed)
    rise of the thump level (flux_db); and the rows with the previous tail (the next tail)."""
    n_frames = level_all_db.shape[1]
    cur = np.empty((N_BANDS + 1, n_frames))
    np.subtract(level_all_db[:N_BANDS], bands_floor_db, out=cur[:N_BANDS])
    np.maximum(cur[:N_BANDS], 0.0, out=cur[:N_BANDS])
    if design.absent_bands.size:
        cur[design.absent_bands] = 0.0
    white = cur[:N_BANDS].copy()
    np.maximum(cur[:N_BANDS], WHITE_MARGIN_DB, out=cur[:N_BANDS])
    cur[N_BANDS] = level_all_db[0]
    lag = design.flux_lag
    dext = np.concatenate((state.diff_tail, cur), axis=1)
    if state.diff_tail.shape[1] < lag:  # the stream's first frames: no rise before frame 0
        dext = np.concatenate((np.repeat(dext[:, :1], lag - state.diff_tail.shape[1], axis=1), dext), axis=1)
    delta = dext[:, lag:] - dext[:, :-lag]  # (N_BANDS + 1, n)
    return white, delta, dext


def _top_z(top_db: NDArray[np.float64], state: FeatureState, design: _Design) -> tuple[
        NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The top band's rise over the flux lag in units of the rms of its rises TOP_Z_DELAY_S
    before (``top_z``, >= 0; 0 while the filters settle), and the extended level, the mean-square
    filter's memory and the extended mean squares (the next tails)."""
    lag, delay = design.flux_lag, design.top_z_delay
    ext = np.concatenate((state.top_tail, top_db))
    if state.top_tail.size < lag:  # the stream's first frames: no rise before frame 0
        ext = np.concatenate((np.repeat(ext[:1], lag - state.top_tail.size), ext))
    rise = ext[lag:] - ext[:-lag]
    var, top_zi = sosfilt_rows(design.top_z_sos, np.square(rise)[None, :], state.top_zi)
    var_ext = np.concatenate((state.top_var_tail, var[0]))
    if state.top_var_tail.size < delay:
        var_ext = np.concatenate((np.zeros(delay - state.top_var_tail.size), var_ext))
    rms = np.sqrt(var_ext[: rise.size])
    np.maximum(rms, TOP_Z_MIN_RMS_DB, out=rms)
    top_z = np.maximum(rise, 0.0) / rms
    if state.n_frames < design.warmup_frames:
        top_z[: design.warmup_frames - state.n_frames] = 0.0
    if not design.band_present[N_BANDS - 1]:
        top_z[:] = 0.0
    return top_z, ext, top_zi, var_ext


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
