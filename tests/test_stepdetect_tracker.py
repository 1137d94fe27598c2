"""stepdetect.tracker: the causal step-rhythm tracker on candidate events (time, strength)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from stepdetect import score_events
from stepdetect.evaluate import Scores
from stepdetect.tracker import StepTracker, TrackerParams, track_events
from stepdetect.tracker_chain import find_chain
from stepdetect.tracker_lock import AUDIO_PARAMS, BANDS_PARAMS
from stepdetect.validate import ParameterError


def _steps(rng: np.random.Generator, spm: float, n: int, start_s: float = 0.5, jitter_s: float = 0.006) -> np.ndarray:
    period = 60.0 / spm
    return start_s + np.arange(n) * period + rng.normal(0.0, jitter_s, n)


def _track(events: list[tuple[float, float]], **kw):
    events.sort()
    t, s = zip(*events)
    return track_events(np.array(t), np.array(s), params=TrackerParams(**kw) if kw else None)


def test_regular_steps_are_all_kept_and_rhythmic(rng: np.random.Generator) -> None:
    ref = _steps(rng, 170, 60)
    out = _track([(t, rng.uniform(0.7, 1.3)) for t in ref])
    np.testing.assert_array_equal(out.time_s, ref)  # the candidate's own time, never the prediction
    assert out.rhythmic[4:].all()
    assert out.rhythm_salience > 0.9


def test_heel_toe_and_scuff_double_hits_merge_into_the_first(rng: np.random.Generator) -> None:
    ref = _steps(rng, 165, 50)
    events = [(t, 1.0) for t in ref]
    events += [(t + rng.uniform(0.030, 0.150), rng.uniform(0.5, 1.5)) for t in ref]  # toe or scuff, louder or not
    out = _track(events)
    np.testing.assert_array_equal(out.time_s, ref)
    assert out.n_merged == ref.size


def test_loud_off_rhythm_clicks_are_rejected(rng: np.random.Generator) -> None:
    ref = _steps(rng, 175, 80)
    period = 60 / 175
    # between steps (before off_min_fraction of the period: a loud sound later than that may be an
    # irregular real step and is taken), 3x louder than a step
    clicks = ref[6::5] + rng.uniform(0.2, 0.55, ref[6::5].size) * period
    out = _track([(t, 1.0) for t in ref] + [(t, 3.0) for t in clicks])
    scores = score_events(ref, out.time_s, tolerance_s=0.001)
    assert scores.recall == 1.0, scores
    assert scores.n_estimated - scores.n_matched <= 1, scores  # at most one click before the lock


def test_music_kicks_at_another_tempo_are_not_steps(rng: np.random.Generator) -> None:
    ref = _steps(rng, 172, 120)
    kicks = np.arange(0.31, ref[-1], 60 / 128)
    out = _track([(t, 1.0) for t in ref] + [(t, 0.5) for t in kicks])
    scores = score_events(ref, out.time_s, tolerance_s=0.025)
    assert scores.f1 >= 0.95, scores


def _drum_track(rng: np.random.Generator, ref: np.ndarray, kick: float, beat_s: float = 60 / 132) -> list[tuple[float, float]]:
    """Kicks at an exact tempo (strength ``kick``) and hi-hats on the off-beats (0.3)."""
    kicks = np.arange(0.31, ref[-1], beat_s)
    return [(t + rng.normal(0.0, 0.001), kick) for t in kicks] + [(t + beat_s / 2, 0.3) for t in kicks]


def test_a_drum_beat_close_before_the_steps_is_not_taken_for_them(rng: np.random.Generator) -> None:
    # a runner's steps wander (20 ms sd per interval); a drum machine's kicks, at 0.6 x a step,
    # keep falling just before a step, inside the rhythm's window: on their exact grid they are
    # the music's, not footfalls (the tracker without the beat test takes 8-12 % of them)
    ref = 0.5 + np.cumsum(rng.normal(60 / 168, 0.02, 150))
    events = [(t, rng.uniform(0.7, 1.3)) for t in ref] + _drum_track(rng, ref, 0.6)
    out = _track(events)
    scores = score_events(ref, out.time_s, tolerance_s=0.025)
    assert scores.f1 >= 0.95, scores
    assert scores.n_estimated - scores.n_matched <= 6, scores
    without = _track(events, beat=None)
    assert score_events(ref, without.time_s, tolerance_s=0.025).f1 < scores.f1 - 0.03


def test_music_louder_than_the_steps_and_heard_first_does_not_hold_the_lock() -> None:
    # earbud music (kicks and snares on an exact eighth-note grid at 133 bpm, louder than the
    # steps) playing before the runner sets off: the tracker takes some of its beats as
    # provisional steps before it finds a rhythm; those stay members of the music's beat grid,
    # so the grid is recognised and the lock goes to the steps, not to the kicks (bands path
    # strengths: linear in dB; with the provisional steps kept off the grid: mean F1 0.92, worst 0.74)
    f1 = []
    for seed in range(10):
        rng = np.random.default_rng(20261121 + seed)
        ref = 2.0 + np.cumsum(rng.normal(0.40, 0.012, 60))
        beats = np.arange(0.2, ref[-1], 60 / 133 / 2)
        events = [(t, rng.uniform(7, 14)) for t in ref] + [(t + rng.normal(0, 0.001), rng.uniform(10, 18)) for t in beats]
        events.sort()
        t, s = map(np.array, zip(*events))
        out = track_events(t, s, params=BANDS_PARAMS)
        f1.append(score_events(ref[ref > 4.0], out.time_s[out.time_s > 4.0], tolerance_s=0.025).f1)
    assert np.mean(f1) >= 0.95, f1
    assert min(f1) >= 0.88, f1


def test_steady_steps_on_a_beat_grid_are_still_steps(rng: np.random.Generator) -> None:
    # metronome-steady steps (their own exact grid is the lock's, never "another rhythm"), and
    # a step landing on a kick is louder than the kicks: a footfall
    ref = _steps(rng, 170, 100, jitter_s=0.0005)
    out = _track([(t, 1.0) for t in ref] + _drum_track(rng, ref, 0.4, beat_s=60 / 170 * 4 / 3))
    scores = score_events(ref, out.time_s, tolerance_s=0.025)
    assert scores.recall >= 0.99, scores
    assert scores.precision >= 0.97, scores


def test_an_unheard_step_is_a_gap_never_a_footfall(rng: np.random.Generator) -> None:
    ref = _steps(rng, 160, 40)
    missing = {12, 25, 26}
    heard = np.delete(ref, sorted(missing))
    out = _track([(t, 1.0) for t in heard])
    np.testing.assert_array_equal(out.time_s, heard)  # nothing invented
    assert out.gaps_s.size == 3
    np.testing.assert_allclose(out.gaps_s, ref[sorted(missing)], atol=0.03)  # where the steps were due
    assert out.rhythmic[5:].all()  # the lock holds across the gaps


def test_a_ramp_160_to_180_spm_is_followed(rng: np.random.Generator) -> None:
    spm = np.linspace(160, 180, 150)
    ref = 0.5 + np.concatenate(([0.0], np.cumsum(60.0 / spm[:-1]))) + rng.normal(0, 0.005, spm.size)
    out = _track([(t, rng.uniform(0.6, 1.4)) for t in ref])
    np.testing.assert_array_equal(out.time_s, ref)
    assert out.rhythmic[4:].all() and out.gaps_s.size == 0


def test_walk_to_run_and_a_stop_are_followed(rng: np.random.Generator) -> None:
    walk = _steps(rng, 110, 30, start_s=0.5)
    run = _steps(rng, 170, 60, start_s=walk[-1] + 0.4)
    after_stop = _steps(rng, 165, 40, start_s=run[-1] + 10.0)  # 10 s at a traffic light
    ref = np.concatenate((walk, run, after_stop))
    standing = np.sort(rng.uniform(run[-1] + 0.5, after_stop[0] - 0.5, 8))  # a few weak noises
    out = _track([(t, 1.0) for t in ref] + [(t, 0.15) for t in standing])
    scores = score_events(ref, out.time_s, tolerance_s=0.001)
    assert scores.recall >= 0.95 and scores.precision == 1.0, scores  # a re-lock costs ~3 steps
    in_stop = (out.time_s > run[-1] + 0.1) & (out.time_s < after_stop[0] - 0.1)
    assert not in_stop.any()
    stop_gaps = out.gaps_s[(out.gaps_s > run[-1]) & (out.gaps_s < after_stop[0])]
    assert stop_gaps.size <= TrackerParams().max_missing  # a stop is not a run of invented gaps either
    assert out.rhythmic[-35:].all()  # locked again after the stop


def test_lopsided_stride_is_tracked(rng: np.random.Generator) -> None:
    intervals = np.tile([0.30, 0.40], 50) + rng.normal(0, 0.004, 100)
    ref = 0.5 + np.concatenate(([0.0], np.cumsum(intervals)))
    out = _track([(t, 1.0) for t in ref])
    np.testing.assert_array_equal(out.time_s, ref)
    assert out.rhythmic[10:].mean() >= 0.95


def test_texture_has_low_rhythm_salience(rng: np.random.Generator) -> None:
    t = np.sort(rng.uniform(0, 30, 300))  # rustle: 10 onsets a second at random
    out = track_events(t, rng.uniform(0.3, 1.5, t.size))
    assert out.rhythm_salience < 0.5, out.rhythm_salience


def test_streaming_equals_offline_and_bad_input_is_rejected(rng: np.random.Generator) -> None:
    t = np.sort(rng.uniform(0, 10, 60))
    s = rng.uniform(0.2, 2, t.size)
    tracker = StepTracker()
    live = [d.time_s for d in (tracker.push(a, b) for a, b in zip(t, s)) if d.is_step]
    np.testing.assert_array_equal(live, track_events(t, s).time_s)
    with pytest.raises(ParameterError, match="time order"):
        tracker.push(1.0, 1.0)
    with pytest.raises(ParameterError, match="positive"):
        StepTracker().push(1.0, 0.0)
    with pytest.raises(ParameterError):
        TrackerParams(min_period_s=0.5, max_period_s=0.4)


@pytest.mark.parametrize("bad", [{"stop_neighbour_tolerance": 1.0}, {"stop_neighbour_tolerance": 0.0},
                                 {"stop_quiet_s": 0.0}, {"relock_max_ratio": 1.1}, {"stop_sparse_steps": 1.0},
                                 {"stop_sparse_steps": math.nan}, {"split_max_closeness": math.nan},
                                 {"split_max_closeness": 2.0}])
def test_bad_stop_and_relock_parameters_are_rejected(bad: dict[str, float]) -> None:
    with pytest.raises(ParameterError):
        dataclasses.replace(AUDIO_PARAMS, **bad)  # type: ignore[arg-type]
    for params in (AUDIO_PARAMS, BANDS_PARAMS):  # the shipped sets pass
        assert dataclasses.replace(params) == params


@pytest.mark.parametrize("bad", [{"split_min_closeness": -1.0}, {"split_max_period_s": math.nan},
                                 {"split_max_gap_s": -0.1}, {"split_max_gap_s": 1.0}])
def test_bad_split_parameters_are_rejected_where_the_split_rules_are_on(bad: dict[str, float]) -> None:
    with pytest.raises(ParameterError):
        dataclasses.replace(BANDS_PARAMS, **bad)  # type: ignore[arg-type]
    dataclasses.replace(AUDIO_PARAMS, merge_s=0.02, **bad)  # off (split_max_closeness None): not judged


# -- the step-period hint and the per-detector parameter sets (accelerometer walking) ------------

def _pocket_walk(rng: np.random.Generator, n: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A phone in one back pocket at ~108 spm: its own leg's step loud, the other soft, lopsided
    0.48 / 0.63 s intervals (+-4 %), and a weak sway peak between steps. (ref, times, strengths)."""
    iv = np.tile([0.48, 0.63], n // 2) * (1 + rng.normal(0, 0.04, n))
    ref = 1.0 + np.concatenate(([0.0], np.cumsum(iv[:-1])))
    loud = np.where(np.arange(n) % 2 == 0, rng.uniform(0.9, 1.3, n), rng.uniform(0.28, 0.4, n))
    sway = ref[:-1] + 0.5 * np.diff(ref) + rng.normal(0, 0.02, n - 1)
    t = np.concatenate((ref, sway))
    s = np.concatenate((loud, rng.uniform(0.1, 0.2, n - 1)))
    order = np.argsort(t)
    return ref, t[order], s[order]


def test_a_step_period_hint_keeps_a_lopsided_walk_off_its_strides(rng: np.random.Generator) -> None:
    from stepdetect.tracker import ACCEL_PARAMS

    ref, t, s = _pocket_walk(rng)
    strides = track_events(t, s)  # the running defaults, no hint: the loud leg's strides are the rhythm
    assert score_events(ref, strides.time_s, tolerance_s=0.001).recall <= 0.55
    hinted = track_events(t, s, params=ACCEL_PARAMS, period_hint_s=np.full(t.size, 0.555))
    scores = score_events(ref, hinted.time_s, tolerance_s=0.001)  # candidates' own times
    assert scores.recall >= 0.9 and scores.precision >= 0.95, scores
    assert hinted.rhythmic[6:].mean() >= 0.9


def test_hint_validation_and_nan_is_no_hint(rng: np.random.Generator) -> None:
    ref, t, s = _pocket_walk(rng, 40)
    np.testing.assert_array_equal(track_events(t, s, period_hint_s=np.full(t.size, np.nan)).time_s,
                                  track_events(t, s).time_s)
    with pytest.raises(ParameterError, match="period_hint_s"):
        StepTracker().push(1.0, 1.0, period_hint_s=-0.5)
    with pytest.raises(ParameterError, match="one value per candidate"):
        track_events(t, s, period_hint_s=np.ones(3))
    with pytest.raises(ParameterError):
        TrackerParams(hint_tolerance=0.0)


def test_walking_parameter_set_follows_irregular_walking_steps(rng: np.random.Generator) -> None:
    """Walking steps wander +-7 % around the rhythm with strengths 0.3-1.5: the accelerometer set
    (wider closeness, lower off-rhythm bar) keeps them; the audio (running) set drops some."""
    from stepdetect.tracker import ACCEL_PARAMS, AUDIO_PARAMS, PARAMETER_SETS

    assert PARAMETER_SETS == {"audio": AUDIO_PARAMS, "accel": ACCEL_PARAMS}
    assert AUDIO_PARAMS == TrackerParams()  # the audio detector's defaults are unchanged
    n = 150
    ref = 1.0 + np.concatenate(([0.0], np.cumsum(0.6 * (1 + rng.normal(0, 0.07, n - 1)))))
    s = rng.uniform(0.3, 1.5, n)
    hint = np.full(n, 0.6)
    walking = score_events(ref, track_events(ref, s, params=ACCEL_PARAMS, period_hint_s=hint).time_s, tolerance_s=0.001)
    running = score_events(ref, track_events(ref, s, params=AUDIO_PARAMS, period_hint_s=hint).time_s, tolerance_s=0.001)
    assert walking.recall >= 0.96 and walking.precision == 1.0, walking
    assert running.recall < walking.recall, (running, walking)


def test_hinted_tracker_takes_no_isolated_knock_before_a_walk(rng: np.random.Generator) -> None:
    """Handling before a walk (a knock, the phone picked up) has no step one period before it:
    with a hint and no rhythm yet it is not a provisional step."""
    from stepdetect.tracker import ACCEL_PARAMS

    ref = _steps(rng, 110, 40, start_s=3.0)
    knocks = [(0.4, 1.2), (1.6, 0.9)]
    t, s = zip(*sorted([(x, 1.0) for x in ref] + knocks))
    out = track_events(np.array(t), np.array(s), params=ACCEL_PARAMS, period_hint_s=np.full(len(t), 60 / 110))
    assert not np.isin([k for k, _ in knocks], out.time_s).any()
    scores = score_events(ref, out.time_s, tolerance_s=0.001)
    assert scores.precision == 1.0 and scores.n_matched >= ref.size - 1, scores  # the first step has no neighbour yet


# -- failure classes of the real-microphone benchmark (benchmarks/bench_footfall.py, dev split) --


def test_a_heel_heard_early_and_its_toe_on_the_rhythm_are_one_footfall(rng: np.random.Generator) -> None:
    """A heel 75 ms ahead of the rhythm is taken off it; the louder toe that follows on the
    rhythm is the same footfall (it was reported twice), and the rhythm follows the heel."""
    ref = 0.5 + np.arange(60) * 0.35 + rng.normal(0.0, 0.004, 60)
    heel = ref.copy()
    early = np.arange(8, 60, 5)
    heel[early] -= 0.075
    out = _track([(t, 1.0) for t in heel] + [(ref[i] + 0.005, 1.3) for i in early])
    scores = score_events(heel, out.time_s, tolerance_s=0.001)
    assert scores.recall == 1.0 and scores.n_estimated == scores.n_matched, scores  # no double, at the heel


def test_a_step_later_than_the_rhythm_and_softer_is_still_a_step(rng: np.random.Generator) -> None:
    """Real step intervals wander: a step 80 ms after its prediction, with nothing at the
    prediction, is the late footfall even when it is too soft for a step off the rhythm."""
    steps = 0.5 + np.arange(60) * 0.35 + rng.normal(0.0, 0.004, 60)
    late = np.arange(8, 60, 6)
    steps[late] += 0.08
    events = [(t, 0.45 if i in late else 1.0) for i, t in enumerate(steps)]
    assert score_events(steps, _track(list(events)).time_s, tolerance_s=0.001).recall == 1.0
    never_late = score_events(steps, _track(list(events), late_min_rel=float("inf")).time_s, tolerance_s=0.001)
    assert never_late.recall <= 0.9, never_late  # without the rule those steps were lost


def test_a_soft_heel_then_a_louder_toe_is_reported_at_the_heel(rng: np.random.Generator) -> None:
    """A heel too soft to be taken on the rhythm, then its toe 85 ms later: with
    ``heel_min_rel`` (the thump path's tracker) the footfall is dated at the heel, not late at the toe."""
    ref = 0.5 + np.arange(60) * 0.35 + rng.normal(0.0, 0.004, 60)
    soft = np.arange(8, 60, 4)
    events = [(t, 1.0) for i, t in enumerate(ref) if i not in soft]
    events += [(ref[i], 0.2) for i in soft] + [(ref[i] + 0.085, 0.6) for i in soft]
    at_heel = score_events(ref, _track(list(events), heel_min_rel=0.3).time_s, tolerance_s=0.001)
    assert at_heel.recall == 1.0 and at_heel.n_estimated == at_heel.n_matched, at_heel
    at_toe = score_events(ref, _track(list(events)).time_s, tolerance_s=0.001)  # the default: off
    assert at_toe.recall <= 0.7, at_toe


def test_a_lock_on_strides_halves_to_the_steps() -> None:
    """Lopsided running (0.30 / 0.42 s) with a softer second foot: a lock found on every other
    step gives way to the regular chain of steps between them (it lost half the steps). Without
    the halving the stride lock (0.72 s) also lets go once its closeness sd stops at
    ``max_sigma_s``, so "without" turns both off."""
    r = np.random.default_rng(2)
    intervals = np.tile([0.30, 0.42], 40) + r.normal(0.0, 0.03, 80)
    ref = 0.5 + np.concatenate(([0.0], np.cumsum(intervals[:-1])))
    events = [(t, 1.0 if i % 2 == 0 else r.uniform(0.5, 0.7)) for i, t in enumerate(ref)]
    assert score_events(ref, _track(list(events)).time_s).recall >= 0.95
    without = _track(list(events), halve_min_period_s=9.0, max_sigma_s=float("inf"))
    assert score_events(ref, without.time_s).recall <= 0.6


def test_a_lock_on_strides_halves_to_a_fast_cadence() -> None:
    """A runner at 232 spm (steps 0.259 s apart, below ``halve_min_period_s``): the first 2.5 s
    only one foot is heard, so the rhythm locks on strides (0.52 s); then the other foot is
    heard too, about as strong: the lock halves to the steps instead of rejecting every other one."""
    r = np.random.default_rng(5)
    ref = 0.5 + np.arange(80) * (60 / 232) + r.normal(0.0, 0.004, 80)
    events = [(t, 1.0 if i % 2 == 0 else r.uniform(0.75, 1.0)) for i, t in enumerate(ref) if i % 2 == 0 or t > 3.0]
    heard = ref[(np.arange(80) % 2 == 0) | (ref > 3.0)]
    later = heard[heard > 5.0]  # after a few steps to halve on
    out = _track(list(events))
    assert score_events(later, out.time_s[out.time_s > 4.9], tolerance_s=0.001).f1 >= 0.97
    assert score_events(heard, out.time_s, tolerance_s=0.001).recall >= 0.9
    without = _track(list(events), halve_fast_score=float("inf"))
    assert score_events(later, without.time_s[without.time_s > 4.9], tolerance_s=0.001).recall <= 0.75


def test_weaker_regular_sounds_between_walking_steps_do_not_halve_the_lock(rng: np.random.Generator) -> None:
    """Walking at 116 spm with a crunch trail 100 ms after each step; after 3 s a regular sound
    half-way between the steps at about half their strength (a treadmill deck, a bouncing
    bottle): the lock stays on the steps -- halving at a fast cadence needs the sounds between
    as strong as the steps (a halving that asked nothing of them took every one)."""
    ref = _steps(rng, 116, 50, jitter_s=0.003)
    period = 60 / 116
    events = [(t, rng.uniform(0.9, 1.1)) for t in ref]
    events += [(t + 0.5 * period, rng.uniform(0.45, 0.6)) for t in ref if t > 3.0]
    events += [(t + 0.1, rng.uniform(0.5, 0.9)) for t in ref]
    scores = score_events(ref, _track(list(events)).time_s, tolerance_s=0.001)
    assert scores.recall >= 0.98 and scores.precision >= 0.98, scores
    lax = score_events(ref, _track(list(events), halve_fast_score=0.0).time_s, tolerance_s=0.001)
    assert lax.precision <= 0.7, lax


def test_a_stride_lock_halves_on_a_soft_foot_heard_at_every_midpoint() -> None:
    """A runner at 168 spm whose second foot reaches the headset 10 dB softer (0.25-0.35 x the
    other on the bands path's scale: under the chain floor, so no half-period chain ever forms and
    the bands path's tracker locks on strides, 0.71 s). The soft foot is still heard half-way
    between the loud foot's steps, stride after stride: the lock halves and takes it (dev
    treadmill synthetic HFP 8 kHz). Without ``halve_midpoint_count`` half the steps are lost for
    good; a walk at 116 spm (0.52 s, under ``halve_midpoint_min_period_s``) with a regular sound
    half-way between its steps keeps its lock."""
    r = np.random.default_rng(3)
    ref = 0.5 + np.arange(56) * (60 / 168) + r.normal(0.0, 0.008, 56)
    strength = np.where(np.arange(56) % 2 == 0, r.uniform(0.9, 1.1, 56), r.uniform(0.25, 0.35, 56))
    # the soft foot once the stride lock was found (~4 strides) and 3 of 4 strides halved it
    soft_later = ref[1::2][ref[1::2] > 6.0]
    for changes, least, most in (({}, 0.95, 1.0), ({"halve_midpoint_count": 0}, 0.0, 0.05)):
        out = track_events(ref, strength, params=dataclasses.replace(BANDS_PARAMS, **changes))
        assert score_events(ref, out.time_s, tolerance_s=0.001).precision == 1.0
        recall = score_events(soft_later, out.time_s[out.time_s > 5.9], tolerance_s=0.001).recall
        assert least <= recall <= most, (changes, recall)
    rng = np.random.default_rng(0)
    walk = _steps(rng, 116, 50, jitter_s=0.003)
    events = [(t, rng.uniform(0.9, 1.1)) for t in walk] + [(t + 0.1, rng.uniform(0.5, 0.9)) for t in walk]
    events += [(t + 0.5 * 60 / 116, rng.uniform(0.45, 0.6)) for t in walk if t > 3.0]
    walking = _bands_tracker_scores(sorted(events), walk)
    assert walking.recall >= 0.98 and walking.precision >= 0.98, walking


def test_a_louder_step_right_after_the_candidate_that_found_the_rhythm_is_kept(rng: np.random.Generator) -> None:
    """The rhythm is found on a soft precursor 35 ms before a footfall: the footfall itself,
    much louder, is reported too (it was merged into the precursor and lost)."""
    ref = 0.5 + np.arange(30) * 0.36 + rng.normal(0.0, 0.003, 30)
    events = [(t, 1.0) for i, t in enumerate(ref) if i != 3] + [(ref[3] - 0.035, 0.6), (ref[3], 2.0)]
    out = _track(events)
    assert score_events(ref, out.time_s, tolerance_s=0.001).recall == 1.0


def test_a_loud_sound_two_thirds_into_the_interval_is_not_a_second_footfall(rng: np.random.Generator) -> None:
    """A candidate as loud as a step 0.62-0.68 of the period after a step (a scuff, the crunch
    trail of the step, a click) is not a step off the rhythm: it was reported as one, then the
    real footfall ~120 ms later on the rhythm as well (a double detection before the step)."""
    ref = _steps(rng, 170, 60, jitter_s=0.004)
    period = 60 / 170
    extra = [(ref[i] + rng.uniform(0.62, 0.68) * period, 1.0) for i in range(6, 59, 4)]
    events = [(t, 1.0) for t in ref] + extra
    scores = score_events(ref, _track(list(events)).time_s, tolerance_s=0.001)
    assert scores.recall == 1.0 and scores.n_estimated == scores.n_matched, scores
    before = score_events(ref, _track(list(events), off_min_fraction=0.6).time_s, tolerance_s=0.001)
    assert before.n_estimated - before.n_matched >= len(extra) - 2, before  # the previous rule: doubles


def test_after_a_stop_isolated_breath_thumps_are_not_provisional_footfalls(rng: np.random.Generator) -> None:
    """Standing at a traffic light the runner's breathing thumps every second or two, softer than
    the footfalls but above the provisional bar. Once the stop has let the lock go, such an
    isolated candidate (none a step period before it) is not a footfall unless as loud as one;
    the steps after the stop are all found, the first one too (benchmark: dev/stop/dirt_rocks/phone)."""
    from stepdetect.online import THUMP_STOP_MIN_REL
    from stepdetect.tracker import AUDIO_PARAMS

    run = _steps(rng, 160, 28, start_s=0.5)
    after_stop = _steps(rng, 160, 28, start_s=run[-1] + 10.5)
    ref = np.concatenate((run, after_stop))
    breaths = run[-1] + np.cumsum(rng.uniform(1.6, 2.4, 4))  # isolated, 2-10 s into the stop
    assert breaths[-1] < after_stop[0] - 0.5
    events = sorted([(t, rng.uniform(0.9, 1.1)) for t in ref] + [(t, 0.6) for t in breaths])
    t, s = (np.array(x) for x in zip(*events))
    in_stop = (t > run[-1] + 0.1) & (t < after_stop[0] - 0.1)

    before = track_events(t, s, params=AUDIO_PARAMS)
    assert np.isin(breaths, before.time_s).sum() >= 2  # the audio set takes them as provisional steps

    params = dataclasses.replace(AUDIO_PARAMS, stop_min_rel=THUMP_STOP_MIN_REL)
    out = track_events(t, s, params=params)
    assert not np.isin(t[in_stop], out.time_s).any()
    scores = score_events(ref, out.time_s, tolerance_s=0.001)
    assert scores.precision == 1.0 and scores.recall == 1.0, scores
    # a softer first step after the stop is missed, the next one (a period after it) is not
    soft = s.copy()
    first = int(np.flatnonzero(t == after_stop[0])[0])
    soft[first] = 0.6
    out = track_events(t, soft, params=params)
    assert after_stop[0] not in out.time_s and np.isin(after_stop[1:], out.time_s).all()


def test_after_a_stumble_the_rhythm_follows_the_new_phase(rng: np.random.Generator) -> None:
    """A short step (a stumble, 27 % of the period early) and the rhythm going on from it: the
    step is taken off the rhythm, and the next one, on the rhythm counted from it, moves the
    phase there. Without re-phasing the soft foot's steps (half as loud) after each stumble fall
    off the old phase and are rejected until the rhythm is found again. Loud clicks mid-interval
    are still rejected."""
    period = 0.35
    steps = 0.5 + np.arange(80) * period + rng.normal(0.0, 0.004, 80)
    for i in range(10, 80, 12):
        steps[i:] -= 0.27 * period
    strength = np.where(np.arange(80) % 2, 0.5, 1.0) * rng.uniform(0.9, 1.1, 80)
    clicks = steps[5:-1:7] + rng.uniform(0.4, 0.6, steps[5:-1:7].size) * period
    events = [*zip(steps, strength), *((t, 3.0) for t in clicks)]
    rephased = score_events(steps, _track(list(events), rephase_min_rel=0.6).time_s, tolerance_s=0.001)
    assert rephased.recall >= 0.95 and rephased.precision >= 0.98, rephased
    stuck = score_events(steps, _track(list(events)).time_s, tolerance_s=0.001)  # the default: never
    assert stuck.recall <= 0.9, stuck


def test_a_loud_step_after_a_short_interval_is_taken_with_off_loud_rel(rng: np.random.Generator) -> None:
    """Real step intervals have a short one now and then (0.25 s in a 0.4 s rhythm): a loud step
    0.63 of the period after the last one is off the rhythm and too early for a step off it;
    with ``off_loud_rel`` (the bands path's tracker) one that loud is a step. Loud clicks in the
    middle of an interval are still rejected."""
    period = 0.45
    steps = 0.5 + np.arange(70) * period + rng.normal(0.0, 0.003, 70)
    short = np.arange(10, 70, 9)
    steps[short] -= 0.37 * period  # 0.63 of the period after the last step, the next one on the rhythm
    events = [(t, 2.0 if i in short else 1.0) for i, t in enumerate(steps)]
    clicks = steps[6:-1:9] + rng.uniform(0.4, 0.5, steps[6:-1:9].size) * period
    events += [(t, 3.0) for t in clicks]
    loud = score_events(steps, _track(list(events), off_loud_rel=1.5).time_s, tolerance_s=0.001)
    assert loud.recall == 1.0 and loud.precision == 1.0, loud
    default = score_events(steps, _track(list(events)).time_s, tolerance_s=0.001)
    assert default.recall <= 1.0 - short.size / steps.size + 0.01, default  # those steps were lost


def test_without_free_override_a_louder_crunch_after_a_provisional_step_is_no_footfall() -> None:
    """Not locked yet: a provisional footfall, then a 1.8 x louder sound 130 ms and 210 ms later
    (crunchy ice's low crunches after the contact). With ``free_override`` False both are part of
    the footfall (rejected or merged); with the default the first crunch is taken as a new footfall
    and the next real step, 220 ms after it, is lost."""
    times = [0.5, 0.63, 0.85, 1.06]
    strengths = [1.0, 1.8, 1.0, 1.8]
    kept = track_events(np.array(times), np.array(strengths), params=TrackerParams(free_override=False))
    np.testing.assert_allclose(kept.time_s, [0.5, 0.85])
    default = track_events(np.array(times), np.array(strengths))
    np.testing.assert_allclose(default.time_s, [0.5, 0.63, 1.06])


def _bands_tracker_scores(candidates: list[tuple[float, float]], steps_s: np.ndarray, **changes: object) -> Scores:
    """The multi-band picker's tracker (``BANDS_PARAMS``, with ``changes``) over ``candidates``
    (time s, strength), scored against the true ``steps_s`` at +-25 ms."""
    t, s = map(np.array, zip(*candidates))
    out = track_events(t, s, params=dataclasses.replace(BANDS_PARAMS, **changes))
    return score_events(steps_s, out.time_s, tolerance_s=0.025)


# The multi-band picker's candidates (time s, strength) over 10 s of the benchmark's dev
# "music" scene, shower surface, phone mic path (real shower footsteps, earbud music, from
# ../shared/data via benchmarks/footfall), and the true step times: each footfall is followed
# 65-120 ms later by its slap, 0.4-0.9 x as strong, and by hi-hats and kicks.
SHOWER_PHONE_CANDIDATES = [
    (0.0011, 14.7), (0.3808, 8.1), (0.4222, 10.5), (0.4942, 5.7), (0.609, 5.1), (0.8021, 7.4), (0.804, 10.3),
    (0.9207, 4.6), (0.9208, 5.2), (0.9209, 5.2), (0.9214, 6.6), (0.9216, 6.1), (1.1539, 13.4), (1.5446, 6.8),
    (1.6238, 24.8), (1.7105, 20.7), (2.0138, 4.3), (2.0519, 4.2), (2.4412, 20.4), (2.5278, 18.8), (2.8749, 26.2),
    (2.8906, 5.6), (2.946, 8.3), (3.1487, 4.9), (3.2706, 9.8), (3.6745, 20.5), (3.7371, 4.1), (3.8559, 5.7),
    (4.0724, 22.0), (4.1868, 9.9), (4.187, 10.1), (4.1871, 10.6), (4.1899, 12.5), (4.1901, 11.6), (4.3446, 4.9),
    (4.4754, 4.8), (4.8736, 20.1), (4.9371, 5.8), (5.038, 7.7), (5.2934, 22.5), (5.3793, 18.1), (5.6904, 12.0),
    (5.7793, 12.5), (6.093, 19.8), (6.1794, 16.6), (6.4349, 4.7), (6.4904, 18.9), (6.6083, 10.4), (6.6084, 10.0),
    (6.9082, 11.6), (7.0248, 9.6), (7.0249, 9.6), (7.0251, 9.6), (7.0348, 6.3), (7.3768, 19.9), (7.4635, 19.0),
    (7.5992, 7.7), (7.7266, 22.2), (7.7997, 9.2), (8.1245, 11.2), (8.2395, 10.7), (8.2399, 10.2), (8.5283, 21.4),
    (8.6142, 18.6), (8.7627, 5.6), (8.9412, 16.6), (9.0598, 9.6), (9.0598, 10.9), (9.0599, 10.3), (9.0601, 9.6),
    (9.3243, 12.0), (9.3896, 4.4), (9.5088, 4.2), (9.6946, 7.5), (9.7591, 14.4), (9.8321, 6.0), (9.9274, 8.0),
]
SHOWER_PHONE_STEPS_S = np.array([
    0.0037, 0.4206, 0.8041, 1.1543, 1.6212, 2.0547, 2.4383, 2.8718, 3.272, 3.6722,
    4.0724, 4.4726, 4.8728, 5.2897, 5.6899, 6.0901, 6.4903, 6.9072, 7.3741, 7.7242,
    8.1244, 8.5246, 8.9415, 9.325, 9.7586,
])


def test_a_soft_slap_after_an_early_footfall_does_not_move_the_rhythm() -> None:
    """A footfall on the rhythm heard early (a short step) and followed by its slap, which
    happens to fit the old prediction: predicting from the slap would put the next footfall
    ~80 ms early (rejected, and a hi-hat after it taken instead). A candidate merged into a
    footfall moves the predictions only when at least ``anchor_min_rel`` (0.6) as strong as the
    footfall: a slap, scuff or echo is softer than the footfall it follows."""
    scores = _bands_tracker_scores(SHOWER_PHONE_CANDIDATES, SHOWER_PHONE_STEPS_S)
    assert scores.f1 >= 0.88, scores
    was = _bands_tracker_scores(SHOWER_PHONE_CANDIDATES, SHOWER_PHONE_STEPS_S, anchor_min_rel=0.0)
    assert was.f1 <= scores.f1 - 0.05, (was, scores)  # without the rule


# The multi-band picker's candidates (time s, strength) over the first 12 s of the benchmark's dev
# "walk" scene, dirt & rocks surface, Bluetooth HFP 16 kHz path (real footsteps on rocks, from
# ../shared/data via benchmarks/footfall), and the true step times (105 spm, 0.57 s apart): before
# every other step, 60-100 ms early, a softer sound (a scuff, a breath through the headset's gate).
WALK_DIRT_HFP16_CANDIDATES = [
    (0.6, 26.5), (0.6223, 16.8), (1.1786, 39), (1.2192, 20.9), (1.2348, 15.6), (1.2882, 5.4), (1.402, 5.8),
    (1.5028, 5.5), (1.5638, 5.5), (1.587, 7.8), (1.6044, 8), (1.6119, 5), (1.6571, 8.3), (1.6622, 11.7),
    (1.6641, 11.1), (1.6715, 6.8), (1.7474, 18.6), (1.8755, 7.8), (1.8916, 6.1), (2.2455, 7.4), (2.3046, 10.2),
    (2.3075, 37), (2.36, 16.8), (2.361, 14.3), (2.4166, 5), (2.7517, 11.5), (2.7609, 10.6), (2.8018, 5),
    (2.8352, 9.5), (2.8354, 7.6), (2.8797, 18.2), (2.9025, 4.6), (2.9894, 5), (3.475, 38), (3.497, 12.5),
    (3.582, 7.3), (3.5845, 5.3), (3.67, 4.9), (3.8473, 9.1), (3.8479, 7.8), (3.9401, 4.1), (3.9844, 6.3),
    (3.9868, 13.8), (4.0038, 10.8), (4.0596, 17.4), (4.0817, 6.4), (4.255, 4.3), (4.6249, 33.6),
    (4.6469, 14.5), (4.7272, 4.9), (4.7323, 9.2), (4.8396, 4.8), (4.9761, 5.9), (5.0333, 10.5), (5.0995, 13.8),
    (5.1007, 9), (5.156, 4.2), (5.1816, 7.7), (5.1978, 20.3), (5.2513, 4.9), (5.2993, 5.6), (5.417, 6.7),
    (5.417, 6.3), (5.5784, 9.5), (5.7942, 32.5), (5.7943, 32.4), (6.248, 7.7), (6.2868, 14), (6.3444, 9.5),
    (6.3485, 7.7), (6.3888, 14.5), (6.4361, 7.2), (6.4364, 6.1), (6.4781, 7), (6.9378, 31.3), (6.9608, 13.7),
    (7.0471, 6.4), (7.0474, 11.1), (7.3852, 4.5), (7.5028, 39.7), (7.651, 7.4), (7.6916, 7), (7.7311, 7),
    (7.7404, 5.3), (7.769, 5.6), (8.0952, 25.7), (8.1784, 4.1), (8.2396, 5.7), (8.2396, 4), (8.4639, 7),
    (8.6128, 12.2), (8.6756, 6.5), (8.6762, 9.2), (8.7262, 10.8), (8.7284, 31.1), (8.7644, 7.7), (8.8006, 5),
    (8.9533, 4.5), (8.9542, 4.3), (9.025, 4.5), (9.1136, 4.3), (9.1568, 6.7), (9.3079, 26.7), (9.3297, 13.5),
    (9.4153, 7.7), (9.8365, 10.2), (9.888, 13.6), (9.9046, 32.4), (10.0471, 4.8), (10.4578, 10.1),
    (10.4629, 18.4), (10.8498, 5.9), (10.9132, 4.6), (10.9133, 4.2), (10.9133, 4.4), (11.0068, 9.7),
    (11.009, 16.7), (11.0603, 9.2), (11.0605, 7.2), (11.111, 4.9), (11.2284, 5), (11.3119, 5.1),
    (11.6088, 24.2), (11.6621, 13.9), (11.6632, 14), (11.6703, 11.7),
]
WALK_DIRT_HFP16_STEPS_S = np.array([
    0.6, 1.1777, 1.7468, 2.3066, 2.8801, 3.4751, 4.0598, 4.6249, 5.198, 5.7943, 6.3849, 6.9381, 7.5029, 8.0929,
    8.7279, 9.3078, 9.9024, 10.4604, 11.0095, 11.6082,
])


def test_a_sound_60_to_100_ms_before_a_walking_step_is_not_taken_for_it() -> None:
    """At a walking period (0.57 s) a closeness sd of 12 % of it (68 ms) let a softer sound 60-100 ms
    before every other step pass for the footfall, and the step merged into it as its toe. A
    footfall's timing does not wander more at a walk (2-3 % of the interval): the sd stops at
    ``max_sigma_s`` (50 ms), so the sound before the step is rejected and the step is taken."""
    scores = _bands_tracker_scores(WALK_DIRT_HFP16_CANDIDATES, WALK_DIRT_HFP16_STEPS_S)
    assert scores.f1 >= 0.95, scores
    was = _bands_tracker_scores(WALK_DIRT_HFP16_CANDIDATES, WALK_DIRT_HFP16_STEPS_S, max_sigma_s=math.inf)
    assert was.f1 <= scores.f1 - 0.15, (was, scores)  # without the rule


def test_a_chain_may_end_on_an_interval_a_little_under_the_shortest_period() -> None:
    """A 240 spm runner's steps are 0.233-0.283 s apart, around ``min_period_s`` (0.25 s): a chain
    ending on an interval under it never locked, so the multi-band tracker locked on chains of
    steps and the crunches between them instead (1.3-2 x the period). On the bands path a chain's
    newest interval may be 0.9 x ``min_period_s``; its mean must still reach ``min_period_s``, so
    hi-hats 0.225 s apart do not lock."""
    steps = [(0.5, 1.0), (0.76, 1.0), (1.02, 1.0)]
    found = find_chain(steps, 1.255, 1.0, 1.0, None, BANDS_PARAMS)
    # its newest stride's step (0.2475 s) is clamped to the periods a lock keeps
    assert found is not None and found[0].period_s == pytest.approx(BANDS_PARAMS.min_period_s, abs=1e-9), found
    before = dataclasses.replace(BANDS_PARAMS, chain_newest_min_fraction=1.0)
    assert find_chain(steps, 1.255, 1.0, 1.0, None, before) is None
    assert find_chain(steps, 1.27, 1.0, 1.0, None, AUDIO_PARAMS) is not None  # 0.25 s: as before
    hats = [(0.5 + i * 0.225, 1.0) for i in range(4)]  # (every other one, 0.45 s, still chains)
    assert find_chain(hats[:-1], hats[-1][0], 1.0, 1.0, None, BANDS_PARAMS) is None
    with pytest.raises(ParameterError):
        TrackerParams(chain_newest_min_fraction=1.1)


# The multi-band picker's candidates (time s, strength) over the first 12 s of the benchmark's dev
# "treadmill" scene, crunchy ice surface, Bluetooth HFP 16 kHz path (real footsteps on crunchy ice,
# from ../shared/data via benchmarks/footfall), and the true step times: a runner at 240 spm (steps
# 0.233-0.268 s apart), each ~255 ms step sound crunching again ~110-220 ms after its contact.
TREADMILL_ICE_HFP16_CANDIDATES = [
    (0.601, 16.1), (0.6836, 18.6), (0.8178, 26.8), (0.9158, 18.8), (1.1184, 10.7), (1.2293, 13.1),
    (1.2461, 7.3), (1.3867, 6), (1.3871, 5.4), (1.4672, 11.2), (1.6012, 19.3), (1.6356, 14.5), (1.7042, 8),
    (1.7467, 22.3), (1.7632, 6.7), (1.8864, 24.5), (2.0055, 24.5), (2.1537, 21.5), (2.2722, 13),
    (2.4016, 20.3), (2.5116, 8.8), (2.5118, 7.1), (2.6573, 17.2), (2.8289, 15.6), (2.9048, 21.9),
    (3.079, 14.4), (3.1692, 11.8), (3.2811, 20), (3.297, 9.4), (3.4068, 17.2), (3.4676, 14.4),
    (3.4804, 13.3), (3.4806, 7), (3.6707, 16.4), (3.7895, 12.2), (3.9076, 19.1), (4.0795, 17.5),
    (4.1729, 17.8), (4.2339, 8), (4.2521, 5.5), (4.419, 10.7), (4.5399, 15.4), (4.6855, 19.5), (4.757, 4.6),
    (4.7574, 6.8), (4.7829, 6.5), (4.8351, 5.2), (4.9197, 16.8), (4.9205, 16.4), (5.0156, 5.2),
    (5.0158, 4.2), (5.1894, 23.6), (5.3635, 16.4), (5.4223, 11.3), (5.4844, 12.6), (5.6698, 21.7),
    (5.7207, 8.1), (5.7403, 5.7), (5.9106, 18.9), (6.0803, 14), (6.155, 21.2), (6.2737, 18.9),
    (6.4257, 20.8), (6.6003, 6.3), (6.6568, 6.9), (6.7825, 17.7), (6.9069, 17.8), (7.0245, 19.1),
    (7.1761, 22.1), (7.2338, 8.4), (7.2533, 5), (7.4249, 8), (7.4854, 17.5), (7.5025, 7.1), (7.6609, 17.7),
    (7.8315, 8.3), (7.9252, 23), (8.098, 18.2), (8.1758, 19.3), (8.2345, 8.2), (8.2531, 4.9), (8.313, 6.6),
    (8.4241, 15.1), (8.5418, 12.8), (8.6933, 15.1), (8.7718, 18.6), (8.8327, 5), (8.9055, 21.8),
    (8.9409, 13), (9.1158, 16.3), (9.2127, 21.3), (9.2696, 6), (9.2697, 5.4), (9.4604, 13.6),
    (9.5373, 17.1), (9.7252, 18.3), (9.8125, 4.3), (9.8962, 17.1), (9.979, 17.9), (10.151, 14.4),
    (10.2258, 17.6), (10.4012, 11.8), (10.4741, 19.6), (10.5448, 9.6), (10.5835, 5.2), (10.7406, 14.6),
    (10.8213, 13.9), (10.8217, 15.5), (10.9566, 19), (10.976, 5.5), (11.0551, 12.3), (11.1903, 17.3),
    (11.2419, 14.1), (11.4181, 15.8), (11.4915, 10.7), (11.61, 10.5), (11.743, 23.7), (11.955, 4.7),
    (11.9896, 20.9),
]
TREADMILL_ICE_HFP16_STEPS_S = np.array([
    0.6, 0.8501, 1.1169, 1.3837, 1.6338, 1.884, 2.1508, 2.4009, 2.651, 2.9012, 3.168, 3.4014, 3.6682,
    3.9017, 4.1685, 4.4186, 4.6854, 4.9188, 5.1856, 5.4191, 5.6692, 5.9027, 6.1528, 6.4196, 6.653, 6.9032,
    7.17, 7.4201, 7.6535, 7.9203, 8.1705, 8.4206, 8.6874, 8.9375, 9.2043, 9.4544, 9.7212, 9.9714, 10.2215,
    10.4716, 10.7384, 10.9719, 11.2387, 11.4888, 11.7389, 11.989,
])


def test_a_first_lock_on_strides_halves_on_the_midpoints_of_its_own_chain() -> None:
    """The 168 spm runner above, the soft foot heard half-way between the loud foot's steps: the
    first lock is found on strides (its chain of 4 loud steps), and the soft steps between the
    chain's members are heard already. Counting the chain's 3 strides as the lock's first ones
    (``halve_midpoint_chain``) halves it at once and takes every soft step after it; without, the
    lock waits for 3 more strides with a midpoint and loses the soft steps of ~4 strides (dev
    treadmill synthetic HFP 8 kHz, clicks dirt & rocks HFP 16 kHz)."""
    for seed in range(5):
        r = np.random.default_rng(seed)
        ref = 0.5 + np.arange(56) * (60 / 168) + r.normal(0.0, 0.008, 56)
        strength = np.where(np.arange(56) % 2 == 0, r.uniform(0.9, 1.1, 56), r.uniform(0.25, 0.35, 56))
        soft = ref[1::2]
        missed = {}
        for chain in (True, False):
            out = track_events(ref, strength, params=dataclasses.replace(BANDS_PARAMS, halve_midpoint_chain=chain))
            assert score_events(ref, out.time_s, tolerance_s=0.001).precision == 1.0
            after = soft[soft > out.time_s[out.rhythmic][0]]  # the soft steps once the first lock was found
            missed[chain] = after.size - score_events(after, out.time_s, tolerance_s=0.001).n_matched
        assert missed[True] == 0 and missed[False] >= 3, (seed, missed)


def test_a_stride_lock_at_a_fast_cadence_halves_on_steps_a_little_softer_than_its_own() -> None:
    """Crunchy ice at 240 spm through a headset: the bands path's tracker locks on strides
    (0.45-0.5 s) and keeps them while the chain of steps between (the other foot's) is 0.8-0.9 x
    as strong as the lock's last steps; it halves from 0.8 x (``halve_fast_score``; was 0.9 x),
    and the steps it skipped are found."""
    scores = _bands_tracker_scores(TREADMILL_ICE_HFP16_CANDIDATES, TREADMILL_ICE_HFP16_STEPS_S)
    assert scores.f1 >= 0.75 and scores.recall >= 0.75, scores
    was = _bands_tracker_scores(TREADMILL_ICE_HFP16_CANDIDATES, TREADMILL_ICE_HFP16_STEPS_S, halve_fast_score=0.9)
    assert was.f1 <= scores.f1 - 0.15, (was, scores)  # without the rule


def _run_walk_run(rng: np.random.Generator, run_spm: float, walk_spm: float) -> tuple[np.ndarray, np.ndarray]:
    run = _steps(rng, run_spm, 60)
    walk = _steps(rng, walk_spm, 90, start_s=run[-1] + 60.0 / walk_spm)
    run2 = _steps(rng, run_spm, 60, start_s=walk[-1] + 60.0 / run_spm)
    return np.concatenate((run, walk, run2)), walk


@pytest.mark.parametrize(("run_spm", "walk_spm"), [(170, 110), (180, 90)])
def test_a_runner_slowing_to_a_walk_at_3_2_or_2_1_is_followed(rng: np.random.Generator, run_spm: float,
                                                             walk_spm: float) -> None:
    """Run, walk at 3 : 2 or 2 : 1 of the running step, run again: the rhythm re-locks on the
    walk (not every other walking step taken across "unheard" running steps) and on the run
    again, at least 95 % of the footfalls reported."""
    ref, walk = _run_walk_run(rng, run_spm, walk_spm)
    tracker = StepTracker(TrackerParams())
    decisions = [(tracker.push(t, rng.uniform(0.8, 1.2)), tracker.period_s) for t in ref]
    steps = [d for d, _ in decisions if d.is_step]
    assert score_events(ref, np.array([d.time_s for d in steps]), tolerance_s=0.001).recall >= 0.95
    late_walk = [(d, period) for d, period in decisions if walk[8] <= d.time_s <= walk[-1]]
    assert all(d.rhythmic and not d.gaps_s for d, _ in late_walk)  # no "unheard" steps while walking
    np.testing.assert_allclose([period for _, period in late_walk], 60.0 / walk_spm, rtol=0.05)
    late_run = [(d, period) for d, period in decisions if d.time_s >= walk[-1] + 8.0]
    assert all(d.rhythmic for d, _ in late_run)
    np.testing.assert_allclose([period for _, period in late_run], 60.0 / run_spm, rtol=0.05)


def test_a_soft_foot_heard_half_way_keeps_the_running_step(rng: np.random.Generator) -> None:
    """A runner at 170 spm whose second foot is heard at a quarter of the first's strength (too
    soft to be taken on the rhythm): the walk re-lock (a slower chain explaining everything
    heard) does not take the loud foot's strides for a walk."""
    ref = _steps(rng, 170, 120)
    tracker = StepTracker(TrackerParams())
    periods = [(tracker.push(t, 1.0 if i % 2 == 0 or i < 10 else 0.25), tracker.period_s)[1]
               for i, t in enumerate(ref)]
    np.testing.assert_allclose(periods[20:], 60.0 / 170, rtol=0.05)


@pytest.mark.parametrize(("run_spm", "walk_spm"), [(170, 110), (180, 90), (165, 110)])
def test_a_walker_setting_off_running_again_is_followed_at_once(rng: np.random.Generator, run_spm: float,
                                                               walk_spm: float) -> None:
    """After a walk the tracker re-locked on from a run, the first running steps come a running
    step after the last walking one: each is reported (not rejected as too soon after the last
    step on the walking rhythm), and the rhythm is the run's again within 2 s (a faster chain
    explaining every candidate heard), not once the run outweighs the walk's lock."""
    ref, walk = _run_walk_run(rng, run_spm, walk_spm)
    tracker = StepTracker(TrackerParams())
    decisions = [(tracker.push(t, rng.uniform(0.8, 1.2)), tracker.period_s) for t in ref]
    run2 = ref[ref > walk[-1]]
    found = np.array([d.time_s for d, _ in decisions if d.is_step])
    assert score_events(run2, found[found > walk[-1]], tolerance_s=0.001).recall == 1.0
    after = [(d, period) for d, period in decisions if d.time_s >= walk[-1] + 2.0]
    assert all(d.rhythmic for d, _ in after)
    np.testing.assert_allclose([period for _, period in after], 60.0 / run_spm, rtol=0.05)


def test_a_soft_candidate_is_never_a_step_off_the_rhythm() -> None:
    """``push(soft_db=...)``: the caller found it well under the footfalls' level. Off the rhythm,
    where a candidate as strong would be a step (0.8 of the period after the last, 53 ms before
    the prediction), it is rejected and the step after it is taken on the rhythm; on the rhythm a
    soft candidate is still a step."""
    def run(soft_db: float | None) -> list[tuple[str, bool]]:
        tr = StepTracker(BANDS_PARAMS)
        for k in range(12):
            tr.push(0.5 + 0.26 * k, 10.0)
        last = 0.5 + 0.26 * 11
        out = [tr.push(last + 0.26 - 0.053, 8.0, soft_db=soft_db), tr.push(last + 0.26, 10.0),
               tr.push(last + 0.52, 8.0, soft_db=soft_db)]
        return [(d.kind, d.rhythmic) for d in out]

    assert run(None)[:2] == [("step", False), ("merged", False)]  # without the flag: the step merges into it
    assert run(0.0) == [("rejected", False), ("step", True), ("step", True)]


def _early_soft(soft_db: float | None, early_s: float, params: TrackerParams = BANDS_PARAMS) -> list[tuple[str, bool]]:
    """A 0.4 s rhythm, then a soft candidate ``early_s`` before the predicted step (``soft_db`` past
    the caller's soft margin), the step on the prediction and the one after: what each became."""
    tr = StepTracker(params)
    for k in range(12):
        tr.push(0.5 + 0.4 * k, 10.0)
    last = 0.5 + 0.4 * 11
    out = [tr.push(last + 0.4 - early_s, 8.0, soft_db=soft_db), tr.push(last + 0.4, 10.0), tr.push(last + 0.8, 10.0)]
    return [(d.kind, d.rhythmic) for d in out]


def test_a_soft_candidate_before_the_prediction_is_a_step_only_close_to_it() -> None:
    """``push(soft_db=...)`` on the rhythm but early, at its edge (a breath through a headset's gate
    50-55 ms before a step, closeness 0.49-0.56), 3 dB or more past the soft margin (a bound of 0.6
    and more): rejected, and the step after it is taken on the rhythm; without the bound the soft
    one is the footfall and the step merges into it. Closer (35 ms, 0.76) a soft candidate is still
    a step."""
    off = dataclasses.replace(BANDS_PARAMS, soft_min_closeness=None)
    for early_s in (0.05, 0.055):
        assert _early_soft(3.0, early_s, off)[:2] == [("step", True), ("merged", False)]  # the control
        for soft_db in (3.0, 8.0):
            assert _early_soft(soft_db, early_s) == [("rejected", False), ("step", True), ("step", True)]
    for soft_db in (3.0, 8.0):
        assert _early_soft(soft_db, 0.035)[:2] == [("step", True), ("merged", False)]
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ParameterError, match="soft_min_closeness"):
            dataclasses.replace(BANDS_PARAMS, soft_min_closeness=bad)
    for bad in (0.0, -0.1, math.inf, math.nan):
        with pytest.raises(ParameterError, match="soft_closeness_per_db"):
            dataclasses.replace(BANDS_PARAMS, soft_closeness_per_db=bad)


