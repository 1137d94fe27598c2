import math
from array import array

import numpy as np
import pytest

from coach.control import (CADENCE_WINDOW_S, CONTROL_PERIOD_S, AdaptiveController, AdaptiveParams, TempoControl,
                           current_cadence_spm, warmup_baseline_spm)
from metronome.settings import build_renderer, settings_from_options
from metronome.plans import Timeline, load_plan
from metronome.schedule import BeatClock
from metronome.units import ParameterError


def _simulate(follow: bool, minutes: float = 10.0, dt_s: float = 0.5) -> tuple[AdaptiveController, list[float]]:
    """A runner who either follows the tempo (after a 5 s lag) or stays at their baseline."""
    ctl = AdaptiveController(160.0, 172.0)
    history = [160.0]
    runner = 160.0
    t = 0.0
    while t < minutes * 60:
        t += dt_s
        if follow:
            runner += (ctl.tempo_spm - runner) * dt_s / 5.0
        ctl.update(t, runner)
        history.append(ctl.tempo_spm)
    return ctl, history


def test_follower_reaches_target_at_the_rate_limit() -> None:
    ctl, history = _simulate(follow=True, minutes=10)
    assert ctl.tempo_spm == pytest.approx(172.0)
    assert ctl.state == "at-target"
    # 12 spm at 2 spm/min after 20 s settling: about 6.3 min.
    minutes_to_target = next(i for i, v in enumerate(history) if v >= 171.99) * 0.5 / 60
    assert 6.0 < minutes_to_target < 7.5
    increments = [b - a for a, b in zip(history, history[1:])]
    assert max(increments) <= 2.0 * 0.5 / 60 + 1e-9, "never faster than the rate limit"


def test_lagging_runner_holds_then_eases_back_not_below_baseline() -> None:
    ctl = AdaptiveController(160.0, 172.0)
    t = 0.0
    for _ in range(240):  # 2 min of keeping up at a rising tempo
        t += 0.5
        ctl.update(t, ctl.tempo_spm)
    reached = ctl.tempo_spm
    assert reached > 163.0
    for _ in range(20):  # 10 s lagging at 155: holds
        t += 0.5
        ctl.update(t, 155.0)
    assert ctl.tempo_spm == pytest.approx(reached) and ctl.state == "holding"
    for _ in range(600):  # 5 more minutes lagging: eases back, but not below the 160 baseline
        t += 0.5
        ctl.update(t, 155.0)
    assert ctl.state == "easing" and ctl.tempo_spm == pytest.approx(160.0)


def test_no_steps_holds_and_bad_params() -> None:
    ctl = AdaptiveController(160.0, 172.0)
    for t in range(100):
        ctl.update(float(t), None)
    assert ctl.tempo_spm == 160.0 and ctl.state == "holding"
    with pytest.raises(ParameterError, match="tolerance_spm"):
        AdaptiveParams(tolerance_spm=0)


def test_timeline_ramp_reaches_target_on_schedule() -> None:
    plan = load_plan("intervals", target_spm=172, baseline_spm=160)
    tl = Timeline(plan, duration_s=1200, warmup_s=120, baseline_spm=160, ramp_s=300)
    assert tl.spm_at(60) == 160  # warm-up
    assert tl.spm_at(120) == pytest.approx(160)
    assert tl.spm_at(270) == pytest.approx(166)
    assert tl.spm_at(420) == pytest.approx(172)
    assert tl.spm_at(1000) == pytest.approx(172)
    ticks = list(BeatClock(tl, 48000).ticks_until(48000 * 1200))
    at = {round(t.time_s): t.spm for t in ticks}
    first_after = next(t for t in ticks if t.time_s >= 420)
    assert first_after.spm == pytest.approx(172)
    assert min(at.values()) == pytest.approx(160, abs=0.05)


# ------------------------------------------------------------- the session's control step
def _metronome(target: float = 172.0, baseline: float = 160.0, plan: str = "steady", duration_s: float = 600.0):
    return settings_from_options(
        spm=target, duration_s=duration_s, plan=plan, baseline_spm=baseline, warmup_s=None, cooldown_s=None,
        every_other_step=False, sound="woodblock", accent_every=0, alternate_ears=False, volume_db=-6.0,
        force=False, ramp_s=0.0,
    )


