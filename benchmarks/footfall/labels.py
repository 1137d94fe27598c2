"""Step-onset labels of the real footstep clips: the semi-automatic proposal and the plots used
to check them by eye.

Proposal: the clip is high-passed at 40 Hz; its level (RMS over 2 ms hops, in dB) gives a
half-wave-rectified level rise (flux over 10 ms); peaks of the rise at least ``min_gap_s`` apart
and ``threshold_db`` above the clip's median rise are candidate steps. Each candidate's onset is
refined to the sample: the first sample, searching back from the level peak, after which the
1 ms envelope stays above the pre-step floor + 20 % of the (peak - floor) amplitude.
The proposals were then checked on the plots (``python -m benchmarks.footfall.labels --plot DIR``)
and corrected by hand; the corrected times are in ``benchmarks/data/footsteps_real_labels.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

ROOT = Path(__file__).resolve().parents[2]
CLIPS = ROOT.parent / "shared" / "data" / "footsteps-real"
LABELS = ROOT / "benchmarks" / "data" / "footsteps_real_labels.json"


def envelope_1ms(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """|high-passed signal| smoothed over ~1 ms (zero phase), the amplitude the onset refers to."""
    sos = signal.butter(2, 40.0, btype="highpass", fs=sample_rate, output="sos")
    x = np.abs(signal.sosfiltfilt(sos, y))
    sos_lp = signal.butter(2, 300.0, btype="lowpass", fs=sample_rate, output="sos")
    return np.maximum(signal.sosfiltfilt(sos_lp, x), 0.0)


def refine_onset(env: np.ndarray, peak: int, sample_rate: int, *, fraction: float = 0.2,
                 look_back_s: float = 0.06) -> int:
    """First sample before ``peak`` from which ``env`` stays above floor + fraction x (peak - floor)."""
    lo = max(0, peak - int(look_back_s * sample_rate))
    seg = env[lo : peak + 1]
    floor = float(np.percentile(env[max(0, lo - int(0.03 * sample_rate)) : lo + int(0.01 * sample_rate)], 20)) if lo > 0 else float(seg.min())
    level = floor + fraction * (float(env[peak]) - floor)
    below = np.flatnonzero(seg < level)
    return lo + (int(below[-1]) + 1 if below.size else 0)


def propose_onsets(y: np.ndarray, sample_rate: int, *, min_gap_s: float = 0.3, threshold_db: float = 9.0) -> np.ndarray:
    """Candidate step onsets (s)."""
    hop = int(0.002 * sample_rate)
    sos = signal.butter(2, 40.0, btype="highpass", fs=sample_rate, output="sos")
    x = signal.sosfilt(sos, y)
    n = x.size // hop
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    db = 20 * np.log10(rms + 1e-7)
    lag = 5
    rise = np.maximum(db[lag:] - db[:-lag], 0.0)
    rise = np.concatenate([np.zeros(lag), rise])
    height = np.median(rise) + threshold_db
    peaks, _ = signal.find_peaks(rise, height=height, distance=int(min_gap_s / 0.002))
    env = envelope_1ms(y, sample_rate)
    out = []
    for p in peaks:
        a, b = p * hop, min(x.size, (p + 15) * hop)
        pk = a + int(np.argmax(env[a:b]))
        out.append(refine_onset(env, pk, sample_rate) / sample_rate)
    return np.array(out)


# By-eye step times (s, +-30 ms) read off the plots of every clip (waveform, 1 ms envelope in dB,
# spectrogram); ``refine`` moves each to the sample onset. ``role``: "steady" (a walking rhythm;
# steps cut for the corpus), "irregular" (clear single steps, uneven rhythm; steps cut), "texture"
# (no separable steady steps: the expected answer is no confident cadence), "rhythmic_texture"
# (listed as textured upstream, but the plots show a slow steady pattern every ~0.85 s: faint heel
# clicks in street noise, leaf-rustle swishes with no sharp onset; too faint or diffuse to label to
# +-25 ms, so neither a texture bar nor steps: information only), "noisy" (steps buried
# in wind; kept for reference, not used). ``cut`` lists the steps clean enough to cut (isolated,
# the next step or burst >= 250 ms later, or their tail kept as the cut's end).
HAND = {
    "1-51147-A-25.wav": dict(surface="shower", role="steady",
                             approx=[0.03, 0.50, 1.09, 1.56, 2.04, 2.56, 3.04, 3.53],
                             cut=[0.03, 1.09, 1.56, 2.04, 2.56, 3.04, 3.53]),
    "3-249913-A-25.wav": dict(surface="street", role="rhythmic_texture", approx=[], cut=[]),
    "4-117627-A-25.wav": dict(surface="gravel_pavement", role="texture", approx=[], cut=[]),
    "4-117630-A-25.wav": dict(surface="woodland", role="rhythmic_texture", approx=[], cut=[]),
    "4-194979-A-25.wav": dict(surface="long_grass", role="texture", approx=[], cut=[]),
    "5-234855-A-25.wav": dict(surface="carpet", role="irregular",
                              approx=[0.06, 2.45, 2.82, 3.15, 3.47, 3.85, 4.19],
                              cut=[0.06, 3.15, 3.47, 3.85, 4.19]),
    "5-243025-A-25.wav": dict(surface="dirt_rocks", role="steady",
                              approx=[0.60, 1.19, 1.75, 2.33, 2.97, 3.50, 4.19],
                              cut=[0.60, 1.19, 2.33, 3.50, 4.19]),
    "5-244310-A-25.wav": dict(surface="pavement_windy", role="noisy",
                              approx=[0.97, 2.34, 3.05, 3.75, 4.43], cut=[]),
    "5-263491-A-25.wav": dict(surface="crunchy_ice", role="irregular",
                              approx=[0.30, 0.68, 1.13, 2.08, 2.58, 3.76, 4.71],
                              cut=[0.68, 1.13, 2.08, 2.58, 3.76, 4.71]),
    "5-263501-A-25.wav": dict(surface="wet_snow", role="irregular",
                              approx=[0.22, 1.15, 1.53, 1.96, 2.48, 3.24, 3.88, 4.39],
                              cut=[0.22, 1.15, 1.53, 1.96, 3.24, 3.88, 4.39]),
    "5-51149-A-25.wav": dict(surface="wooden_stairs", role="steady",
                             approx=[0.58, 1.13, 1.71, 2.27, 2.85, 3.30],
                             cut=[0.58, 1.13, 1.71, 2.27, 2.85, 3.30]),
}


def refine(y: np.ndarray, sample_rate: int, approx_s: float, *, search_s: tuple[float, float] = (-0.03, 0.05)) -> float:
    """The sample onset of the step whose by-eye time is ``approx_s``: the largest envelope peak
    in the search window, then :func:`refine_onset`."""
    env = envelope_1ms(y, sample_rate)
    a = max(0, int((approx_s + search_s[0]) * sample_rate))
    b = min(y.size, int((approx_s + search_s[1]) * sample_rate))
    # the first strong rise, not the loudest later hit: the earliest peak within 6 dB of the max
    seg = env[a:b]
    strong = np.flatnonzero(seg >= 0.5 * seg.max())
    first = int(strong[0])
    pk = a + first + int(np.argmax(seg[first : first + int(0.01 * sample_rate)]))
    return refine_onset(env, pk, sample_rate) / sample_rate


# Attribution (Freesound licence, author, title) of each clip, from the clips' README.
SOURCES = {
    "1-51147-A-25.wav": ("CC0", "RutgerMuller", "Wet Footsteps in Small Shower Cabin.wav"),
    "3-249913-A-25.wav": ("CC0", "hintringer", "walking slow on the street"),
    "4-117627-A-25.wav": ("CC0", "soundmary", "footsteps - gravel pavement.wav"),
    "4-117630-A-25.wav": ("CC0", "soundmary", "footsteps woodland.wav"),
    "4-194979-A-25.wav": ("CC BY 3.0", "soundmary", "footsteps in long grass.mp3"),
    "5-234855-A-25.wav": ("CC0", "mlsulli", "Footsteps_Carpet.wav"),
    "5-243025-A-25.wav": ("CC BY 3.0", "AdamWayneGistarb", "Dirt & Rocks Footsteps SFX #3.wav"),
    "5-244310-A-25.wav": ("CC0", "JohnsonBrandEditing", "Walking on pavement.wav"),
    "5-263491-A-25.wav": ("CC0", "lwdickens", "footsteps crunchy ice.wav"),
    "5-263501-A-25.wav": ("CC0", "lwdickens", "footsteps wet snow.wav"),
    "5-51149-A-25.wav": ("CC0", "RutgerMuller", "Footsteps Wooden Stairs Squeaking 1.wav"),
}


def build_labels() -> dict:
    clips = {}
    for name, h in HAND.items():
        y, sr = sf.read(CLIPS / name)
        onsets = [round(refine(y, sr, t), 5) for t in h["approx"]]
        cut = [onsets[h["approx"].index(t)] for t in h["cut"]]
        lic, author, title = SOURCES[name]
        clips[name] = {"surface": h["surface"], "role": h["role"], "onsets_s": onsets, "cut_onsets_s": cut,
                       "licence": lic, "author": author, "title": title,
                       "source": f"freesound.org/people/{author}/sounds/{name.split('-')[1]}/"}
    return {
        "about": "Step onsets (s, first contact) of the clips in ../shared/data/footsteps-real: ESC-50 class 25 "
                 "(K. J. Piczak, 'ESC: Dataset for Environmental Sound Classification', ACM MM 2015, "
                 "doi:10.1145/2733373.2806390); each clip's Freesound licence, author and title below. "
                 "Method: by-eye times from plots (waveform, 1 ms envelope, spectrogram), refined to the sample "
                 "onset by benchmarks/footfall/labels.py (first sample from which the 1 ms envelope stays above "
                 "floor + 20 % of the step's first peak), checked again on per-step zoom plots. role: steady / "
                 "irregular (steps cut for the corpus: cut_onsets_s), texture (no steady separable steps: "
                 "no confident cadence expected), rhythmic_texture (textured upstream, but a slow steady "
                 "pattern every ~0.85 s - faint heel clicks in traffic, rustle swishes - too faint or diffuse "
                 "to label: information only), noisy (steps buried in wind; unused).",
        "clips": clips,
    }


def load_labels(path: Path = LABELS) -> dict:
    return json.loads(path.read_text())


def plot_clip(path: Path, onsets_s: np.ndarray, out: Path, *, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, sr = sf.read(path)
    env = envelope_1ms(y, sr)
    t = np.arange(y.size) / sr
    fig, axes = plt.subplots(2, 1, figsize=(16, 5), sharex=True)
    axes[0].plot(t[::4], y[::4], lw=0.3, color="0.3")
    axes[1].plot(t[::4], 20 * np.log10(env[::4] + 1e-6), lw=0.4)
    for ax in axes:
        for o in onsets_s:
            ax.axvline(o, color="tab:red", lw=0.7)
    axes[1].set_ylim(-90, 0)
    axes[1].set_xticks(np.arange(0, 5.01, 0.25))
    axes[1].grid(alpha=0.3)
    axes[0].set_title(f"{path.name} {title} ({len(onsets_s)} onsets)")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)


def plot_zoom(path: Path, onsets_s: np.ndarray, out: Path, *, before_s: float = 0.05, after_s: float = 0.12) -> None:
    """One panel per onset: waveform and envelope from ``before_s`` before to ``after_s`` after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, sr = sf.read(path)
    env = envelope_1ms(y, sr)
    fig, axes = plt.subplots(1, len(onsets_s), figsize=(2.2 * len(onsets_s), 2.6), squeeze=False)
    for ax, o in zip(axes[0], onsets_s):
        a, b = max(0, int((o - before_s) * sr)), min(y.size, int((o + after_s) * sr))
        t_ms = (np.arange(a, b) / sr - o) * 1000
        ax.plot(t_ms, y[a:b], lw=0.4, color="0.4")
        ax.plot(t_ms, env[a:b] * 2, lw=0.8, color="tab:blue")
        ax.axvline(0, color="tab:red", lw=0.8)
        ax.set_title(f"{o:.3f} s", fontsize=8)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=75)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plot", type=Path, required=True, help="directory for one PNG per clip")
    ap.add_argument("--proposed", action="store_true", help="plot the automatic proposal, not the stored labels")
    ap.add_argument("--write", action="store_true", help="refine the by-eye times and write the labels JSON")
    args = ap.parse_args(argv)
    args.plot.mkdir(parents=True, exist_ok=True)
    if args.write:
        LABELS.parent.mkdir(parents=True, exist_ok=True)
        LABELS.write_text(json.dumps(build_labels(), indent=1) + "\n")
    labels = {} if args.proposed else load_labels()["clips"]
    for path in sorted(CLIPS.glob("*.wav")):
        if args.proposed:
            y, sr = sf.read(path)
            on = propose_onsets(y, sr)
            print(path.name, json.dumps([round(float(o), 4) for o in on]))
        else:
            on = np.array(labels[path.name]["onsets_s"])
        plot_clip(path, on, args.plot / (path.stem + ".png"))
        if on.size:
            plot_zoom(path, on, args.plot / (path.stem + "_zoom.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
