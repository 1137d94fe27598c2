"""A simulated runner: footfall audio whose steps relate to a metronome's beats in a known way.

Used to make session recordings (``samples/session_*.flac``, see ``make_session_samples``) and by
the session tests, which need a microphone signal with footfalls at known offsets from the
beats a session will play (on the beat, early, late, drifting, following a ramp, holding the
cadence through silent minutes).

The footfall sound is the one in ``samples/generate.py`` (heel thump, contact burst,
occasional forefoot slap); backgrounds are breathing and light traffic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from samples.generate import add_at, band_noise, contact_burst, heel_thump  # noqa: E402


def steps_from_beats(
    beat_times_s: np.ndarray,
    *,
    offset_ms: float = 0.0,
    jitter_ms: float = 6.0,
    every_other_step: bool = False,
    drift_ms_per_min: float = 0.0,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[str]]:
    """Footfalls at each beat (and half-way between ticks when one tick marks a stride).

    The runner lands ``offset_ms`` from each beat (negative = early), drifting by
    ``drift_ms_per_min``, with Gaussian jitter. Returns (times_s, feet).
    """
    beats = np.asarray(beat_times_s, dtype=np.float64)
    if every_other_step:
        mids = beats[:-1] + np.diff(beats) / 2
        grid = np.sort(np.concatenate([beats, mids]))
    else:
        grid = beats
    times = grid + offset_ms / 1000 + drift_ms_per_min / 1000 * grid / 60 + rng.normal(0, jitter_ms / 1000, grid.size)
    feet = ["L" if k % 2 == 0 else "R" for k in range(grid.size)]
    keep = times > 0.05
    return times[keep], [f for f, k in zip(feet, keep) if k]


def runner_recording(
    step_times_s: np.ndarray,
    feet: list[str],
    *,
    sample_rate: int,
    duration_s: float,
    seed: int = 0,
    right_gain_db: float = -3.0,
    breathing_db: float = -16.0,
    traffic_db: float = -26.0,
) -> np.ndarray:
    """Mono float64 audio of the footfalls over light breathing and traffic (peak <= 0.9)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate)
    y = np.zeros(n)
    right_gain = 10 ** (right_gain_db / 20)
    for t, foot in zip(step_times_s, feet):
        start = int(round(t * sample_rate))
        g = (right_gain if foot == "R" else 1.0) * 10 ** (rng.uniform(-1.5, 1.5) / 20)
        add_at(y, heel_thump(rng, sample_rate), start, g)
        add_at(y, contact_burst(rng, sample_rate), start + int(rng.uniform(0, 0.002) * sample_rate), 0.25 * g)
        if rng.uniform() < 0.3:
            lag = int(rng.uniform(0.025, 0.060) * sample_rate)
            add_at(y, heel_thump(rng, sample_rate), start + lag, g * 10 ** (rng.uniform(-10, -5) / 20))
    ref = 0.25
    y *= ref
    y += ref * 10 ** (-30 / 20) * band_noise(rng, n, sample_rate, 20.0, None)
    cycle = 0.5 * (1 - np.cos(2 * np.pi * np.arange(n) / (sample_rate * 1.1)))
    y += ref * 10 ** (breathing_db / 20) * band_noise(rng, n, sample_rate, 300.0, 3000.0) * cycle**2
    y += ref * 10 ** (traffic_db / 20) * band_noise(rng, n, sample_rate, 30.0, 400.0)
    peak = np.max(np.abs(y))
    return y * (0.9 / peak) if peak > 0.9 else y