def _steps(cadence_spm: float, until_s: float) -> array:
    return array("d", np.arange(0.0, until_s, 60.0 / cadence_spm).tolist())


def test_current_cadence_is_measured_over_the_last_window_only() -> None:
    # 150 spm for the first minute, then 170 spm: 10 s after the change the window sees only 170.
    steps = [*_steps(150.0, 60.0), *(60.0 + np.arange(0.0, 30.0, 60.0 / 170.0))]

    def until(now_s: float) -> array:
        return array("d", [t for t in steps if t <= now_s])

    assert current_cadence_spm(until(59.0), 59.0) == pytest.approx(150.0, abs=0.01)
    assert current_cadence_spm(until(65.0), 65.0) > 150.5, "a mix of both while the window spans the change"
    assert current_cadence_spm(until(60.5 + CADENCE_WINDOW_S), 60.5 + CADENCE_WINDOW_S) == pytest.approx(170.0, abs=0.01)
    # Too few footfalls in the window (stepdetect's minimum): no cadence.
    assert current_cadence_spm(until(1.0), 1.0) is None
    assert current_cadence_spm(until(200.0), 200.0 + CADENCE_WINDOW_S) is None


def test_control_step_plays_the_plan_and_mutes_only_on_target() -> None:
    metronome = _metronome(target=170.0, baseline=170.0)
    renderer = build_renderer(metronome, 16000, 2)
    control = TempoControl(metronome, renderer, adaptive=None, cue_only_off_target=True, off_target_band_pct=2.0)
    on_target = _steps(169.0, 30.0)  # within 2 % of 170
    step = control.step(30.0, on_target)
    assert step.tempo_spm == pytest.approx(170.0) and step.cadence_spm == pytest.approx(169.0, abs=0.01)
    assert renderer.muted and renderer.clock.spm_override is None, "a fixed plan never overrides the clock"
    assert not control.due(30.0 + CONTROL_PERIOD_S - 0.01) and control.due(30.0 + CONTROL_PERIOD_S)
    off_target = _steps(160.0, 31.0)  # 6 % slow: the ticks come back
    control.step(31.0, off_target)
    assert not renderer.muted
    control.step(32.0, array("d"))  # no footfalls: no cadence, so the ticks play
    assert not renderer.muted
    assert list(control.trace) == [(30.0, 170.0), (31.0, 170.0), (32.0, 170.0)]
    control.step(33.0, off_target, record=False)  # a warm-up placeholder is not traced
    assert len(control.trace) == 3


def test_adaptive_control_step_overrides_the_clock_and_replans() -> None:
    metronome = _metronome()
    renderer = build_renderer(metronome, 16000, 2)
    params = AdaptiveParams(settle_s=0.0, advance_spm_per_min=60.0)
    control = TempoControl(metronome, renderer, adaptive=params, cue_only_off_target=False, off_target_band_pct=2.0)
    t = 10.0
    while t <= 20.0:  # 1 spm per second once the runner keeps up
        assert control.controller is not None
        step = control.step(t, _steps(control.controller.tempo_spm, t))  # a runner who follows at once
        t += CONTROL_PERIOD_S
    assert control.state == "advancing"
    assert step.tempo_spm == pytest.approx(170.0) and renderer.clock.spm_override == step.tempo_spm
    assert not renderer.muted
    new = _metronome(baseline=150.0, target=156.0)
    control.replan(new)
    assert renderer.clock.timeline is new.timeline
    assert control.controller is not None and control.controller.baseline_spm == 150.0 and control.state == "settling"
    step = control.step(21.0, _steps(150.0, 21.0))
    assert step.tempo_spm == pytest.approx(150.0)


def test_warmup_baseline_needs_enough_footfalls() -> None:
    baseline, n = warmup_baseline_spm(_steps(165.0, 200.0), 180.0)  # the last 2 minutes of the warm-up
    assert baseline == pytest.approx(165.0, abs=0.01) and n == pytest.approx(330, abs=1)
    baseline, n = warmup_baseline_spm(_steps(165.0, 6.0), 180.0)
    assert math.isnan(baseline) and n < 20
