"""Kick-shaped onsets and their grid (stepdetect.kicks)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from stepdetect.kicks import KickParams, KickTrain, lead_db
from stepdetect.tracker_beat import BeatParams, find_grid

ALL = np.ones(5, dtype=bool)


def test_the_thump_bands_lead_over_the_bands_above_the_ones_present() -> None:
    assert lead_db(np.array([20.0, 12.0, 8.0, 3.0, 14.0]), ALL) == 6.0
    assert lead_db(np.array([20.0, 12.0, 8.0, 3.0, 14.0]), np.array([True, True, True, True, False])) == 8.0


def test_kick_shaped_is_measured_against_the_runners_own_steps() -> None:
    p = KickParams()
    train = KickTrain()
    assert not train.kick_shaped(p, 15.0)  # no steps yet: no measure
    for lead in (-6.0, -4.0, -7.0, -5.0):  # dirt & rocks through a headset: the steps jump higher up
        train.step_taken(lead)
    assert train.kick_shaped(p, 6.0)
    assert not train.kick_shaped(p, 4.0)  # under min_lead_db
    heavy = KickTrain()
    for lead in (0.0, 2.0, -1.0, 1.0):  # a heavy heel's thumps lead as much: only far above them
        heavy.step_taken(lead)
    assert not heavy.kick_shaped(p, 9.0)
    assert heavy.kick_shaped(p, 11.0)


def _trained() -> KickTrain:
    train = KickTrain()
    for lead in (-6.0, -4.0, -7.0, -5.0):  # the runner's steps
        train.step_taken(lead)
    return train


def test_a_sparse_train_of_kicks_makes_a_grid_and_is_followed() -> None:
    """Kick-shaped onsets at beats 4, 5, 11, 13 and 19 of a 0.46 s kick (the others under
    crunches): the grid is found at beat 11 through onsets six beats back and followed across
    unheard beats. The onset the grid was found through is no kick yet (a search over many periods
    finds two or three onsets on some grid by chance); the grid's own later places are."""
    p = KickParams()
    train = _trained()
    beat = [0.1374 + n * 0.46 for n in (4, 5, 11, 13, 19)]
    assert [train.on_beat(p, t, 10.0, 0.36) for t in beat] == [False, False, False, True, True]
    assert not train.on_beat(p, beat[-1] + 0.23, 10.0, 0.36)  # half-way, the grid hit again: off it
    assert not train.on_beat(p, beat[-1] + 0.46, 2.0, 0.36)  # on it, but not kick-shaped (a step on the kick)


def test_a_grid_found_at_two_beats_halves_on_a_kick_half_way() -> None:
    """Kick-shaped onsets on every other beat make a grid at two beats; the next one comes nine
    beats later (too far back for a grid of its own), half-way between that grid's places (not
    hit again yet): the beat is half the grid's period, the grid halves, and it is a beat."""
    p = KickParams()
    train = _trained()
    beat = [1.0 + n * 0.45 for n in (0, 2, 4, 13)]
    assert [train.on_beat(p, t, 10.0, 0.36) for t in beat] == [False, False, False, True]
    plain = KickParams(grid=dataclasses.replace(p.grid, halve_on_half=False))
    train = _trained()
    assert [train.on_beat(plain, t, 10.0, 0.36) for t in beat] == [False, False, False, False]


def test_known_ticks_and_predicted_steps_are_never_kicks() -> None:
    """A metronome's ticks are an exact grid of their own: onsets on known ticks are never kicks
    and are not remembered for a kick grid. A kick-shaped onset within 5 % of the period of the
    step the tracker predicts is judged as a step (a heavy heel on its time), even on a kick grid."""
    p = KickParams()
    train = _trained()
    beat = [0.1374 + n * 0.46 for n in (4, 5, 11, 13, 19, 20)]
    assert not any(train.on_beat(p, t, 10.0, 0.36, on_tick=True) for t in beat)
    assert not train.times
    assert [train.on_beat(p, t, 10.0, 0.36) for t in beat[:4]] == [False, False, False, True]
    assert not train.on_beat(p, beat[4], 10.0, 0.36, beat[4] + 0.015)  # 15 ms from the prediction
    assert train.on_beat(p, beat[5], 10.0, 0.36, beat[5] + 0.05)  # 50 ms off it: the kick


def test_find_grid_reaches_an_earlier_member_several_periods_back_only_when_asked() -> None:
    times = [1.0, 1.5, 3.5]  # beats 0, 1 and 5 of 0.5 s
    p = BeatParams(n_back=16, max_chance=1.0)
    assert find_grid(times, [1.0] * 3, 4.5, math.inf, p) is None  # 1 s back: a 1 s grid has one other member (1.5)
    found = find_grid(times, [1.0] * 3, 4.5, math.inf, BeatParams(n_back=16, max_chance=1.0, divisions=2))
    assert found is not None and abs(found[0] - 0.5) < 1e-9


def test_heavy_heels_on_the_step_rhythm_make_no_kick_grid() -> None:
    """A synthetic runner's heavy heel every fourth step (dev quiet_road/synthetic/hfp16: steps
    0.257 s apart, kick-shaped heels about 1.017 s apart, each on the step rhythm). Their train is
    exact enough for a grid (1.017 / 3 s), but onsets near the rhythm's places find and follow no
    grid: the next heel, 18 ms off the rhythm, is still a step."""
    p = KickParams()
    train = _trained()
    heels = [2.669, 3.686, 8.739, 9.739, 10.756, 11.774, 12.808]
    assert not any(train.on_beat(p, t, 10.0, 0.256, t + 0.003) for t in heels)
    assert len(train.times) == len(heels)  # remembered all the same
    assert not train.on_beat(p, 13.808, 10.0, 0.256, 13.808 + 0.0185)
