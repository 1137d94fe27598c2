"""Beat-footfall asynchrony ("drift"): how far each footfall lands from the heard beat.

Asynchrony of a footfall = footfall time minus the time of the nearest heard beat, in ms;
negative means the foot lands before the beat. Beats are the times the ticks were *heard*
(the caller adds output latency), on the same time axis as the footfalls.

With one tick per stride (every other step) only the foot that the ticks belong to has a
beat: a footfall counts when it lies within a quarter stride of a tick; the other foot's
footfalls get no asynchrony (NaN). Footfalls with no beat within half a beat period (for
instance during silent "off" minutes) get NaN too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stepdetect.validate import ParameterError, validate_events

DEFAULT_TOLERANCE_MS = 40.0


def asynchronies_ms(
    step_times_s: NDArray[np.float64],
    beat_times_s: NDArray[np.float64],
    *,
    every_other_step: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Signed asynchrony of each footfall to the nearest heard beat.

    Parameters
    ----------
    step_times_s : 1-D sorted array, seconds
    beat_times_s : 1-D sorted array, seconds
        Heard beat (tick) times.
    every_other_step : bool
        Ticks mark every second step (one per stride).

    Returns
    -------
    asynchrony_ms : NDArray[float64], shape like ``step_times_s``
        NaN where the footfall has no beat.
    period_s : NDArray[float64]
        The local beat period used for each footfall (NaN with the asynchrony).
    """
    steps = validate_events(step_times_s, name="step times")
    beats = validate_events(beat_times_s, name="beat times")
    out = np.full(steps.shape, np.nan)
    period = np.full(steps.shape, np.nan)
    if beats.size < 2 or steps.size == 0:
        return out, period
    intervals = np.diff(beats)
    idx = np.clip(np.searchsorted(beats, steps), 1, beats.size - 1)
    before, after = beats[idx - 1], beats[idx]
    nearest = np.where(steps - before <= after - steps, before, after)
    local = intervals[idx - 1]
    # A beat interval much longer than its neighbours spans a silent stretch: use the shorter
    # neighbouring interval as the period there.
    prev_int = intervals[np.maximum(idx - 2, 0)]
    next_int = intervals[np.minimum(idx, intervals.size - 1)]
    typical = np.minimum(prev_int, next_int)
    local = np.where(local > 1.5 * typical, typical, local)
    delta = steps - nearest
    window = local / 4 if every_other_step else local / 2
    ok = np.abs(delta) <= window
    out[ok] = 1000.0 * delta[ok]
    period[ok] = local[ok]
    return out, period


@dataclass(frozen=True)
class AsynchronyStats:
    """Summary of footfall asynchronies over an interval or a session."""

    n: int
    mean_ms: float | None
    sd_ms: float | None
    median_ms: float | None
    within_pct: float | None  # % of footfalls within ±tolerance_ms
    tolerance_ms: float
    resultant_length: float | None  # circular R, 0 (no relation to the beat) - 1 (locked)
    circular_mean_ms: float | None
    drift_ms_per_min: float | None  # slope of asynchrony over time

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def asynchrony_stats(
    step_times_s: NDArray[np.float64],
    asynchrony_ms: NDArray[np.float64],
    period_s: NDArray[np.float64],
    *,
    tolerance_ms: float = DEFAULT_TOLERANCE_MS,
) -> AsynchronyStats:
    """Mean, SD, % within tolerance, circular R and drift rate of the asynchronies.

    NaN asynchronies are ignored. The drift rate is the least-squares slope of the
    asynchrony over time, after unwrapping the phase so that a runner slowly drifting
    through a whole beat is one line, not a saw-tooth. Needs 2 footfalls for SD, R and
    drift; returns ``None`` figures where there are too few.
    """
    if tolerance_ms <= 0:
        raise ParameterError(f"tolerance must be positive, got {tolerance_ms} ms")
    t = np.asarray(step_times_s, dtype=np.float64)
    a = np.asarray(asynchrony_ms, dtype=np.float64)
    p = np.asarray(period_s, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(p)
    t, a, p = t[ok], a[ok], p[ok]
    n = int(a.size)
    if n == 0:
        return AsynchronyStats(0, None, None, None, None, tolerance_ms, None, None, None)
    phase = 2 * np.pi * a / (1000.0 * p)
    vector = np.mean(np.exp(1j * phase))
    mean_period_ms = 1000.0 * float(np.mean(p))
    circ_mean_ms = float(np.angle(vector)) / (2 * np.pi) * mean_period_ms
    drift = None
    if n >= 3 and float(np.ptp(t)) > 0:
        unwrapped_ms = np.unwrap(phase) / (2 * np.pi) * 1000.0 * p
        drift = float(np.polyfit(t / 60.0, unwrapped_ms, 1)[0])
    return AsynchronyStats(
        n=n,
        mean_ms=float(np.mean(a)),
        sd_ms=float(np.std(a, ddof=1)) if n >= 2 else None,
        median_ms=float(np.median(a)),
        within_pct=100.0 * float(np.mean(np.abs(a) <= tolerance_ms)),
        tolerance_ms=tolerance_ms,
        resultant_length=float(np.abs(vector)) if n >= 2 else None,
        circular_mean_ms=circ_mean_ms,
        drift_ms_per_min=drift,
    )
