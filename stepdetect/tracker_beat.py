"""Another rhythm in the background: the beat of music (kick drums, hi-hats), a machine's seam.

Footfalls are quasi-periodic: a runner's step intervals wander by several milliseconds from step
to step. A drum machine or a treadmill seam is periodic to the millisecond. While the
:class:`~stepdetect.tracker.StepTracker` is locked on the steps, a candidate that continues such
an exact grid of earlier candidates -- at a period that is not the step period's (nor twice, three
times, half or a third of it) -- is a beat of that other rhythm, not a footfall, unless it is much
louder than the grid's own events (a footfall landing on a kick).

:func:`beat_of` finds the grid a candidate lies on; the tracker neither takes such a candidate as
a step (on the rhythm or off it), nor dates a footfall at it (a heel), nor moves its prediction to
it, nor switches to its rhythm.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BeatParams:
    """How exact and how long a grid of candidates must be to count as another rhythm."""

    min_period_s: float = 0.2  # beat periods searched (a hi-hat's half beat, a slow kick)
    max_period_s: float = 1.0
    tolerance_s: float = 0.006  # each grid member within this of its exact place (timing noise of an onset)
    tolerance_fraction: float = 0.0  # ... or this fraction of the period, whichever is larger
    n_back: int = 6  # grid places before the candidate searched ...
    min_hits: int = 5  # ... and found occupied (one may hide under a footfall or be too soft to pick)
    exclude_ratios: tuple[float, ...] = (1 / 3, 0.5, 1.0, 2.0, 3.0)  # of the step period: the steps' own grid
    exclude_tolerance: float = 0.1  # ... within this fraction of the ratio
    louder_than_beat: float = 1.5  # a candidate on the grid this x louder than its median member is a footfall

    def related(self, period_s: float, beat_s: float) -> bool:
        """Whether a rhythm of ``period_s`` is the beat's own (its period, or 2 or 3 x or 1/2 or 1/3 of it)."""
        return any(abs(period_s / beat_s - r) <= self.exclude_tolerance * r for r in self.exclude_ratios)


def beat_of(times: Sequence[float], strengths: Sequence[float], t: float, s: float, step_period_s: float,
            params: BeatParams) -> float | None:
    """The period (s) of an exact grid of earlier candidates that ``t`` continues, or None.

    ``times`` (non-decreasing) and ``strengths``: earlier candidates; ``s``: the candidate's strength;
    ``step_period_s``: the locked step period (grids at its simple ratios are the steps' own).
    None too when ``s`` is at least ``louder_than_beat`` x the grid's median member.
    """
    p = params
    hi = bisect.bisect_left(times, t - p.min_period_s + 1e-9)
    lo = bisect.bisect_left(times, t - p.max_period_s)
    for j in range(hi - 1, lo - 1, -1):
        period = t - times[j]
        if p.related(period, step_period_s):
            continue
        members = [strengths[j]]
        misses = 0
        for k in range(2, p.n_back + 1):
            tol = max(p.tolerance_s, p.tolerance_fraction * period)
            target = t - k * period
            i = bisect.bisect_left(times, target - tol)
            if i < len(times) and times[i] <= target + tol:
                # nearest member in the tolerance; refine the period on it
                best = min(range(i, bisect.bisect_right(times, target + tol)), key=lambda m: abs(times[m] - target))
                members.append(strengths[best])
                period = (t - times[best]) / k
            else:
                misses += 1
                if misses > p.n_back - p.min_hits:
                    break
        if len(members) >= p.min_hits:
            return period if s < p.louder_than_beat * statistics.median(members) else None
    return None
