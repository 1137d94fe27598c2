import numpy as np
import pytest

from metronome.clicks import HIGHPASS_HZ, MAX_TICK_S, SOUNDS, make_tick, tick_from_array
from metronome.units import ParameterError


def _fraction_below(w: np.ndarray, sample_rate: int, cutoff_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(w.astype(np.float64), 8 * len(w))) ** 2
    freqs = np.fft.rfftfreq(8 * len(w), 1 / sample_rate)
    return float(spectrum[freqs < cutoff_hz].sum() / spectrum.sum())


@pytest.mark.parametrize("sample_rate", [8000, 16000, 44100, 48000, 96000])
@pytest.mark.parametrize("sound", SOUNDS)
@pytest.mark.parametrize("accent", [False, True])
def test_ticks_leave_the_footfall_band_clear(sound: str, sample_rate: int, accent: bool) -> None:
    w = make_tick(sound, sample_rate, accent=accent)
    assert w.dtype == np.float32 and w.ndim == 1 and w.flags.c_contiguous
    assert len(w) <= MAX_TICK_S * sample_rate
    assert np.max(np.abs(w)) == pytest.approx(1.0, abs=1e-6)
    assert abs(w[0]) >= 0.3, "the tick must start at full strength on its first sample"
    assert _fraction_below(w, sample_rate, HIGHPASS_HZ) < 0.01
    assert _fraction_below(w, sample_rate, 300.0) < 1e-4


def test_accent_differs_from_normal() -> None:
    a, b = make_tick("woodblock", 48000), make_tick("woodblock", 48000, accent=True)
    assert len(a) == len(b) and not np.allclose(a, b, atol=0.05)


def test_user_sound_is_resampled_highpassed_and_trimmed(rng: np.random.Generator) -> None:
    sr_in = 22050
    t = np.arange(int(0.4 * sr_in)) / sr_in
    y = np.zeros((len(t) + 500, 2))
    y[500:, 0] = np.sin(2 * np.pi * 150 * t) + 0.5 * np.sin(2 * np.pi * 2500 * t)  # a thump-heavy "tick"
    y[500:, 1] = y[500:, 0]
    w = tick_from_array(y, sr_in, 48000)
    assert len(w) <= MAX_TICK_S * 48000
    assert abs(w[0]) > 0.05, "leading silence is skipped"
    assert _fraction_below(w, 48000, 300.0) < 0.05


def test_bad_sounds() -> None:
    with pytest.raises(ParameterError, match="unknown tick sound"):
        make_tick("gong", 48000)
    with pytest.raises(ParameterError, match="silent"):
        tick_from_array(np.zeros(1000), 48000, 48000)
