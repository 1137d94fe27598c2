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