def test_the_closeness_a_soft_candidate_needs_follows_its_level() -> None:
    """The bound before the prediction grows with how far under the footfalls the candidate lies:
    ``soft_closeness_per_db`` x the dB past the caller's soft margin, up to ``soft_min_closeness``.
    Just past the margin (a soft foot's true step through a headset's AGC, 11 dB under the footfalls
    on a treadmill, 0.9 dB past the margin) a candidate 50 ms early at closeness 0.56 is the step,
    which session 11's flat bound (0.6 whatever the level) rejected; 3 dB past it the same candidate
    is rejected and the step on the prediction taken."""
    assert _early_soft(0.9, 0.05)[:2] == [("step", True), ("merged", False)]
    flat = dataclasses.replace(BANDS_PARAMS, soft_min_closeness=0.6, soft_closeness_per_db=None)
    assert _early_soft(0.9, 0.05, flat) == [("rejected", False), ("step", True), ("step", True)]  # session 11's rule
    assert _early_soft(3.0, 0.05) == [("rejected", False), ("step", True), ("step", True)]
    tr = StepTracker(BANDS_PARAMS)
    assert tr.soft_closeness_bound(0.0) == 0.0
    assert tr.soft_closeness_bound(1.0) == pytest.approx(BANDS_PARAMS.soft_closeness_per_db)
    with pytest.raises(ParameterError):
        tr.push(1.0, 1.0, soft_db=math.nan)
    assert tr.soft_closeness_bound(100.0) == BANDS_PARAMS.soft_min_closeness


