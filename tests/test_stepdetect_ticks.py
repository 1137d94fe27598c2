import numpy as np
import pytest

from metronome.clicks import make_tick
from stepdetect.ticks import locate_template


@pytest.mark.parametrize("sample_rate", [16000, 48000])
def test_tick_found_to_the_sample_under_thumps_and_noise(sample_rate: int, rng: np.random.Generator) -> None:
    tick = make_tick("woodblock", sample_rate)
    y = 0.01 * rng.standard_normal(sample_rate)
    at = int(0.3173 * sample_rate)
    y[at : at + tick.size] += 0.2 * tick
    t = np.arange(int(0.1 * sample_rate)) / sample_rate
    thump = 0.8 * np.sin(2 * np.pi * 90 * t) * np.exp(-t / 0.03)  # a heel strike on top
    y[at - 100 : at - 100 + thump.size] += thump
    offset, score = locate_template(y, tick, sample_rate=sample_rate)
    assert offset == at and score > 0.8


def test_no_tick_no_match(rng: np.random.Generator) -> None:
    y = 0.05 * rng.standard_normal(48000)
    offset, score = locate_template(y, make_tick("click", 48000), sample_rate=48000)
    assert offset is None and score < 0.5
