import numpy as np
import pytest

from stepdetect.drift import asynchronies_ms, asynchrony_stats


def test_early_late_and_on_beat() -> None:
    beats = np.arange(0, 60, 60 / 170)
    for offset_ms in (-35.0, 0.0, 22.0):
        steps = beats[2:-2] + offset_ms / 1000
        a, p = asynchronies_ms(steps, beats)
        np.testing.assert_allclose(a, offset_ms, atol=1e-6)
        stats = asynchrony_stats(steps, a, p, tolerance_ms=30)
        assert stats.mean_ms == pytest.approx(offset_ms, abs=1e-6)
        assert stats.resultant_length == pytest.approx(1.0, abs=1e-9)
        assert stats.within_pct == (0.0 if abs(offset_ms) > 30 else 100.0)
        assert stats.drift_ms_per_min == pytest.approx(0.0, abs=1e-6)


def test_every_other_step_measures_the_ticked_foot_only() -> None:
    stride_s = 120 / 170
    ticks = np.arange(0, 60, stride_s)
    steps = np.sort(np.concatenate([ticks[1:-1] - 0.010, ticks[1:-1] + stride_s / 2 + 0.030]))
    a, _ = asynchronies_ms(steps, ticks, every_other_step=True)
    assert np.all(np.isnan(a[1::2]))
    np.testing.assert_allclose(a[0::2], -10.0, atol=1e-6)


def test_drift_rate_through_a_whole_beat_is_unwrapped(rng: np.random.Generator) -> None:
    beats = np.arange(0, 600, 60 / 170)  # 170 spm for 10 min
    steps = np.arange(0.1, 599, 60 / 170.5)  # runner slightly fast: drifts ~-1 beat over 10 min
    steps = steps + rng.normal(0, 0.008, steps.size)
    a, p = asynchronies_ms(np.sort(steps), beats)
    stats = asynchrony_stats(np.sort(steps), a, p)
    # Expected slope: each step arrives 60/170 - 60/170.5 s earlier; 170.5 steps per minute.
    expected = -1000 * (60 / 170 - 60 / 170.5) * 170.5
    assert stats.drift_ms_per_min == pytest.approx(expected, rel=0.03)
    assert stats.resultant_length < 0.3  # no stable relation to the beat


def test_no_beats_in_off_minutes_and_empty() -> None:
    beats = np.concatenate([np.arange(0, 120, 0.35), np.arange(180, 300, 0.35)])
    steps = np.arange(0.1, 300, 0.35)
    a, _ = asynchronies_ms(steps, beats)
    gap = beats[np.searchsorted(beats, 120) - 1] + 0.175  # half a beat past the last tick of "on"
    off = (steps > gap) & (steps < 180 - 0.175)
    assert np.all(np.isnan(a[off])) and np.all(np.isfinite(a[~off]))
    empty = asynchrony_stats(np.zeros(0), np.zeros(0), np.zeros(0))
    assert empty.n == 0 and empty.mean_ms is None
