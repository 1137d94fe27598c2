"""A simulated runner: footfall audio whose steps relate to a metronome's beats in a known way.

Used to make session recordings (``samples/session_*.flac``, see ``make_session_samples``) and by
the session tests, which need a microphone signal with footfalls at known offsets from the
beats a session will play (on the beat, early, late, drifting, following a ramp, holding the
cadence through silent minutes). :class:`ReactiveRunner` closes the loop instead: it
synthesizes the microphone block by block while a session reads it, and can follow the tempo
the metronome plays (the closed-loop controller tests).

The footfall sound is the one in ``samples/generate.py`` (heel thump, contact burst,
occasional forefoot slap); backgrounds are breathing and light traffic.
"""

from __future__ import annotations

import bisect
import math
import sys
from pathlib import Path
from typing import Callable

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


FOOTFALL_LEVEL = 0.25  # footfall peak level in the mix before background (full scale = 1)
FOOTFALL_SOUND_S = 0.25  # a footfall's sound (thump 0.16 s after a slap lag <= 0.06 s) ends within this


def add_footfall(y: np.ndarray, start_sample: int, foot_gain: float, *, rng: np.random.Generator,
                 sample_rate: int) -> None:
    """Add one footfall (heel thump, contact burst, sometimes a forefoot slap) to ``y`` in place.

    ``start_sample`` is the contact (first sample of the thump; may lie outside ``y``, then only
    the part inside is added); ``foot_gain`` is linear, peak ~1 before a random +-1.5 dB.
    """
    g = foot_gain * 10 ** (rng.uniform(-1.5, 1.5) / 20)
    add_at(y, heel_thump(rng, sample_rate), start_sample, g)
    add_at(y, contact_burst(rng, sample_rate), start_sample + int(rng.uniform(0, 0.002) * sample_rate), 0.25 * g)
    if rng.uniform() < 0.3:
        lag = int(rng.uniform(0.025, 0.060) * sample_rate)
        add_at(y, heel_thump(rng, sample_rate), start_sample + lag, g * 10 ** (rng.uniform(-10, -5) / 20))


def add_background(y: np.ndarray, *, rng: np.random.Generator, sample_rate: int, breathing_db: float = -16.0,
                   traffic_db: float = -26.0) -> None:
    """Add wind rumble, breathing (a 1.1 s cycle) and traffic to ``y`` in place (levels re the footfall)."""
    n = y.size
    ref = FOOTFALL_LEVEL
    y += ref * 10 ** (-30 / 20) * band_noise(rng, n, sample_rate, 20.0, None)
    cycle = 0.5 * (1 - np.cos(2 * np.pi * np.arange(n) / (sample_rate * 1.1)))
    y += ref * 10 ** (breathing_db / 20) * band_noise(rng, n, sample_rate, 300.0, 3000.0) * cycle**2
    y += ref * 10 ** (traffic_db / 20) * band_noise(rng, n, sample_rate, 30.0, 400.0)


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
        add_footfall(y, int(round(t * sample_rate)), right_gain if foot == "R" else 1.0, rng=rng,
                     sample_rate=sample_rate)
    y *= FOOTFALL_LEVEL
    add_background(y, rng=rng, sample_rate=sample_rate, breathing_db=breathing_db, traffic_db=traffic_db)
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


