"""Step detection in 3-axis accelerometer streams (phone, earbud or watch IMU).

Pipeline (all parameters physical, converted to samples once):

1. Resample x, y, z on a uniform grid from the timestamps (handles irregular sampling).
2. Reduce to one orientation-free signal: the magnitude ``|a|`` when gravity is in the data,
   otherwise (gravity-free "linear acceleration") the projection on the first principal axis.
3. Band-pass around the step band: high-pass ``min_cadence_spm / 120`` Hz (half the slowest step
   rate, removes posture changes and gravity drift), low-pass ``max_cadence_spm / 60`` Hz (the
   fastest step fundamental), zero phase.
4. Estimate the local step period by autocorrelation in sliding windows: the strongest peak at
   stride-range lags, halved while the autocorrelation also peaks near half that lag (so the
   stride period of a lopsided pocket signal is not taken for the step period).
5. Pick peaks at least ``refractory_fraction`` of the local step period apart whose prominence
   exceeds ``threshold_fraction`` of the local RMS (adaptive threshold), only where the signal is
   periodic and moving (a still phone gives no steps); refine each to sub-sample time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from stepdetect.validate import ParameterError

MIN_CADENCE_SPM = 60.0
MAX_CADENCE_SPM = 240.0
MAX_WORK_RATE_HZ = 100.0
MIN_INPUT_RATE_HZ = 15.0
HALF_LAG_MIN_ACF = 0.1
LOPSIDED_MIN_FRACTION = 0.3
MIN_GAIT_RMS_M_S2 = 0.2


def detect_steps_accel(
    time_s: NDArray[np.floating],
    xyz: NDArray[np.floating],
    *,
    min_cadence_spm: float = MIN_CADENCE_SPM,
    max_cadence_spm: float = MAX_CADENCE_SPM,
    window_s: float = 4.0,
    refractory_fraction: float = 0.6,
    threshold_fraction: float = 0.5,
    min_periodicity: float = 0.3,
    min_rms_m_s2: float = MIN_GAIT_RMS_M_S2,
) -> NDArray[np.float64]:
    """Detect steps (one per foot contact) in a 3-axis accelerometer stream.

    Parameters
    ----------
    time_s : ndarray, shape (N,)
        Sample times in seconds, non-decreasing; may be irregularly spaced. Median rate must be
        at least ``MIN_INPUT_RATE_HZ`` (15 Hz).
    xyz : ndarray, shape (N, 3)
        Acceleration along three device axes in m/s², any orientation, with or without gravity.
    min_cadence_spm, max_cadence_spm : float > 0
        Plausible cadence range in steps per minute (both feet). Sets the band-pass and the
        autocorrelation lag range. Defaults 60–240 spm cover slow walking to sprinting.
    window_s : float > 0
        Length of the windows used to estimate the local step period and RMS, in seconds.
    refractory_fraction : float in (0, 1)
        Minimum time between steps as a fraction of the local step period.
    threshold_fraction : float >= 0
        Minimum peak prominence as a fraction of the local RMS of the filtered signal.
    min_periodicity : float in [0, 1)
        Minimum normalised autocorrelation at the step period for a window to count as
        walking/running; below it no steps are reported there.
    min_rms_m_s2 : float >= 0
        Minimum RMS of the band-passed signal (m/s²) for a window to count as gait. The default
        0.2 m/s² (0.02 g) is well above phone MEMS noise in the step band and below the gentlest
        walk seen (carpet, in hand: 0.6 m/s²).

    Returns
    -------
    ndarray, float64, shape (n_steps,)
        Step times in seconds on the ``time_s`` axis, sorted.

    Raises
    ------
    ParameterError
        On malformed input (shape, non-finite values, unsorted or too sparse time) or
        inconsistent parameters.
    """
    time_s, xyz = _validate_stream(time_s, xyz)
    if not (0 < min_cadence_spm < max_cadence_spm):
        raise ParameterError(
            f"cadence range {min_cadence_spm!r}-{max_cadence_spm!r} spm must satisfy 0 < min < max"
        )
    if not 0 < refractory_fraction < 1:
        raise ParameterError(f"refractory_fraction {refractory_fraction!r} must be in (0, 1)")
    if window_s <= 2 * 60.0 / min_cadence_spm:
        raise ParameterError(f"window_s {window_s!r} s must exceed two periods of the slowest cadence")

    rate_hz = _work_rate_hz(time_s)
    grid_s = np.arange(0.0, time_s[-1] - time_s[0], 1.0 / rate_hz) + time_s[0]
    if grid_s.size < 3:
        return np.empty(0)
    on_grid = np.column_stack([np.interp(grid_s, time_s, xyz[:, k]) for k in range(3)])
    raw = _orientation_free(on_grid)

    nyquist_hz = rate_hz / 2
    low_hz = min_cadence_spm / 120.0
    high_hz = min(max_cadence_spm / 60.0, 0.9 * nyquist_hz)
    sos = signal.butter(2, [low_hz, high_hz], btype="bandpass", fs=rate_hz, output="sos")
    padlen = min(int(3 * rate_hz / low_hz), grid_s.size - 1)  # three periods of the low cut
    filtered = signal.sosfiltfilt(sos, raw, padlen=padlen)

    period_s, periodicity, rms = _local_period(
        filtered,
        rate_hz=rate_hz,
        window_s=window_s,
        min_period_s=60.0 / max_cadence_spm,
        max_period_s=60.0 / min_cadence_spm,
    )
    min_distance = max(1, int(np.floor(refractory_fraction * 60.0 / max_cadence_spm * rate_hz)))
    peaks, props = signal.find_peaks(filtered, distance=min_distance, prominence=0)
    if peaks.size == 0:
        return np.empty(0)
    keep = (
        (props["prominences"] >= threshold_fraction * rms[peaks])
        & (periodicity[peaks] >= min_periodicity)
        & (rms[peaks] >= min_rms_m_s2)
    )
    peaks = peaks[keep]
    peaks = _enforce_refractory(peaks, filtered, refractory_fraction * period_s * rate_hz)
    return grid_s[0] + _refine_peaks(filtered, peaks) / rate_hz


def _refine_peaks(x: NDArray[np.float64], peaks: NDArray[np.intp]) -> NDArray[np.float64]:
    """Sub-sample peak positions (in samples) by fitting a parabola through each peak's 3 samples."""
    pos = peaks.astype(np.float64)
    inner = (peaks > 0) & (peaks < x.size - 1)
    p = peaks[inner]
    left, mid, right = x[p - 1], x[p], x[p + 1]
    curvature = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curvature < 0, 0.5 * (left - right) / curvature, 0.0)
    pos[inner] += np.clip(shift, -0.5, 0.5)
    return pos


