"""Another rhythm in the background: the beat of music (kick drums, hi-hats), a machine's seam.

Footfalls are quasi-periodic: a runner's step intervals wander by several milliseconds from step
to step. A drum machine or a treadmill seam is periodic to the millisecond. While the
:class:`~stepdetect.tracker.StepTracker` is locked on the steps, a candidate that continues such
an exact grid of earlier candidates -- at a period that is not the step period's (nor twice, three
times, half or a third of it) -- is a beat of that other rhythm, not a footfall, unless it is much
louder than the grid's own events (a footfall landing on a kick).

:func:`find_grid` finds the grid a candidate lies on and :class:`BeatGrids` follows it; the tracker neither takes such a candidate as
a step (on the rhythm or off it), nor dates a footfall at it (a heel), nor moves its prediction to
it, nor switches to its rhythm.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import statistics
from collections import deque
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
    # ... the median of its last this many members: strengths are measured with band weights the
    # rhythm keeps teaching, so the first members of a grid (hi-hats heard before the weights were
    # learned, as loud as the steps) are no measure of a beat heard now
    reference_members: int = 5
    expire_beats: float = 8.0  # a grid nobody hit for this many of its periods is forgotten
    rebase_beats: int = 32  # the period is measured over at most this many beats
    max_grids: int = 3  # grids followed at once (kick, hi-hat, a machine)
    # Another instrument of the same music plays on the tempo already heard, at its own phase
    # (hi-hats between the kicks): a candidate with earlier ones at 1, 2, ... of a known grid's
    # periods back, each within tolerance_s, is on the beat too when candidates falling there by
    # chance would do it at most this often (only the phase is new, so one period is tried
    # instead of every interval; None: no such test) ...
    known_tempo_chance: float | None = 0.1
    new_phase_s: float = 0.018  # ... at least this far from the known grids' places (3 x tolerance_s)
    # Before any rhythm is locked: a candidate continuing an exact grid of earlier candidates
    # faster than any step (min_period_s up to the tracker's shortest step period: a hi-hat's
    # eighth notes) is no provisional footfall when candidates falling there by chance would do
    # it at most this often -- the first hi-hats of a song have only two or three places behind
    # them, so the bar is lower than max_chance (None: no such test) -- unless louder_than_beat
    # x its members (a footfall landing on a hi-hat)
    before_lock_chance: float | None = 0.03

    def related(self, period_s: float, beat_s: float) -> bool:
        """Whether a rhythm of ``period_s`` is the beat's own (its period, or 2 or 3 x or 1/2 or 1/3 of it)."""
        x = period_s / beat_s
        tol = self.exclude_tolerance
        for r in self.exclude_ratios:
            if abs(x - r) <= tol * r:
                return True
        return False


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


@dataclass
class _Grid:
    """A beat grid being followed: its period, one member to count places from, its members' strengths."""

    period_s: float
    base_s: float  # a member's time
    last_hit_s: float
    strengths: deque[float]
    hits: int = 0  # candidates on it since it was found


