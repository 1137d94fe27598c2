"""A kick drum heard beside the steps: onsets shaped like a kick, on an exact grid of their own.

Earbud music leaks its kick drum into the microphone: a thump (30-250 Hz) that jumps far more
than anything above it, every beat of the song, exact to the millisecond. A runner's step jumps
across the bands (a crunch, a heel strike's slap), so its 30-250 Hz jump stands out of the others
far less -- by how much depends on the surface and the shoe, so the measure is the runner's own:
the steps taken so far. A candidate is *kick-shaped* when its thump-band jump exceeds its largest
jump above 250 Hz by at least ``min_lead_db`` and by ``over_steps_db`` more than the steps' recent
median of that lead.

Kick-shaped onsets alone make a sparse train (no hi-hat, no crunch among them), so an exact grid
is found in it from a few members (:func:`~stepdetect.tracker_beat.find_grid`, the beat grids'
own test, at periods not at a simple ratio of the step period). A kick-shaped candidate on the
place of such a grid, found before it, is a beat of the music, never a step: a step landing on a
kick jumps in the upper bands too, so it is not kick-shaped and is judged as any other candidate.

What the rule leaves alone (session 17; on eval a metronome's ticks made the grid and real steps
on it were rejected): the grid that a candidate itself completes rejects nothing until its next
place is hit by a later onset (a search over many periods and divisions finds a few onsets on
*some* grid by chance; a grid's own prediction hit to the millisecond is not chance); a candidate
on a known metronome tick is never a kick nor a member of a kick grid, and a footfall on one
does not teach the steps' lead (a beep taken for a step, -20 dB of lead, made every heavy heel
kick-shaped); a candidate near a place of the locked step rhythm is judged as a step and finds
no grid (a train of heavy heels, one foot's every other stride, made a grid of its own), though it
joins the kick-shaped train (leaving it out lost grids on re-seeded dev music renders).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from stepdetect.tracker_beat import BeatGrids, BeatParams


STEPS_REMEMBERED = 8  # the steps' leads: the median of the last this many
TRAIN_REMEMBERED = 16  # kick-shaped onsets kept for the grid search


@dataclass(frozen=True)
class KickParams:
    """What makes a candidate kick-shaped, and how exact its train must be."""

    min_lead_db: float = 6.0  # 30-250 Hz jump over the largest jump of the bands above, at least ...
    over_steps_db: float = 10.0  # ... and this far over the recent steps' median lead
    min_steps: int = 4  # the steps' lead is known from this many taken steps on (before: no test)
    # the grids of kick-shaped onsets (tolerance and step ratios as the beat grids'): the train is
    # sparse (a kick under a crunch or a hi-hat is not kick-shaped), so a grid is found through an
    # onset up to 8 beats back, with places counted 16 beats back, from two earlier onsets and no
    # bar against chance (the kick shape has done most of the work: on the dev music items through
    # HFP 16 kHz every kick-shaped onset but a synthetic heel's is a kick); a grid found at two beats
    # halves on an onset half-way; a grid is followed for 32 beats
    # a candidate within this fraction of the step period of a place of the locked step rhythm
    # (the predicted step, whole periods either side) is judged as a step, never as a kick, and no
    # grid is found or followed through it (it is still remembered among the kick-shaped onsets): a
    # heavy heel on its time is kick-shaped too
    predicted_fraction: float = 0.05
    grid: BeatParams = BeatParams(n_back=16, min_members=2, max_chance=1.0, divisions=8, expire_beats=32.0,
                                  known_tempo_chance=None, before_lock_chance=None, halve_on_half=True)


def lead_db(peaks_db: NDArray[np.float64], present: NDArray[np.bool_]) -> float:
    """How far the 30-250 Hz jump of a candidate exceeds its largest jump in the bands above (dB)."""
    above = peaks_db[1:][present[1:]]
    return float(peaks_db[0] - above.max()) if above.size else 0.0


def _on_the_steps(t: float, predicted_s: float, step_period_s: float) -> float:
    """How far ``t`` is from the nearest place of the step rhythm (the predicted step and a whole
    number of periods either side), as a fraction of the period (NaN: no rhythm locked)."""
    x = (t - predicted_s) / step_period_s
    return abs(x - round(x)) if math.isfinite(x) else math.nan


@dataclass
class KickTrain:
    """The kick-shaped onsets heard so far, their grids and the steps' own leads (one picker's, causal)."""

    steps_lead_db: deque[float] = field(default_factory=lambda: deque(maxlen=STEPS_REMEMBERED))
    times: deque[float] = field(default_factory=lambda: deque(maxlen=TRAIN_REMEMBERED))
    grids: BeatGrids | None = None  # made on the first kick-shaped onset (from its parameters)

    def kick_shaped(self, p: KickParams, lead: float) -> bool:
        """Whether a candidate whose thump-band lead is ``lead`` dB is shaped like a kick."""
        return (len(self.steps_lead_db) >= p.min_steps and lead >= p.min_lead_db
                and lead >= statistics.median(self.steps_lead_db) + p.over_steps_db)

    def on_beat(self, p: KickParams, t: float, lead: float, step_period_s: float, predicted_s: float = math.nan,
                *, on_tick: bool = False) -> bool:
        """Whether the candidate at ``t`` is a kick: kick-shaped and on the place of a grid that
        earlier kick-shaped onsets made before it (it is remembered either way; a grid found
        *through* it rejects only later onsets: a search over many periods finds two or three onsets
        on some grid by chance, a grid's own next place is a prediction). ``step_period_s``: the
        locked step period (NaN: none); ``predicted_s``: the step the locked tracker expects next
        (NaN: none): near a place of the step rhythm it is no kick and no grid is found or followed
        through it (a heavy heel's train is the steps'), though it is remembered (a kick there still
        shows where the kicks fall, for a grid found later); ``on_tick``: it starts on a known metronome
        tick -- no kick and not remembered: a metronome's ticks are an exact grid of their own (the
        ticks' grid took real steps on it for kicks)."""
        if on_tick or not self.kick_shaped(p, lead):
            return False
        if self.grids is None:
            self.grids = BeatGrids(p.grid)
        times = list(self.times)
        self.times.append(t)
        if not times or _on_the_steps(t, predicted_s, step_period_s) <= p.predicted_fraction:
            return False
        period = step_period_s if math.isfinite(step_period_s) else math.inf
        return self.grids.judge(times, [1.0] * len(times), t, 1.0, period) is not None and self.grids.followed_at(t)

    def step_taken(self, lead: float) -> None:
        """A candidate with thump-band lead ``lead`` was taken as a step."""
        self.steps_lead_db.append(lead)
