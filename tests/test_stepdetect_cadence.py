"""stepdetect.cadence on synthetic step trains and on the real soundtrackdb labels."""

from __future__ import annotations

import numpy as np
import pytest

from samples.generate import clean_steps, load_soundtrack_steps
from stepdetect import assign_feet, cadence_spm, cadence_track, find_gaps, step_asymmetry
from stepdetect.cadence import (
    MAX_STRIDE_IRREGULARITY,
    SIDE_MIN_STRIDES,
    drop_extra_events,
    rhythm_is_steady,
    stride_irregularity,
    tracked_step_s,
    typical_step_s,
)
from stepdetect.validate import ParameterError


def _train(spm: float, n: int, start_s: float = 1.0) -> np.ndarray:
    return start_s + np.arange(n) * 60.0 / spm


@pytest.mark.parametrize("spm", [150.0, 172.5, 200.0])
def test_regular_train(spm: float) -> None:
    np.testing.assert_allclose(cadence_spm(_train(spm, 60)), spm, rtol=1e-9)


def test_missed_and_extra_steps_barely_move_cadence() -> None:
    t = _train(170.0, 80)
    missed = np.delete(t, [10, 40, 41])
    extra = np.sort(np.append(t, [t[20] + 0.05, t[60] + 0.12]))
    assert abs(cadence_spm(missed) - 170.0) < 0.01
    assert abs(cadence_spm(extra) - 170.0) < 0.01


def test_a_footfall_heard_late_does_not_move_cadence() -> None:
    # 75 ms late, and the next one 20 ms late: the intervals around it are 1.21 and 0.84 of a
    # step. Leaving out only the long one would bias the cadence up by ~0.6 spm; the two span
    # two steps, so both count and the counted intervals still add up to whole steps
    t = np.arange(60) * 0.35
    t[30] += 0.075
    t[31] += 0.020
    assert abs(cadence_spm(t) - 60 / 0.35) < 0.05


def test_a_misplaced_footfall_is_counted_on_both_sides_or_neither() -> None:
    # A runner's short-long pair (0.86 / 1.23 of a 0.367 s step), and the footfall after the long
    # step found 136 ms early (a click taken for it): the intervals around it read 0.86 / 1.37,
    # which do not add up to two steps within PAIR_TOLERANCE. Keeping the regular 0.86 alone and
    # leaving out the 1.37 read 1.24 spm fast; leaving out both costs only the pair's own extra
    # 0.09 step (0.77 spm). In the middle of the run and at its end alike.
    step = 0.367
    for after in (22, 0):
        iv = np.r_[np.ones(50 - after - 3), 0.86, 1.23, 1.0, np.ones(after)] * step
        truth = np.r_[0.0, np.cumsum(iv)]
        found = truth.copy()
        found[50 - after - 1] -= 0.136
        assert abs(cadence_spm(found) - cadence_spm(truth)) < 0.9
        assert cadence_spm(truth) == pytest.approx(60 * 50 / truth[-1], abs=1e-9)  # the pair sums to two steps


def test_misplaced_footfalls_at_the_start_do_not_carry_the_reference() -> None:
    # the first footfalls: one missed and one misplaced (0.42 / 0.38 s at a 0.26 s step)
    t = np.r_[0.0, 0.26, 0.26 + 0.42, 0.26 + 0.42 + 0.38, 0.26 + 0.42 + 0.38 + np.arange(1, 70) * 0.26]
    assert abs(cadence_spm(t) - 60 / 0.26) < 0.5


def test_missed_steps_close_together_do_not_move_the_reference() -> None:
    # 7 missed steps in the first 6 s at a 0.25 s step (as a treadmill through a phone on the
    # dev split: F1 0.92, cadence 11 spm low): each lengthens one interval but the two strides
    # across it, so most strides there span three steps and their median 1.5 steps. With that
    # reference a two-step gap and a step beside it passed for a pair of steps (0.75 s as two).
    rng = np.random.default_rng(8)
    t = 1.0 + np.arange(80) * 0.25 + rng.normal(0.0, 0.004, 80)
    missed = np.delete(t, [3, 7, 10, 14, 18, 22, 25])
    assert abs(cadence_spm(missed) - 240.0) < 1.0


