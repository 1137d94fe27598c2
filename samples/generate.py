"""Generate the footfall recordings in samples/ with their ground truth.

Usage (from the repository root)::

    python samples/generate.py                 # writes every samples/<condition>.<ext> + .json
    python samples/generate.py music_earbud    # only the named conditions

Step timing comes from the real treadmill labels of ``../shared/data/soundtrackdb/<session>.csv``
(``YOLO_Start_Time``, ``YOLO_Foot``; SoundTrackDB, MIT licence, Columbia ICSL; the columns used are
copied into ``tests/data/soundtrackdb/``, which is what this script reads), optionally
time-scaled (cadence variation) and with an added left/right step-time asymmetry. Label glitches
(a step closer than 55 % of the local median interval to the previous one: video detection
errors, not running) are dropped and counted in the JSON.

The sound of a footfall is synthesized: a body-conducted heel thump (damped 55-110 Hz sine with
a 2 ms attack, falling pitch), a shoe/surface contact burst (band-passed noise, 0.6-4 kHz), and
optionally a forefoot slap 25-60 ms later (one footfall, not two). The ground-truth time is the
first sample of the heel thump. Backgrounds: breathing, wind rumble with gusts, traffic,
treadmill motor hum and belt noise, music with kick drums, the metronome's ticks (from
``metronome.clicks.make_tick``) off or on the beat; then level swings, clipping and DC offset.

Everything is seeded: the output is the same on every run with the same numpy/scipy.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SOUNDTRACKDB = ROOT / "tests" / "data" / "soundtrackdb"  # the step-label columns of ../shared/data/soundtrackdb
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def tick_source(sound: str, sample_rate: int) -> np.ndarray:
    """The metronome tick as the mic hears it before level scaling (one swappable function)."""
    from metronome.clicks import make_tick

    return make_tick(sound, sample_rate).astype(np.float64)


# --------------------------------------------------------------------------------------------
# Real step timing
# --------------------------------------------------------------------------------------------


def load_soundtrack_steps(session: str, *, directory: Path = SOUNDTRACKDB) -> tuple[np.ndarray, list[str]]:
    """``YOLO_Start_Time`` (s) and ``YOLO_Foot`` ('L'/'R') of one SoundTrackDB session."""
    path = directory / f"{session}.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    times = np.array([float(r["YOLO_Start_Time"]) for r in rows])
    feet = [r["YOLO_Foot"].strip().upper() for r in rows]
    return times, feet


def clean_steps(times_s: np.ndarray, feet: list[str], *, min_fraction: float = 0.55) -> tuple[np.ndarray, list[str], int]:
    """Drop label glitches: steps closer than ``min_fraction`` x local median interval."""
    keep = [0]
    for i in range(1, times_s.size):
        lo, hi = max(0, i - 8), min(times_s.size - 1, i + 8)
        med = float(np.median(np.diff(times_s[lo : hi + 1])))
        if times_s[i] - times_s[keep[-1]] >= min_fraction * med:
            keep.append(i)
    idx = np.array(keep)
    return times_s[idx], [feet[i] for i in idx], int(times_s.size - idx.size)


def step_schedule(
    session: str, *, start_s: float, duration_s: float, time_scale: float = 1.0, asymmetry_ms: float = 0.0,
    lead_in_s: float = 0.5,
) -> tuple[np.ndarray, list[str], dict]:
    """Footfall times for one sample: a window of a real session, scaled and shifted.

    ``asymmetry_ms`` > 0 delays every R footfall by half of it: L->R steps get longer and R->L
    steps shorter by ``asymmetry_ms``/2 each, so (L->R) - (R->L) grows by ``asymmetry_ms``.
    """
    times, feet = load_soundtrack_steps(session)
    times, feet, n_dropped = clean_steps(times, feet)
    sel = (times >= start_s) & (times < start_s + duration_s / time_scale)
    t = (times[sel] - start_s) * time_scale + lead_in_s
    f = [ft for ft, s in zip(feet, sel) if s]
    if asymmetry_ms:
        t = t + np.array([asymmetry_ms / 2000.0 if ft == "R" else 0.0 for ft in f])
    keep = t < duration_s - 0.3
    t, f = t[keep], [ft for ft, k in zip(f, keep) if k]
    info = {
        "session": session, "path": f"../shared/data/soundtrackdb/{session}.csv", "start_s": start_s,
        "time_scale": time_scale, "asymmetry_ms": asymmetry_ms, "label_glitches_dropped": n_dropped,
    }
    return t, f, info


# --------------------------------------------------------------------------------------------
# Sounds
# --------------------------------------------------------------------------------------------


def heel_thump(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A body-conducted heel thump, peak ~1, onset at sample 0."""
    n = int(0.16 * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = rng.uniform(55.0, 110.0)
    f = f0 * (1.0 + 0.5 * np.exp(-t / 0.02))  # pitch falls as the heel loads
    phase = 2 * np.pi * np.cumsum(f) / sample_rate
    tau = rng.uniform(0.025, 0.045)
    attack = np.minimum(1.0, t / 0.002)
    y = np.sin(phase) * np.exp(-t / tau) * attack
    return y / np.max(np.abs(y))


def contact_burst(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """Shoe/surface contact noise, band-passed 0.6-4 kHz, 6 ms decay."""
    n = int(0.04 * sample_rate)
    hi = min(4000.0, 0.45 * sample_rate)
    sos = signal.butter(2, [600.0, hi], btype="bandpass", fs=sample_rate, output="sos")
    y = signal.sosfilt(sos, rng.standard_normal(n)) * np.exp(-np.arange(n) / (0.006 * sample_rate))
    return y / (np.max(np.abs(y)) + 1e-12)


def add_at(out: np.ndarray, x: np.ndarray, start_sample: int, gain: float) -> None:
    if start_sample >= out.size or start_sample + x.size <= 0:
        return
    a, b = max(0, start_sample), min(out.size, start_sample + x.size)
    out[a:b] += gain * x[a - start_sample : b - start_sample]


def band_noise(rng: np.random.Generator, n: int, sample_rate: int, low_hz: float | None, high_hz: float | None) -> np.ndarray:
    x = rng.standard_normal(n)
    nyq = 0.45 * sample_rate
    if low_hz and high_hz:
        sos = signal.butter(2, [low_hz, min(high_hz, nyq)], btype="bandpass", fs=sample_rate, output="sos")
    elif high_hz:
        sos = signal.butter(2, min(high_hz, nyq), btype="lowpass", fs=sample_rate, output="sos")
    else:
        sos = signal.butter(2, low_hz, btype="highpass", fs=sample_rate, output="sos")
    y = signal.sosfilt(sos, x)
    return y / (np.std(y) + 1e-12)


def slow_envelope(rng: np.random.Generator, n: int, sample_rate: int, period_s: float, depth: float) -> np.ndarray:
    """A smooth random gain curve (1 +- depth) with features every ~period_s."""
    k = max(2, int(n / sample_rate / period_s) + 2)
    knots = 1.0 + depth * rng.uniform(-1, 1, k)
    return np.interp(np.arange(n), np.linspace(0, n, k), knots)


def kick_drum(sample_rate: int) -> np.ndarray:
    n = int(0.25 * sample_rate)
    t = np.arange(n) / sample_rate
    f = 50.0 + 100.0 * np.exp(-t / 0.03)
    y = np.sin(2 * np.pi * np.cumsum(f) / sample_rate) * np.exp(-t / 0.08) * np.minimum(1.0, t / 0.001)
    return y


# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------


@dataclass
class Condition:
    name: str
    description: str
    session: str
    start_s: float
    sample_rate: int
    fmt: str  # "wav", "flac", "ogg"
    channels: int = 1
    duration_s: float = 12.0
    time_scale: float = 1.0
    asymmetry_ms: float = 0.0
    right_gain_db: float = -3.0  # right foot relative to left
    slap_probability: float = 0.3
    thump_snr_db: float = 30.0  # thump peak vs broadband background noise rms
    layers: dict = field(default_factory=dict)
    gain_swing_db: float = 0.0
    clip_gain: float = 0.0  # > 0: multiply by this and clip at +-1
    dc_offset: float = 0.0
    extreme: bool = False
    seed: int = 0


CONDITIONS = [
    Condition("road_earbud", "earbud mic on the road: breathing, light traffic, level swings of +-6 dB, "
              "L/R loudness differ by 4 dB", "d17_P16_9_0", 20.0, 44100, "flac", channels=2, duration_s=12.0,
              right_gain_db=-4.0, slap_probability=0.4,
              layers={"breathing": -14.0, "traffic": -24.0}, gain_swing_db=6.0, seed=1),
    Condition("wind_armband", "phone in an armband, strong wind rumble with gusts, breathing",
              "d04_P47_9_0", 30.0, 48000, "flac", thump_snr_db=26.0,
              layers={"wind": -20.0, "breathing": -18.0}, seed=2),
    Condition("treadmill_console", "phone on a treadmill console: motor hum 50 Hz + harmonics, belt "
              "noise, quieter thumps", "d17_P09_6_0", 40.0, 16000, "wav", thump_snr_db=24.0,
              layers={"hum": -14.0, "belt": -14.0}, slap_probability=0.5, duration_s=20.0, seed=3),
    Condition("metronome_offbeat", "earbud mic hears loud woodblock ticks at 160 spm while the runner "
              "runs at ~150 spm (ticks drift through the steps)", "d57_P35_6_0", 20.0, 48000, "ogg",
              layers={"ticks_offbeat": 6.0, "breathing": -16.0}, seed=4),
    Condition("metronome_onbeat", "runner in sync: a loud click tick lands on every footfall "
              "(0-4 ms after contact), plus breathing", "d04_P47_8_0", 60.0, 22050, "wav",
              layers={"ticks_onbeat": 6.0, "breathing": -16.0}, seed=5),
    Condition("music_earbud", "music leaking from the earbuds: kick drum at 124 bpm (-16 dB re the "
              "left thump), bass line, hi-hats", "d17_P15_10_0", 30.0, 48000, "flac",
              layers={"music": -16.0}, right_gain_db=-2.0, seed=6),
    Condition("asymmetric_fast", "fast (~195 spm after time scaling) with a 30 ms L->R vs R->L "
              "step-time asymmetry and the right foot 6 dB quieter; 96 kHz", "d17_P16_9_0", 60.0,
              96000, "flac", duration_s=8.0, time_scale=171.3 / 195.0, asymmetry_ms=30.0,
              right_gain_db=-6.0, layers={"breathing": -16.0}, seed=7),
    Condition("clipped_8k", "extreme: 8 kHz phone recording driven 18 dB into clipping with a DC "
              "offset of 0.2 and traffic; cadence ~152 spm (time-scaled)", "d57_P35_5_1", 30.0, 8000,
              "wav", time_scale=143.9 / 152.0, layers={"traffic": -20.0, "breathing": -14.0},
              clip_gain=8.0, dc_offset=0.2, extreme=True, seed=8),
]


def render(cond: Condition) -> tuple[np.ndarray, dict]:
    """Render one condition: (audio (n,) or (n, channels) float64 within -1..1, ground truth)."""
    rng = np.random.default_rng(1000 + cond.seed)
    sr = cond.sample_rate
    n = int(cond.duration_s * sr)
    times_s, feet, info = step_schedule(
        cond.session, start_s=cond.start_s, duration_s=cond.duration_s, time_scale=cond.time_scale,
        asymmetry_ms=cond.asymmetry_ms,
    )
    steps = np.zeros(n)
    right_gain = 10 ** (cond.right_gain_db / 20)
    for t, ft in zip(times_s, feet):
        start = int(round(t * sr))
        g = (right_gain if ft == "R" else 1.0) * 10 ** (rng.uniform(-1.5, 1.5) / 20)
        add_at(steps, heel_thump(rng, sr), start, g)
        add_at(steps, contact_burst(rng, sr), start + int(rng.uniform(0.0, 0.002) * sr), 0.25 * g)
        if rng.uniform() < cond.slap_probability:
            lag = int(rng.uniform(0.025, 0.060) * sr)
            add_at(steps, heel_thump(rng, sr), start + lag, g * 10 ** (rng.uniform(-10, -5) / 20))
    ref = 0.25  # thump peak of the left foot before swings
    y = ref * steps
    noise_rms = ref * 10 ** (-cond.thump_snr_db / 20)
    y += noise_rms * band_noise(rng, n, sr, 20.0, None)  # mic self-noise / room
    ticks_s: list[float] = []
    level = lambda db: ref * 10 ** (db / 20)  # noqa: E731 - dB relative to the thump peak
    for name, db in cond.layers.items():
        if name == "breathing":
            breath = band_noise(rng, n, sr, 300.0, 3000.0)
            cycle = 0.5 * (1 - np.cos(2 * np.pi * np.arange(n) / (sr * rng.uniform(0.9, 1.3))))
            y += level(db) * breath * cycle**2
        elif name == "traffic":
            y += level(db) * band_noise(rng, n, sr, 30.0, 400.0) * slow_envelope(rng, n, sr, 3.0, 0.7)
        elif name == "wind":
            gusts = slow_envelope(rng, n, sr, 1.5, 0.8)
            y += level(db) * band_noise(rng, n, sr, None, 150.0) * gusts
            y += level(db - 10) * band_noise(rng, n, sr, 150.0, 2000.0) * gusts
        elif name == "hum":
            t = np.arange(n) / sr
            hum = sum(a * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) for f, a in
                      ((50.0, 1.0), (100.0, 0.6), (150.0, 0.3), (200.0, 0.2)))
            y += level(db) * hum / 1.3
        elif name == "belt":
            belt = band_noise(rng, n, sr, 200.0, 5000.0)
            y += level(db) * belt * (1 + 0.3 * np.sin(2 * np.pi * np.arange(n) / sr / 0.9))
        elif name in ("ticks_offbeat", "ticks_onbeat"):
            sound = "woodblock" if name == "ticks_offbeat" else "click"
            tick = tick_source(sound, sr)
            if name == "ticks_offbeat":
                ticks = np.arange(0.3, cond.duration_s, 60.0 / 160.0)
            else:
                ticks = times_s + rng.uniform(0.0, 0.004, times_s.size)
            for tt in ticks:
                add_at(y, tick, int(round(tt * sr)), level(db))
            ticks_s = [round(float(tt), 6) for tt in ticks]
        elif name == "music":
            beat_s = 60.0 / 124.0
            kick = kick_drum(sr)
            for k, tt in enumerate(np.arange(0.1, cond.duration_s, beat_s)):
                add_at(y, kick, int(round(tt * sr)), level(db))
            t = np.arange(n) / sr
            notes = np.array([55.0, 55.0, 65.4, 49.0])[(t / (2 * beat_s)).astype(int) % 4]
            y += level(db - 6) * np.sin(2 * np.pi * np.cumsum(notes) / sr)
            hat = band_noise(rng, int(0.03 * sr), sr, 6000.0 if sr > 14000 else 3000.0, None)
            hat *= np.exp(-np.arange(hat.size) / (0.008 * sr))
            for tt in np.arange(0.1 + beat_s / 2, cond.duration_s, beat_s):
                add_at(y, hat, int(round(tt * sr)), level(db - 4))
        else:
            raise ValueError(f"unknown layer {name}")
    if cond.gain_swing_db:
        y *= 10 ** (cond.gain_swing_db / 20 * (slow_envelope(rng, n, sr, 4.0, 1.0) - 1.0))
    if cond.clip_gain:
        y = np.clip(y * cond.clip_gain + cond.dc_offset, -1.0, 1.0)
    elif cond.dc_offset:
        y = y + cond.dc_offset
    peak = np.max(np.abs(y))
    if peak > 0.98:
        y *= 0.98 / peak
    if cond.channels == 2:
        y = np.stack([y, 0.8 * y + 0.02 * rng.standard_normal(n) * noise_rms / ref], axis=1)
    truth = {
        "condition": cond.name,
        "description": cond.description,
        "sample_rate": sr,
        "channels": cond.channels,
        "duration_s": cond.duration_s,
        "extreme": cond.extreme,
        "source": info,
        "right_gain_db": cond.right_gain_db,
        "steps": [{"time_s": round(float(t), 6), "foot": ft} for t, ft in zip(times_s, feet)],
        "ticks_s": ticks_s,
    }
    return y, truth


def write(cond: Condition, directory: Path = SAMPLES) -> Path:
    y, truth = render(cond)
    path = directory / f"{cond.name}.{cond.fmt}"
    subtype = {"wav": "PCM_16", "flac": "PCM_16", "ogg": "VORBIS"}[cond.fmt]
    sf.write(path, y.astype(np.float32), cond.sample_rate, subtype=subtype)
    path.with_suffix(".json").write_text(json.dumps(truth, indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="conditions to write (default: all)")
    args = parser.parse_args(argv)
    for cond in CONDITIONS:
        if args.names and cond.name not in args.names:
            continue
        path = write(cond)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