@pytest.mark.parametrize(("run_spm", "walk_spm"), [(170, 110), (165, 110)])
def test_a_walk_keeps_its_run_relock_after_an_intruder_is_replaced(rng: np.random.Generator, run_spm: float,
                                                                  walk_spm: float) -> None:
    """Mid-walk a softer sound 60 ms before a walking step is taken on the rhythm, then the much
    louder footfall right after it replaces it as the intruder (the lock before it comes back): the
    lock is still the walk taken over from the run, so the walker setting off running again is
    followed at once (lost with the walk state when the restored lock was a copy: recall 0.90-0.93,
    the rhythm still the walk's 2 s into the run)."""
    ref, walk = _run_walk_run(rng, run_spm, walk_spm)
    events = [(t, 1.25 if t == walk[60] else rng.uniform(0.8, 1.2)) for t in ref] + [(walk[60] - 0.06, 0.7)]
    events.sort()
    tracker = StepTracker(TrackerParams())
    decisions = [(tracker.push(t, s), tracker.period_s) for t, s in events]
    assert [d.rhythmic for d, _ in decisions if d.time_s == walk[60] - 0.06] == [True]  # taken on the rhythm first
    found = np.array([d.time_s for d, _ in decisions if d.is_step])
    assert score_events(ref[ref > walk[-1]], found[found > walk[-1]], tolerance_s=0.001).recall == 1.0
    after = [(d, period) for d, period in decisions if d.time_s >= walk[-1] + 2.0]
    assert all(d.rhythmic for d, _ in after)
    np.testing.assert_allclose([period for _, period in after], 60.0 / run_spm, rtol=0.05)


