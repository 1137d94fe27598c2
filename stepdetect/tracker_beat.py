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
import math
import statistics
from collections.abc import Container, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BeatParams:
    """How exact and how long a grid of candidates must be to count as another rhythm."""

    min_period_s: float = 0.2  # beat periods searched (a hi-hat's half beat, a slow kick)
    max_period_s: float = 1.0
    tolerance_s: float = 0.006  # each grid member within this of its exact place (timing noise of an onset)
    n_back: int = 8  # grid places before the candidate searched (inside the remembered candidates) ...
    min_members: int = 3  # ... at least this many found occupied (the first one back included) ...
    # ... and so many that candidates falling there by chance would do it at most this often
    # (over all the periods tried): a dense texture of onsets needs more members than a sparse one
    max_chance: float = 0.01
    exclude_ratios: tuple[float, ...] = (1 / 3, 0.5, 1.0, 2.0, 3.0)  # of the step period: the steps' own grid
    exclude_tolerance: float = 0.1  # ... within this fraction of the ratio
    louder_than_beat: float = 1.5  # a candidate on the grid this x louder than its median member is a footfall

    def related(self, period_s: float, beat_s: float) -> bool:
        """Whether a rhythm of ``period_s`` is the beat's own (its period, or 2 or 3 x or 1/2 or 1/3 of it)."""
        return any(abs(period_s / beat_s - r) <= self.exclude_tolerance * r for r in self.exclude_ratios)


def _binomial_tail(n: int, k: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1.0 - p) ** (n - i) for i in range(k, n + 1))


def _coverage(times: Sequence[float], t: float, tol: float) -> float:
    """Share of the remembered span before ``t`` that lies within ``tol`` of a candidate: the
    chance that a grid place is occupied by an unrelated candidate."""
    span = t - times[0]
    if span <= 0:
        return 1.0
    covered, end = 0.0, -math.inf
    for x in times:
        lo, hi = max(x - tol, end), x + tol
        if hi > lo:
            covered += hi - lo
            end = hi
    return min(1.0, covered / span)


def beat_of(times: Sequence[float], strengths: Sequence[float], t: float, s: float, step_period_s: float,
            params: BeatParams, steps: Container[float] = ()) -> float | None:
    """The period (s) of an exact grid of earlier candidates that ``t`` continues, or None.

    ``times`` (non-decreasing) and ``strengths``: earlier candidates; ``s``: the candidate's strength;
    ``step_period_s``: the locked step period (grids at its simple ratios are the steps' own);
    ``steps``: the times of those candidates taken as footfalls (a grid place they occupy is not
    the other rhythm's member). None too when ``s`` is at least ``louder_than_beat`` x the grid's
    median member.
    """
    p = params
    if not times:
        return None
    hi = bisect.bisect_left(times, t - p.min_period_s + 1e-9)
    lo = bisect.bisect_left(times, t - p.max_period_s)
    tries = [j for j in range(hi - 1, lo - 1, -1) if not p.related(t - times[j], step_period_s)]
    if not tries:
        return None
    chance = _coverage(times, t, p.tolerance_s)
    tol = p.tolerance_s
    for j in tries:
        period = t - times[j]
        members = [strengths[j]]
        places = 0
        for k in range(2, p.n_back + 1):
            target = t - k * period
            if target < times[0] - tol:
                break  # before the remembered candidates
            places += 1
            i = bisect.bisect_left(times, target - tol)
            if i < len(times) and times[i] <= target + tol:
                # the nearest candidate in the tolerance; refine the period on it
                best = min(range(i, bisect.bisect_right(times, target + tol)), key=lambda m: abs(times[m] - target))
                if times[best] not in steps:
                    members.append(strengths[best])
                    period = (t - times[best]) / k
        if (len(members) >= p.min_members
                and len(tries) * _binomial_tail(places, len(members) - 1, chance) <= p.max_chance):
            return period if s < p.louder_than_beat * statistics.median(members) else None
    return None
