"""Rendered audio: every tick's first sample is where the clock says, whatever the blocks."""

import math
from fractions import Fraction

import numpy as np
import pytest

from audio_helpers import find_tick_onsets
from metronome.plans import Plan, Segment, Timeline, load_plan
from metronome.render import TickBank, TickRenderer, render_array, render_blocks
from metronome.schedule import BeatClock


def _renderer(plan: Plan, sample_rate: int, duration_s: float, n_channels: int = 2, **clock_kw: object) -> TickRenderer:
    clock = BeatClock(Timeline(plan, duration_s=duration_s), sample_rate, **clock_kw)  # type: ignore[arg-type]
    return TickRenderer(clock, TickBank.synthesized("woodblock", sample_rate, n_channels=n_channels))


def _expected_starts(plan: Plan, sample_rate: int, duration_s: float, **clock_kw: object) -> list[int]:
    clock = BeatClock(Timeline(plan, duration_s=duration_s), sample_rate, **clock_kw)  # type: ignore[arg-type]
    return [t.start_sample for t in clock.ticks_until(int(duration_s * sample_rate)) if t.sounding]


def _render_in_blocks(renderer: TickRenderer, n_frames: int, sizes: list[int]) -> np.ndarray:
    out = np.zeros((n_frames, renderer.n_channels), dtype=np.float32)
    pos, i = 0, 0
    while pos < n_frames:
        n = min(sizes[i % len(sizes)], n_frames - pos)
        renderer.fill(out[pos : pos + n])
        pos += n
        i += 1
    return out


RAMP = Plan("ramp", (Segment("ramp", 20.0, 150.0, 200.0), Segment("hold", 20.0, 200.0, 200.0)))


@pytest.mark.parametrize("sample_rate", [16000, 44100, 48000])
@pytest.mark.parametrize("plan_name", ["steady", "intervals", "ramp"])
def test_onsets_match_the_clock_for_any_block_size(sample_rate: int, plan_name: str, rng: np.random.Generator) -> None:
    duration_s = 400.0 if plan_name == "intervals" else 40.0
    plan = RAMP if plan_name == "ramp" else load_plan(plan_name, target_spm=173.3)
    n_frames = int(duration_s * sample_rate)
    reference = render_array(_renderer(plan, sample_rate, duration_s), n_frames, block_size=n_frames)
    onsets = find_tick_onsets(reference)
    assert onsets.tolist() == _expected_starts(plan, sample_rate, duration_s)
    for sizes in ([1, 7, 333, 4096], [512], [int(x) for x in rng.integers(1, 3000, size=97)]):
        if sizes == [1, 7, 333, 4096] and n_frames > 3_000_000:
            sizes = [7, 333, 4096, 1031]  # keep the per-sample case short on long renders
        blocked = _render_in_blocks(_renderer(plan, sample_rate, duration_s), n_frames, sizes)
        np.testing.assert_array_equal(blocked, reference)


def test_per_sample_blocks_equal_one_block() -> None:
    plan = load_plan("steady", target_spm=181.3)
    ref = render_array(_renderer(plan, 8000, 3.0), 24000, block_size=24000)
    blocked = _render_in_blocks(_renderer(plan, 8000, 3.0), 24000, [1])
    np.testing.assert_array_equal(blocked, ref)


def test_two_hour_render_streams_without_drift() -> None:
    """Two hours at 16 kHz in variable blocks; each onset checked against exact arithmetic."""
    sample_rate, duration_s, spm = 16000, 7200.0, 171.7
    plan = load_plan("intervals", target_spm=spm)
    renderer = _renderer(plan, sample_rate, duration_s, n_channels=1)
    period = Fraction(60 * sample_rate) / Fraction(spm)
    found: list[int] = []
    carry = np.zeros((0, 1), dtype=np.float32)
    offset = 0
    for block in render_blocks(renderer, int(duration_s * sample_rate), block_size=48_000 + 17):
        chunk = np.concatenate([carry, block])
        onsets = find_tick_onsets(chunk) + offset - len(carry)
        found.extend(int(o) for o in onsets if o >= offset)  # onsets inside the new block only
        carry = chunk[-64:].copy()
        offset += len(block)
    n_beats = math.ceil((Fraction(int(duration_s * sample_rate)) - Fraction(1, 2)) / period)
    expected = [
        math.floor(k * period + Fraction(1, 2))
        for k in range(n_beats)
        if (k * period / sample_rate) % 180 < 120  # "on" for 2 min of every 3, decided by the exact beat time
    ]
    assert len(expected) > 13_000
    assert found == expected


def test_off_segments_are_digital_silence_and_ears_alternate() -> None:
    sample_rate = 48000
    plan = load_plan("intervals", target_spm=170)
    out = render_array(_renderer(plan, sample_rate, 400.0, alternate_ears=True), 400 * sample_rate)
    off = out[int(120.2 * sample_rate) : 180 * sample_rate]
    assert np.count_nonzero(off) == 0
    onsets = find_tick_onsets(out)[:6]
    left_first = [float(np.abs(out[o, 0])) > 0 and out[o, 1] == 0 for o in onsets]
    assert left_first == [True, False, True, False, True, False]


def test_tick_log_lists_every_sounding_tick() -> None:
    plan = load_plan("intervals", target_spm=170)
    renderer = _renderer(plan, 48000, 400.0, accent_every=2)
    render_array(renderer, 400 * 48000, block_size=1000)
    log = renderer.drain_log()
    assert [r.start_sample for r in log] == _expected_starts(plan, 48000, 400.0)
    assert log[0].accent and not log[1].accent
    assert renderer.drain_log() == [] and renderer.ticks_lost == 0