def test_after_a_stop_a_breath_bursts_later_onset_is_no_step_after_a_step(rng: np.random.Generator) -> None:
    """The thump path's tracker after a stop (``THUMP_STOP_MIN_REL``, ``THUMP_STOP_NEIGHBOUR_TOLERANCE``).
    Standing, a headset's gate opens on each breath as a burst: a soft onset, then a louder one
    0.25-0.3 s later (0.5-0.7 of a step: over the provisional floor, under the stop's 0.8). Within
    0.5 x the lost step period (0.2-0.6 s at 0.41 s) the burst's first onset passed for "a step a
    period before" its second, which became a footfall; within 0.25 x it does not. The steps
    before and after the stop are all found (benchmark: dev/stop/dirt_rocks/hfp16, 17.86 s)."""
    from stepdetect.online import THUMP_STOP_MIN_REL, THUMP_STOP_NEIGHBOUR_TOLERANCE

    period = 0.41
    run = 0.5 + np.arange(25) * period + rng.normal(0.0, 0.004, 25)
    breaths = run[-1] + 2.5 + np.arange(7) * 1.3 + rng.normal(0.0, 0.02, 7)
    after = breaths[-1] + 1.5 + np.arange(20) * period + rng.normal(0.0, 0.004, 20)
    ref = np.concatenate((run, after))
    events = sorted([(t, rng.uniform(0.9, 1.1)) for t in ref]
                    + [(t, rng.uniform(0.3, 0.4)) for t in breaths]
                    + [(t + rng.uniform(0.25, 0.3), rng.uniform(0.5, 0.7)) for t in breaths])
    t, s = (np.array(x) for x in zip(*events))

    def run_with(tolerance: float | None) -> tuple[int, Scores]:
        params = dataclasses.replace(AUDIO_PARAMS, stop_min_rel=THUMP_STOP_MIN_REL, stop_neighbour_tolerance=tolerance)
        out = track_events(t, s, params=params)
        standing = int(np.sum((out.time_s > run[-1] + 0.1) & (out.time_s < after[0] - 0.1)))
        return standing, score_events(ref, out.time_s, tolerance_s=0.001)

    standing, scores = run_with(THUMP_STOP_NEIGHBOUR_TOLERANCE)
    assert standing == 0 and scores.recall == 1.0 and scores.precision == 1.0, (standing, scores)
    assert run_with(None)[0] >= 4, run_with(None)  # 0.5 x (the hint's tolerance): the later onsets are footfalls


