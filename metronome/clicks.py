"""Tick sounds: synthesized waveforms (and user WAVs) built once, before any stream starts.

Every tick is mono float32 with its peak at 1.0, starts at full strength on sample 0 (so the
tick's first sample *is* the beat), lasts at most ``MAX_TICK_S``, and has its energy above
``HIGHPASS_HZ``: it cuts through music in headphones, and a microphone that hears it finds
nothing in the footfall band (heel thumps live below ~300 Hz).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from metronome.units import ParameterError

HIGHPASS_HZ = 800.0
MAX_TICK_S = 0.12
ACCENT_PITCH_RATIO = 1.26  # an accented tick sounds about a major third higher ...
ACCENT_GAIN_DB = 4.0  # ... and this much louder (applied when the tick bank is built)

SOUNDS = ("click", "woodblock", "beep", "cowbell", "hihat")

# Partials (frequency Hz, relative amplitude, decay time constant s) for the tonal sounds.
_PARTIALS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "click": ((3200.0, 1.0, 0.0015), (5100.0, 0.7, 0.0010), (2100.0, 0.5, 0.0020)),
    "woodblock": ((1250.0, 1.0, 0.018), (3450.0, 0.35, 0.008), (5300.0, 0.15, 0.004)),
    "beep": ((2000.0, 1.0, 1.0),),
    "cowbell": ((1080.0, 1.0, 0.060), (1620.0, 0.8, 0.050), (3240.0, 0.3, 0.030), (4860.0, 0.2, 0.020)),
}
_LENGTH_S = {"click": 0.015, "woodblock": 0.060, "beep": 0.050, "cowbell": 0.110, "hihat": 0.045}


def _highpass(y: NDArray[np.float64], sample_rate: int) -> NDArray[np.float64]:
    sos = signal.butter(4, HIGHPASS_HZ, btype="highpass", fs=sample_rate, output="sos")
    return np.asarray(signal.sosfilt(sos, y), dtype=np.float64)


def _finish(y: NDArray[np.float64], sample_rate: int) -> NDArray[np.float32]:
    """High-pass, fade the tail, normalise the peak to 1; keep the onset on sample 0."""
    y = _highpass(y, sample_rate)
    fade = min(len(y), max(1, int(0.002 * sample_rate)))
    y[-fade:] *= np.linspace(1.0, 0.0, fade)
    peak = float(np.max(np.abs(y)))
    if peak == 0.0:
        raise ParameterError("tick waveform is silent above 800 Hz")
    return np.ascontiguousarray(y / peak, dtype=np.float32)


def make_tick(sound: str, sample_rate: int, *, accent: bool = False) -> NDArray[np.float32]:
    """Synthesize one tick.

    Parameters
    ----------
    sound : {"click", "woodblock", "beep", "cowbell", "hihat"}
    sample_rate : int >= 8000
        Hz. Partials above 0.45 * sample_rate are left out.
    accent : bool
        The accented variant (higher pitch; the extra level is applied by the caller).

    Returns
    -------
    NDArray[np.float32], shape (n,)
        Peak 1.0, first sample at full strength (its magnitude is at least 0.3).
    """
    if sound not in SOUNDS:
        raise ParameterError(f"unknown tick sound {sound!r}; choose one of {', '.join(SOUNDS)} or a .wav file")
    if sample_rate < 8000:
        raise ParameterError(f"sample rate {sample_rate} Hz is too low for ticks (>= 8000 Hz)")
    n = int(_LENGTH_S[sound] * sample_rate)
    t = np.arange(n) / sample_rate
    ratio = ACCENT_PITCH_RATIO if accent else 1.0
    nyquist_guard_hz = 0.45 * sample_rate
    if sound == "hihat":
        # Deterministic noise: the same hi-hat every time, at every rate.
        noise = np.random.default_rng(7).standard_normal(n)
        sos = signal.butter(4, min(6500.0 * ratio, 0.8 * nyquist_guard_hz), btype="highpass", fs=sample_rate, output="sos")
        y = signal.sosfilt(sos, noise) * np.exp(-t / 0.012)
        y[0] = np.max(np.abs(y))  # a clean onset on the first sample
    else:
        y = np.zeros(n)
        for freq_hz, amp, decay_s in _PARTIALS[sound]:
            f = freq_hz * ratio
            if f >= nyquist_guard_hz:
                continue
            y += amp * np.exp(-t / decay_s) * np.cos(2 * np.pi * f * t)
        if sound == "beep":
            release = int(0.010 * sample_rate)
            y[-release:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, release)))
    return _finish(y, sample_rate)


def tick_from_array(
    y: NDArray[np.floating], source_rate: int, sample_rate: int, *, accent: bool = False
) -> NDArray[np.float32]:
    """Turn a user's sound (e.g. a WAV's samples) into a tick.

    Mixes to mono, resamples to ``sample_rate``, skips leading silence so the onset is on
    sample 0, trims to ``MAX_TICK_S``, high-passes at ``HIGHPASS_HZ`` (the footfall band stays
    clear) and normalises. The accent variant is the same sound (the caller makes it louder).
    """
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr.mean(axis=1)
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError("the tick sound file holds no audio")
    if not np.all(np.isfinite(arr)):
        raise ParameterError("the tick sound file contains NaN or infinite samples")
    if source_rate != sample_rate:
        g = np.gcd(int(source_rate), int(sample_rate))
        arr = signal.resample_poly(arr, sample_rate // g, source_rate // g)
    level = np.abs(arr)
    if level.max() == 0:
        raise ParameterError("the tick sound file is silent")
    onset = int(np.argmax(level >= 0.1 * level.max()))
    arr = arr[onset : onset + int(MAX_TICK_S * sample_rate)].copy()
    if arr.size < 8:
        raise ParameterError("the tick sound file is too short")
    del accent  # same waveform; the level difference is applied when the bank is built
    return _finish(arr, sample_rate)


CUE_NOTES_HZ = (1320.0, 1760.0)  # E6 -> A6 (rising) when ticks start; reversed when they stop
CUE_NOTE_S = 0.11


def make_cue(sample_rate: int, *, rising: bool) -> NDArray[np.float32]:
    """A two-note chime for interval changes: rising = ticks start, falling = ticks stop.

    Mono float32, peak 1, energy above ``HIGHPASS_HZ`` like the ticks, about 0.25 s long.
    """
    n = int(CUE_NOTE_S * sample_rate)
    t = np.arange(n) / sample_rate
    envelope = np.exp(-t / 0.05) * np.minimum(1.0, t / 0.003)
    notes = CUE_NOTES_HZ if rising else CUE_NOTES_HZ[::-1]
    y = np.concatenate([envelope * np.sin(2 * np.pi * f * t) for f in notes] + [np.zeros(int(0.02 * sample_rate))])
    return _finish(y, sample_rate)
