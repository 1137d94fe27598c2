"""stepdetect.tracker_beat: exact grids of candidates at another tempo (the beat of music)."""

from __future__ import annotations

import dataclasses

import numpy as np

from stepdetect.tracker import BANDS_PARAMS, StepTracker, TrackerParams
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



def test_hi_hats_before_the_lock_are_no_provisional_steps() -> None:
    """Hi-hats every 0.217 s (eighth notes at 138 bpm, exact to 0.5 ms) as loud as the steps, and
    a runner from 0.6 s at 0.33-0.39 s (SoundTrackDB-like times, quantised to 1/60 s). Before any
    rhythm is locked nothing tells a hi-hat from a footfall but its grid: from the third one on
    each continues an exact grid faster than any runner steps, and is not taken. The first lock
    is on the steps, and every step is found (without the test: the hi-hat 0.1 s before a step
    is taken and the step merged into it, the lock goes to every other hi-hat at 0.434 s, five
    hi-hats are taken and four steps lost)."""
    hat_s = 0.217
    rng = np.random.default_rng(0)
    steps = 0.6 + np.cumsum(np.r_[0.0, np.round(rng.uniform(0.33, 0.39, 25) * 60) / 60])
    steps = steps[steps < 6.0]
    hats = np.arange(hat_s, 6.0, hat_s) + rng.normal(0.0, 0.0005, 27)
    events = sorted([(float(t), 1.0, False) for t in hats] + [(float(t), 1.0, True) for t in steps])

    def run(params: TrackerParams) -> tuple[tuple[bool, float] | None, int, int]:
        tracker = StepTracker(params)
        first_lock, n_hats, n_steps = None, 0, 0
        for t, s, is_step in events:
            d = tracker.push(t, s)
            n_hats += d.is_step and not is_step
            n_steps += d.is_step and is_step
            if first_lock is None and tracker.locked:
                first_lock = (is_step, tracker.period_s)
        return first_lock, n_hats, n_steps

    first_lock, n_hats, n_steps = run(BANDS_PARAMS)
    assert first_lock is not None and first_lock[0] and 0.33 <= first_lock[1] <= 0.39, first_lock
    assert n_hats <= 1 and n_steps == steps.size, (n_hats, n_steps)  # the first hi-hat: nothing known yet
    assert BANDS_PARAMS.beat is not None
    without = dataclasses.replace(BANDS_PARAMS, beat=dataclasses.replace(BANDS_PARAMS.beat, before_lock_chance=None))
    first_lock, n_hats, n_steps = run(without)
    assert first_lock is not None and not first_lock[0] and abs(first_lock[1] - 2 * hat_s) < 0.01, first_lock
    assert n_hats >= 4 and n_steps <= steps.size - 3, (n_hats, n_steps)


def test_a_grid_faster_than_steps_is_told_only_with_three_places_and_not_for_a_louder_sound() -> None:
    beats = BeatGrids(BeatParams())
    hats = [0.217 * k for k in range(1, 5)]
    strengths = [1.0] * 4
    t = 0.217 * 5
    assert beats.faster_than_steps(hats, strengths, t, 1.0, 0.25)
    assert not beats.faster_than_steps(hats[-2:], strengths[-2:], t, 1.0, 0.25)  # two hi-hats before it: too few
    assert not beats.faster_than_steps(hats, strengths, t + 0.008, 1.0, 0.25)  # off the grid
    assert not beats.faster_than_steps(hats, strengths, t, 2.0, 0.25)  # a footfall on a hi-hat
    assert not beats.faster_than_steps(hats, strengths, t, 1.0, 0.2)  # not faster than a step


