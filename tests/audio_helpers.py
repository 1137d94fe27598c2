"""Test helpers that read audio the way a measuring instrument would (no project code)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def find_tick_onsets(
    x: NDArray[np.floating], *, threshold: float = 0.05, quiet: float = 1e-3, min_quiet_samples: int = 32
) -> NDArray[np.int64]:
    """First sample of each tick: the first |x| > threshold after at least
    ``min_quiet_samples`` samples below ``quiet``. ``x`` is mono or (frames, channels)."""
    level = np.abs(np.asarray(x, dtype=np.float64))
    if level.ndim == 2:
        level = level.max(axis=1)
    n = np.arange(level.size)
    last_not_quiet = np.maximum.accumulate(np.where(level < quiet, -1, n))
    quiet_before = np.empty(level.size, dtype=np.int64)  # quiet samples just before each index
    quiet_before[0] = min_quiet_samples  # the start of the signal counts as after silence
    quiet_before[1:] = n[:-1] - last_not_quiet[:-1]
    return np.flatnonzero((level > threshold) & (quiet_before >= min_quiet_samples)).astype(np.int64)