def test_a_contact_right_after_a_crunch_taken_early_on_a_fast_rhythm_is_a_footfall_too(
        rng: np.random.Generator) -> None:
    """A 240 spm runner on crunchy ice (dev treadmill): some steps sound a crunch ~215 ms after
    their contact, 30-45 ms before the next contact. Taken on the rhythm far before the prediction
    (closeness ~0.4), the contact right after it was merged into it: a false footfall *and* a
    missed one. With ``split_max_closeness`` the contact, at that prediction, is a footfall of its
    own and the rhythm follows it; the crunch, decided before the contact was heard, stays (nothing
    already decided is revised, nothing waits)."""
    ref = 0.5 + np.arange(60) * 0.25 + rng.normal(0.0, 0.003, 60)
    crunched = np.arange(8, 60, 5)  # before these contacts, the last step's crunch is heard first
    crunches = ref[crunched] - 0.04
    events = [(t, 1.0) for t in ref] + [(t, 0.9) for t in crunches]
    events.sort()
    t, s = map(np.array, zip(*events))
    off = score_events(ref, track_events(t, s, params=dataclasses.replace(BANDS_PARAMS, split_max_closeness=None)).time_s,
                       tolerance_s=0.025)
    assert off.recall < 0.85  # the contacts merged into the crunches
    on = track_events(t, s, params=BANDS_PARAMS)
    scores = score_events(ref, on.time_s, tolerance_s=0.025)
    assert scores.recall >= off.recall + 0.1 and scores.recall >= 0.9, (off, scores)
    assert scores.precision >= off.precision, (off, scores)  # the crunches stay reported, no more than before
    assert set(on.time_s) <= set(ref) | set(crunches)  # every footfall at a candidate's own time
    # a rhythm slower than split_max_period_s (here 0.25 s against 0.2 s) keeps merging: a crunch that early is no crunch there
    slow = dataclasses.replace(BANDS_PARAMS, split_max_period_s=0.2)
    assert score_events(ref, track_events(t, s, params=slow).time_s, tolerance_s=0.025).recall == off.recall


