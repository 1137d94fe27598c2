"""stepdetect.tracker_beat: exact grids of candidates at another tempo (the beat of music)."""

from __future__ import annotations

import numpy as np

from stepdetect.tracker_beat import BeatGrids, BeatParams, find_grid

BEAT_S = 60 / 132
STEP_S = 60 / 168


def _candidates(rng: np.random.Generator, until_s: float, kick_every: int = 1) -> tuple[list[float], list[float]]:
    """Steps wandering 20 ms per interval (strength ~1) and kicks on an exact grid (0.5); every
    ``kick_every``-th kick only."""
    steps = 0.3 + np.cumsum(rng.normal(STEP_S, 0.02, int(until_s / STEP_S)))
    kicks = np.arange(0.1, until_s, BEAT_S)[::kick_every]
    events = sorted([(float(t), float(rng.uniform(0.8, 1.2))) for t in steps[steps < until_s]]
                    + [(float(t + rng.normal(0, 0.001)), 0.5) for t in kicks])
    return [t for t, _ in events], [s for _, s in events]


def test_a_kick_continuing_an_exact_grid_is_found_and_a_step_is_not(rng: np.random.Generator) -> None:
    times, strengths = _candidates(rng, 4.0)
    p = BeatParams()
    kick_t = 0.1 + 9 * BEAT_S  # the next kick
    found = find_grid(times, strengths, kick_t, STEP_S, p)
    assert found is not None
    period, members = found
    assert abs(period - BEAT_S) < 0.002
    assert np.median(members) == 0.5
    # the steps (they wander) lie on no grid but by chance (at most one here), unless one
    # lands on a kick's place
    on_grid = [find_grid(times[:i], strengths[:i], t, STEP_S, p) is not None for i, t in enumerate(times)
               if strengths[i] > 0.5 and t > 2.0 and abs((t - 0.1) / BEAT_S - round((t - 0.1) / BEAT_S)) * BEAT_S > 0.01]
    assert len(on_grid) >= 4 and sum(on_grid) <= 1, on_grid


def test_a_grid_once_found_is_followed_where_most_kicks_were_not_picked(rng: np.random.Generator) -> None:
    beats = BeatGrids(BeatParams())
    times, strengths = _candidates(rng, 4.0)
    assert beats.judge(times, strengths, 0.1 + 9 * BEAT_S, 0.5, STEP_S) is not None
    # later only every third kick reaches the tracker: too few to find the grid again, but it is known
    later_t, later_s = _candidates(rng, 12.0, kick_every=3)
    keep = [i for i, t in enumerate(later_t) if t > 0.1 + 9.5 * BEAT_S]
    hist_t = [later_t[i] for i in keep]
    hist_s = [later_s[i] for i in keep]
    kick = 0.1 + 24 * BEAT_S
    assert find_grid([t for t in hist_t if t < kick], [s for t, s in zip(hist_t, hist_s) if t < kick],
                     kick, STEP_S, BeatParams()) is None
    for n in range(10, 24, 3):  # the picked kicks on the way keep the grid alive
        assert beats.judge(hist_t, hist_s, 0.1 + n * BEAT_S, 0.5, STEP_S) is not None
    assert abs(beats.judge(hist_t, hist_s, kick, 0.5, STEP_S) - BEAT_S) < 0.001
    # a footfall landing on a kick is louder than the kicks: not a beat
    assert beats.judge(hist_t, hist_s, kick + 3 * BEAT_S, 1.0, STEP_S) is None


def test_the_steps_own_grid_is_never_another_rhythm() -> None:
    # metronome-steady steps: a grid at the step period (or twice it) is ours
    steps = [0.5 + i * STEP_S for i in range(12)]
    strengths = [1.0] * len(steps)
    t = 0.5 + 12 * STEP_S
    assert find_grid(steps, strengths, t, STEP_S, BeatParams()) is None
    assert find_grid(steps, strengths, t, STEP_S * 2, BeatParams()) is None  # a lock on strides
    assert find_grid(steps, strengths, t, STEP_S * 4 / 3, BeatParams()) is not None  # another tempo: a beat
    # whatever the lock, the candidates it took as steps are not members of another rhythm
    assert find_grid(steps, strengths, t, STEP_S / 4, BeatParams(), steps=set(steps)) is None


