"""Regenerate the detector tests' footstep excerpts from the benchmark corpus and check them.

Run from the project root (needs ``../shared/data``, like the benchmarks):

    python tests/data/footsteps/make_excerpts.py            # check: regenerate in memory, compare
    python tests/data/footsteps/make_excerpts.py --write    # overwrite the stored files

Each excerpt is a stretch of one dev-split item of ``benchmarks/footfall/corpus.py`` (rendered, or
read from the corpus cache ``benchmarks/.cache/footfall``), cut at ``start_s`` for ``duration_s``,
resampled to the file's rate where the item's rate differs (``scipy.signal.resample_poly``; the cut
first, or the whole item first where ``whole`` says so, as each file was first made) and written as
16-bit FLAC. ``README.md`` beside this script says what each file holds and its licence.

Two more are made the same way from other material: ``synthetic_offbeat_beeps_full_44k.flac``
(a re-render of ``metronome_off/synthetic/full`` under the seed name ``stress5`` with the beep tick
forced) and ``texture_long_grass_16k.flac`` (the whole grass clip at 16 kHz).

Three files are kept as they were first made and are not regenerated (``KEPT``): the single steps
of ``steps_dirt_shower_22k.flac`` (cut by the first multi-band detector's commit, b335e22; this
script's cut of the same labelled onsets does not reproduce it sample for sample), and the two
``stop_*_candidates.json`` files, which are frozen tracker inputs recorded from the picker of their
day: the tests they serve check the tracker's rules on a fixed input, which a later picker must not
move.

A check passes when every regenerated file equals the stored one within ``TOLERANCE_LSB`` (1 LSB
of 16 bits: the whole-item resample's float rounding differs by one step on a few samples).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, replace
from math import gcd
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
TOLERANCE_LSB = 1


@dataclass(frozen=True)
class Excerpt:
    scene: str
    surface: str
    mic: str
    start_s: float
    duration_s: float
    rate: int  # the file's sample rate
    whole: bool = False  # resample the whole item, then cut (else cut, then resample)


EXCERPTS: dict[str, Excerpt] = {
    "clicks_shower_hfp16_16k.flac": Excerpt("clicks", "shower", "hfp16", 0.0, 13.0, 16000),
    "clicks_synthetic_hfp8_8k.flac": Excerpt("clicks", "synthetic", "hfp8", 0.0, 8.0, 8000),
    "crunchy_beat_ticks_hfp8_8k.flac": Excerpt("metronome_on", "crunchy_ice", "hfp8", 0.0, 5.0, 8000),
    "crunchy_beat_ticks_inear_16k.flac": Excerpt("metronome_on", "crunchy_ice", "inear", 0.0, 18.3, 16000),
    "crunchy_inear_16k.flac": Excerpt("stop", "crunchy_ice", "inear", 0.0, 7.5, 16000),
    "crunchy_offbeat_ticks_clipped_44k.flac": Excerpt("metronome_off", "crunchy_ice", "clipped", 0.0, 2.6, 44100),
    "crunchy_offbeat_ticks_hfp16_16k.flac": Excerpt("metronome_off", "crunchy_ice", "hfp16", 0.0, 6.0, 16000),
    "crunchy_ramp_hfp8_8k.flac": Excerpt("ramp", "crunchy_ice", "hfp8", 0.0, 6.2, 8000),
    "crunchy_steady_ticks_hfp16_16k.flac": Excerpt("metronome_steady", "crunchy_ice", "hfp16", 0.0, 12.5, 16000),
    "crunchy_treadmill_hfp16_16k.flac": Excerpt("treadmill", "crunchy_ice", "hfp16", 0.0, 11.0, 16000),
    "dirt_beat_ticks_full_44k.flac": Excerpt("metronome_on", "dirt_rocks", "full", 9.0, 4.6, 44100),
    "dirt_quiet_inear_16k.flac": Excerpt("quiet_road", "dirt_rocks", "inear", 0.0, 8.0, 16000),
    "dirt_sync_ticks_hfp16_16k.flac": Excerpt("metronome_on", "dirt_rocks", "hfp16", 0.0, 6.5, 16000),
    "dirt_walk_hfp16_16k.flac": Excerpt("walk", "dirt_rocks", "hfp16", 0.0, 6.8, 16000),
    "dirt_walk_long_hfp16_16k.flac": Excerpt("walk", "dirt_rocks", "hfp16", 0.0, 14.3, 16000),
    "dirt_walk_long_hfp8_8k.flac": Excerpt("walk", "dirt_rocks", "hfp8", 0.0, 14.8, 8000),
    "music_crunchy_hfp16_16k.flac": Excerpt("music", "crunchy_ice", "hfp16", 0.0, 3.0, 16000),
    "music_dirt_hfp16_16k.flac": Excerpt("music", "dirt_rocks", "hfp16", 0.0, 6.6, 16000),
    "shower_beat_ticks_hfp16_16k.flac": Excerpt("metronome_on", "shower", "hfp16", 0.0, 4.0, 16000),
    "shower_beat_ticks_hfp8_8k.flac": Excerpt("metronome_on", "shower", "hfp8", 0.0, 12.0, 8000),
    "shower_offbeat_ticks_hfp16_16k.flac": Excerpt("metronome_off", "shower", "hfp16", 0.0, 10.0, 16000),
    "shower_offbeat_ticks_hfp16_14s_16k.flac": Excerpt("metronome_off", "shower", "hfp16", 0.0, 14.2, 16000),
    "shower_offbeat_ticks_hfp8_8k.flac": Excerpt("metronome_off", "shower", "hfp8", 0.0, 13.2, 8000),
    "shower_offbeat_ticks_phone_22k.flac": Excerpt("metronome_off", "shower", "phone", 0.0, 13.2, 22050, whole=True),
    "shower_ticks_hfp8_8k.flac": Excerpt("metronome_on", "shower", "hfp8", 0.0, 4.0, 8000),
    "synthetic_beat_ticks_hfp16_16k.flac": Excerpt("metronome_on", "synthetic", "hfp16", 0.0, 3.0, 16000),
    "synthetic_offbeat_ticks_hfp16_16k.flac": Excerpt("metronome_off", "synthetic", "hfp16", 0.0, 4.2, 16000),
    "synthetic_stop_hfp8_8k.flac": Excerpt("stop", "synthetic", "hfp8", 0.0, 4.0, 8000),
    "walk_shower_hfp8_8k.flac": Excerpt("walk", "shower", "hfp8", 0.0, 12.0, 8000),
    "walk_synthetic_hfp8_8k.flac": Excerpt("walk", "synthetic", "hfp8", 0.0, 12.0, 8000),
}
BEEPS = "synthetic_offbeat_beeps_full_44k.flac"  # 4.3 s of the stress5 re-render, beep ticks forced
GRASS = "texture_long_grass_16k.flac"  # the whole grass clip at 16 kHz
KEPT = ("steps_dirt_shower_22k.flac", "stop_dirt_hfp16_candidates.json", "stop_shower_hfp16_candidates.json")
MADE = (*EXCERPTS, BEEPS, GRASS)


def _resample(y: np.ndarray, rate: int, out_rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    if rate == out_rate:
        return y
    k = gcd(rate, out_rate)
    return resample_poly(y, out_rate // k, rate // k)


def _cut(y: np.ndarray, rate: int, start_s: float, duration_s: float) -> np.ndarray:
    return y[int(round(start_s * rate)):int(round((start_s + duration_s) * rate))]


def excerpt(name: str) -> tuple[np.ndarray, int]:
    """The file ``name`` regenerated: (float samples, sample rate)."""
    import soundfile as sf

    sys.path.insert(0, str(ROOT))
    from benchmarks.footfall import corpus

    dev = corpus.SPLITS["dev"]
    if name == GRASS:
        names = {v["surface"]: k for k, v in corpus.load_labels()["clips"].items()}
        clip, rate = sf.read(corpus.CLIPS / names["long_grass"])
        return _resample(clip, rate, 16000), 16000
    if name == BEEPS:
        stress = replace(dev, name="stress5")
        corpus.MIC_MODELS.setdefault("stress5", corpus.MIC_MODELS["dev"])
        tick_source = corpus.tick_source
        corpus.tick_source = lambda sound, sample_rate: tick_source("beep", sample_rate)  # the draw is kept, the sound forced
        try:
            y, rate, _ = corpus.render_item(stress, "metronome_off", "synthetic", "full")
        finally:
            corpus.tick_source = tick_source
        return _cut(y, rate, 0.0, 4.3), rate
    e = EXCERPTS[name]
    y, rate = sf.read(corpus.load_item(dev, e.scene, e.surface, e.mic).path)
    if e.whole:
        return _cut(_resample(y, rate, e.rate), e.rate, e.start_s, e.duration_s), e.rate
    return _resample(_cut(y, rate, e.start_s, e.duration_s), rate, e.rate), e.rate


def main(argv: list[str] | None = None) -> int:
    import soundfile as sf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="overwrite the stored files")
    parser.add_argument("names", nargs="*", help="only these files (default: all that are made here)")
    args = parser.parse_args(argv)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names or MADE:
            if name not in MADE:
                print(f"{name}: not made by this script (kept as made: {', '.join(KEPT)})")
                return 2
            y, rate = excerpt(name)
            stored, stored_rate = sf.read(HERE / name, dtype="int16")
            target = HERE / name if args.write else Path(tmp) / name
            sf.write(target, y, rate, subtype="PCM_16")
            made, _ = sf.read(target, dtype="int16")
            same = stored_rate == rate and made.shape == stored.shape
            diff = int(np.max(np.abs(made.astype(np.int32) - stored))) if same and made.size else None
            ok = diff is not None and diff <= TOLERANCE_LSB
            bad += not ok
            print(f"{name}: {'written' if args.write else 'ok' if ok else 'DIFFERS'}"
                  f" ({rate} Hz, {made.shape[0] / rate:.2f} s, max difference "
                  f"{'n/a' if diff is None else f'{diff} LSB'})")
    return 1 if bad and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