# Real running step times with a 10.4 s stop (the benchmark's dev stop scene: two windows of a
# SoundTrackDB session, MIT), including its irregular steps: 250 / 567 ms mid-run and a 217 / 600
# ms pair just before the stop.
STOP_STEPS_S = np.array([
    0.6, 0.9668, 1.4004, 1.7839, 2.2008, 2.5676, 2.9679, 3.3847, 3.7849, 4.1851, 4.602, 4.9689, 5.3857, 5.7693,
    6.1695, 6.4196, 6.9865, 7.3701, 7.7536, 8.1538, 8.5707, 8.9542, 9.3711, 9.5878, 10.1881, 10.5717,
    21.0, 21.4002, 21.8171, 22.3006, 22.6175, 23.0177, 23.4512, 23.8348, 24.2183, 24.6352, 25.052, 25.4522,
    25.8691, 26.2693, 26.6695, 27.0864, 27.5033, 27.9868, 28.3203, 28.7205, 29.1207, 29.5209, 29.9378,
    30.3047, 30.6382, 31.1384, 31.5553])


def test_a_stop_does_not_move_cadence() -> None:
    # the two strides across the stop are no strides: they must not inflate the local step
    # reference and let the slow, irregular steps beside the stop pass for regular ones
    # (this cadence was 146.1 spm, 3 spm under the same steps without the pause)
    run = STOP_STEPS_S[STOP_STEPS_S < 15.0]
    rest = STOP_STEPS_S[STOP_STEPS_S > 15.0]
    joined = np.concatenate([run, rest - rest[0] + run[-1] + 0.4])  # the stop cut out: one step instead
    assert cadence_spm(joined) == pytest.approx(149.3, abs=0.3)
    assert cadence_spm(STOP_STEPS_S) == pytest.approx(cadence_spm(joined), abs=0.3)


def test_sparse_sounds_while_standing_are_no_cadence() -> None:
    # 11 s running at 150 spm, 10 s standing with a sound every 0.9-2.4 s taken as footfalls,
    # 11 s running: the sounds of the stop are far from the recording's step (GLOBAL_BAND)
    run1 = np.arange(0, 11, 0.4)
    stand = run1[-1] + np.cumsum([0.92, 1.25, 1.66, 1.82, 2.44, 1.46])
    run2 = stand[-1] + 0.4 + np.arange(0, 11, 0.4)
    assert abs(cadence_spm(np.r_[run1, stand, run2]) - 150.0) < 0.5


def test_too_few_steps_is_nan() -> None:
    assert np.isnan(cadence_spm(np.array([1.0, 1.35, 1.7])))


def test_gaps_are_flagged_not_filled() -> None:
    t = np.delete(_train(180.0, 50), [20, 21, 35])
    gaps = find_gaps(t)
    assert [g.n_missing for g in gaps] == [2, 1]
    np.testing.assert_allclose([g.start_s for g in gaps], [t[19], t[32]])


def test_cadence_track_follows_a_ramp() -> None:
    intervals = 60.0 / np.linspace(160.0, 180.0, 400)
    t = np.concatenate(([0.0], np.cumsum(intervals)))
    centres, spm = cadence_track(t, window_s=10.0, hop_s=2.0)
    expected = np.interp(centres, t[1:], 60.0 / intervals)
    np.testing.assert_allclose(spm, expected, atol=0.5)
    assert spm[-1] > spm[0] + 15


def test_feet_alternate_and_keep_parity_across_a_one_step_gap() -> None:
    t = np.delete(_train(170.0, 12), 5)
    feet = assign_feet(t, first_foot="R")
    assert feet[:5] == ["R", "L", "R", "L", "R"]
    assert feet[5] == "R"  # step 6 of the original train (index 6) is R again after the missed L
    assert feet[6] == "L"


