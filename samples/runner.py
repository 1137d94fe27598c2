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


# --------------------------------------------------------------------------------------------
# The demo session recording (``cadence demo`` runs a session against it)
# --------------------------------------------------------------------------------------------

DEMO = {
    "file": "session_demo.ogg",
    "sample_rate": 22050,
    "duration_s": 240.0,
    "baseline_spm": 164.0,
    "target_spm": 175.0,
    "plan": "intervals",
    "ramp_s": 60.0,
    "offset_ms": -15.0,
    "jitter_ms": 8.0,
    "off_cadence_spm": 171.0,  # in the silent minute the runner drifts back to this cadence
}


def demo_steps(beat_times_s: np.ndarray, sounding: np.ndarray, *, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """The demo runner: on the beat (15 ms early) while ticks sound; in silent stretches the
    cadence relaxes linearly from the last tempo to ``off_cadence_spm`` over 30 s."""
    times: list[float] = []
    k = 0
    while k < beat_times_s.size:
        if sounding[k]:
            times.append(beat_times_s[k] + DEMO["offset_ms"] / 1000 + rng.normal(0, DEMO["jitter_ms"] / 1000))
            k += 1
            continue
        start = k
        while k < beat_times_s.size and not sounding[k]:
            k += 1
        t = beat_times_s[start]
        end = beat_times_s[k] if k < beat_times_s.size else beat_times_s[-1]
        period0 = beat_times_s[start] - beat_times_s[start - 1] if start > 0 else 60 / DEMO["target_spm"]
        period1 = 60.0 / DEMO["off_cadence_spm"]
        t0 = t
        off: list[float] = []
        while t < end - 0.5 * period0:
            off.append(t)
            frac = min((t - t0) / 30.0, 1.0)
            t += period0 + (period1 - period0) * frac
        if k < beat_times_s.size and len(off) > 10:
            # Back on the beat when the ticks return: spread the phase change over the last 10 steps.
            shift = (beat_times_s[k] + DEMO["offset_ms"] / 1000 - period1) - off[-1]
            while shift > period1 / 2:
                off.append(off[-1] + period1)
                shift -= period1
            while shift < -period1 / 2:
                off.pop()
                shift += period1
            for i in range(10):
                off[-10 + i] += shift * (i + 1) / 10
        times.extend(x + rng.normal(0, DEMO["jitter_ms"] / 1000) for x in off)
    steps = np.array(times)
    steps = steps[(steps > 0.05) & (steps < DEMO["duration_s"] - 0.3)]
    return steps, ["L" if i % 2 == 0 else "R" for i in range(steps.size)]


def make_demo(directory: Path | None = None) -> Path:
    """Write ``samples/session_demo.ogg`` and its ground truth ``session_demo.json``."""
    import json

    import soundfile as sf

    from metronome.plans import Timeline, load_plan
    from metronome.schedule import BeatClock

    directory = directory or ROOT / "samples"
    sr = DEMO["sample_rate"]
    plan = load_plan(DEMO["plan"], target_spm=DEMO["target_spm"], baseline_spm=DEMO["baseline_spm"])
    timeline = Timeline(plan, duration_s=DEMO["duration_s"], baseline_spm=DEMO["baseline_spm"], ramp_s=DEMO["ramp_s"])
    ticks = list(BeatClock(timeline, sr).ticks_until(int(DEMO["duration_s"] * sr)))
    beats = np.array([t.start_sample / sr for t in ticks])
    sounding = np.array([t.sounding for t in ticks])
    steps, feet = demo_steps(beats, sounding, rng=np.random.default_rng(2026))
    audio = runner_recording(steps, feet, sample_rate=sr, duration_s=DEMO["duration_s"], seed=2026)
    path = directory / DEMO["file"]
    with sf.SoundFile(path, "w", sr, 1, format="OGG", subtype="VORBIS") as out:
        for i in range(0, audio.size, sr):  # libsndfile's Vorbis encoder crashes on very large writes
            out.write(audio[i : i + sr].astype(np.float32))
    truth = {**DEMO, "steps": [{"time_s": round(float(t), 6), "foot": f} for t, f in zip(steps, feet)]}
    path.with_suffix(".json").write_text(json.dumps(truth, indent=1) + "\n")
    return path


if __name__ == "__main__":
    print(make_demo())
