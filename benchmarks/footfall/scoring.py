"""Scoring one item: the detector through ``cadence analyze PATH --json``, librosa beside it."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stepdetect import cadence_spm, score_events

TOLERANCE_S = 0.025
LIBROSA_HOP = 512
# the DEV grid for librosa's best delta / wait (wait in seconds, converted to frames per rate)
LIBROSA_DELTAS = (0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4)
LIBROSA_WAITS_S = (0.03, 0.1, 0.15, 0.2, 0.25)
# ... and the rate librosa.load resamples to (None = the file's own). At 16 / 8 kHz librosa's
# 512-sample hop and 2048-sample window are 32 / 64 ms and 128 / 256 ms: its onsets land 30-50 ms
# late, outside +-25 ms. Loading at 44.1 kHz keeps its time resolution on every mic path.
LIBROSA_LOAD_RATES = (None, 44100)


@dataclass
class Result:
    f1: float
    precision: float
    recall: float
    median_ms: float
    cadence_err_spm: float  # |reported - true| cadence, inf when none was reported
    confident: bool  # a confident cadence was reported
    n_found: int


def analyze_json(path: Path, ticks_json: Path | None = None) -> dict:
    """The report of ``cadence analyze PATH --json [--ticks T]``, run in-process through the CLI."""
    from click.testing import CliRunner

    from cli.main import cli

    args = ["analyze", str(path), "--json"] + (["--ticks", str(ticks_json)] if ticks_json is not None else [])
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    if res.exit_code != 0:
        raise RuntimeError(f"cadence {' '.join(args)} exited {res.exit_code}: {res.output.strip()[:300]}")
    # the JSON object is the last line of stdout (warnings go to stderr)
    out = res.stdout if hasattr(res, "stdout") else res.output
    return json.loads(out.strip().splitlines()[-1])


def is_confident(report: dict) -> bool:
    """A confident cadence: ``cadence_spm`` not null and ``cadence_confident`` true (missing = true)."""
    return report.get("cadence_spm") is not None and bool(report.get("cadence_confident", True))


def score(truth_s: np.ndarray, found_s: np.ndarray, reported_spm: float | None, confident: bool) -> Result:
    found_s = np.sort(np.asarray(found_s, dtype=np.float64))
    s = score_events(truth_s, found_s, tolerance_s=TOLERANCE_S)
    true_spm = cadence_spm(truth_s) if truth_s.size >= 2 else math.nan
    if reported_spm is None or not math.isfinite(reported_spm) or not math.isfinite(true_spm):
        err = math.inf
    else:
        err = abs(reported_spm - true_spm)
    return Result(s.f1, s.precision, s.recall, s.median_abs_error_ms, err, confident, int(found_s.size))


def librosa_envelope(path: Path, load_rate: int | None = None) -> tuple[np.ndarray, int]:
    """librosa's onset envelope (defaults: 512-sample hop) of an audio file loaded mono at
    ``load_rate`` (None: the file's own rate), and that rate. (``librosa.load``'s default of
    22050 Hz is not used: its 23 ms frames against +-25 ms score lower than the file's rate.)"""
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, sr = librosa.load(str(path), sr=load_rate, mono=True)
        return librosa.onset.onset_strength(y=y, sr=sr, hop_length=LIBROSA_HOP), int(sr)


def librosa_onsets(env: np.ndarray, sample_rate: int, *, delta: float | None = None,
                   wait_s: float | None = None) -> np.ndarray:
    """``librosa.onset.onset_detect`` on a precomputed onset envelope (identical to calling it
    with ``y``: it normalizes the envelope the same way); None = librosa's default."""
    import librosa

    kw = {}
    if delta is not None:
        kw["delta"] = delta
    if wait_s is not None:
        kw["wait"] = max(1, int(round(wait_s * sample_rate / LIBROSA_HOP)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return librosa.onset.onset_detect(onset_envelope=env, sr=sample_rate, hop_length=LIBROSA_HOP,
                                          units="time", **kw)


def librosa_result(truth_s: np.ndarray, onsets_s: np.ndarray) -> Result:
    """librosa reports no cadence: its cadence is the shared estimator over its onsets."""
    spm = cadence_spm(onsets_s) if onsets_s.size >= 2 else None
    return score(truth_s, onsets_s, spm, spm is not None and math.isfinite(spm))
