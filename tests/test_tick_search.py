"""The tick search on real tick waveforms in an input array: a tick's sound is periodic, so the
loop latency is known modulo one beat, and near a latency of one beat (a sound server stalled
past it) the measurements must stay on one side instead of flipping between ~0 and a beat."""

from __future__ import annotations

import numpy as np
import pytest

from coach.latency import MIN_LOOP_LATENCY_S, TickSearch, unwrap_latency
from metronome.clicks import make_tick
from metronome.render import TickRecord

RATE = 48_000
SPM = 168.0
PERIOD_S = 60.0 / SPM  # 357.1 ms
BLOCK = 256


def _search(delays_s: np.ndarray, *, fallback_s: float = 0.08, seed: int = 3) -> TickSearch:
    """Ticks every beat heard ``delays_s[k]`` after they were rendered, in -30 dB noise, fed in blocks."""
    template = make_tick("woodblock", RATE).astype(np.float64)
    starts = np.round((1.0 + np.arange(delays_s.size) * PERIOD_S) * RATE).astype(int)
    n = int(starts[-1] + 2.0 * RATE)
    audio = np.random.default_rng(seed).normal(0.0, 0.03, n)
    for start, delay in zip(starts, delays_s):
        at = start + int(round(delay * RATE))
        audio[at : at + template.size] += 0.5 * template[: n - at]
    search = TickSearch(RATE, template, steps_per_tick=1, measure=True)
    ticks = [TickRecord(int(s), False, "both", SPM, 0, k) for k, s in enumerate(starts)]
    fed = 0
    for at in range(0, n, BLOCK):
        while fed < len(ticks) and ticks[fed].start_sample < at + BLOCK:  # rendered as the stream plays
            search.add_ticks([ticks[fed]], fallback_s)
            fed += 1
        search.feed(at, audio[at : at + BLOCK].astype(np.float32), fallback_s)
    search.finish(fallback_s)
    return search


def test_unwrap_takes_the_alias_nearest_the_reference_never_below_the_floor() -> None:
    assert unwrap_latency(0.060, 0.35, 0.058) == pytest.approx(0.060)
    assert unwrap_latency(0.001, 0.35, 0.349) == pytest.approx(0.351)
    assert unwrap_latency(0.349, 0.35, 0.001) == pytest.approx(-0.001)
    assert unwrap_latency(-0.003, 0.35, 0.001) == pytest.approx(0.347), "heard before played: the previous tick"
    assert unwrap_latency(-0.100, 0.35, 0.030) == pytest.approx(0.250), "a step of more than half a beat"
    assert unwrap_latency(MIN_LOOP_LATENCY_S, 0.35, 0.0) == pytest.approx(MIN_LOOP_LATENCY_S)


def test_latency_near_one_beat_with_jitter_stays_on_one_side() -> None:
    """60 ms, then (a stall) about a beat with -5..+3 ms of jitter per tick: the previous tick is
    heard -5..+3 ms after this one is played, across the 'heard before played' floor again and
    again."""
    rng = np.random.default_rng(8)
    delays = np.concatenate([np.full(20, 0.060), PERIOD_S + rng.uniform(-0.005, 0.003, 120)])
    search = _search(delays)
    measured = np.array(search.track.measurements)  # per tick, NaN: not found
    assert np.isfinite(measured).mean() >= 0.95
    k = np.flatnonzero(np.isfinite(measured))
    k = k[k >= 25]
    assert np.ptp(measured[k]) < 0.010, "on one side of the wrap, not flipping by a beat"

    def off(heard: np.ndarray) -> np.ndarray:  # modulo a beat
        return np.abs((measured[k] - heard + PERIOD_S / 2) % PERIOD_S - PERIOD_S / 2)

    # the tick found is this one or the previous one (heard a beat earlier, the same sound)
    assert np.max(np.minimum(off(delays[k]), off(delays[k - 1]))) < 0.0005, "to the sample, modulo a beat"
    steps = [e for e in search.track.events if e["kind"] == "step"]
    assert len(steps) <= 2, steps
    assert np.mean(np.abs(search.track.residuals_s()) <= 0.0045) >= 0.9


def test_steady_latency_is_measured_to_the_sample() -> None:
    delays = np.full(40, 0.0731)
    search = _search(delays)
    assert len(search.measurements_s) == 40
    np.testing.assert_allclose(search.measurements_s, 0.0731, atol=1.5 / RATE)
    assert search.track.level_s == pytest.approx(0.0731, abs=1.5 / RATE)
    assert search.track.events == [], "measured from the first tick: no step, no fallback replaced"