def test_an_extra_event_gets_no_foot_and_alternation_continues() -> None:
    t = _train(170.0, 12)
    feet = assign_feet(np.sort(np.append(t, t[4] + 0.06)), first_foot="L")
    assert feet[:5] == ["L", "R", "L", "R", "L"] and feet[5] is None
    assert feet[6:] == ["R", "L", "R", "L", "R", "L", "R"]


def test_feet_after_a_pause_are_unknown() -> None:
    t = np.concatenate((_train(170.0, 10), _train(170.0, 10, start_s=20.13)))
    feet = assign_feet(t)
    assert None not in feet[:10] and all(f is None for f in feet[10:])


def test_asymmetry_of_a_limping_train() -> None:
    lr_s, rl_s = 0.36, 0.32
    t = np.cumsum(np.tile([lr_s, rl_s], 30))  # first step L, then R after 0.36 s, ...
    t = np.concatenate(([0.0], t))
    feet = assign_feet(t, first_foot="L")
    a = step_asymmetry(t, feet)
    assert a.left_to_right_ms == pytest.approx(360.0, abs=1e-6)
    assert a.right_to_left_ms == pytest.approx(320.0, abs=1e-6)
    assert a.symmetry_index_pct == pytest.approx(200 * 40 / 680, abs=1e-6)


def test_real_labels_give_the_published_cadence(real_data) -> None:
    # ../shared/data/soundtrackdb/d04_P47_8_0.csv: median YOLO_Cadence 179.9 spm
    t, feet = load_soundtrack_steps("d04_P47_8_0", directory=real_data / "soundtrackdb")
    t, feet, _ = clean_steps(t, feet)
    assert cadence_spm(t) == pytest.approx(179.9, abs=2.0)
    a = step_asymmetry(t, [f if f in ("L", "R") else None for f in feet])
    assert a.n_left_to_right > 200 and abs(a.symmetry_index_pct) < 10


def test_bad_input() -> None:
    with pytest.raises(ParameterError, match="sorted"):
        cadence_spm(np.array([2.0, 1.0, 3.0, 4.0]))
    with pytest.raises(ParameterError, match="first_foot"):
        assign_feet(_train(170, 5), first_foot="X")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="labels"):
        step_asymmetry(_train(170, 5), ["L"])


def test_an_extra_event_at_either_end_is_the_one_dropped() -> None:

    steps = np.arange(0.424, 60.0, 60 / 171)
    with_junk = np.sort(np.concatenate([steps, [0.299, steps[-1] + 0.1]]))
    np.testing.assert_allclose(drop_extra_events(with_junk), steps, atol=1e-12)
    assert cadence_spm(with_junk) == pytest.approx(171.0, abs=0.01)


# -- texture is not a rhythm: stride regularity ------------------------------------------------

def test_real_runners_strides_are_regular(real_data) -> None:
    """The eight SoundTrackDB runners' labelled steps (tests/data/soundtrackdb): each 20 s
    window's strides are inside the steady-rhythm bound (labels on 25-30 fps video: worst 0.042)."""

    for csv in sorted((real_data / "soundtrackdb").glob("*.csv")):
        t, feet = load_soundtrack_steps(csv.stem, directory=real_data / "soundtrackdb")
        t, _, _ = clean_steps(t, feet)
        for a in np.arange(t[0], t[-1] - 20.0, 20.0):
            w = t[(t >= a) & (t < a + 20.0)]
            assert stride_irregularity(w) < 0.75 * MAX_STRIDE_IRREGULARITY, (csv.stem, a)


def test_limp_ramp_stop_and_extra_events_stay_regular(rng: np.random.Generator) -> None:

    limp = 1.0 + np.cumsum(np.tile([0.30, 0.40], 40))  # left and right steps differ by a third
    ramp_spm = np.linspace(160.0, 180.0, 90)
    ramp = 1.0 + np.cumsum(60.0 / ramp_spm)
    stop = np.concatenate((_train(170.0, 30), _train(170.0, 30, start_s=30.0)))  # 10 s standing
    extra = np.sort(np.append(_train(170.0, 60), _train(170.0, 60)[5::9] + 0.09))  # toe after some heels
    jitter = _train(170.0, 60) + rng.normal(0.0, 0.006, 60)  # 6 ms detection jitter
    for name, t in (("limp", limp), ("ramp", ramp), ("stop", stop), ("extra", extra), ("jitter", jitter)):
        assert stride_irregularity(t) < 0.5 * MAX_STRIDE_IRREGULARITY, name


