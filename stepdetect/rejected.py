"""The candidates one path's rhythm tracker rejected (off its rhythm) and that were not reported.

The arbitration in :mod:`stepdetect.online` keeps one store per path: a footfall the other path
takes on its rhythm where this path heard a candidate too and rejected it may be a step this path's
tracker missed (``online.HEARD_FILL``, ``online.BANDS_REJECTED_FILL``). Each entry is the
candidate's onset time and the rejecting tracker's rhythm salience then; entries stay in time order,
those of the last ``keep_s`` (one pruning rule for both paths), and a look-up is a bisection.
"""

from __future__ import annotations

import bisect
import math
from collections import deque


class Rejected:
    """One path's rejected candidates: (onset time, its tracker's rhythm salience then), in time
    order, those less than ``keep_s`` older than the latest decision (:meth:`prune`)."""

    def __init__(self, keep_s: float) -> None:
        self.keep_s = float(keep_s)
        self._times: deque[float] = deque()
        self._salience: deque[float] = deque()

    def add(self, time_s: float, salience: float) -> None:
        """Keep a candidate rejected at ``time_s`` by a tracker with rhythm ``salience`` then."""
        k = bisect.bisect_right(self._times, time_s)  # the end, unless decided out of time order
        if k == len(self._times):
            self._times.append(time_s)
            self._salience.append(salience)
        else:
            self._times.insert(k, time_s)
            self._salience.insert(k, salience)

    def prune(self, now_s: float) -> None:
        """Forget candidates more than ``keep_s`` before ``now_s``."""
        while self._times and self._times[0] < now_s - self.keep_s:
            self._times.popleft()
            self._salience.popleft()

    def heard(self, time_s: float, tolerance_s: float, max_salience: float = math.inf) -> bool:
        """Whether a candidate within ``tolerance_s`` of ``time_s`` was rejected while its tracker's
        rhythm salience was below ``max_salience``."""
        k = bisect.bisect_left(self._times, time_s - tolerance_s)
        while k < len(self._times) and self._times[k] <= time_s + tolerance_s:
            if self._salience[k] < max_salience:
                return True
            k += 1
        return False