class ReactiveRunner:
    """A runner who may follow the metronome, heard through a microphone, synthesized as it is read.

    The object stands in for an open ``soundfile.SoundFile`` (``read``, ``samplerate``,
    ``channels``, ``frames``) as the "microphone" of :class:`coach.duplex.FileBackend`, so a
    simulated session can close the loop: each ``read`` asks ``heard_spm()`` for the tempo the
    metronome plays now, and the runner's cadence follows it ``follow_lag_s`` later. Without
    ``heard_spm`` the runner keeps their own cadence (a runner who does not keep up).

    Footfalls alternate L/R from an ideal rhythm (each interval ``60 / cadence``) with Gaussian
    jitter that does not accumulate; the sounds and background are those of
    :func:`runner_recording`, at the same levels but not normalized.

    Parameters
    ----------
    sample_rate : int > 0
        Hz.
    duration_s : float > 0
        Length of the recording, seconds (``read`` returns 0 frames after it).
    cadence_spm : float > 0
        The runner's own cadence, steps per minute: throughout without ``heard_spm``, else until
        the first heard tempo is ``follow_lag_s`` old.
    heard_spm : callable returning float, or None
        The tempo being played now, spm (e.g. ``lambda: clock.next_spm``). May be set after
        construction (the clock is built from this source).
    follow_lag_s : float >= 0
        A follower's cadence is the tempo they heard this many seconds ago.
    follow_until_s : float or None
        From this time on (seconds) a follower gives up and returns to ``cadence_spm``
        (None: follows to the end).
    jitter_ms : float >= 0
        Standard deviation of each footfall around the ideal rhythm, ms (clipped at 4 SD).
    first_step_s : float >= 0
        Time of the first footfall, seconds.
    right_gain_db : float
        Level of right-foot footfalls relative to the left, dB.
    seed : int

    Attributes
    ----------
    step_times_s : list of float
        Every footfall synthesized so far (contact times, seconds).
    step_cadence_spm : list of float
        The runner's cadence when each of those footfalls was planned, spm.
    """

    channels = 1

    def __init__(
        self,
        *,
        sample_rate: int,
        duration_s: float,
        cadence_spm: float,
        heard_spm: Callable[[], float] | None = None,
        follow_lag_s: float = 3.0,
        follow_until_s: float | None = None,
        jitter_ms: float = 6.0,
        first_step_s: float = 0.3,
        right_gain_db: float = -3.0,
        seed: int = 0,
    ) -> None:
        if cadence_spm <= 0 or duration_s <= 0 or follow_lag_s < 0 or jitter_ms < 0:
            raise ValueError("cadence and duration must be positive, follow lag and jitter >= 0 "
                             f"(got {cadence_spm} spm, {duration_s} s, {follow_lag_s} s, {jitter_ms} ms)")
        self.samplerate = int(sample_rate)
        self.frames = int(round(duration_s * sample_rate))
        self.cadence_spm = float(cadence_spm)
        self.heard_spm = heard_spm
        self.follow_lag_s = float(follow_lag_s)
        self.follow_until_s = math.inf if follow_until_s is None else float(follow_until_s)
        self.jitter_s = jitter_ms / 1000.0
        self.right_gain = 10 ** (right_gain_db / 20)
        self.step_times_s: list[float] = []
        self.step_cadence_spm: list[float] = []
        self._rng = np.random.default_rng(seed)
        self._background = np.zeros(self.frames)
        add_background(self._background, rng=self._rng, sample_rate=self.samplerate)
        self._heard_times_s: list[float] = []
        self._heard_values_spm: list[float] = []
        self._next_ideal_s = float(first_step_s)
        self._lookahead_s = 4 * self.jitter_s
        self._tail = int((self._lookahead_s + FOOTFALL_SOUND_S) * self.samplerate) + 1
        self._pending = np.zeros(self._tail)  # footfall sound from position on, not yet read
        self._position = 0

    def cadence_at(self, time_s: float) -> float:
        """The runner's cadence at ``time_s`` (spm): the tempo heard ``follow_lag_s`` earlier, or
        their own before the first heard tempo is that old and after ``follow_until_s``."""
        if time_s >= self.follow_until_s:
            return self.cadence_spm
        k = bisect.bisect_right(self._heard_times_s, time_s - self.follow_lag_s)
        return self.cadence_spm if k == 0 else self._heard_values_spm[k - 1]

    def read(self, frames: int, dtype: str = "float32", always_2d: bool = True,
             out: np.ndarray | None = None) -> np.ndarray:
        """The next ``frames`` frames (fewer at the end), shape (n, 1) (or (n,) without ``always_2d``)."""
        sr = self.samplerate
        n = max(0, min(int(frames), self.frames - self._position))
        if self.heard_spm is not None:
            self._heard_times_s.append(self._position / sr)
            self._heard_values_spm.append(float(self.heard_spm()))
        if self._pending.size < n + self._tail:
            self._pending = np.concatenate([self._pending, np.zeros(n + self._tail - self._pending.size)])
        end_s = (self._position + n) / sr
        while self._next_ideal_s < end_s + self._lookahead_s:
            jitter_s = float(np.clip(self._rng.normal(0.0, self.jitter_s), -self._lookahead_s, self._lookahead_s))
            time_s = self._next_ideal_s + jitter_s
            foot_gain = self.right_gain if len(self.step_times_s) % 2 else 1.0
            add_footfall(self._pending, int(round(time_s * sr)) - self._position, foot_gain, rng=self._rng,
                         sample_rate=sr)
            cadence = self.cadence_at(self._next_ideal_s)
            self.step_times_s.append(time_s)
            self.step_cadence_spm.append(cadence)
            self._next_ideal_s += 60.0 / cadence
        if out is None:
            out = np.empty((n, 1), dtype=dtype)
        block = out[:n]
        block[:, 0] = FOOTFALL_LEVEL * self._pending[:n] + self._background[self._position : self._position + n]
        self._pending = np.concatenate([self._pending[n:], np.zeros(n)])
        self._position += n
        return block if always_2d else block[:, 0]