def test_texture_like_events_are_irregular(rng: np.random.Generator) -> None:
    """Events at random (a shuffle through grass), even thinned to those a rhythm tracker keeps
    (no two closer than 0.6 of the median gap): strides far above the bound."""

    for seed in range(5):
        r = np.random.default_rng(seed)
        t = np.cumsum(r.exponential(0.35, 80))
        kept = [t[0]]
        for x in t[1:]:
            if x - kept[-1] >= 0.6 * 0.35:
                kept.append(x)
        assert stride_irregularity(np.array(kept)) > 1.5 * MAX_STRIDE_IRREGULARITY, seed


def test_rhythm_is_steady_needs_all_three(rng: np.random.Generator) -> None:

    steps = _train(170.0, 60)
    yes = np.ones(60, dtype=bool)
    assert rhythm_is_steady(steps, yes, 3.0)
    assert not rhythm_is_steady(steps, yes, 1.3)  # the onsets heard recur no more at the step than at any lag
    assert not rhythm_is_steady(steps, np.arange(60) % 3 == 0, 3.0)  # a third accepted on it
    wobbly = steps + rng.uniform(-0.15, 0.15, 60)  # events up to 150 ms off a steady 353 ms step
    assert stride_irregularity(wobbly) > MAX_STRIDE_IRREGULARITY
    assert not rhythm_is_steady(wobbly, yes, 3.0)
    assert rhythm_is_steady(steps[:5], yes[:5], 3.0)  # too few strides to judge: the rule stands aside
    assert not rhythm_is_steady(np.zeros(0), np.zeros(0, dtype=bool), 3.0)
    with pytest.raises(ParameterError, match="rhythm flags"):
        rhythm_is_steady(steps, yes[:10], 3.0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_cadence_off_the_tracked_step_is_not_confident(seed: int) -> None:
    """A 150 spm runner through a narrowband headset (every fifth step unheard), then only every
    third step heard for 3.6 s (the tracker follows 1.2 s), 10 s standing with a breath every
    1.2 s that the lock takes, running again (dev stop shower HFP 8 kHz). The unheard steps
    lengthen the strides, the breaths' intervals pass for steps and the cadence reads 86-116
    spm, with regular strides, steps on the rhythm and a clear pulse: without the tracked step
    that is a confident cadence. The tracker followed 0.4 s steps most of the time: 1.3-1.7 x
    the cadence's step, no confident cadence."""
    rng = np.random.default_rng(seed)
    step_s = 0.4

    def running(start_s: float, n: int) -> np.ndarray:
        t = start_s + np.arange(n) * step_s
        return np.delete(t, np.arange(3, n, 5))

    run1 = running(1.0, 15)
    thirds = run1[-1] + np.arange(1, 4) * 3 * step_s
    breaths = thirds[-1] + 1.2 * np.arange(1, 9)
    run2 = running(breaths[-1] + 1.5, 22)
    t = np.concatenate([run1, thirds, breaths, run2]) + rng.normal(0.0, 0.01, 41)
    periods = np.concatenate([np.full(run1.size, step_s), np.full(thirds.size + breaths.size, 3 * step_s),
                              np.full(run2.size, step_s)])
    assert typical_step_s(t) > 0.55  # the typical step is inflated: the breaths are within its bands
    assert cadence_spm(t) < 120.0
    # With the footfalls' times, as coach.analysis.detector_rhythm calls it: the 1.2 s lock is
    # steady for 12 s (11 footfalls) but no step, so no gait of its own (it read 0.568 s).
    tracked = tracked_step_s(periods, t)
    assert abs(tracked - step_s) < 1e-9  # the 1.2 s lock is not the runner's step
    assert tracked_step_s(periods) == pytest.approx(tracked)
    on = np.ones(t.size, dtype=bool)
    assert rhythm_is_steady(t, on, 3.0)  # the bug: every other test passes
    assert not rhythm_is_steady(t, on, 3.0, tracked)
    assert not rhythm_is_steady(t, on, 3.0, tracked_step_s=tracked, spm=cadence_spm(t))  # the caller's cadence
    # the running alone, with the same tracked step: a confident cadence
    running_only = np.concatenate([run1, run2])
    assert rhythm_is_steady(running_only, np.ones(running_only.size, dtype=bool), 3.0, tracked)


@pytest.mark.parametrize("order", ["run_walk", "walk_run"])
def test_a_walk_run_session_agrees_with_its_tracked_step(order: str, rng: np.random.Generator) -> None:
    """Rehab intervals: 30 s running at 170 spm and 60 s walking at 100 spm (1.7 x the step). The
    tracker follows each (periods of both, a few stride locks at 2 x among them): its tracked step
    is the mean of its periods, as the cadence is, and the cadence is confident. A median would
    be the running step (more footfalls), 0.82 x the cadence's: not confident."""
    run = np.arange(85) * 60.0 / 170.0
    walk = np.arange(100) * 0.6
    parts = [run, walk] if order == "run_walk" else [walk, run]
    t = np.concatenate([parts[0], parts[0][-1] + 0.5 + parts[1]]) + rng.normal(0.0, 0.005, 185)
    periods = np.diff(t, prepend=t[0] - 0.5)
    periods[[20, 60, 120]] *= 2.0  # locked on strides for a moment
    tracked = tracked_step_s(periods, t)
    spm = cadence_spm(t)
    assert abs(60.0 / spm / tracked - 1.0) < 0.03
    assert rhythm_is_steady(t, np.ones(t.size, dtype=bool), 3.0, tracked)
    assert not rhythm_is_steady(t, np.ones(t.size, dtype=bool), 3.0, float(np.median(periods)))


def test_tracked_step_leaves_out_locks_on_thirds_and_breaths() -> None:
    """Periods within TRACKED_BAND (1.8 x) of the median around them count: a moment's lock on
    strides (2 x), on every third step (3 x) or on breaths (2.5-3.5 x) is left out."""
    p = np.r_[np.full(30, 0.4), 0.8, 0.81, 1.2, 1.0, np.nan]
    assert tracked_step_s(p) == pytest.approx(0.4)
    assert tracked_step_s(np.r_[np.full(30, 0.4), 1.0, 1.2, 1.4]) == pytest.approx(0.4)


def test_the_tracked_step_of_a_run_walk_session_is_both_gaits() -> None:
    """A run at 180 spm, a walk at 90 (2 : 1, the tracker re-locks on it) and a run again, with a
    moment's lock on strides in each run: around each footfall the median period is its part's,
    so both gaits count and the stride locks do not. Against the whole session's median the walk
    (2 x the running step) would be left out like a stride lock: the running step alone, 0.67 x
    the session's cadence, and a right cadence not confident."""
    periods = np.r_[np.full(90, 1 / 3), np.full(45, 2 / 3), np.full(90, 1 / 3)]
    times = np.cumsum(periods)
    periods[[30, 31, 150, 151]] = 2 / 3  # locked on strides for a moment
    clean = np.r_[np.full(88, 1 / 3), np.full(45, 2 / 3), np.full(88, 1 / 3)]
    assert tracked_step_s(periods, times) == pytest.approx(float(np.mean(clean)))
    assert tracked_step_s(periods) == pytest.approx(1 / 3)
    assert np.isnan(tracked_step_s(np.full(3, np.nan)))
    assert np.isnan(tracked_step_s(np.zeros(0)))


def test_a_few_footfalls_alone_are_no_gait() -> None:
    """A side of the tracked step's local test is a gait only with SIDE_MIN_STRIDES periods: a
    run at 150 spm, then 12 s after it a lone footfall, or three, locked on 0.78 s (strides,
    1.95 x the step: left out against the median) are no gait of their own (the tracked step
    read 0.409 and 0.427 s)."""
    run_t = np.arange(40) * 0.4
    for n in (1, 3):
        lock_t = run_t[-1] + 12.0 + np.arange(n) * 0.78
        periods = np.r_[np.full(40, 0.4), np.full(n, 0.78)]
        assert tracked_step_s(periods, np.r_[run_t, lock_t]) == pytest.approx(0.4), n
    # a walk of 20 steps at 0.78 s: each of its footfalls has SIDE_MIN_STRIDES of them on one side
    n_walk = 2 * SIDE_MIN_STRIDES + 2
    walk_t = run_t[-1] + 12.0 + np.arange(n_walk) * 0.78
    walk = np.r_[np.full(40, 0.4), np.full(n_walk, 0.78)]
    assert tracked_step_s(walk, np.r_[run_t, walk_t]) == pytest.approx(float(np.mean(walk)))


def _extra_sounds_at_the_start(seed: int, truth: np.ndarray) -> np.ndarray:
    """``truth`` with, over its first 4 s, a sound 0.15-0.25 s after 60 % of the steps taken as a
    footfall too and 20 % of the steps missed (as through a narrowband headset on crunchy ice)."""
    rng = np.random.default_rng(seed)
    extra, keep = [], np.ones(truth.size, dtype=bool)
    for i, x in enumerate(truth):
        if x < 4.0:
            if rng.random() < 0.6:
                extra.append(x + rng.uniform(0.15, 0.25))
            if rng.random() < 0.2:
                keep[i] = False
    return np.sort(np.r_[truth[keep], extra])


@pytest.mark.parametrize("seed", range(12))
def test_extra_sounds_between_steps_make_no_step_reference_of_their_own(seed: int) -> None:
    # The dev ramp on crunchy ice through an 8 kHz headset read 4.9 spm high (F1 0.93): in its
    # first 3 s the footfalls 0.17-0.47 s apart gave a local reference of 0.28 s for a 0.36 s
    # run, and most of those intervals passed as regular against it. The reference counts only
    # where it is the gait's (MAX_REFERENCE_DRIFT). Without that, 8 of these 12 read 1-15 spm off.
    truth = 0.6 + 0.36 * np.arange(80)
    assert abs(cadence_spm(_extra_sounds_at_the_start(seed, truth)) - cadence_spm(truth)) < 1.0


def test_a_missed_footfall_between_steps_counts_its_two_steps() -> None:
    # Cadence 150-170 spm over 20 s cycles, one footfall in four missed while it is over 166 spm
    # (9 missed): leaving the 2-step intervals out leaves out the fast parts, 1.6 spm low. The
    # gaps count as two steps each (and the recording's typical step leaves out the strides
    # across them, or the faster half of the steps reads as off the gait): exact.
    t = [0.6]
    while t[-1] < 40.0:
        t.append(t[-1] + 60.0 / (160.0 + 10.0 * np.sin(2 * np.pi * t[-1] / 20.0)))
    truth = np.array(t)
    fast = 160.0 + 10.0 * np.sin(2 * np.pi * truth / 20.0) > 166.0
    found = truth[~(fast & (np.arange(truth.size) % 4 == 0))]
    assert truth.size - found.size == 9
    assert abs(cadence_spm(found) - cadence_spm(truth)) < 0.05


def test_sounds_at_a_stop_are_not_counted_as_missed_steps() -> None:
    # sounds while standing after the run stops, 2.15, 2.85 and 2.15 steps apart (within 10 % of
    # 2 or 3): no counted step on their far side, so they are no missed steps (0.3 spm low if so)
    run = 0.4 * np.arange(30)
    found = np.r_[run, run[-1] + np.array([0.86, 2.0, 2.86]), run[-1] + 12.0 + 0.4 * np.arange(30)]
    assert abs(cadence_spm(found) - 150.0) < 0.05


@pytest.mark.parametrize("seed", range(4))
def test_cadence_track_across_a_walk_run_switch_has_no_empty_window(seed: int) -> None:
    # In a window of SIDE_WINDOW_S or less every interval's gait is the window's own typical step,
    # so the reference-drift test (MAX_REFERENCE_DRIFT) dropped a window's minority gait or all
    # of it: 6 s windows across a 180 -> 90 spm switch read 180, 180, 180, NaN, 90.
    rng = np.random.default_rng(seed)
    run = np.arange(0.0, 31.0, 60.0 / 180.0)
    walk = run[-1] + 60.0 / 90.0 + np.arange(0.0, 30.0, 60.0 / 90.0)
    t = np.r_[run, walk] + rng.normal(0.0, 0.006, run.size + walk.size)
    centres, spm = cadence_track(t, window_s=6.0)
    assert not np.isnan(spm).any()
    assert np.all((spm > 88.0) & (spm < 182.0))
    assert np.all(np.abs(spm[centres < 27.0] - 180.0) < 2.0)
    assert np.all(np.abs(spm[centres > 35.0] - 90.0) < 1.0)


@pytest.mark.parametrize("now_s", [31.0, 33.0, 35.0, 37.0, 39.0])
def test_the_live_cadence_across_a_change_is_the_windows_mean(now_s: float) -> None:
    # The live tempo controller's cadence (10 s windows) across a 165 -> 185 spm change read
    # 181.4 for a true 175.1 (the 165 spm steps dropped against the window's typical step).
    from coach.control import CADENCE_WINDOW_S, current_cadence_spm

    rng = np.random.default_rng(int(now_s))
    slow = np.arange(0.0, 30.0, 60.0 / 165.0)
    fast = slow[-1] + 60.0 / 185.0 + np.arange(0.0, 30.0, 60.0 / 185.0)
    t = np.r_[slow, fast] + rng.normal(0.0, 0.004, slow.size + fast.size)
    w = t[(t > now_s - CADENCE_WINDOW_S) & (t <= now_s)]
    value = current_cadence_spm(list(t[t <= now_s]), now_s)
    assert value is not None
    assert abs(value - 60.0 * (w.size - 1) / (w[-1] - w[0])) < 1.0


def test_identical_step_times_are_one_step() -> None:
    # a zero interval made a RuntimeWarning (an error under pytest; never printed by analyze)
    assert np.isnan(cadence_spm(np.array([1.0, 1.0, 1.0, 1.0])))
    t = _train(160.0, 40)
    doubled = np.sort(np.r_[t, t[10], t[25]])
    assert cadence_spm(doubled) == pytest.approx(cadence_spm(t), abs=1e-9)
    assert not np.isnan(cadence_track(doubled)[1]).any()


def test_the_rhythm_clarity_is_judged_at_the_step_not_at_a_stride_across_a_missed_step() -> None:
    """A soft foot's step missed every fourth step (dev treadmill synthetic HFP 8 kHz: 12 of 54):
    two strides of three span a missed step, so the median half-stride is 1.5 steps, where the
    onsets do not recur (clarity 1.36 there, 2.36 at the step: the cadence, 0.9 spm off, was not
    confident). ``coach.analysis.detector_rhythm`` asks the detector for its clarity at the
    typical step with those strides left out."""
    from coach.analysis import detector_rhythm
    from stepdetect.online import Footfalls

    step_s = 0.35
    t = np.delete(0.6 + np.arange(56) * step_s, np.arange(3, 56, 4))
    asked: list[float] = []

    class Detector:
        rhythm_salience = 0.5
        bands: list[str] = []

        def rhythm_clarity(self, period_s: float) -> float:
            asked.append(period_s)
            return 2.0

    assert typical_step_s(t) == pytest.approx(1.5 * step_s)  # the strides across a missed step
    n = t.size
    found = Footfalls(t, np.ones(n), np.zeros(n), t + 0.03, np.ones(n, dtype=bool), np.full(n, step_s))
    detector_rhythm(Detector(), found)  # type: ignore[arg-type]
    assert asked == [pytest.approx(step_s)]
