"""The footfall benchmark corpus: real footstep sounds at real step times, through modelled
microphones, in scenes the detector was not designed around.

An item (= one condition) is surface x scene x mic path, rendered for one split:

- **surface**: single steps cut from a labelled real clip of ``../shared/data/footsteps-real``
  (from 5 ms before the labelled onset to the next labelled step or burst, at most 250 ms; heel/toe
  double hits and scuffs inside that span are kept; 3 ms fade-in, 25 ms fade-out), or the synthetic
  heel thump + contact burst of ``samples/generate.py`` ("synthetic").
- **step times**: real per-foot running times (``YOLO_Start_Time``) of SoundTrackDB sessions
  (label glitches dropped as in samples/generate.py), or generated walking (90-130 spm), ramp
  (160 -> 180 spm) and stop (10 s standing) schedules with realistic jitter.
- **scene**: background layers and distractors (see ``SCENES``); metronome ticks are passed to
  the detector as a run would (the heard tick times).
- **mic path**: see ``benchmarks.footfall.micpaths``.

Ground truth = the time at which each step's labelled onset was placed. Everything is seeded
from the split, scene, surface and mic names: the corpus is the same on every run.
The dev and eval splits use different clips (surfaces, texture clips), different runners
(SoundTrackDB subjects) AND different microphones of each kind (``MIC_MODELS``); see ``SPLITS``.
A third, ``redraw``, is the dev material drawn again under another seed (not held out: a check
that a rule tuned on dev does not live on dev's particular draws); ``eval_redraw`` the eval
material drawn again (reported like eval).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from benchmarks.footfall.labels import CLIPS, load_labels
from benchmarks.footfall.micpaths import DEV_MICS, EVAL_MICS, MIC_PATHS, MicModels, apply_mic
from samples.generate import (
    add_at,
    band_noise,
    clean_steps,
    contact_burst,
    heel_thump,
    kick_drum,
    load_soundtrack_steps,
    slow_envelope,
    tick_source,
)

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "benchmarks" / ".cache" / "footfall"
CORPUS_VERSION = 7  # bump when the generator changes: the cache is keyed by it
SAMPLE_RATE = 44100
STEP_REF = 0.25  # peak of a (left) step before the mic path
PRE_ONSET_S = 0.005
MAX_CUT_S = 0.25


@dataclass(frozen=True)
class Split:
    name: str
    surfaces: tuple[str, ...]  # real surfaces (clips) + "synthetic"
    sessions: tuple[str, ...]  # SoundTrackDB sessions (runners)
    textures: tuple[str, ...]  # textured clips: no confident cadence expected
    rhythmic_textures: tuple[str, ...]  # rustle/faint clicks with a slow steady pattern: information only


# Fixed split: different clips and different runners (SoundTrackDB subjects) in each.
# dev runners: P35 (2 sessions), P09, P11; eval runners: P47 (2 sessions), P16, P15.
SPLITS = {
    "dev": Split("dev", ("shower", "dirt_rocks", "crunchy_ice", "synthetic"),
                 ("d57_P35_5_1", "d57_P35_6_0", "d17_P09_6_0", "d55_P11_7_0"), ("long_grass",), ("street",)),
    "eval": Split("eval", ("wooden_stairs", "carpet", "wet_snow", "synthetic"),
                  ("d04_P47_8_0", "d04_P47_9_0", "d17_P16_9_0", "d17_P15_10_0"), ("gravel_pavement",), ("woodland",)),
}
# A second draw of the dev material: dev's clips, runners and microphones, every random draw made
# again under another seed name (which steps of each clip, where in a runner's session, the gusts,
# the music's tempo, the tick sound, the clicks, the mic paths' noise). A rule fitted to dev's own
# draws shows here; one that holds moves both alike. Not held-out material (eval is): tune on dev,
# check on the redraw, report eval.
# ``eval_redraw`` does the same with the eval material, to report how much one draw's figures
# depend on the draw (scored like eval: never tuned on).
# ``redraw2`` is a third draw of the dev material, for checking rules once the redraw has been used
# to judge them; ``redraw3`` a fourth, the check once dev, redraw and redraw2 have all judged rules.
REDRAWN = {"redraw": "dev", "redraw2": "dev", "redraw3": "dev", "eval_redraw": "eval"}
SPLITS.update({name: replace(SPLITS[base], name=name) for name, base in REDRAWN.items()})

# Each split records through its own devices of the six kinds (benchmarks/footfall/micpaths.py).
MIC_MODELS: dict[str, MicModels] = {"dev": DEV_MICS, "eval": EVAL_MICS, "redraw": DEV_MICS, "redraw2": DEV_MICS,
                                    "redraw3": DEV_MICS, "eval_redraw": EVAL_MICS}

# scene -> (kind of schedule, duration_s, description)
SCENES = {
    "quiet_road": ("run", 20.0, "road: light traffic, breathing, mic self-noise"),
    "wind": ("run", 20.0, "gusty wind: rumble below 150 Hz at -14 dB re a step's peak (rms, gusts 0.2-1.8x every ~1.5 s) + 150-2000 Hz at -24 dB"),
    "treadmill": ("run", 20.0, "treadmill: 50 Hz motor hum + harmonics, belt hiss, deck impact thud under each "
                               "step, belt seam click once per belt turn"),
    "music": ("run", 20.0, "earbud music leaking: kick drums at another tempo (128-140 bpm) at -12 dB re a step, bass -20 dB, hi-hats -18 dB"),
    "metronome_on": ("run", 20.0, "metronome ticks on the beat (0-20 ms around each footfall), as loud as a step; "
                                  "tick times given to the detector"),
    "metronome_off": ("run", 20.0, "metronome ticks 6 % off the running cadence (drifting through the steps), "
                                   "as loud as a step; tick times given to the detector"),
    "metronome_steady": ("entrained", 20.0, "a steady metronome at the runner's median step (as loud as a step) and "
                                            "a runner on its beat: each footfall a tick plus an asynchrony that "
                                            "wanders (AR(1), sd 20 ms, mean 0 to -30 ms); tick times given to the "
                                            "detector; information only"),
    "clicks": ("run", 20.0, "loud off-rhythm clicks (keys, phone handling) 6 dB above a step, ~0.6 per second"),
    "stop": ("stop", 32.0, "11 s running, 10 s standing (traffic light), 11 s running"),
    "ramp": ("ramp", 30.0, "cadence ramp 160 -> 180 spm over 30 s"),
    "walk": ("walk", 20.0, "walking at 90-130 spm with 2-3 % step-time jitter"),
}
TEXTURE_SCENE = "texture"  # the split's textured clips, 4 random rotations of each back to back (20 s)
RHYTHMIC_SCENE = "texture_rhythmic"  # the same for street / woodland (a slow ~0.85 s pattern): information only
REAL_SCENE = "real"  # the split's labelled clips as recorded (5 s, walking): scored for information, no bars
TEXTURE_WIND_SCENE = "texture_wind"  # the texture clips in the gusty-wind bed
TEXTURE_SCENES = (TEXTURE_SCENE, TEXTURE_WIND_SCENE, RHYTHMIC_SCENE)
EXTRA_SCENES = (TEXTURE_SCENE, TEXTURE_WIND_SCENE, RHYTHMIC_SCENE, REAL_SCENE)
INFO_SCENES = ("metronome_steady", RHYTHMIC_SCENE, REAL_SCENE)  # scored, no bars (added after the bars were set)


@dataclass
class Item:
    split: str
    surface: str
    scene: str
    mic: str
    truth_s: np.ndarray = field(repr=False)
    ticks_s: np.ndarray | None = field(repr=False)
    texture: bool
    duration_s: float
    info_only: bool = False  # scored, but no bar applies
    path: Path | None = None  # the cached audio

    @property
    def name(self) -> str:
        return f"{self.split}/{self.scene}/{self.surface}/{self.mic}"


def _seed(*parts: object) -> int:
    """A seed from names only (not CORPUS_VERSION: a fix to one scene leaves the others' draws alone)."""
    return zlib.crc32("/".join(map(str, parts)).encode())


# --------------------------------------------------------------------------------------------
# Step sounds
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _clip_info() -> dict[str, tuple[str, dict]]:
    return {v["surface"]: (name, v) for name, v in load_labels()["clips"].items()}


@lru_cache(maxsize=None)
def cut_steps(surface: str) -> tuple[np.ndarray, ...]:
    """Single steps of a real surface, each starting PRE_ONSET_S before its labelled onset,
    normalized to peak 1, at SAMPLE_RATE."""
    name, info = _clip_info()[surface]
    y, sr = sf.read(CLIPS / name)
    assert sr == SAMPLE_RATE, f"{name}: expected {SAMPLE_RATE} Hz"
    y = signal.sosfiltfilt(signal.butter(2, 20.0, btype="highpass", fs=sr, output="sos"), y)
    onsets = sorted(info["onsets_s"])
    steps = []
    for on in info["cut_onsets_s"]:
        later = [o for o in onsets if o > on + 0.02]
        end_s = min(on + MAX_CUT_S, (later[0] - PRE_ONSET_S) if later else on + MAX_CUT_S, y.size / sr)
        a, b = int(round((on - PRE_ONSET_S) * sr)), int(round(end_s * sr))
        seg = y[max(0, a) : b].copy()
        if a < 0:
            seg = np.concatenate([np.zeros(-a), seg])
        n_in, n_out = int(0.003 * sr), min(int(0.025 * sr), seg.size // 3)
        seg[:n_in] *= np.linspace(0.0, 1.0, n_in)
        seg[seg.size - n_out :] *= np.linspace(1.0, 0.0, n_out)
        steps.append(seg / np.max(np.abs(seg)))
    return tuple(steps)


def synthetic_step(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """samples/generate.py's footfall (heel thump + contact burst, sometimes a forefoot slap),
    starting PRE_ONSET_S before the thump's first sample."""
    pre = int(PRE_ONSET_S * sample_rate)
    out = np.zeros(pre + int(0.25 * sample_rate))
    add_at(out, heel_thump(rng, sample_rate), pre, 1.0)
    add_at(out, contact_burst(rng, sample_rate), pre + int(rng.uniform(0.0, 0.002) * sample_rate), 0.25)
    if rng.uniform() < 0.3:
        add_at(out, heel_thump(rng, sample_rate), pre + int(rng.uniform(0.025, 0.060) * sample_rate),
               10 ** (rng.uniform(-10, -5) / 20))
    return out / np.max(np.abs(out))


# --------------------------------------------------------------------------------------------
# Step schedules
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _session(session: str) -> tuple[np.ndarray, tuple[str, ...]]:
    t, feet = load_soundtrack_steps(session)
    t, feet, _ = clean_steps(t, feet)
    return t, tuple(feet)


def running_times(session: str, rng: np.random.Generator, duration_s: float, lead_in_s: float = 0.6) -> np.ndarray:
    """A window of ``duration_s`` of a session's real step times, starting at a random step."""
    t, _ = _session(session)
    starts = np.flatnonzero(t < t[-1] - duration_s - 1.0)
    t0 = t[int(rng.choice(starts))]
    w = t[(t >= t0) & (t < t0 + duration_s)] - t0 + lead_in_s
    return w[w < duration_s - 0.3]


def jittered_times(rng: np.random.Generator, cadence_spm: np.ndarray | float, duration_s: float, *,
                   jitter: float, start_s: float = 0.6, asym: float = 0.0) -> np.ndarray:
    """Steps at a (possibly time-varying) cadence with Gaussian step-time jitter (fraction of the
    interval) and a small left/right asymmetry (fraction, alternating sign)."""
    times, t, k = [], start_s, 0
    while t < duration_s - 0.3:
        times.append(t)
        spm = float(np.interp(t, np.linspace(0, duration_s, np.size(cadence_spm)), np.atleast_1d(cadence_spm)))
        base = 60.0 / spm
        t += base * (1 + rng.normal(0, jitter) + (asym if k % 2 else -asym))
        k += 1
    return np.array(times)


def entrained_times(rng: np.random.Generator, duration_s: float, period_s: float) -> tuple[np.ndarray, np.ndarray]:
    """A steady metronome every ``period_s`` (a runner's median step) and a runner on its beat:
    (steps, ticks).

    What a runner with the product meets: the ticks keep time, the footfalls do not. Each footfall
    is its tick plus an asynchrony that wanders from step to step (AR(1), coefficient 0.5, sd 20 ms)
    around a mean of 0 to -30 ms (footfalls tend to land before the beat).
    """
    ticks = np.arange(rng.uniform(0.4, 0.7), duration_s - 0.3, period_s)
    phi, sd = 0.5, 0.020
    a = np.empty(ticks.size)
    a[0] = rng.normal(0.0, sd)
    for k in range(1, a.size):
        a[k] = phi * a[k - 1] + rng.normal(0.0, sd * np.sqrt(1 - phi * phi))
    steps = ticks + a + rng.uniform(-0.030, 0.0)
    keep = (steps > 0.3) & (steps < duration_s - 0.3)
    return steps[keep], ticks


def schedule(kind: str, rng: np.random.Generator, duration_s: float, session: str) -> np.ndarray:
    if kind == "run":
        return running_times(session, rng, duration_s)
    if kind == "walk":
        return jittered_times(rng, rng.uniform(90, 130), duration_s, jitter=rng.uniform(0.02, 0.03),
                              asym=rng.uniform(0, 0.02))
    if kind == "ramp":
        return jittered_times(rng, np.array([160.0, 180.0]), duration_s, jitter=0.015, asym=rng.uniform(0, 0.02))
    if kind == "stop":
        a = running_times(session, rng, 11.0)
        b = running_times(session, rng, 11.0, lead_in_s=0.0)
        return np.concatenate([a[a < 11.0], b + 21.0])
    raise ValueError(kind)


# --------------------------------------------------------------------------------------------
# Scenes
# --------------------------------------------------------------------------------------------


def _db(db: float) -> float:
    return STEP_REF * 10 ** (db / 20)


def keys_jingle(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Keys: a cluster of 4-9 metallic transients (2-9 kHz ringing) over 30-150 ms."""
    out = np.zeros(int(0.2 * sr))
    for _ in range(int(rng.integers(4, 10))):
        n = int(0.03 * sr)
        ring = band_noise(rng, n, sr, 2000.0, 9000.0) * np.exp(-np.arange(n) / (0.004 * sr))
        add_at(out, ring, int(rng.uniform(0, 0.15) * sr), rng.uniform(0.3, 1.0))
    return out / np.max(np.abs(out))


def handling_thud(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Phone handling: a knock (60-1500 Hz, sharp attack) and a rub (noise, 40-120 ms)."""
    n = int(0.15 * sr)
    t = np.arange(n) / sr
    knock = band_noise(rng, n, sr, 60.0, 1500.0) * np.exp(-t / 0.01) * np.minimum(1, t / 0.0005)
    rub = band_noise(rng, n, sr, 200.0, 4000.0) * np.exp(-t / rng.uniform(0.04, 0.12)) * 0.3
    y = knock + rub
    return y / np.max(np.abs(y))


def scene_bed(scene: str, rng: np.random.Generator, n: int, sr: int, truth_s: np.ndarray,
              duration_s: float, ticks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Background + distractors of a scene (no footfalls), and the heard tick times if any
    (``ticks``: a metronome's own times, for a scene whose steps follow them)."""
    y = _db(-48) * band_noise(rng, n, sr, 20.0, None)  # mic self-noise / room
    y += _db(-34) * band_noise(rng, n, sr, 30.0, 400.0) * slow_envelope(rng, n, sr, 3.0, 0.7)  # distant traffic
    breath = band_noise(rng, n, sr, 300.0, 3000.0)
    cycle = 0.5 * (1 - np.cos(2 * np.pi * np.arange(n) / (sr * rng.uniform(0.9, 1.3))))
    y += _db(-26) * breath * cycle**2
    if scene == "wind":
        gusts = slow_envelope(rng, n, sr, 1.5, 0.8)
        y += _db(-14) * band_noise(rng, n, sr, None, 150.0) * gusts
        y += _db(-24) * band_noise(rng, n, sr, 150.0, 2000.0) * gusts
    elif scene == "treadmill":
        t = np.arange(n) / sr
        hum = sum(a * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) for f, a in
                  ((50.0, 1.0), (100.0, 0.6), (150.0, 0.3), (200.0, 0.2)))
        y += _db(-16) * hum / 1.3
        y += _db(-20) * band_noise(rng, n, sr, 200.0, 8000.0) * (1 + 0.3 * np.sin(2 * np.pi * t / 0.9))
        for ts in truth_s:  # the deck's own thud under each footfall (part of the step)
            add_at(y, heel_thump(rng, sr), int((ts + rng.uniform(0.002, 0.006)) * sr), _db(-8))
        seam = contact_burst(rng, sr)
        turn_s = rng.uniform(0.85, 1.1)
        for ts in np.arange(rng.uniform(0, turn_s), duration_s, turn_s):
            add_at(y, seam, int(ts * sr), _db(-14))
    elif scene == "music":
        beat_s = 60.0 / rng.uniform(128.0, 140.0)
        kick = kick_drum(sr)
        for ts in np.arange(rng.uniform(0, beat_s), duration_s, beat_s):
            add_at(y, kick, int(ts * sr), _db(-12))
        t = np.arange(n) / sr
        notes = np.array([55.0, 55.0, 65.4, 49.0])[(t / (2 * beat_s)).astype(int) % 4]
        y += _db(-20) * np.sin(2 * np.pi * np.cumsum(notes) / sr)
        hat = band_noise(rng, int(0.03 * sr), sr, 6000.0, None) * np.exp(-np.arange(int(0.03 * sr)) / (0.008 * sr))
        for ts in np.arange(beat_s / 2, duration_s, beat_s / 2):
            add_at(y, hat, int(ts * sr), _db(-18))
    elif scene in ("metronome_on", "metronome_off", "metronome_steady"):
        tick = tick_source(str(rng.choice(["click", "woodblock", "beep"])), sr)
        tick = tick / np.max(np.abs(tick))
        if scene == "metronome_on":
            ticks = truth_s + rng.uniform(-0.02, 0.02, truth_s.size)
        elif scene == "metronome_off":
            period = float(np.median(np.diff(truth_s))) / 1.06
            ticks = np.arange(rng.uniform(0.2, 0.5), duration_s - 0.1, period)
        for ts in ticks:
            add_at(y, tick, int(round(ts * sr)), _db(0))
    elif scene == "clicks":
        t = rng.uniform(0.3, duration_s - 0.3)
        while t < duration_s - 0.3:
            snd = keys_jingle(rng, sr) if rng.uniform() < 0.5 else handling_thud(rng, sr)
            add_at(y, snd, int(t * sr), _db(6))
            t += rng.exponential(1 / 0.6) + 0.15
    elif scene in ("quiet_road", "stop", "ramp", "walk"):
        pass
    else:
        raise ValueError(f"unknown scene {scene!r}")
    return y, ticks


# --------------------------------------------------------------------------------------------
# Rendering and cache
# --------------------------------------------------------------------------------------------


def place_steps(surface: str, truth_s: np.ndarray, rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """The footfalls alone: a step sound per truth time, labelled onset on the truth time."""
    out = np.zeros(n)
    bank = cut_steps(surface) if surface != "synthetic" else None
    pre = int(PRE_ONSET_S * sr)
    right_db = rng.uniform(-4.0, 0.0)
    for k, ts in enumerate(truth_s):
        snd = bank[int(rng.integers(len(bank)))] if bank is not None else synthetic_step(rng, sr)
        g = STEP_REF * 10 ** ((rng.uniform(-2.0, 2.0) + (right_db if k % 2 else 0.0)) / 20)
        add_at(out, snd, int(round(ts * sr)) - pre, g)
    return out


def render_item(split: Split, scene: str, surface: str, mic: str) -> tuple[np.ndarray, int, Item]:
    rng = np.random.default_rng(_seed(split.name, scene, surface))  # same scene for every mic
    sr = SAMPLE_RATE
    if scene == REAL_SCENE:
        name, info = _clip_info()[surface]
        clip, _ = sf.read(CLIPS / name)
        duration_s = clip.size / sr
        steps = clip * (STEP_REF / np.max(np.abs(clip)))
        truth, ticks = np.array(info["onsets_s"]), None
        bed = np.zeros_like(steps)
    elif scene in TEXTURE_SCENES:
        name, _ = _clip_info()[surface]
        clip, _ = sf.read(CLIPS / name)
        duration_s = 20.0
        n = int(duration_s * sr)
        parts = []
        for _ in range(4):  # a random rotation; 10 ms dips at the joins so they do not click
            k = int(rng.integers(clip.size))
            dip = np.ones(clip.size)
            half = int(0.005 * sr)
            for j in (0, k, clip.size):
                a, b = max(0, j - half), min(clip.size, j + half)
                dip[a:b] = np.minimum(dip[a:b], 0.5 - 0.5 * np.cos(np.pi * np.abs(np.arange(a, b) - j) / half))
            parts.append(np.roll(clip, k) * dip * 10 ** (rng.uniform(-2, 2) / 20))
        steps = np.concatenate(parts)[:n] * (STEP_REF / np.max(np.abs(clip)))
        truth = np.zeros(0)
        bed, ticks = scene_bed("wind" if scene == TEXTURE_WIND_SCENE else "quiet_road", rng, n, sr, truth, duration_s)
    else:
        kind, duration_s, _ = SCENES[scene]
        n = int(duration_s * sr)
        session = split.sessions[_seed(scene, surface) % len(split.sessions)]
        if kind == "entrained":
            truth, ticks = entrained_times(rng, duration_s, float(np.median(np.diff(_session(session)[0]))))
        else:
            truth, ticks = schedule(kind, rng, duration_s, session), None
        steps = place_steps(surface, truth, rng, n, sr)
        bed, ticks = scene_bed(scene, rng, n, sr, truth, duration_s, ticks)
    y, out_sr = apply_mic(mic, steps, bed, sr, np.random.default_rng(_seed(split.name, scene, surface, mic)),
                          MIC_MODELS[split.name])
    item = Item(split.name, surface, scene, mic, truth, ticks, scene in TEXTURE_SCENES, duration_s,
                info_only=scene in INFO_SCENES)
    return y, out_sr, item


def conditions(split: Split, *, scenes=None, surfaces=None, mics=None) -> list[tuple[str, str, str]]:
    """(scene, surface, mic) of every item of a split, optionally filtered."""
    out = []
    for scene in list(SCENES) + list(EXTRA_SCENES):
        if scenes and scene not in scenes:
            continue
        if scene in (TEXTURE_SCENE, TEXTURE_WIND_SCENE):
            names = split.textures
        elif scene == RHYTHMIC_SCENE:
            names = split.rhythmic_textures
        elif scene == REAL_SCENE:
            names = tuple(s for s in split.surfaces if s != "synthetic")
        else:
            names = split.surfaces
        for surface in names:
            if surfaces and surface not in surfaces and scene not in TEXTURE_SCENES:
                continue
            for mic in MIC_PATHS:
                if mics and mic not in mics:
                    continue
                out.append((scene, surface, mic))
    return out


def _key() -> str:
    """Cache key: the generator version and the labelled onsets."""
    h = hashlib.sha1(str(CORPUS_VERSION).encode())
    clips = load_labels()["clips"]
    h.update(json.dumps({k: [v["onsets_s"], v["cut_onsets_s"], v["surface"]] for k, v in sorted(clips.items())}).encode())
    return h.hexdigest()[:10]


def load_item(split: Split, scene: str, surface: str, mic: str, *, cache: Path = CACHE) -> Item:
    """The item, rendered once and cached as FLAC + JSON under ``cache``."""
    d = cache / _key() / split.name / scene
    d.mkdir(parents=True, exist_ok=True)
    audio, meta = d / f"{surface}__{mic}.flac", d / f"{surface}__{mic}.json"
    if audio.exists() and meta.exists():
        m = json.loads(meta.read_text())
    else:
        y, sr, rendered = render_item(split, scene, surface, mic)
        sf.write(audio, y, sr, subtype="PCM_16")
        # the rendering run scores the cached truth (to the microsecond) too, so that it and every
        # later run agree (a truth interval at the edge of the cadence's regular band moved the true
        # cadence by 0.6 spm between the two: benchmarks/FOOTFALL_PASSES.md, session 22)
        m = {"truth_s": _to_us(rendered.truth_s),
             "ticks_s": None if rendered.ticks_s is None else _to_us(rendered.ticks_s),
             "texture": rendered.texture, "duration_s": rendered.duration_s, "info_only": rendered.info_only}
        if m["ticks_s"] is not None:  # what a run hands the detector: the heard tick times
            ticks_path(audio).write_text(json.dumps({"ticks_s": m["ticks_s"]}))
        meta.write_text(json.dumps(m))
    item = Item(split.name, surface, scene, mic, np.array(m["truth_s"]),
                None if m["ticks_s"] is None else np.array(m["ticks_s"]), m["texture"], m["duration_s"],
                m["info_only"])
    item.path = audio
    return item


def _to_us(times_s: np.ndarray) -> list[float]:
    """Times rounded to the microsecond, as the cache stores them."""
    return [round(float(t), 6) for t in times_s]


def ticks_path(audio: Path) -> Path:
    """The tick list beside an item's audio (``cadence analyze --ticks`` format)."""
    return audio.with_suffix(".ticks.json")
