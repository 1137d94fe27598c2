"""The accelerometer front end: from a 3-axis stream in any carrying position (hand, front or back
pocket, armband, neck pouch, bag) and any orientation to one band-passed step signal with its local
step period, periodicity and RMS (:func:`accel_front_end`; all parameters physical, converted to
samples once). :mod:`stepdetect.accel` picks the steps from it.

1. Resample x, y, z on a uniform grid from the timestamps (handles irregular sampling).
2. Reduce to one orientation-free signal. With gravity in the data (the 2 s local mean of the
   vector is near g, whichever way the phone is turned) the magnitude ``|a|``: invariant to any
   rotation, so a phone turning in a pocket or bag mid-walk changes nothing, and the gravity
   removal is the band-pass below. Gravity-free "linear acceleration": the first principal axis.
3. Wide band-pass (half the slowest step rate to the fastest step rate) and the local step period
   by autocorrelation in sliding windows: the strongest peak at stride-range lags, halved while
   the autocorrelation also peaks between 0.3 and 0.7 of it (a stride holds two steps, equal or
   lopsided as with a phone in one back pocket: 0.41 / 0.62 s), then a running median.
4. Adaptive band: band-pass again at ``ADAPTIVE_BAND`` (0.6-2.0) x the recording's own median
   step rate, which removes the stride sway of a pocket or bag and the heel-strike ringing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from stepdetect.accel_io import MIN_N_SAMPLES
from stepdetect.validate import ParameterError

MIN_CADENCE_SPM = 60.0  # default plausible cadence range (both feet): slow walking ...
MAX_CADENCE_SPM = 240.0  # ... to sprinting
MAX_WORK_RATE_HZ = 100.0
MIN_INPUT_RATE_HZ = 15.0
HALF_LAG_MIN_ACF = 0.1
LOPSIDED_MIN_FRACTION = 0.3
PERIOD_SMOOTH_WINDOWS = 9  # running median of the per-window step period (windows 0.5 s apart)
GAIT_MIN_PERIODICITY = 0.3  # windows whose step period sets the adaptive band
ADAPTIVE_BAND = (0.6, 2.0)  # band-pass edges as multiples of the recording's median step rate
GRAVITY_MIN_M_S2 = 4.9  # a local mean |a| above half of g: gravity is in the data
PRINCIPAL_AXIS_WINDOW_S = 4.0  # gravity-free input: the step axis is followed over windows this long
AXIS_CONTINUITY_MIN_COS = 0.7  # consecutive windows' axes closer than ~45 deg: same sign
GRAVITY_WINDOW_S = 2.0  # local mean for that test (a phone turning in a pocket keeps |mean| ~ g)


@dataclass(frozen=True)
class AccelFrontEnd:
    """The orientation-free, band-passed step signal of an accelerometer stream.

    Attributes
    ----------
    grid_s : ndarray, shape (M,)
        Uniform time grid (s, on the input's time axis) at ``rate_hz``.
    rate_hz : float
        Working rate: the input's median rate, at most ``MAX_WORK_RATE_HZ``.
    signal : ndarray, shape (M,)
        Step signal: gravity-free orientation-free acceleration (m/s²), band-passed to ``band_hz``.
    step_period_s, periodicity, rms : ndarray, shape (M,)
        Local step period (s), gait periodicity (normalised autocorrelation at the stride, 0-1)
        and RMS of ``signal`` (m/s²), from sliding windows.
    band_hz : tuple of float
        The band-pass actually used, chosen from the recording's own median step rate.
    has_gravity : bool
        Whether gravity was in the data (``|a|`` used) or not (principal axis used).
    """

    grid_s: NDArray[np.float64]
    rate_hz: float
    signal: NDArray[np.float64]
    step_period_s: NDArray[np.float64]
    periodicity: NDArray[np.float64]
    rms: NDArray[np.float64]
    band_hz: tuple[float, float]
    has_gravity: bool


def accel_front_end(
    time_s: NDArray[np.floating],
    xyz: NDArray[np.floating],
    *,
    min_cadence_spm: float = MIN_CADENCE_SPM,
    max_cadence_spm: float = MAX_CADENCE_SPM,
    window_s: float = 4.0,
) -> AccelFrontEnd:
    """Resample, reduce to one orientation-free signal, estimate the step period, band-pass.

    Two passes: a wide band (``min_cadence_spm / 120`` Hz to ``max_cadence_spm / 60`` Hz) finds
    the local step period; the signal is then band-passed again around the recording's own
    median step rate (``ADAPTIVE_BAND`` x step rate), which drops the stride sway of a pocket or
    bag below it and the heel-strike ringing above it.
    """
    time_s, xyz = validate_stream(time_s, xyz)
    rate_hz = _work_rate_hz(time_s)
    grid_s = np.arange(0.0, time_s[-1] - time_s[0], 1.0 / rate_hz) + time_s[0]
    on_grid = np.column_stack([np.interp(grid_s, time_s, xyz[:, k]) for k in range(3)])
    if grid_s.size < 3:
        empty = np.zeros(grid_s.size)
        return AccelFrontEnd(grid_s, rate_hz, empty, empty, empty, empty, (0.0, 0.0), True)
    raw, has_gravity = _orientation_free(on_grid, rate_hz)
    nyquist_hz = rate_hz / 2
    wide_hz = (min_cadence_spm / 120.0, min(max_cadence_spm / 60.0, 0.9 * nyquist_hz))
    wide = _band_pass(raw, wide_hz, rate_hz)
    min_period_s, max_period_s = 60.0 / max_cadence_spm, 60.0 / min_cadence_spm
    period_s, periodicity, rms = _local_period(
        wide, rate_hz=rate_hz, window_s=window_s, min_period_s=min_period_s, max_period_s=max_period_s
    )
    gait = periodicity >= GAIT_MIN_PERIODICITY
    step_hz = 1.0 / float(np.median(period_s[gait] if gait.any() else period_s))
    band_hz = (
        max(wide_hz[0], ADAPTIVE_BAND[0] * step_hz),
        min(ADAPTIVE_BAND[1] * step_hz, 0.9 * nyquist_hz),
    )
    narrow = _band_pass(raw, band_hz, rate_hz)
    rms = _local_rms(narrow, rate_hz=rate_hz, window_s=window_s)
    return AccelFrontEnd(grid_s, rate_hz, narrow, period_s, periodicity, rms, band_hz, has_gravity)


def _band_pass(x: NDArray[np.float64], band_hz: tuple[float, float], rate_hz: float) -> NDArray[np.float64]:
    """Zero-phase 2nd-order Butterworth band-pass, padded by three periods of the low cut."""
    sos = signal.butter(2, band_hz, btype="bandpass", fs=rate_hz, output="sos")
    padlen = min(int(3 * rate_hz / band_hz[0]), x.size - 1)
    filtered: NDArray[np.float64] = signal.sosfiltfilt(sos, x, padlen=padlen)
    return filtered


def _local_rms(x: NDArray[np.float64], *, rate_hz: float, window_s: float) -> NDArray[np.float64]:
    """Centred moving RMS over ``window_s``."""
    win = max(1, min(x.size, int(round(window_s * rate_hz))))
    power = np.convolve(x**2, np.ones(win) / win, mode="same")
    return np.sqrt(np.maximum(power, 0.0))


def validate_stream(time_s: object, xyz: object) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t = np.asarray(time_s, dtype=np.float64)
    a = np.asarray(xyz, dtype=np.float64)
    if t.ndim != 1:
        raise ParameterError(f"time_s must be 1-D, got shape {t.shape}")
    if a.ndim != 2 or a.shape[1] != 3 or a.shape[0] != t.size:
        raise ParameterError(f"xyz must have shape ({t.size}, 3) to match time_s, got {a.shape}")
    if t.size < MIN_N_SAMPLES:
        raise ParameterError(f"need at least {MIN_N_SAMPLES} accelerometer samples, got {t.size}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(a))):
        raise ParameterError("time_s and xyz must be finite")
    if np.any(np.diff(t) < 0):
        raise ParameterError("time_s must be sorted in time")
    if t[-1] <= t[0]:
        raise ParameterError("time_s spans zero seconds")
    return t, a


def _work_rate_hz(time_s: NDArray[np.float64]) -> float:
    steps_s = np.diff(time_s)
    median_step_s = float(np.median(steps_s[steps_s > 0]))
    native_hz = 1.0 / median_step_s
    if native_hz < MIN_INPUT_RATE_HZ:
        raise ParameterError(
            f"accelerometer rate {native_hz:.3g} Hz is below {MIN_INPUT_RATE_HZ:g} Hz "
            "(are the times in seconds, not milliseconds?)"
        )
    return min(native_hz, MAX_WORK_RATE_HZ)


def _orientation_free(xyz: NDArray[np.float64], rate_hz: float) -> tuple[NDArray[np.float64], bool]:
    """One orientation-free signal and whether gravity is in the data.

    With gravity (the local mean of ``|a|`` near g, whichever way the phone is turned): the
    magnitude ``|a|`` minus its mean, invariant to any rotation of the phone, however fast.
    Without (a "linear acceleration" export): the projection on the first principal axis.
    """
    magnitude = np.linalg.norm(xyz, axis=1)
    win = max(1, min(xyz.shape[0], int(GRAVITY_WINDOW_S * rate_hz)))
    kernel = np.ones(win) / win
    local_mean = np.column_stack([np.convolve(xyz[:, k], kernel, mode="valid") for k in range(3)])
    if np.median(np.linalg.norm(local_mean, axis=1)) > GRAVITY_MIN_M_S2:
        return magnitude - magnitude.mean(), True
    projected = _local_principal_axis(xyz - xyz.mean(axis=0), rate_hz)
    # sign: heel strikes are sharp positive spikes (positive skew)
    return (projected if np.mean(projected**3) >= 0 else -projected), False


def _local_principal_axis(centred: NDArray[np.float64], rate_hz: float) -> NDArray[np.float64]:
    """Projection on the principal axis of the surrounding ``PRINCIPAL_AXIS_WINDOW_S``, so a
    phone turning in a pocket keeps its step axis. The axis keeps its sign from window to
    window while it moves less than ``AXIS_CONTINUITY_MIN_COS``; after a fast turn (and in the
    first window) it points where the signal has its sharp positive spikes (positive skew)."""
    n = centred.shape[0]
    win = max(3, min(n, int(PRINCIPAL_AXIS_WINDOW_S * rate_hz)))
    hop = max(1, win // 4)
    starts = np.arange(0, max(1, n - win + 1), hop)
    axes = np.empty((starts.size, 3))
    previous = None
    for i, start in enumerate(starts):
        seg = centred[start : start + win]
        _, vectors = np.linalg.eigh(seg.T @ seg)
        axis = vectors[:, -1]
        if previous is not None and abs(np.dot(axis, previous)) >= AXIS_CONTINUITY_MIN_COS:
            follow = np.dot(axis, previous) < 0  # the axis turned a little: keep its sign
        else:  # first window, or the phone turned fast: heel strikes are sharp positive spikes
            follow = np.mean((seg @ axis) ** 3) < 0
        axes[i] = previous = -axis if follow else axis
    centres = starts + min(win, n) / 2
    idx = np.arange(n)
    per_sample = np.column_stack([np.interp(idx, centres, axes[:, k]) for k in range(3)])
    per_sample /= np.maximum(np.linalg.norm(per_sample, axis=1, keepdims=True), 1e-12)
    projected: NDArray[np.float64] = np.sum(centred * per_sample, axis=1)
    return projected


def _local_period(
    x: NDArray[np.float64],
    *,
    rate_hz: float,
    window_s: float,
    min_period_s: float,
    max_period_s: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per-sample step period (s), periodicity (normalised ACF at that lag) and RMS."""
    n = x.size
    win = min(n, int(round(window_s * rate_hz)))
    hop = max(1, int(round(0.5 * rate_hz)))
    lag_lo = max(1, int(np.floor(min_period_s * rate_hz)))
    lag_hi = min(win - 1, int(np.ceil(2 * max_period_s * rate_hz)))
    starts = np.arange(0, max(1, n - win + 1), hop)
    centres, periods, periodicities, rmss = [], [], [], []
    nfft = int(2 ** np.ceil(np.log2(2 * win)))
    taper = np.hanning(win)
    for start in starts:
        seg = x[start : start + win]
        seg = seg - seg.mean()
        energy = float(np.dot(seg, seg))
        rmss.append(np.sqrt(energy / seg.size))
        centres.append(start + seg.size / 2)
        lag, strength = _step_lag(seg * taper[: seg.size], nfft=nfft, lag_lo=lag_lo, lag_hi=lag_hi)
        periods.append(lag / rate_hz)
        periodicities.append(strength)
    centres_arr = np.asarray(centres)
    periods_arr = _running_nanmedian(np.asarray(periods), PERIOD_SMOOTH_WINDOWS)
    good = np.isfinite(periods_arr)
    idx = np.arange(n)
    fallback_s = 0.5 * (min_period_s + max_period_s)
    period = np.interp(idx, centres_arr[good], periods_arr[good]) if good.any() else np.full(n, fallback_s)
    periodicity = np.interp(idx, centres_arr, np.asarray(periodicities))
    rms = np.interp(idx, centres_arr, np.asarray(rmss))
    return period, periodicity, rms


def _running_nanmedian(x: NDArray[np.float64], width: int) -> NDArray[np.float64]:
    """Centred running median ignoring NaN (a window of all NaN stays NaN); ``width`` odd."""
    half = width // 2
    padded = np.pad(x, half, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)
    out = np.full(x.size, np.nan)
    some = ~np.all(np.isnan(windows), axis=1)
    out[some] = np.nanmedian(windows[some], axis=1)
    return out


def _step_lag(seg: NDArray[np.float64], *, nfft: int, lag_lo: int, lag_hi: int) -> tuple[float, float]:
    """Step lag (samples) and gait periodicity of one tapered window, from its autocorrelation.

    The strongest ACF peak with a lag in [2 * lag_lo, lag_hi] is a stride (or, for a symmetric
    signal, a step or a multiple). It is halved while the ACF also has a peak above
    ``HALF_LAG_MIN_ACF`` between ``LOPSIDED_MIN_FRACTION`` and 1 - that of the lag and the half
    stays above ``lag_lo``. Returns
    (nan, 0) when there is no peak.
    """
    energy = float(np.dot(seg, seg))
    if energy <= 0 or lag_hi <= 2 * lag_lo:
        return np.nan, 0.0
    spec = np.fft.rfft(seg, nfft)
    acf = np.fft.irfft(np.abs(spec) ** 2, nfft)[: lag_hi + 2]
    acf = acf / acf[0]
    cand, _ = signal.find_peaks(acf)
    long_cand = cand[(cand >= 2 * lag_lo) & (cand <= lag_hi)]
    if long_cand.size == 0:
        return np.nan, 0.0
    lag = float(long_cand[np.argmax(acf[long_cand])])
    strength = float(acf[int(lag)])
    # a stride holds two steps: while the ACF also peaks between 0.3 and 0.7 of the lag (at half
    # of it for an even gait; at t1 and lag - t1 for a lopsided one, e.g. a phone in one back
    # pocket: 0.41 / 0.62 s), the lag is a stride (or more) and the step is half of it
    while lag / 2 >= lag_lo:
        inner = cand[(cand >= LOPSIDED_MIN_FRACTION * lag) & (cand <= (1 - LOPSIDED_MIN_FRACTION) * lag)]
        if inner.size == 0 or acf[inner].max() < HALF_LAG_MIN_ACF:
            break
        lag = lag / 2
    return float(lag), strength