class BeatGrids:
    """The beat grids heard so far, followed from candidate to candidate.

    Once a grid was found (:func:`find_grid`), its later places are known to the millisecond: a
    candidate there is on the beat even where the picker missed the beats around it (a kick
    under a step, one too soft to pick). The period is refined on every member over the whole
    span since the base member; a grid nobody has hit for ``expire_beats`` of its periods (the
    song changed, the music stopped) is forgotten.
    """

    def __init__(self, params: BeatParams) -> None:
        self.params = params
        self._grids: list[_Grid] = []
        # the same parameters with the known-tempo chance (made once: judged per candidate)
        self._known_tempo_params = (params if params.known_tempo_chance is None
                                    else dataclasses.replace(params, max_chance=params.known_tempo_chance))
        # per shortest step period: the parameters of the before-the-lock test (made once, as above)
        self._faster_params: dict[float, BeatParams] = {}

    def judge(self, times: Sequence[float], strengths: Sequence[float], t: float, s: float,
              step_period_s: float, steps: Container[float] = ()) -> float | None:
        """The period of the beat grid the candidate at ``t`` lies on (None: none, or it is
        ``louder_than_beat`` x its members: a footfall on the beat). Arguments as :func:`find_grid`."""
        p = self.params
        self._grids = [g for g in self._grids if t - g.last_hit_s <= p.expire_beats * g.period_s]
        louder_than: list[float] = []  # the periods of grids it lies on, louder than their beats
        for g in self._grids:
            n = round((t - g.base_s) / g.period_s)
            if n < 1 or abs(t - g.base_s - n * g.period_s) > p.tolerance_s or p.related(g.period_s, step_period_s):
                continue
            if s < p.louder_than_beat * statistics.median(list(g.strengths)[-p.reference_members:]):
                return self._hit(g, t, s, n)
            louder_than.append(g.period_s)
        # a new grid (louder beats on a grid of softer ones: kicks among hi-hats)
        found = find_grid(times, strengths, t, step_period_s, p, steps, louder_than)
        if found is None and p.known_tempo_chance is not None and not louder_than and self._grids:
            tempos = sorted({g.period_s for g in self._grids if p.min_period_s <= g.period_s <= p.max_period_s
                             and not p.related(g.period_s, step_period_s)})
            # at its own phase: near a grid's places it is a candidate that missed the beat (a
            # step), and one louder than the beats it lies on is a footfall on the beat
            if tempos and all(self._off_places(g, t) > p.new_phase_s for g in self._grids):
                found = find_grid(times, strengths, t, step_period_s, self._known_tempo_params, steps,
                                  tempos=tempos)
        if found is None:
            return None
        period, members = found
        g = _Grid(period, t, t, deque(members, maxlen=p.n_back))
        if len(self._grids) >= p.max_grids:
            self._grids.pop(0)
        self._grids.append(g)
        return period if s < p.louder_than_beat * statistics.median(g.strengths) else None

    def faster_than_steps(self, times: Sequence[float], strengths: Sequence[float], t: float, s: float,
                          shortest_step_s: float) -> bool:
        """Whether the candidate at ``t`` (strength ``s``) continues an exact grid of the earlier
        candidates (``times``, ``strengths``) at a period shorter than ``shortest_step_s`` -- no
        runner's steps, but a hi-hat's (see ``before_lock_chance``; nothing is remembered)."""
        p = self.params
        if p.before_lock_chance is None or shortest_step_s <= p.min_period_s or not times:
            return False
        fast = self._faster_params.get(shortest_step_s)
        if fast is None:
            fast = self._faster_params[shortest_step_s] = dataclasses.replace(
                p, max_period_s=shortest_step_s, max_chance=p.before_lock_chance)
        found = find_grid(times, strengths, t, math.inf, fast)
        return found is not None and s < p.louder_than_beat * statistics.median(found[1])

    def heard(self, now_s: float) -> bool:
        """Whether music is playing at ``now_s``: a grid that was hit again after it was found
        (not a chance alignment of a few candidates) is still followed (not ``expire_beats`` of
        its periods unheard)."""
        p = self.params
        return any(g.hits >= 1 and now_s - g.last_hit_s <= p.expire_beats * g.period_s for g in self._grids)

    @staticmethod
    def _off_places(g: _Grid, t: float) -> float:
        """How far ``t`` is from the nearest place of grid ``g`` (s)."""
        x = (t - g.base_s) / g.period_s
        return abs(x - round(x)) * g.period_s

    def _hit(self, g: _Grid, t: float, s: float, n: int) -> float:
        g.period_s = (t - g.base_s) / n
        g.last_hit_s = t
        g.hits += 1
        g.strengths.append(s)
        if n > self.params.rebase_beats:
            g.base_s = t  # keep the span bounded (a slow drift of the tempo)
        return g.period_s


def _nearest(times: Sequence[float], target: float, tol: float) -> int | None:
    """Index of the candidate (``times`` non-decreasing) nearest ``target`` within ``tol``, or None."""
    i = bisect.bisect_left(times, target - tol)
    if i == len(times) or times[i] > target + tol:
        return None
    return min(range(i, bisect.bisect_right(times, target + tol)), key=lambda m: abs(times[m] - target))


def find_grid(times: Sequence[float], strengths: Sequence[float], t: float, step_period_s: float,
              params: BeatParams, steps: Container[float] = (),
              known: Sequence[float] = (),
              tempos: Sequence[float] | None = None) -> tuple[float, list[float]] | None:
    """An exact grid of earlier candidates that ``t`` continues: its period (s) and its members'
    strengths, or None.

    ``times`` (non-decreasing) and ``strengths``: earlier candidates; ``step_period_s``: the
    locked step period (grids at its simple ratios are the steps' own); ``steps``: the times of
    those candidates taken as footfalls (a grid place they occupy is not the other rhythm's
    member); ``known``: periods of grids not to find again; ``tempos``: only grids at these
    periods (a tempo already heard: the one candidate a period back is tried for each).
    """
    p = params
    if not times:
        return None
    hi = bisect.bisect_left(times, t - p.min_period_s + 1e-9)
    lo = bisect.bisect_left(times, t - p.max_period_s)
    tries: list[int]  # the candidate a period back
    if tempos is not None:
        tries = [j for j in (_nearest(times, t - q, p.tolerance_s) for q in tempos) if j is not None]
    else:
        tries = [j for j in range(hi - 1, lo - 1, -1)
                 if t - times[j] <= p.max_period_s and not p.related(t - times[j], step_period_s)
                 and not (known and any(abs(t - times[j] - k) <= p.exclude_tolerance * k for k in known))]
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
            best = _nearest(times, target, tol)
            if best is not None and times[best] not in steps:  # a member: refine the period on it
                members.append(strengths[best])
                period = (t - times[best]) / k
        if (len(members) >= p.min_members
                and len(tries) * _binomial_tail(places, len(members) - 1, chance) <= p.max_chance):
            return period, members
    return None
