"""A runner's stop at a traffic light: what is heard while standing is not a footfall, and the
steps after it are found again.

Real single steps (tests/data/footsteps, CC0 / CC BY 3.0, see its README) at a running cadence;
the breaths are generated: 300-3000 Hz noise that rises in 4 ms out of near-silence, as a
headset's noise gate opens on a breath.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from coach.analysis import analyze_steps, detector_rhythm
from stepdetect import cadence_spm, detect_footfalls, score_events
from stepdetect.online import StepDetector
from stepdetect.peaks import PickParams
from stepdetect.evaluate import Scores
from stepdetect.tracker import AUDIO_PARAMS, BANDS_PARAMS, StepTracker, track_events
from tests.test_stepdetect_multiband import _steps

SR = 16000
DATA = Path(__file__).parent / "data" / "footsteps"
# How far past the picker's soft margin a candidate flagged soft lies, for replayed candidates
# that carry only the flag: 3 dB gives the tracker's 0.6 closeness bound before the prediction
# (soft_closeness_per_db 0.2), the flat bound the stop/shower/hfp16 candidates were recorded under.
SOFT_DB = 3.0
STEP_PEAK = 0.25


def _real_steps() -> np.ndarray:
    steps, sr = _steps("dirt")
    g = np.gcd(sr, SR)
    return signal.resample_poly(steps, SR // g, sr // g, axis=1)


def _place(y: np.ndarray, times_s: np.ndarray, rng: np.random.Generator, gain_db: np.ndarray) -> None:
    """Add a random real step (peak STEP_PEAK x gain, +-2 dB) at each time (its onset 5 ms in)."""
    steps = _real_steps()
    for t, g in zip(times_s, gain_db):
        s = steps[rng.integers(len(steps))]
        s = s / np.max(np.abs(s)) * STEP_PEAK * 10 ** ((g + rng.uniform(-2.0, 2.0)) / 20)
        a = int(round((t - 0.005) * SR))
        y[a : a + s.size] += s[: max(0, y.size - a)]


def _stop_scene(seed: int, breath_db: float = -24.0) -> tuple[np.ndarray, np.ndarray, float, float]:
    """10 s running at 165 spm, 10 s standing (a gated breath every 1.1 s, its peak ``breath_db``
    under a step's), 8 s running: (audio, step times, stop, restart)."""
    rng = np.random.default_rng(seed)
    run1_s, stand_s, dur_s = 10.0, 10.0, 28.0
    period = 60.0 / 165.0
    times = np.concatenate([np.arange(0.6, run1_s, period), np.arange(run1_s + stand_s, dur_s - 0.5, period)])
    times = times + rng.normal(0.0, 0.006, times.size)
    y = 10 ** (-60 / 20) * rng.standard_normal(int(dur_s * SR))
    _place(y, times, rng, np.zeros(times.size))
    sos = signal.butter(2, [300, 3000], btype="bandpass", fs=SR, output="sos")
    m = int(0.35 * SR)
    env = np.minimum(1.0, np.arange(m) / (0.004 * SR)) * np.exp(-np.arange(m) / (0.15 * SR))
    for t in np.arange(run1_s + 0.5, run1_s + stand_s - 0.3, 1.1):
        b = signal.sosfilt(sos, rng.standard_normal(m)) * env
        a = int(t * SR)
        y[a : a + m] += b * STEP_PEAK * 10 ** (breath_db / 20) / np.max(np.abs(b))
    return y, times, run1_s, run1_s + stand_s


@pytest.mark.parametrize("seed", [0, 2])
def test_gated_breaths_while_standing_are_not_footfalls(seed: int) -> None:
    """The breaths jump out of the quiet as much as a step does (the gate opens), but peak 24 dB
    under the steps: none is reported while standing, every step is found. Without the level
    test the rhythm, still locked on the running steps, takes them near its predictions (unless
    it lets go of a lock living on soft candidates, ``stop_sparse_steps``, or refuses the late
    soft ones across unheard steps, ``late_soft_across_gaps``: both off here too)."""
    y, times, stop_s, restart_s = _stop_scene(seed)
    found = detect_footfalls(y, sample_rate=SR).time_s
    standing = (found > stop_s + 0.2) & (found < restart_s - 0.1)
    assert standing.sum() == 0, found[standing]
    assert score_events(times, found, tolerance_s=0.025).f1 >= 0.97
    off = dataclasses.replace(PickParams(), step_level_margin_db=np.inf,
                              tracker=dataclasses.replace(BANDS_PARAMS, stop_sparse_steps=None,
                                                          late_soft_across_gaps=True))
    before = detect_footfalls(y, sample_rate=SR, params=off).time_s
    assert np.sum((before > stop_s + 0.2) & (before < restart_s - 0.1)) >= 4, before


@pytest.mark.parametrize("seed", [0, 2])
def test_a_lasting_drop_in_level_costs_seconds_not_the_run(seed: int) -> None:
    """At 8 s every step becomes 26 dB quieter for good while the room noise stays (the steps'
    jumps shrink too): the level reference sinks once no footfall has come for 2 s and restarts
    at the first one it lets through, so the steps from 8 s after the drop on are all found
    again. Without the sinking they never are. (A drop of the whole signal keeps the jumps and
    costs a few footfalls: test_stepdetect_online.test_a_sudden_level_drop_costs_a_few_footfalls.)"""
    rng = np.random.default_rng(seed)
    dur_s, drop_s = 24.0, 8.0
    times = np.arange(0.6, dur_s - 0.5, 60.0 / 165.0) + rng.normal(0.0, 0.006, 1)
    times = times + rng.normal(0.0, 0.006, times.size)
    y = 10 ** (-70 / 20) * rng.standard_normal(int(dur_s * SR))
    _place(y, times, rng, np.where(times > drop_s, -26.0, 0.0))
    late = times[times > drop_s + 8.0]

    def late_f1(params: PickParams | None) -> float:
        found = detect_footfalls(y, sample_rate=SR, params=params).time_s
        return score_events(late, found[found > late[0] - 0.1], tolerance_s=0.025).f1

    assert late_f1(None) >= 0.97
    assert late_f1(dataclasses.replace(PickParams(), step_level_decay_db_per_s=0.0)) < 0.2


@pytest.mark.parametrize("params", [AUDIO_PARAMS, BANDS_PARAMS], ids=["thump", "bands"])
def test_after_a_stop_the_breathing_is_not_a_rhythm(params, rng: np.random.Generator) -> None:
    """Running at 160 spm, a 10 s stop with a breath every 1.1 s (softer than the steps, loud
    enough to be provisional footfalls), running again. Once the stop has let the lock go, the
    breaths are a regular chain at 3 x the step period: locked on it, the restarted runner's
    steps fell off that rhythm (every third one on it) and two in three were rejected. A chain
    over 2.2 x the lost rhythm's period is not locked on: every step after the stop is found."""
    period = 60.0 / 160.0
    run = 0.5 + np.arange(28) * period + rng.normal(0.0, 0.006, 28)
    after = run[-1] + 10.5 + np.arange(28) * period + rng.normal(0.0, 0.006, 28)
    breaths = run[-1] + 1.0 + np.arange(9) * 1.1 + rng.normal(0.0, 0.02, 9)
    events = sorted([(t, rng.uniform(0.9, 1.1)) for t in np.concatenate((run, after))]
                    + [(t, rng.uniform(0.6, 0.8)) for t in breaths])
    t, s = (np.array(x) for x in zip(*events))

    out = track_events(t, s, params=params)
    restarted = out.time_s > after[0] - 0.1
    assert score_events(after, out.time_s[restarted], tolerance_s=0.001).recall == 1.0
    assert out.rhythmic[restarted].sum() >= after.size - 4  # on the rhythm from the 4th step
    without = track_events(t, s, params=dataclasses.replace(params, stop_max_period_ratio=None))
    lost = score_events(after, without.time_s[without.time_s > after[0] - 0.1], tolerance_s=0.001)
    assert lost.recall < 0.9, lost


@pytest.mark.parametrize("params", [AUDIO_PARAMS, BANDS_PARAMS], ids=["thump", "bands"])
def test_after_a_stop_a_louder_crunch_does_not_take_the_steps_phase(params, rng: np.random.Generator) -> None:
    """Running on crunchy ice at 146 spm (each footfall's loud low crunch 217 ms after its
    contact), a 10 s stop, running again (the shape of dev stop crunchy ice, full band: the first
    restarted step 10, its crunch 16, the next steps 14 / 9.5 and their crunches 18 / 14.4, then
    the crunches softer than the steps). Before
    the lock is found again, a sound 1.5 x louder right after a provisional footfall used to be a
    new footfall (``free_override``): the crunch took the place of the step after it, and every
    step after that was on the crunch's phase, 0.2 s off, until a rhythm was found. After a stop the override is off: the crunch is part of its
    footfall and every restarted step is found."""
    period = 0.41
    run = 0.5 + np.arange(25) * period + rng.normal(0.0, 0.004, 25)
    after = run[-1] + 10.4 + np.arange(25) * period + rng.normal(0.0, 0.004, 25)
    crunch = np.full(after.size, 0.6)
    crunch[:3] = [1.6, 1.3, 1.5]  # the first restarted steps' crunches louder than the steps
    events = sorted([(t, rng.uniform(0.9, 1.1)) for t in np.concatenate((run, after))]
                    + [(t + 0.217, 0.7) for t in run]  # while running: softer than the step
                    + [(t + 0.217, c) for t, c in zip(after, crunch)])
    t, s = (np.array(x) for x in zip(*events))

    out = track_events(t, s, params=params)
    restarted = out.time_s > after[0] - 0.1
    found = score_events(after, out.time_s[restarted], tolerance_s=0.001)
    assert found.recall == 1.0 and found.precision == 1.0, found
    with_override = track_events(t, s, params=dataclasses.replace(params, stop_free_override=True))
    lost = score_events(after, with_override.time_s[with_override.time_s > after[0] - 0.1], tolerance_s=0.001)
    # the crunches of the first restarted steps reported in their place, until the lock was found
    assert lost.n_matched <= after.size - 2 and lost.n_estimated - lost.n_matched >= 2, lost


def test_after_a_stop_breath_bursts_are_no_footfalls_and_the_first_step_out_of_quiet_is(
        rng: np.random.Generator) -> None:
    """The bands path's tracker after a stop (``BANDS_PARAMS``: ``stop_min_rel`` 0.8,
    ``stop_neighbour_tolerance`` 0.25, ``stop_quiet_s`` 1.0). Standing, a headset's gate opens on
    each breath, every 1.1 s, as a burst: a soft onset, then a louder one 0.22 s later (0.55-0.75
    of a step: over the provisional floor). A provisional footfall after a stop now needs a
    candidate about the lost step period before it (within 25 %; 50 % took the burst's second
    onset, 0.22 s after its first, for a step after a step) unless it is 0.8 of a step, or out of
    the quiet: nothing half as strong in the second before it -- the restarted runner's first
    step (0.7 of a step here), which has no step before it."""
    period = 0.41
    run = 0.5 + np.arange(25) * period + rng.normal(0.0, 0.004, 25)
    breaths = run[-1] + 2.5 + np.arange(8) * 1.1 + rng.normal(0.0, 0.02, 8)
    after = breaths[-1] + 1.5 + np.arange(20) * period + rng.normal(0.0, 0.004, 20)
    events = sorted([(t, rng.uniform(0.9, 1.1)) for t in run]
                    + [(t, rng.uniform(0.5, 0.6)) for t in breaths]
                    + [(t + 0.22, rng.uniform(0.65, 0.75)) for t in breaths]
                    + [(after[0], 0.7)] + [(t, rng.uniform(0.9, 1.1)) for t in after[1:]])
    t, s = (np.array(x) for x in zip(*events))

    def standing_and_restart(**changes: object) -> tuple[int, Scores]:
        out = track_events(t, s, params=dataclasses.replace(BANDS_PARAMS, **changes))
        standing = int(np.sum((out.time_s > run[-1] + 0.1) & (out.time_s < after[0] - 0.1)))
        return standing, score_events(after, out.time_s[out.time_s > after[0] - 0.1], tolerance_s=0.001)

    standing, restart = standing_and_restart()
    assert standing == 0 and restart.recall == 1.0 and restart.precision == 1.0, (standing, restart)
    assert standing_and_restart(stop_min_rel=None)[0] >= 6  # no stop test: the bursts are footfalls
    assert standing_and_restart(stop_neighbour_tolerance=None)[0] >= 6  # their second onsets
    assert standing_and_restart(stop_quiet_s=None)[1].recall == 1.0 - 1.0 / after.size  # the first step lost


def test_a_lock_bridging_breaths_lets_go_instead_of_following_them() -> None:
    """The bands path's tracker on the real candidates of dev stop dirt & rocks HFP 16 kHz (tests/data:
    the picker's candidates, in order, with its quiet flags). The lock at the running step outlives
    the stop on gated breaths near its predictions, bridging 2 unheard steps; a chain of breaths
    ~0.97 s apart (2.3 x the step) then took it over (``_switch_to``) and, locked on the breathing,
    it reported 16 footfalls while standing and lost a restarted step. A lock that bridged 2 or
    more unheard steps lately lets go instead of switching to a chain over ``stop_max_period_ratio``
    x slower (``stop_on_slow_switch``): the runner stopped, and the stop's rules apply."""
    data = json.loads((DATA / "stop_dirt_hfp16_candidates.json").read_text())
    truth = np.array(data["truth_s"])
    g = int(np.argmax(np.diff(truth)))
    stop_s, restart_s = truth[g], truth[g + 1]

    def run(**changes: object) -> tuple[int, float]:
        tracker = StepTracker(dataclasses.replace(BANDS_PARAMS, **changes))
        found = np.array([d.time_s for d in (tracker.push(t, s, quiet=bool(q)) for t, s, q in data["candidates"])
                          if d.is_step])
        standing = int(np.sum((found > stop_s + 0.1) & (found < restart_s - 0.1)))
        return standing, score_events(truth[g + 1:], found[found > restart_s - 0.1], tolerance_s=0.025).recall

    standing, recall = run()
    assert standing <= 5 and recall == 1.0, (standing, recall)
    standing_without, recall_without = run(stop_on_slow_switch=False)
    assert standing_without >= 12 and recall_without <= 0.8, (standing_without, recall_without)


def test_the_tracked_step_of_a_stop_is_the_running_step() -> None:
    """Each footfall taken on the rhythm carries the step period its tracker followed; across a
    stop the tracked step (their mean near their median) is the running step, the cadence agrees
    with it and is confident, and the report says which step the tracker followed."""
    y, times, _, _ = _stop_scene(0)
    detector = StepDetector(sample_rate=SR)
    found = detect_footfalls(y, sample_rate=SR, detector=detector)
    assert found.period_s.size == len(found)
    assert np.isnan(found.period_s[~found.rhythmic]).all()
    assert np.all(np.abs(found.period_s[found.rhythmic] / (60.0 / 165.0) - 1.0) < 0.1)
    rhythm = detector_rhythm(detector, found)
    assert abs(rhythm["tracked_step_s"] / (60.0 / 165.0) - 1.0) < 0.01
    report = analyze_steps(found.time_s, found.confidence, duration_s=y.size / SR, rhythm=rhythm)
    assert report["cadence_confident"]
    assert abs(report["cadence_spm"] - cadence_spm(times)) < 1.0
    assert report["tracked_step_s"] == pytest.approx(rhythm["tracked_step_s"], abs=1e-4)


def test_a_lock_living_on_soft_breaths_lets_go_after_a_stop() -> None:
    """The bands path's tracker on the real candidates of dev stop shower HFP 16 kHz (tests/data:
    the picker's candidates, in order, with its quiet and soft flags). Standing, the headset's gate
    opens on breaths the picker flags soft (well under the footfalls' level); near the running
    lock's predictions they kept it alive for 7 s, each taken across 1-3 unheard steps (12 footfalls
    while standing). A soft candidate that would leave the lock's last 4 steps spanning 8 predicted
    steps (``stop_sparse_steps`` 2) is no step: the lock lets go -- a stop -- and the stop's rules
    refuse the breaths (as, for those after their prediction, ``late_soft_across_gaps`` does: off
    in the counter-cases; with it alone 3 are taken while standing, not 12). The running part before
    the stop is unchanged. Once let go, the restart's
    lock is found on a chain of candidates at the footfalls' level only (``stop_chain_loud_only``):
    with the soft breaths as members it locked on breaths and steps 0.62 s apart and lost a step."""
    data = json.loads((DATA / "stop_shower_hfp16_candidates.json").read_text())
    truth = np.array(data["truth_s"])
    g = int(np.argmax(np.diff(truth)))
    stop_s, restart_s = truth[g], truth[g + 1]

    def run(**changes: object) -> tuple[int, float, Scores]:
        tracker = StepTracker(dataclasses.replace(BANDS_PARAMS, **changes))
        found = np.array([d.time_s for d in (tracker.push(t, s, quiet=bool(q), soft_db=SOFT_DB if f else None)
                                             for t, s, q, f in data["candidates"]) if d.is_step])
        standing = int(np.sum((found > stop_s + 0.1) & (found < restart_s - 0.1)))
        return (standing, score_events(truth[:g + 1], found[found < stop_s + 0.1], tolerance_s=0.025).f1,
                score_events(truth[g + 1:], found[found > restart_s - 0.1], tolerance_s=0.025))

    standing, running, restart = run()
    assert standing <= 4 and restart.f1 == 1.0, (standing, restart)
    standing_without, running_without, _ = run(stop_sparse_steps=None, late_soft_across_gaps=True)
    assert standing_without >= 10 and running == running_without, (standing_without, running, running_without)
    assert run(stop_chain_loud_only=False, late_soft_across_gaps=True)[2].recall <= 0.8


def test_after_a_stop_a_soft_breath_is_not_out_of_the_quiet(rng: np.random.Generator) -> None:
    """The bands path's tracker after a stop: a headset's gated breaths, flagged soft (well under
    the footfalls' level; 0.6 of a step, over the provisional floor, under ``stop_min_rel``), first
    keep the running lock alive at its predictions across unheard steps until it lets go
    (``stop_sparse_steps``), then come every 1.1 s with nothing half as strong in the second before
    each -- "out of the quiet", as the restarted runner's first footfall. After such a stop
    (``stop_quiet_loud_only``) only a candidate at the footfalls' level (not soft) is: no breath is
    a footfall once the lock let go, every restarted step is found."""
    period = 0.41
    run = 0.5 + np.arange(25) * period + rng.normal(0.0, 0.003, 25)
    on_lock = run[-1] + period * np.array([2.0, 4.0, 6.0, 8.0])
    breaths = on_lock[-1] + 1.1 + np.arange(7) * 1.1 + rng.normal(0.0, 0.02, 7)
    after = breaths[-1] + 1.3 + np.arange(20) * period + rng.normal(0.0, 0.003, 20)
    events = sorted([(t, rng.uniform(0.9, 1.1), False) for t in run]
                    + [(t, rng.uniform(0.55, 0.65), True) for t in np.concatenate((on_lock, breaths))]
                    + [(after[0], 0.7, False)] + [(t, rng.uniform(0.9, 1.1), False) for t in after[1:]])

    def standing_and_restart(loud_only: bool) -> tuple[int, float]:
        tracker = StepTracker(dataclasses.replace(BANDS_PARAMS, stop_quiet_loud_only=loud_only))
        found = np.array([d.time_s for d in (tracker.push(t, s, soft_db=SOFT_DB if f else None) for t, s, f in events)
                          if d.is_step])
        standing = int(np.sum((found > on_lock[-1] + 0.1) & (found < after[0] - 0.1)))
        return standing, score_events(after, found[found > after[0] - 0.1], tolerance_s=0.001).recall

    assert standing_and_restart(True) == (0, 1.0)
    assert standing_and_restart(False)[0] >= 5


