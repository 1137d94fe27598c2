"""Finding a known tick in microphone audio: the loop latency, measured where the runner is.

When the microphone hears the metronome (an earbud mic, a phone near the headphones, a
loopback), the arrival of each tick in the input gives the output-to-input latency directly.
The tick waveform is known (the caller passes it), so a matched filter locates it to the
sample, above the footfall band where thumps do not disturb it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from stepdetect.validate import ParameterError, validate_audio

HIGHPASS_HZ = 700.0
MIN_SCORE = 0.5


def locate_template(
    y: NDArray[np.floating],
    template: NDArray[np.floating],
    *,
    sample_rate: int,
    min_score: float = MIN_SCORE,
) -> tuple[int | None, float]:
    """Where ``template`` starts in ``y``.

    Parameters
    ----------
    y : 1-D or (frames, channels) float array
        The stretch of input to search (it must contain the whole template to find it).
    template : 1-D float array
        The tick as played (mono).
    sample_rate : int
        Hz, for the high-pass that removes footfalls, wind and hum first.
    min_score : float in (0, 1]
        Normalised correlation needed to accept a match.

    Returns
    -------
    (offset, score)
        ``offset`` is the sample in ``y`` where the template starts, or None when the best
        normalised correlation is below ``min_score``.
    """
    y = validate_audio(np.asarray(y, dtype=np.float64))
    t = np.asarray(template, dtype=np.float64)
    if t.ndim != 1 or t.size < 8:
        raise ParameterError("tick template must be 1-D with at least 8 samples")
    if y.ndim == 2:
        y = y.mean(axis=1)
    if y.size < t.size:
        return None, 0.0
    sos = signal.butter(4, HIGHPASS_HZ, btype="highpass", fs=sample_rate, output="sos")
    yf = signal.sosfilt(sos, y)
    tf = signal.sosfilt(sos, t)
    corr = signal.correlate(yf, tf, mode="valid", method="fft")
    cumulative = np.concatenate(([0.0], np.cumsum(yf * yf)))
    energy = cumulative[tf.size :] - cumulative[: -tf.size]  # energy under the template at each lag
    norm = np.sqrt(np.maximum(energy, 1e-20) * float(np.dot(tf, tf)))
    score = corr / norm
    best = int(np.argmax(score))
    value = float(score[best])
    return (best if value >= min_score else None), value


# A metronome plays the same tick every time and the microphone path carries it the same way, so
# the waveform of the ticks heard alone, averaged, is the tick bleed itself: subtracted at its best
# gain and alignment (within WAVE_SHIFT_S), it leaves of a lone tick's first ~WAVE_S a median 1-8 %
# of the energy through the full-band, phone, clipped and 16 kHz headset paths (the 90th percentile
# 4-29 %: a step's tail, noise), 17-21 % through the in-ear and 8 kHz paths (dev metronome-off), and
# of a tick with a step's onset under it what the step brings.
WAVE_S = 0.025
WAVE_BEFORE_S = 0.002
WAVE_SHIFT_S = 0.001


def wave_at(raw: NDArray[np.float64], raw_first_sample: int, tick_s: float, sample_rate: int,
            *, shift: int = 0) -> NDArray[np.float64] | None:
    """The input from ``WAVE_BEFORE_S`` before the known tick at ``tick_s`` for ``WAVE_S`` (moved
    ``shift`` samples), or None where ``raw`` (which starts at sample ``raw_first_sample``) does not
    hold all of it."""
    n = int(round(WAVE_S * sample_rate))
    a = int(round((tick_s - WAVE_BEFORE_S) * sample_rate)) - raw_first_sample + shift
    if a < 0 or a + n > raw.size:
        return None
    return raw[a: a + n]


def residual_fraction(raw: NDArray[np.float64], raw_first_sample: int, tick_s: float, sample_rate: int,
                      template: NDArray[np.float64]) -> float:
    """The share of the input's energy around the known tick at ``tick_s`` left once the tick's
    waveform ``template`` (from :func:`wave_at` of lone ticks) is subtracted at its best gain and
    alignment (within ``WAVE_SHIFT_S``); NaN where the input does not hold it."""
    tt = float(np.dot(template, template))
    if not tt > 0.0:
        return float("nan")
    best = float("nan")
    reach = int(round(WAVE_SHIFT_S * sample_rate))
    for shift in range(-reach, reach + 1):
        seg = wave_at(raw, raw_first_sample, tick_s, sample_rate, shift=shift)
        if seg is None or seg.size != template.size:
            continue
        ss = float(np.dot(seg, seg))
        if not ss > 0.0:
            continue
        st = float(np.dot(seg, template))
        g = max(0.0, st / tt)
        left = max(0.0, ss - 2.0 * g * st + g * g * tt) / ss
        best = left if not best <= left else best
    return best