def _with_sounds_before(ref: np.ndarray, which: np.ndarray, sounds: np.ndarray, sound: float, step: float,
                        params: TrackerParams) -> tuple[np.ndarray, Scores]:
    """Steps at ``ref`` (strength 1, the ``which`` ones ``step``) and ``sounds`` of strength ``sound``
    tracked together: the steps found and their scores against ``ref``."""
    strength = np.ones(ref.size)
    strength[which] = step
    t, s = map(np.array, zip(*sorted([*zip(ref, strength), *((c, sound) for c in sounds)])))
    out = track_events(t, s, params=params)
    return out.time_s, score_events(ref, out.time_s, tolerance_s=0.025)


@pytest.mark.parametrize("seed", range(5))
def test_a_contact_right_after_a_crunch_taken_off_the_rhythm_is_a_footfall_too(seed: int) -> None:
    """The same 240 spm crunch ~48 ms before some contacts, a little softer (0.7 x): too far from the
    prediction to be on the rhythm, but loud enough for a step *off* it. The contact right after it,
    at the prediction, was merged as that step's toe (the heel/toe re-phase): a false footfall and a
    missed one. With ``split_off_rhythm`` the contact is a footfall of its own; a candidate after the
    crunch under ``anchor_min_rel`` x its strength is still merged as its toe."""
    rng = np.random.default_rng(seed)
    ref = 0.5 + np.arange(60) * 0.25 + rng.normal(0.0, 0.003, 60)
    crunched = np.arange(8, 60, 5)
    crunches = ref[crunched] - 0.048

    def tracked(contact: float, on: bool) -> tuple[np.ndarray, Scores]:
        return _with_sounds_before(ref, crunched, crunches, 0.7, contact,
                                   dataclasses.replace(BANDS_PARAMS, split_off_rhythm=on))

    _, off = tracked(1.0, False)
    found, on = tracked(1.0, True)
    assert off.recall < 0.9 and on.recall >= 0.9 and on.recall >= off.recall + 0.08, (off, on)
    assert on.precision > off.precision, (off, on)
    assert set(found) <= set(ref) | set(crunches)
    # a soft onset after the crunch (0.55 x it) is its toe, as before
    soft_off, _ = tracked(0.55 * 0.7, False)
    soft_on, _ = tracked(0.55 * 0.7, True)
    np.testing.assert_array_equal(soft_on, soft_off)