def _validate_stream(time_s: object, xyz: object) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t = np.asarray(time_s, dtype=np.float64)
    a = np.asarray(xyz, dtype=np.float64)
    if t.ndim != 1:
        raise ParameterError(f"time_s must be 1-D, got shape {t.shape}")
    if a.ndim != 2 or a.shape[1] != 3 or a.shape[0] != t.size:
        raise ParameterError(f"xyz must have shape ({t.size}, 3) to match time_s, got {a.shape}")
    if t.size < 10:
        raise ParameterError(f"need at least 10 accelerometer samples, got {t.size}")
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


def _orientation_free(xyz: NDArray[np.float64]) -> NDArray[np.float64]:
    """Magnitude when gravity dominates the mean, else first principal component."""
    magnitude = np.linalg.norm(xyz, axis=1)
    mean_vector = xyz.mean(axis=0)
    if np.linalg.norm(mean_vector) > 0.5 * np.sqrt(np.mean(magnitude**2)):
        return magnitude - magnitude.mean()
    centred = xyz - mean_vector
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ vt[0]
    # sign: heel strikes are sharp positive spikes (positive skew)
    return projected if np.mean(projected**3) >= 0 else -projected


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
    periods_arr = np.asarray(periods)
    good = np.isfinite(periods_arr)
    idx = np.arange(n)
    fallback_s = 0.5 * (min_period_s + max_period_s)
    period = np.interp(idx, centres_arr[good], periods_arr[good]) if good.any() else np.full(n, fallback_s)
    periodicity = np.interp(idx, centres_arr, np.asarray(periodicities))
    rms = np.interp(idx, centres_arr, np.asarray(rmss))
    return period, periodicity, rms


def _step_lag(seg: NDArray[np.float64], *, nfft: int, lag_lo: int, lag_hi: int) -> tuple[float, float]:
    """Step lag (samples) and gait periodicity of one tapered window, from its autocorrelation.

    The strongest ACF peak with a lag in [2 * lag_lo, lag_hi] is a stride (or, for a symmetric
    signal, a step or a multiple). It is halved while the ACF also has a peak near half the lag
    (within ±20 %) above ``HALF_LAG_MIN_ACF`` and the half stays above ``lag_lo``. Returns
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
    while lag / 2 >= lag_lo:
        near = cand[(cand >= 0.4 * lag) & (cand <= 0.6 * lag) & (cand >= lag_lo)]
        if near.size and acf[near].max() >= HALF_LAG_MIN_ACF:
            lag = float(near[np.argmax(acf[near])])  # the step has its own ACF peak
            continue
        # lopsided gait (phone in one pocket): the two steps of a stride are unequal, their ACF
        # peaks sit at t1 and stride - t1 instead of stride / 2; the mean step is half the stride
        wide = cand[(cand >= LOPSIDED_MIN_FRACTION * lag) & (cand <= (1 - LOPSIDED_MIN_FRACTION) * lag)]
        if wide.size == 0 or acf[wide].max() < HALF_LAG_MIN_ACF:
            break
        lag = lag / 2
    return float(lag), strength


def _enforce_refractory(
    peaks: NDArray[np.intp], x: NDArray[np.float64], min_gap: NDArray[np.float64]
) -> NDArray[np.intp]:
    """Keep the tallest peaks first; drop any peak closer than ``min_gap[peak]`` samples to a kept one."""
    kept = np.empty(0, dtype=np.intp)
    for p in peaks[np.argsort(-x[peaks], kind="stable")]:
        pos = np.searchsorted(kept, p)
        gap = min_gap[p]
        if (pos > 0 and p - kept[pos - 1] < gap) or (pos < kept.size and kept[pos] - p < gap):
            continue
        kept = np.insert(kept, pos, p)
    return kept
