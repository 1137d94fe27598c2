"""coach.footfalls: each footfall's asynchrony is frozen once, when its beats are settled."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coach.footfalls import Footfalls, entry_of
from metronome.settings import settings_from_options

PERIOD_S = 60.0 / 172.0


def _timeline(plan: str = "intervals", duration_s: float = 240.0):
    return settings_from_options(
        spm=172.0, duration_s=duration_s, plan=plan, baseline_spm=172.0, warmup_s=None, cooldown_s=None,
        every_other_step=False, sound="woodblock", accent_every=0, alternate_ears=False, volume_db=-6.0,
        force=False, ramp_s=0.0,
    ).timeline


def _footfalls(times_s: np.ndarray) -> Footfalls:
    f = Footfalls()
    f.add(times_s, np.full(times_s.size, 0.9), reported_at_s=float(times_s[-1]) + 0.05)
    return f


def test_entry_of_each_time() -> None:
    timeline = _timeline()
    starts = [e.start_s for e in timeline.entries]
    assert [(e.segment.label, e.segment.sounding) for e in timeline.entries] == [("on", True), ("off", False),
                                                                                  ("on", True)]
    times = np.array([0.0, starts[1] - 1e-6, starts[1], starts[2] + 5.0, 1e6])
    np.testing.assert_array_equal(entry_of(timeline, times), [0, 0, 1, 2, 2])


def test_footfalls_freeze_once_two_settled_beats_follow() -> None:
    timeline = _timeline()
    beats = np.arange(0.5, 30.0, PERIOD_S)
    steps = beats[:60] - 0.012  # 12 ms early, up to ~21 s
    f = _footfalls(steps)
    assert len(f) == 60 and list(f.reported_at_s) == [pytest.approx(steps[-1] + 0.05)] * 60
    settled = beats[:30]  # the beats heard so far: up to ~10.6 s
    f.freeze(settled, timeline, every_other_step=False, final=False, output_s=None)
    assert f.n_frozen == int(np.sum(steps <= settled[-2]))  # the nearest beat and the period are known
    times, asyn, period = f.frozen()
    np.testing.assert_allclose(asyn, -12.0, atol=1e-6)
    np.testing.assert_allclose(period, PERIOD_S, atol=1e-9)
    np.testing.assert_array_equal(times, steps[: f.n_frozen])
    # Frozen values are never recomputed (a later, different beat grid only reaches the rest).
    first = list(f.asynchrony_ms)
    f.freeze(beats + 0.005, timeline, every_other_step=False, final=False, output_s=None)
    assert list(f.asynchrony_ms[: len(first)]) == first
    assert f.n_frozen == 60
    np.testing.assert_allclose(f.frozen()[1][len(first):], -17.0, atol=1e-6)


def test_footfalls_past_the_output_or_at_the_end_freeze_without_more_beats() -> None:
    timeline = _timeline()
    beats = np.arange(0.0, 10.0, PERIOD_S)
    steps = np.arange(0.0, 20.0, PERIOD_S) + 0.004  # the runner keeps going after the ticks stop (muted)
    f = _footfalls(steps)
    f.freeze(beats, timeline, every_other_step=False, final=False, output_s=15.0)
    assert f.n_frozen == int(np.sum(steps + 1.0 <= 15.0)), "more than a beat before the output's position"
    f.freeze(beats, timeline, every_other_step=False, final=True, output_s=None)
    assert f.n_frozen == steps.size


def test_footfalls_in_a_silent_interval_freeze_with_no_asynchrony() -> None:
    timeline = _timeline()
    off = timeline.entries[1]
    steps = np.arange(off.start_s + 0.1, off.start_s + 20.0, PERIOD_S)
    f = _footfalls(steps)
    beats = np.arange(0.0, off.start_s, PERIOD_S)  # no tick in the silent interval
    f.freeze(beats, timeline, every_other_step=False, final=False, output_s=None)
    assert f.n_frozen == steps.size
    _, asyn, period = f.frozen()
    assert all(math.isnan(a) for a in asyn) and all(math.isnan(p) for p in period)