@pytest.mark.parametrize("seed", range(5))
def test_at_a_walk_a_step_at_the_prediction_after_a_sound_far_before_it_is_a_footfall_too(seed: int) -> None:
    """A 100 spm walker (0.6 s steps) with a sound ~135 ms before some steps, about as loud as a
    step (dev walk synthetic HFP 8 kHz: an onset 0.76 of a period after the last step, the step at
    its prediction 128 ms later). The sound is far off the rhythm (closeness ~0.03, 2.7 sd out:
    under ``split_off_far_closeness``) but loud enough for a step *off* it, and the step after it, at
    the prediction within ``merge_s``, was merged as its toe: a false footfall and a missed one. With
    ``split_off_far_closeness`` the step is a footfall of its own; a candidate after the sound under
    ``split_off_far_min_ratio`` x its strength (a softer later part) is still merged as its toe."""
    rng = np.random.default_rng(seed)
    ref = 0.5 + np.arange(40) * 0.6 + rng.normal(0.0, 0.003, 40)
    sounded = np.arange(8, 40, 5)
    sounds = ref[sounded] - 0.135

    def tracked(step: float, far: float | None) -> tuple[np.ndarray, Scores]:
        return _with_sounds_before(ref, sounded, sounds, 1.0, step,
                                   dataclasses.replace(BANDS_PARAMS, split_off_far_closeness=far))

    _, off = tracked(1.0, None)
    found, on = tracked(1.0, BANDS_PARAMS.split_off_far_closeness)
    assert BANDS_PARAMS.split_off_far_closeness is not None
    assert on.recall >= off.recall + 0.1 and on.recall == 1.0, (off, on)
    assert set(found) <= set(ref) | set(sounds)
    # a softer onset after the sound (0.7 x it) is its later part, as before
    soft_off, _ = tracked(0.7, None)
    soft_on, _ = tracked(0.7, BANDS_PARAMS.split_off_far_closeness)
    np.testing.assert_array_equal(soft_on, soft_off)


def test_a_fast_rhythm_found_on_the_crunches_locks_on_the_contacts_heard_before_them(
        rng: np.random.Generator) -> None:
    """A 240 spm runner whose crunch ~100 ms after each contact is louder than the contact (dev
    treadmill crunchy ice phone: locked on the crunches for its first 2 s, every contact merged or
    rejected). The contacts are too soft to complete a chain by themselves, so the chain of
    crunches is found first; but the contact heard within ``merge_s`` before the crunch that
    completes it ends a regular chain at the same period too: the earlier onset is the footfall
    and the rhythm is found on it (``StepTracker._lock_on_earlier_part``), the crunches merged."""
    ref = 0.5 + np.arange(40) * 0.25 + rng.normal(0.0, 0.003, 40)
    crunches = ref + 0.1 + rng.normal(0.0, 0.004, 40)
    events = sorted([(t, 0.5) for t in ref] + [(t, 1.0) for t in crunches])
    t, s = map(np.array, zip(*events))
    on = track_events(t, s, params=BANDS_PARAMS)  # (a crunch or two taken as provisional steps before)
    np.testing.assert_array_equal(on.time_s[on.time_s > 2.0], ref[ref > 2.0])
    off = track_events(t, s, params=dataclasses.replace(BANDS_PARAMS, split_max_closeness=None))
    assert score_events(ref, off.time_s[off.time_s > 2.0], tolerance_s=0.025).f1 < 0.5  # on the crunches


def test_a_soft_foot_at_the_prediction_right_after_a_step_at_its_own_is_a_footfall(
        rng: np.random.Generator) -> None:
    """A runner one of whose feet is sometimes heard at only 0.22 x the other (dev stop synthetic
    phone, treadmill shower HFP 16 kHz: a step rel 0.22-0.24 at closeness 1.0, under
    ``accept_score``). Right after a step taken at its own prediction, a candidate at or just after
    the next one is that foot's step (``exact_min_closeness``); a soft onset just *before* the
    prediction, with the footfall right after it, stays refused (a precursor), and so do soft
    candidates at the predictions after the steps stop, but the first (no lock lives on such steps
    alone)."""
    period = 0.35
    ref = 0.5 + np.arange(60) * period + rng.normal(0.0, 0.001, 60)
    soft = [i for i in range(9, 60, 6)]  # these steps are heard softly, 3 ms after their time
    precursor = range(12, 60, 6)  # a soft onset 8 ms before these (loud) steps
    events = [(t + 0.003, 0.22) if i in soft else (t, 1.0) for i, t in enumerate(ref)]
    events += [(ref[i] - 0.008, 0.22) for i in precursor]
    standing = ref[-1] + period * np.arange(1, 8)  # soft onsets at the predictions once the runner stopped
    events += [(t, 0.22) for t in standing]
    t, s = map(np.array, zip(*sorted(events)))
    loud = np.delete(ref, soft)
    soft_t = ref[soft] + 0.003

    def run(params: TrackerParams) -> tuple[np.ndarray, int, int]:
        out = track_events(t, s, params=params).time_s
        running, after = out[out < ref[-1] + 0.1], out[out > ref[-1] + 0.1]
        assert set(loud[loud > 3.0]) <= set(running)  # every loud step, never a precursor instead
        assert set(running[running > 3.0]) <= set(ref) | set(soft_t)
        return out, len(set(running) & set(soft_t)), after.size

    _, found_off, standing_off = run(dataclasses.replace(BANDS_PARAMS, exact_min_closeness=None))
    assert found_off == 0 and standing_off == 0
    _, found_on, standing_on = run(BANDS_PARAMS)
    assert found_on >= 0.6 * len(soft), (found_on, len(soft))
    # standing: at most the onset at the very first prediction after the last step is taken
    # (nothing tells it from a soft foot when it is heard); after it no soft onset is a step
    assert standing_on <= 1
    with pytest.raises(ParameterError):
        dataclasses.replace(BANDS_PARAMS, exact_min_closeness=1.5)


def test_a_rhythm_found_on_the_contact_before_its_crunch_counts_the_footfall_on_the_rhythm(
        rng: np.random.Generator) -> None:
    """The bookkeeping of ``StepTracker._lock_on_earlier_part``: the footfall it finds (the contact
    and its crunch) counts on the rhythm and nothing of it off it (a fresh lock is not switched
    away from on the next crunch), and the contact joins the reference and the step times as a
    step taken while locked would."""
    ref = 0.5 + np.arange(8) * 0.25 + rng.normal(0.0, 0.003, 8)
    crunches = ref + 0.1
    events = sorted([(t, 0.5) for t in ref] + [(t, 1.0) for t in crunches])
    tracker = StepTracker(BANDS_PARAMS)
    for t, s in events:
        d = tracker.push(t, s)
        if tracker.locked:
            break
    assert d.kind == "merged" and tracker.last_step_s == pytest.approx(t - 0.1), d  # found on the contact
    assert tracker._off_strength == 0.0 and tracker._on_strength > 0.0
    assert tracker.last_step_s in tracker._step_times


@pytest.mark.parametrize("seed", range(12))
def test_the_contact_a_rhythm_is_found_on_joins_the_reference_once(seed: int) -> None:
    """``_lock_on_earlier_part`` adds the contact's strength to the reference unless that contact
    was already a (provisional) step, whose strength is in it: one entry per footfall (review:
    it went in twice, e.g. [0.5, 1.0, 0.5, 1.0, 0.5, 0.5])."""
    rng = np.random.default_rng(seed)
    ref = 0.5 + np.arange(8) * 0.25 + rng.normal(0.0, 0.003, 8)
    events = sorted([(t, 0.5) for t in ref] + [(t, 1.0) for t in ref + 0.1])
    tracker = StepTracker(BANDS_PARAMS)
    steps: list[float] = []
    for t, s in events:
        d = tracker.push(t, s)
        if d.kind == "step":
            steps.append(t)
        if tracker.locked:
            break
    footfalls = set(steps) | ({tracker.last_step_s} if d.kind == "merged" else set())
    assert len(tracker._strengths) == len(footfalls), (list(tracker._strengths), steps, tracker.last_step_s)


# The bands path's candidates (time s, strength, pushed or only noted) of a runner at ~0.42 s
# whose start holds one long interval (4.42 -> 4.94 s) followed by a short one, then steps heard
# only as weak lifts under a gust (the wind scene's synthetic steps through a phone, 0-8 s).
_SLOW_LOCK_CANDIDATES = [
    (0.605, 5.57, False), (1.342, 4.11, False), (1.497, 6.73, True), (2.37, 6.7, True), (2.789, 4.37, False),
    (3.581, 7.12, True), (4.02, 8.34, True), (4.419, 8.0, True), (4.937, 11.74, True), (5.252, 4.0, True),
    (5.68, 5.64, True), (6.119, 5.01, True), (6.52, 4.0, True), (6.937, 4.0, True), (6.937, 4.0, True),
    (7.163, 4.0, True), (7.387, 4.0, True), (7.788, 4.0, True),
]