def _with_hats(rng: np.random.Generator, until_s: float, n_hats: int) -> tuple[list[float], list[float], float]:
    """Steps, kicks (as ``_candidates``), crunches at random and a hi-hat coming in 0.21 s after
    each of the last ``n_hats`` kicks (another instrument on the same tempo, at its own phase):
    the candidates before the last hi-hat, and that hi-hat's time."""
    steps = 0.3 + np.cumsum(rng.normal(STEP_S, 0.02, int(until_s / STEP_S)))
    kicks = np.arange(0.1, until_s, BEAT_S)
    hats = kicks[-n_hats - 1:-1] + 0.21
    events = sorted([(float(t), float(rng.uniform(0.8, 1.2))) for t in steps[steps < until_s]]
                    + [(float(t), 0.5) for t in kicks[:-1]] + [(float(t), 0.4) for t in hats[:-1]]
                    + [(float(t), 0.6) for t in rng.uniform(0.3, until_s, 14)])
    return [t for t, _ in events], [s for _, s in events], float(hats[-1])


def test_another_instrument_on_a_known_tempo_is_a_beat_on_fewer_members(rng: np.random.Generator) -> None:
    """Once the kicks' grid is followed, a hi-hat at another phase on the same tempo is on the
    beat after four hi-hats: with only its phase unknown, one period is tried instead of every
    interval, so fewer members beat chance. Without the rule four are not enough among the
    steps and crunches; the wandering steps stay off any grid either way."""
    times, strengths, hat_t = _with_hats(rng, 6.0, 5)
    for known_tempo_chance, expect in ((0.1, True), (None, False)):
        beats = BeatGrids(BeatParams(known_tempo_chance=known_tempo_chance))
        for kick in np.arange(0.1, 6.0, BEAT_S)[8:-1]:  # the kicks' grid, followed
            i = int(np.searchsorted(times, kick))
            assert beats.judge(times[:i], strengths[:i], times[i], strengths[i], STEP_S) is not None
        i = int(np.searchsorted(times, hat_t))
        found = beats.judge(times[:i], strengths[:i], hat_t, 0.4, STEP_S)
        assert (found is not None and abs(found - BEAT_S) < 0.002) if expect else found is None, found
        # the steps, judged in turn with the kicks' grid known, lie on no grid but by chance
        on_grid = [beats.judge(times[:j], strengths[:j], t, strengths[j], STEP_S) is not None
                   for j, t in enumerate(times) if strengths[j] >= 0.8 and t > 2.0
                   and abs((t - 0.1) / BEAT_S - round((t - 0.1) / BEAT_S)) * BEAT_S > 0.01]
        assert len(on_grid) >= 8 and sum(on_grid) <= 1, on_grid


def test_music_is_heard_while_a_grid_found_is_hit_again_and_not_after_it_stops(rng: np.random.Generator) -> None:
    """``BeatGrids.heard``: not on a grid found once (that may be a chance alignment), but once a
    later kick lands on it; and no more when the kicks have stopped for ``expire_beats`` beats."""
    beats = BeatGrids(BeatParams())
    times, strengths = _candidates(rng, 6.0)
    first = 0.1 + 9 * BEAT_S
    assert not beats.heard(first)
    assert beats.judge(times, strengths, first, 0.5, STEP_S) is not None  # found ...
    assert not beats.heard(first + 0.01)  # ... once
    assert beats.judge(times, strengths, first + BEAT_S, 0.5, STEP_S) is not None  # and hit again
    assert beats.heard(first + BEAT_S + 0.01)
    assert beats.heard(first + 7 * BEAT_S)
    assert not beats.heard(first + BEAT_S + BeatParams().expire_beats * BEAT_S + 0.01)  # the music stopped