def test_a_footfall_on_the_beat_is_measured_against_the_grids_latest_members() -> None:
    """A hi-hat grid found on its first members while the band weights were not yet learned (as
    loud as the steps: 12-17), then heard softly (5-9) once the rhythm has taught the weights,
    between steps (18-22, 0.367 s apart). A footfall landing on a hi-hat's place at 22 is over
    twice the grid's latest five members (median 9.3): a footfall, not a beat -- measured against
    all its remembered members (median 11.8) it was refused as a beat (dev music/dirt_rocks/full
    at 3.22 s)."""
    hat_s, step_s = 0.2299, 0.367
    hats = [(0.229 + hat_s * k, s) for k, s in enumerate([15.5, 12.4, 11.8, 16.9, 4.8, 6.9, 9.3, 5.5])]
    steps = [(0.33 + step_s * k + 0.004 * (-1) ** k, 18.0 + k % 5) for k in range(5)]
    footfall_s = 0.229 + hat_s * len(hats)

    def judged(params: BeatParams) -> float | None:
        beats = BeatGrids(params)
        times: list[float] = []
        strengths: list[float] = []
        for t, s in sorted(hats + steps):
            on_grid = beats.judge(times, strengths, t, s, step_s) if times else None
            if (t, s) in hats[-3:]:
                assert on_grid is not None, t  # the soft hi-hats are the grid's beats
            times.append(t)
            strengths.append(s)
        return beats.judge(times, strengths, footfall_s, 22.0, step_s)

    params = BeatParams(louder_than_beat=2.0)  # the bands path's
    assert judged(params) is None
    assert judged(dataclasses.replace(params, reference_members=params.n_back)) is not None


# The bands path's candidates (time s, strength; None: noted only) over the first 2 s of dev music
# synthetic phone: hi-hats every 0.217 s (0.216, 0.434, 0.868 ...), kicks every 0.434 s on the
# hi-hats' places (0.650, 1.093, 1.527, 1.961), steps at 0.60, 0.98, 1.30, 1.70, 2.00 s.
_MUSIC_START = [
    (0.2163, 17.79), (0.4336, 11.81), (0.6011, 10.97), (0.6501, 9.31), (0.6625, None), (0.8676, 13.25),
    (0.9847, 14.26), (1.0933, 10.18), (1.0985, None), (1.3012, 20.22), (1.5271, 12.38), (1.7018, 11.11),
    (1.9613, 9.14), (1.9613, 8.62), (2.0023, 12.98),
]


class _KeepsNone(set):
    """A ``StepTracker._merged_free`` that keeps nothing: the rule below off."""

    def add(self, item: object) -> None:
        pass


def _run(stream: list[tuple[float, float | None]], *, rule: bool = True) -> tuple[StepTracker, list[str], float | None]:
    """The tracker after ``stream``, its decisions (kind, rhythmic, period), and its first lock's period."""
    tracker = StepTracker(BANDS_PARAMS)
    if not rule:
        tracker._merged_free = _KeepsNone()
    decisions: list[str] = []
    first: float | None = None
    for t, s in stream:
        if s is None:
            tracker.note(t, 5.0)
            continue
        d = tracker.push(t, s)
        decisions.append(f"{d.time_s:.4f} {d.kind} {d.rhythmic} {d.period_s:.6f}")
        if d.rhythmic and first is None:
            first = tracker.period_s
    return tracker, decisions, first


def test_with_hi_hats_heard_a_toe_or_kick_merged_into_a_provisional_step_is_no_chain_member() -> None:
    # the kick at 1.093 s merged into the step at 0.985 s completed a chain at the kick's pace
    # (0.601, 1.093, 1.527, 2.002 s: 0.455 s); once the hi-hat at 0.868 s was told as one, it is
    # no member of the chain the first lock is found on
    tracker, _, period = _run(_MUSIC_START)
    assert tracker._hats_heard
    assert period is not None and abs(period - 0.455) > 0.02, period
    _, _, period = _run(_MUSIC_START, rule=False)
    assert period is not None and abs(period - 0.455) <= 0.01, period  # the rule off: the kicks' chain
    # without a hi-hat grid heard before the lock (the hi-hat at 0.868 s missing) the rule stays off:
    # no hi-hat told, and every decision as with the rule off
    no_hats = [(t, s) for t, s in _MUSIC_START if t != 0.8676]
    tracker, decisions, _ = _run(no_hats)
    assert not tracker._hats_heard
    assert decisions == _run(no_hats, rule=False)[1]
