"""stepdetect.tracker: the causal step-rhythm tracker on candidate events (time, strength)."""

from __future__ import annotations

import numpy as np
import pytest

from stepdetect import score_events
from stepdetect.tracker import StepTracker, TrackerParams, track_events
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
