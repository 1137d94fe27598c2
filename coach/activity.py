"""One activity file's running records, whichever format it came in (:mod:`coach.importers`
reads FIT, GPX and TCX into it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
from numpy.typing import NDArray


class ActivityError(ValueError):
    """An activity file that cannot give a running cadence."""


@dataclass(frozen=True)
class Activity:
    """The running records of one activity file.

    Attributes
    ----------
    source : str
        File name.
    fmt : {"fit", "gpx", "tcx"}
    sport : str
        Sport of the part kept (always a running sport).
    started_at : datetime or None
        UTC time of the first running record; None when the file has no dates (a FIT file on
        the device's power-on clock).
    time_s : ndarray, float64, shape (n,)
        Record times in seconds from ``started_at``.
    cadence_spm : ndarray, float64, shape (n,)
        Cadence in steps per minute; NaN where the record has none.
    speed_m_s : ndarray, float64, shape (n,)
        Speed in m/s; NaN where unknown.
    session_avg_spm : float or None
        The device's own session average (FIT only), for comparison.
    notes : list of str
        What was skipped or assumed.
    """

    source: str
    fmt: str
    sport: str
    started_at: datetime | None
    time_s: NDArray[np.float64]
    cadence_spm: NDArray[np.float64]
    speed_m_s: NDArray[np.float64]
    session_avg_spm: float | None = None
    notes: list[str] = field(default_factory=list)


def aware_utc(ts: datetime) -> datetime:
    """``ts`` with its own zone, or UTC when it has none (activity files write UTC)."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=timezone.utc)
