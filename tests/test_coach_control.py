import pytest

from coach.control import AdaptiveController, AdaptiveParams
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