def test_regular_rejected_lifts_correct_a_slow_lock_period() -> None:
    """A lock found on the start's one long interval is ~10 % slow (0.458 s for 0.42 s steps) and
    its steps across gaps lengthen it; the runner's weak lifts keep coming at the true period and
    were all rejected. With ``period_check_min_off`` the rejected lift one true period after the
    last step, completing a regular chain through the lock's own steps, corrects the period and
    the following lifts are steps on the rhythm (session 16)."""

    def run(params: TrackerParams) -> tuple[dict[float, str], float]:
        tracker = StepTracker(params)
        kinds: dict[float, str] = {}
        for t, s, pushed in _SLOW_LOCK_CANDIDATES:
            if not pushed:
                tracker.note(t, s)
                continue
            d = tracker.push(t, s)
            kinds.setdefault(t, "rhythmic" if d.rhythmic else d.kind)
        return kinds, tracker.period_s

    before, before_period = run(dataclasses.replace(BANDS_PARAMS, period_check_min_off=None))
    after, after_period = run(BANDS_PARAMS)
    assert [before[t] for t in (6.52, 6.937, 7.387)] == ["rejected"] * 3, before
    assert before_period > 0.47
    assert [after[t] for t in (6.52, 6.937, 7.387, 7.788)] == ["rhythmic"] * 4, after
    assert after[7.163] == "rejected", after  # the gust's event between two steps
    assert 0.40 < after_period < 0.44


@pytest.mark.parametrize("bad", [0.0, -0.1, 0.12, 0.2])
def test_bad_period_check_parameters_are_rejected(bad: float) -> None:
    with pytest.raises(ParameterError):
        dataclasses.replace(AUDIO_PARAMS, period_check_min_off=bad)


def _stop_then(tracker: StepTracker, step_s: float = 0.4, steps: int = 20, stand_s: float = 8.0) -> float:
    """A run of ``steps`` equal footfalls every ``step_s``, then a stand of ``stand_s``; the time
    the runner sets off again (a step period after the stand)."""
    t = 0.5
    for _ in range(steps):
        tracker.push(t, 1.0)
        t += step_s
    return t - step_s + stand_s


def test_a_soft_candidate_across_unheard_steps_is_no_late_footfall() -> None:
    """Locked on a run that has stopped: a soft candidate (a headset's gated breath) after the
    prediction two or three steps on, under ``accept_score``, was taken by the late rule
    (``late_min_rel``): the standing false footfalls of dev stop shower HFP 16 kHz (13.059 s, k = 2,
    closeness 0.17) and dirt & rocks HFP 16 kHz (12.536 s, k = 3). Across unheard steps it is a step
    only on its score (``late_soft_across_gaps`` False); at the very next step (k = 1) and for a
    candidate not flagged soft the late rule takes it as before."""
    def decide(late_soft: bool, soft_db: float | None, k: int) -> str:
        tracker = StepTracker(dataclasses.replace(BANDS_PARAMS, late_soft_across_gaps=True) if late_soft
                              else BANDS_PARAMS)
        last_s = _stop_then(tracker, stand_s=0.0)
        d = tracker.push(last_s + k * 0.4 + 0.06, 0.4, soft_db=soft_db)  # closeness ~0.44, score ~0.18
        assert not d.is_step or d.rhythmic
        return d.kind
    for k in (2, 3):
        assert decide(False, 2.0, k) == "rejected"
        assert decide(True, 2.0, k) == "step"  # without the rule
        assert decide(False, None, k) == "step"
    assert decide(False, 2.0, 1) == "step"


def test_a_soft_candidate_after_an_early_step_off_the_rhythm_is_no_late_footfall() -> None:
    """Locked on 0.45 s steps: a footfall heard 90 ms early is taken off the rhythm (loud, under
    ``accept_score`` at its closeness); a candidate 70 ms after the prediction at 0.39 x its strength
    (its crunch) was taken by the late rule (``late_min_rel``) as the footfall late for a prediction
    the early step already answered -- and the next footfall, a period after the early one, was
    then rejected off the new phase (dev quiet road crunchy ice HFP 16 kHz 6.335 / 6.55 / 6.77 s).
    With ``late_after_off_loud_only`` it is that step's later part; the next footfall is a step on
    the rhythm re-phased to the early one. A late candidate at least ``anchor_min_rel`` x as strong
    as the early step is still the late footfall."""
    def run(rule: bool, late_strength: float) -> tuple[str, str]:
        tracker = StepTracker(dataclasses.replace(BANDS_PARAMS, late_after_off_loud_only=rule))
        t = 0.5
        for _ in range(10):
            tracker.push(t, 1.0)
            t += 0.45
        assert tracker.locked and abs(tracker.period_s - 0.45) < 1e-6
        early = tracker.push(t - 0.09, 0.9)  # t: the prediction
        assert early.is_step and not early.rhythmic
        late = tracker.push(t + 0.07, late_strength)
        after = tracker.push(t - 0.09 + 0.45, 1.0)
        return late.kind, "rhythmic" if after.rhythmic else after.kind
    assert run(True, 0.35) == ("rejected", "rhythmic")
    assert run(False, 0.35) == ("step", "rejected")  # without the rule
    assert run(True, 0.6)[0] == "step"  # 0.67 x the early step: the late footfall


def test_after_a_stop_soft_candidates_are_no_midpoints_of_the_new_chain() -> None:
    """After a stop the new rhythm is found on a chain of candidates at the footfalls' level (the
    soft ones left out); its strides' midpoints are judged so too. A walker setting off at 0.7 s
    steps, a soft candidate (a breath) half-way between the first ones: the lock stays on the walk,
    where counting the breaths as midpoints (``halve_midpoint_chain``) halved it to 0.35 s and kept
    it there (every walking step then taken across an unheard one)."""
    tracker = StepTracker(BANDS_PARAMS)
    t = _stop_then(tracker)
    periods = []
    for i in range(8):
        d = tracker.push(t, 1.0)
        if d.rhythmic:
            periods.append(tracker.period_s)
        if i < 4:
            tracker.push(t + 0.35, 0.5, soft_db=3.0)
        t += 0.7
    assert periods and all(abs(p - 0.7) < 0.02 for p in periods), periods


def test_a_runner_setting_off_again_is_followed_from_the_third_step_at_a_chain_members_strength() -> None:
    """After a stop, two footfalls a lost-rhythm period apart, then the third a period later at
    0.45 x the reference: under a provisional step's ``free_min_strength`` (0.5 in the bands path)
    it was refused (dev stop shower HFP 16 kHz 21.817 s, crunchy ice phone 21.834 s); a period after
    a provisional step that itself came a period after another it is a step at a chain member's
    strength (``chain_min_strength``). The same candidate with no such pair before it (a single
    footfall, then a breath a period later) stays refused."""
    def third(first_two: bool, soft_db: float | None = None) -> str:
        tracker = StepTracker(BANDS_PARAMS)
        t = _stop_then(tracker)
        if first_two:
            tracker.push(t, 1.0)
        tracker.push(t + 0.4, 1.0)
        return tracker.push(t + 0.8, 0.45, soft_db=soft_db).kind
    assert third(True) == "step"
    assert third(False) == "rejected"
    assert third(True, soft_db=3.0) == "rejected"  # well under the footfalls' level (a gated breath): no restart step


@pytest.mark.parametrize("seed", range(5))
def test_a_footfall_right_after_a_soft_step_well_under_the_footfalls_is_the_step(seed: int) -> None:
    """A walker (0.57 s) whose headset (8 kHz) cut the heel's thump: before some steps a soft sound
    (0.3 x the footfalls: a scuff, the shoe's upper) comes ~50 ms before the heel, right where the
    rhythm predicts the step, and the heel (a step 45 ms late) ~3 x louder after it. The soft one was
    taken on the rhythm and the heel merged as its toe (dev walk crunchy ice HFP 8 kHz 6.469 / 6.526
    s). With ``yield_ratio`` the heel is the footfall (the soft one stays reported); a louder part
    only 2 x as strong, or 90 ms after the soft one (``yield_max_gap_s``: a later part of a step),
    is merged as before; bad values raise."""
    rng = np.random.default_rng(seed)
    grid = 0.5 + np.arange(40) * 0.57
    late = np.arange(6, 40, 6)
    ref = grid + rng.normal(0.0, 0.003, grid.size)
    ref[late] += 0.045

    def tracked(ratio: float | None, loud: float = 1.0, gap: float = 0.05) -> tuple[np.ndarray, Scores]:
        steps = ref.copy()
        steps[late] = ref[late] - 0.05 + gap
        soft = ((t, 0.3) for t in ref[late] - 0.05)
        strength = np.ones(ref.size)
        strength[late] = loud
        t, s = map(np.array, zip(*sorted([*zip(steps, strength), *soft])))
        out = track_events(t, s, params=dataclasses.replace(BANDS_PARAMS, yield_ratio=ratio))
        return out.time_s, score_events(steps, out.time_s, tolerance_s=0.025)

    _, off = tracked(None)
    found, on = tracked(3.0)
    assert off.recall < 0.9 and on.recall == 1.0, (off, on)
    assert set(np.round(found, 6)) <= set(np.round(ref, 6)) | set(np.round(ref[late] - 0.05, 6))
    for kw in ({"loud": 0.6}, {"gap": 0.09}):  # 2 x the soft one; or 90 ms after it
        np.testing.assert_array_equal(tracked(3.0, **kw)[0], tracked(None, **kw)[0])
    for bad in ({"yield_ratio": 0.5}, {"yield_max_rel": 0.0}, {"yield_min_gap_s": 0.1, "yield_max_gap_s": 0.05}):
        with pytest.raises(ParameterError):
            dataclasses.replace(BANDS_PARAMS, **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("gap_s", "strength", "fraction", "taken"), [
    (0.2497, 1.06, 0.99, True),  # a 240 spm runner's second footfall, dated 0.3 ms "too soon", as loud
    (0.2497, 0.9, 0.99, False),  # softer than the step before: a later part of it
    (0.2497, 1.06, None, False),  # the rule off: rejected under min_period_s
    (0.2450, 1.06, 0.99, False),  # 2 % under min_period_s: too soon
])
def test_a_loud_free_step_a_hair_under_min_period_is_a_footfall(gap_s: float, strength: float,
                                                                fraction: float | None, taken: bool) -> None:
    """Not locked yet: a footfall, then a candidate as loud ``gap_s`` later. A 240 spm runner's steps
    are ``min_period_s`` (0.25 s) apart and onsets are dated to the frame, so the second footfall
    may come 0.3 ms "too soon"; from ``free_loud_min_fraction`` x min_period_s a candidate at least
    as strong as the last step is a provisional footfall (wind dirt & rocks full: 0.850 s was
    rejected and the lock found later sat on the crunches, cadence 1.04 spm off)."""
    tracker = StepTracker(dataclasses.replace(AUDIO_PARAMS, free_loud_min_fraction=fraction))
    assert tracker.push(0.6, 1.0).kind == "step"
    assert (tracker.push(0.6 + gap_s, strength).kind == "step") is taken


def test_bad_free_loud_min_fraction_is_rejected() -> None:
    for bad in (0.0, 1.5, -0.2):
        with pytest.raises(ParameterError):
            TrackerParams(free_loud_min_fraction=bad)
