"""Input checks at the public boundary of ``stepdetect``.

Errors are :class:`ParameterError` (a ``ValueError``) with the bad value and a unit hint.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class ParameterError(ValueError):
    """A signal or parameter given to ``stepdetect`` is malformed or out of range."""


def validate_sample_rate(sample_rate: float, *, low_hz: float = 1.0, high_hz: float = 768_000.0) -> float:
    """Check a sampling rate in Hz."""
    if not np.isfinite(sample_rate) or not (low_hz <= sample_rate <= high_hz):
        raise ParameterError(
            f"sample rate {sample_rate!r} Hz is outside {low_hz:g}-{high_hz:g} Hz (did you pass a period?)"
        )
    return float(sample_rate)


def validate_audio(y: object, *, max_ndim: int = 2) -> NDArray[np.floating]:
    """Check audio: a float ndarray, 1-D (mono) or 2-D (frames, channels), finite values."""
    if not isinstance(y, np.ndarray):
        raise ParameterError(f"audio must be a numpy array, got {type(y).__name__}")
    if y.dtype.kind != "f":  # float16-float128 (np.issubdtype(y.dtype, np.floating), without its cost per block)
        raise ParameterError(f"audio must have a floating dtype (scaled to -1..1), got {y.dtype}")
    if y.ndim < 1 or y.ndim > max_ndim:
        raise ParameterError(f"audio must be 1-D or (frames, channels), got shape {y.shape}")
    if not np.isfinite(y).all():  # the method: np.all's Python wrapper costs more than the test on a live block
        raise ParameterError("audio contains NaN or infinite samples")
    return y


def validate_events(times_s: object, *, max_time_s: float = 1e6, name: str = "event times") -> NDArray[np.float64]:
    """Check event times: 1-D, finite, sorted, non-negative, in seconds."""
    arr = np.asarray(times_s, dtype=np.float64)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 0):
        raise ParameterError(f"{name} must be finite and >= 0 seconds")
    if arr.size and arr.max() > max_time_s:
        raise ParameterError(f"{name} go up to {arr.max():g} s; did you pass milliseconds or samples?")
    if np.any(np.diff(arr) < 0):
        raise ParameterError(f"{name} must be sorted in time")
    return arr
