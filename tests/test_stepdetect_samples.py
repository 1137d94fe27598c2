"""Accuracy bars on samples/ (ground truth beside each file) and the samples' provenance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from coach.audio_io import read_audio
from samples.generate import CONDITIONS
from stepdetect import assign_feet, cadence_spm, detect_footfalls, match_events, score_events, step_asymmetry
from tests.conftest import SAMPLES

# The footfall recordings made by samples/generate.py (other samples/ files belong to other tests).
TRUTH = [SAMPLES / f"{cond.name}.json" for cond in CONDITIONS]


def _load(truth_path: Path) -> tuple[np.ndarray, int, dict]:
    audio = [p for p in SAMPLES.glob(truth_path.stem + ".*") if p.suffix in (".wav", ".flac", ".ogg")]
    assert len(audio) == 1, audio
    y, sample_rate = read_audio(audio[0])
    return y, sample_rate, json.loads(truth_path.read_text())


def test_samples_cover_the_conditions() -> None:
    truths = [json.loads(p.read_text()) for p in TRUTH]
    assert len(truths) >= 8
    assert {t["sample_rate"] for t in truths} >= {8000, 16000, 44100, 48000, 96000}
    assert any(t["channels"] == 2 for t in truths)
    spm = [cadence_spm(np.array([s["time_s"] for s in t["steps"]])) for t in truths]
    assert min(spm) < 155 and max(spm) > 190 and all(145 < x < 205 for x in spm), spm
    sizes = [p.stat().st_size for c in CONDITIONS for p in SAMPLES.glob(c.name + ".*")]
    assert len(sizes) == 2 * len(CONDITIONS) and sum(sizes) < 6e6


@pytest.mark.parametrize("truth_path", TRUTH, ids=lambda p: p.stem)
def test_detection_meets_the_bars(truth_path: Path) -> None:
    y, sample_rate, truth = _load(truth_path)
    ref = np.array([s["time_s"] for s in truth["steps"]])
    found = detect_footfalls(y, sample_rate=sample_rate)
    scores = score_events(ref, found.time_s, tolerance_s=0.025)
    assert scores.f1 >= (0.90 if truth["extreme"] else 0.97), scores
    assert scores.median_abs_error_ms <= 5.0, scores
    if not truth["extreme"]:
        assert abs(cadence_spm(found.time_s) - cadence_spm(ref)) <= 0.5
    # with the tick times a live session would know, no worse
    if truth["ticks_s"]:
        told = score_events(ref, detect_footfalls(y, sample_rate=sample_rate, tick_times_s=truth["ticks_s"]).time_s)
        assert told.f1 >= scores.f1 - 1e-9, (told, scores)


def test_asymmetry_is_measured() -> None:
    y, sample_rate, truth = _load(SAMPLES / "asymmetric_fast.json")
    ref = np.array([s["time_s"] for s in truth["steps"]])
    found = detect_footfalls(y, sample_rate=sample_rate).time_s
    first_ref = match_events(ref, found)[0][0]  # audio cannot tell L from R: name the first foot
    feet = assign_feet(found, first_foot=truth["steps"][first_ref]["foot"])
    est = step_asymmetry(found, feet)
    exp = step_asymmetry(ref, [s["foot"] for s in truth["steps"]])
    assert exp.left_to_right_ms - exp.right_to_left_ms > 40  # 30 ms added + the runner's own
    assert est.left_to_right_ms == pytest.approx(exp.left_to_right_ms, abs=3.0)
    assert est.right_to_left_ms == pytest.approx(exp.right_to_left_ms, abs=3.0)
    assert est.symmetry_index_pct == pytest.approx(exp.symmetry_index_pct, abs=1.0)


def test_ground_truth_is_what_the_generator_makes(real_data: Path) -> None:
    from samples.generate import CONDITIONS, step_schedule

    for cond in CONDITIONS:
        truth = json.loads((SAMPLES / f"{cond.name}.json").read_text())
        times_s, feet, info = step_schedule(cond.session, start_s=cond.start_s, duration_s=cond.duration_s,
                                            time_scale=cond.time_scale, asymmetry_ms=cond.asymmetry_ms)
        np.testing.assert_allclose([s["time_s"] for s in truth["steps"]], times_s, atol=1e-6)
        assert [s["foot"] for s in truth["steps"]] == feet
        assert (real_data / "soundtrackdb" / f"{cond.session}.csv").is_file()
        assert truth["source"]["session"] == info["session"]
