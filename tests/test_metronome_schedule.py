"""The beat clock against exact arithmetic: ticks start where the plan says, with no drift."""

import math
from decimal import Decimal, getcontext
from fractions import Fraction

import pytest

from metronome.plans import Plan, Segment, Timeline, load_plan
from metronome.schedule import BeatClock

TWO_HOURS_S = 7200.0


def _round_half_up(x: Fraction | Decimal) -> int:
    return math.floor(x + (Fraction(1, 2) if isinstance(x, Fraction) else Decimal("0.5")))


@pytest.mark.parametrize("sample_rate", [8000, 44100, 48000, 96000])
@pytest.mark.parametrize("spm", [163.7, 170.0, 181.3])
@pytest.mark.parametrize("steps_per_tick", [1, 2])
def test_constant_tempo_two_hours_exact(sample_rate: int, spm: float, steps_per_tick: int) -> None:
    tl = Timeline(load_plan("steady", target_spm=spm), duration_s=TWO_HOURS_S)
    clock = BeatClock(tl, sample_rate, steps_per_tick=steps_per_tick)
    period = Fraction(steps_per_tick * 60 * sample_rate) / Fraction(spm)  # exact, from the float spm
    n_frames = int(TWO_HOURS_S * sample_rate)
    ticks = list(clock.ticks_until(n_frames))
    # beat k sounds in the session when its rounded start is < n_frames, i.e. k * period < n_frames - 1/2
    assert len(ticks) == math.ceil((n_frames - Fraction(1, 2)) / period)
    mismatches = [t.index for t in ticks if t.start_sample != _round_half_up(t.index * period)]
    assert mismatches == []
    assert all(t.sounding for t in ticks)


def test_ramp_sets_each_interval_from_the_plan_without_drift() -> None:
    """Ramp 150 -> 180 spm over 30 min, hold for 90 min; compare with a 50-digit recursion."""
    sample_rate = 48000
    plan = Plan("r", (Segment("ramp", 1800.0, 150.0, 180.0), Segment("hold", 5400.0, 180.0, 180.0)))
    tl = Timeline(plan, duration_s=TWO_HOURS_S)
    ticks = list(BeatClock(tl, sample_rate).ticks_until(int(TWO_HOURS_S * sample_rate)))
    getcontext().prec = 50
    sr = Decimal(sample_rate)
    exact = Decimal(0)
    worst = Decimal(0)
    for tick in ticks:
        worst = max(worst, abs(exact - Decimal(tick.exact_sample)))
        assert tick.start_sample == _round_half_up(exact), tick.index
        t_s = exact / sr
        spm = Decimal(150) + Decimal(30) * min(t_s / Decimal(1800), Decimal(1))
        exact += Decimal(60) * sr / spm
    assert worst < Decimal("1e-6"), f"accumulated error {worst} samples"
    intervals = [b.start_sample - a.start_sample for a, b in zip(ticks, ticks[1:])]
    assert intervals[0] in (19200, 19199)  # 60 * 48000 / 150
    assert intervals[-1] in (16000, 16001)  # 60 * 48000 / 180


def test_off_intervals_are_silent_and_the_grid_runs_on() -> None:
    sample_rate = 44100
    tl = Timeline(load_plan("intervals", target_spm=172), duration_s=900)
    ticks = list(BeatClock(tl, sample_rate).ticks_until(900 * sample_rate))
    period = Fraction(60 * sample_rate) / Fraction(172)
    for tick in ticks:
        phase_s = (tick.start_sample / sample_rate) % 180
        in_off = 120 <= Fraction(tick.exact_sample) / sample_rate % 180 < 180
        assert tick.sounding == (not in_off), (tick.index, phase_s)
        assert tick.start_sample == _round_half_up(tick.index * period)
    # The first tick after each "off" is the first beat of the running grid at or after the boundary.
    for boundary_s in (180, 360, 540, 720):
        first_on = next(t for t in ticks if t.sounding and t.start_sample >= boundary_s * sample_rate - 1)
        k = math.ceil(Fraction(boundary_s * sample_rate) / period)
        assert first_on.index == k and first_on.start_sample == _round_half_up(k * period)


def test_tempo_override_takes_effect_at_the_next_beat() -> None:
    tl = Timeline(load_plan("steady", target_spm=160), duration_s=60)
    clock = BeatClock(tl, 48000)
    first = clock.peek()
    clock.advance()  # beat 1 is now upcoming; its time was set by beat 0's tempo
    clock.spm_override = 180.0  # the controller writes while beat 1 is pending
    second = clock.peek()
    clock.advance()
    third = clock.peek()
    assert second.start_sample - first.start_sample == 18000  # 60 * 48000 / 160
    assert second.spm == 160.0, "the pending beat was scheduled before the change"
    clock.advance()
    fourth = clock.peek()
    assert third.start_sample - second.start_sample == 18000
    assert fourth.start_sample - third.start_sample == 16000  # the change applies from the next beat


def test_feet_accents_and_ears() -> None:
    tl = Timeline(load_plan("steady", target_spm=170), duration_s=60)
    every = list(BeatClock(tl, 48000, accent_every=4, alternate_ears=True).ticks_until(48000 * 5))
    assert [t.foot for t in every[:4]] == ["L", "R", "L", "R"]
    assert [t.channel for t in every[:4]] == ["left", "right", "left", "right"]
    assert [t.accent for t in every[:8]] == [True, False, False, False, True, False, False, False]
    stride = list(BeatClock(tl, 48000, steps_per_tick=2, alternate_ears=True).ticks_until(48000 * 5))
    assert {t.foot for t in stride} == {"L"} and {t.channel for t in stride} == {"left"}
    assert stride[1].start_sample - stride[0].start_sample == round(2 * 60 * 48000 / 170)
