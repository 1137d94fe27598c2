"""The multi-band detector on real footstep sounds (tests/data/footsteps, CC0 / CC BY 3.0):
onset function invariance, 8 kHz input, stationary noise, band weights, texture vs rhythm."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from coach.analysis import analyze_steps, detector_rhythm
from stepdetect import StepDetector, cadence_spm, detect_footfalls, score_events
from stepdetect import features, online
from stepdetect.peaks import PickParams
from stepdetect.tracker import BANDS_PARAMS
from stepdetect.validate import ParameterError

DATA = Path(__file__).parent / "data" / "footsteps"


def _steps(surface: str = "dirt") -> tuple[np.ndarray, int]:
    y, sr = sf.read(DATA / "steps_dirt_shower_22k.flac", always_2d=True)
    return (y.T[:4] if surface == "dirt" else y.T[4:]), sr  # (4 steps, samples)


def _run(spm: float = 170.0, duration_s: float = 16.0, jitter_s: float = 0.006, seed: int = 3,
         sample_rate: int = 44100, surface: str = "dirt") -> tuple[np.ndarray, np.ndarray, int]:
    """Real single steps of one surface (random pick, +-3 dB) at a running cadence, quiet room noise."""
    steps, sr = _steps(surface)
    if sr != sample_rate:
        g = np.gcd(sr, sample_rate)
        steps = signal.resample_poly(steps, sample_rate // g, sr // g, axis=1)
    rng = np.random.default_rng(seed)
    times = np.arange(0.6, duration_s - 0.5, 60.0 / spm) + rng.normal(0.0, jitter_s, 1)[0]
    times = times + rng.normal(0.0, jitter_s, times.size)
    y = 10 ** (-60 / 20) * rng.standard_normal(int(duration_s * sample_rate))
    for t in times:
        s = steps[rng.integers(len(steps))] * 0.1 * 10 ** (rng.uniform(-3, 3) / 20)
        a = int(round((t - 0.005) * sample_rate))
        y[a : a + s.size] += s[: max(0, y.size - a)]
    return y, times, sample_rate


@pytest.mark.parametrize("sample_rate", [8000, 16000, 44100, 48000])
def test_onset_function_is_block_size_invariant(sample_rate: int, rng: np.random.Generator) -> None:
    y, _, sr = _run(duration_s=2.0, sample_rate=sample_rate)
    whole, _ = features.footfall_features(y, state=features.new_state(sr))
    state, parts, pos = features.new_state(sr), [], 0
    for size in list(rng.integers(1, 900, 40)) + [1, 3, 4096]:
        frames, state = features.footfall_features(y[pos : pos + size], state=state)
        parts.append(frames)
        pos += size
    frames, state = features.footfall_features(y[pos:], state=state)
    parts.append(frames)
    for name in ("bands_db", "bands_level_db", "odf_db", "top_z"):
        np.testing.assert_array_equal(np.concatenate([getattr(p, name) for p in parts]), getattr(whole, name))
    assert whole.bands_db.shape == (y.size // features.hop_size(sr), features.N_BANDS)
    assert np.all(whole.bands_db >= 0) and np.all(whole.odf_db >= 0)


def test_real_steps_streaming_equals_offline(rng: np.random.Generator) -> None:
    y, ref, sr = _run(duration_s=8.0)
    offline = detect_footfalls(y, sample_rate=sr)
    detector, times, pos = StepDetector(sample_rate=sr), [], 0
    while pos < y.size:
        size = int(rng.choice([1, 64, 256, 1000, 4096]))
        out = detector.process_block(y[pos : pos + size])
        assert np.all((pos + size) / sr - out.time_s <= 0.050 + size / sr)  # reported <= 50 ms after contact
        times.extend(out.time_s)
        pos += size
    np.testing.assert_allclose(times, offline.time_s, atol=1e-12, rtol=0)
    scores = score_events(ref, offline.time_s, tolerance_s=0.025)
    assert scores.f1 >= 0.95 and scores.median_abs_error_ms <= 5.0, scores


def test_real_steps_through_an_8_khz_narrowband_headset() -> None:
    """HFP/CVSD-like path: 300-3400 Hz, 8 kHz. Nothing is left of the 30-250 Hz thump band."""
    y, ref, sr = _run(sample_rate=48000)
    y = signal.sosfilt(signal.butter(4, [300, 3400], btype="bandpass", fs=sr, output="sos"), y)
    y8 = signal.resample_poly(y, 1, 6)
    detector = StepDetector(sample_rate=8000)
    found = detector.process_block(y8)
    scores = score_events(ref, found.time_s, tolerance_s=0.025)
    assert scores.f1 >= 0.90 and scores.median_abs_error_ms <= 5.0, scores
    assert features.bands_present(8000).tolist() == [True, True, True, True, False]  # nothing above 4 kHz
    assert {b["band"] for b in detector.bands} <= set(features.BAND_NAMES[:4])


def test_stationary_noise_does_not_matter() -> None:
    """Treadmill-like: 50 Hz hum + harmonics and belt hiss, together 3.5x the steps' rms; the
    per-band floors take them out and the weights move to the bands the footfalls fill."""
    y, ref, sr = _run()
    t = np.arange(y.size) / sr
    rng = np.random.default_rng(9)
    hum = 0.025 * (np.sin(2 * np.pi * 50 * t) + 0.6 * np.sin(2 * np.pi * 100 * t) + 0.4 * np.sin(2 * np.pi * 150 * t))
    hiss = 0.01 * signal.sosfilt(signal.butter(2, 2000, btype="highpass", fs=sr, output="sos"), rng.standard_normal(y.size))
    noise = hum + hiss
    assert np.sqrt(np.mean(noise**2)) > 3 * np.sqrt(np.mean(y**2))
    detector = StepDetector(sample_rate=sr)
    scores = score_events(ref, detector.process_block(y + noise).time_s, tolerance_s=0.025)
    assert scores.f1 >= 0.95, scores
    assert detector.path == "bands"  # the hum buries the thump band: the weighted bands carry the footfalls
    weights = {b["band"]: b["weight"] for b in detector.bands}
    assert weights["250-700 Hz"] + weights["700-1800 Hz"] >= 0.7, weights
    assert len(detect_footfalls(noise, sample_rate=sr)) == 0  # the noise alone: nothing


def _report(y: np.ndarray, sr: int) -> dict:
    detector = StepDetector(sample_rate=sr)
    found = detect_footfalls(y, sample_rate=sr, detector=detector)
    return analyze_steps(found.time_s, found.confidence, duration_s=y.size / sr, rhythm=detector_rhythm(detector, found))


# the step times of walk_shower_hfp8_8k.flac (the benchmark's truth)
WALK_SHOWER_HFP8_STEPS_S = [0.6, 1.114, 1.6472, 2.1739, 2.7231, 3.2578, 3.7863, 4.3307, 4.8684, 5.4088, 5.9637, 6.4935,
                            7.0401, 7.547, 8.1145, 8.6229, 9.1722, 9.7106, 10.2511, 10.7608, 11.3154, 11.8528]


def test_a_walk_through_a_noisy_narrowband_headset_is_a_confident_cadence() -> None:
    # 8 kHz HFP: the headset's noise onsets between the steps carry more than half of the
    # candidates' strength (salience < 0.5), but they come at random lags: the onsets still
    # recur at the step period far more than at any other lag (pulse clarity)
    y, sr = sf.read(DATA / "walk_shower_hfp8_8k.flac")
    report = _report(y, sr)
    assert report["rhythm_salience"] < 0.5  # what a salience bar of 0.5 called "no steady rhythm"
    assert report["rhythm_clarity"] >= 3.0  # a texture's is ~1.1-1.4
    assert report["cadence_confident"] is True
    assert report["cadence_spm"] == pytest.approx(cadence_spm(np.array(WALK_SHOWER_HFP8_STEPS_S)), abs=1.0)


# the step times of clicks_synthetic_hfp8_8k.flac (the benchmark's truth)
CLICKS_SYNTHETIC_HFP8_STEPS_S = [0.6, 1.0335, 1.4171, 1.7672, 2.1341, 2.5343, 2.8511, 3.268, 3.6349, 4.0184, 4.3185,
                                 4.7688, 5.1356, 5.5692, 5.8693, 6.2695, 6.653, 7.0366, 7.4034, 7.8036]


def test_a_sound_far_quieter_than_the_footfalls_is_a_step_only_right_at_the_prediction() -> None:
    """Through an 8 kHz headset (gate, AGC) a breath or a click far quieter than the steps jumps as
    much as a footfall: once the bands path knows the footfalls' level, such a candidate
    (``step_level_margin_db`` under them) is a step only on the rhythm, close to the prediction
    (``quiet_min_closeness``), never off it, a stumble or another rhythm: taken, the steps next to
    it were lost (merged into it, or off the rhythm it moved)."""
    y, sr = sf.read(DATA / "clicks_synthetic_hfp8_8k.flac")
    ref = np.array(CLICKS_SYNTHETIC_HFP8_STEPS_S)
    scores = score_events(ref, detect_footfalls(y, sample_rate=sr).time_s, tolerance_s=0.025)
    without = PickParams(tracker=dataclasses.replace(BANDS_PARAMS, quiet_min_closeness=None))
    was = score_events(ref, detect_footfalls(y, sample_rate=sr, params=without).time_s, tolerance_s=0.025)
    assert scores.recall >= 0.85 and scores.f1 >= 0.85, scores
    assert was.recall <= scores.recall - 0.1 and was.f1 <= scores.f1 - 0.05, (was, scores)  # without the rule


# the step times of walk_synthetic_hfp8_8k.flac (the benchmark's truth)
WALK_SYNTHETIC_HFP8_STEPS_S = [0.6, 1.1811, 1.7911, 2.4165, 3.0089, 3.5966, 4.1898, 4.7898, 5.3888, 6.0049, 6.6049,
                               7.2009, 7.7759, 8.3907, 8.9925, 9.5779, 10.149, 10.7472, 11.3371, 11.9506]


def test_a_sound_the_bands_path_takes_before_a_step_the_thump_path_hears_is_no_evidence(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A walk through an 8 kHz headset: the gate lets a breath through 90-190 ms before every
    other step, and the bands path takes it for the footfall (off its rhythm or at its edge) and
    merges the step into it, while the thump path hears the step itself on its rhythm. Such a
    sound is no evidence for the bands path (``EARLY_SOUND_*``), so the thump path, hearing
    every step, takes over (at 9.5 s); without the rule the breaths keep the bands path reported.
    (With ``off_level_margin_db`` the bands path takes fewer of those breaths itself: both cases
    turn it off, so that they differ by this rule alone.)"""
    y, sr = sf.read(DATA / "walk_synthetic_hfp8_8k.flac")
    ref = np.array(WALK_SYNTHETIC_HFP8_STEPS_S)
    ref = ref[ref < y.size / sr - 0.3]  # the last step is decided after the excerpt ends
    params = PickParams(off_level_margin_db=np.inf)
    det = StepDetector(sample_rate=sr, params=params)
    scores = score_events(ref, det.process_block(y).time_s, tolerance_s=0.025)
    monkeypatch.setattr(online, "EARLY_SOUND", False)
    was_det = StepDetector(sample_rate=sr, params=params)
    was = score_events(ref, was_det.process_block(y).time_s, tolerance_s=0.025)
    assert det.path == "thump" and scores.f1 >= 0.7, scores
    assert was_det.path == "bands" and was.f1 <= scores.f1 - 0.04, was  # without the rule


# the step times of clicks_shower_hfp16_16k.flac (the benchmark's truth, the first 13 s of its dev item)
CLICKS_SHOWER_HFP16_STEPS_S = [
    0.6, 0.8668, 1.1169, 1.3837, 1.6505, 1.9006, 2.1508, 2.4009, 2.6677, 2.9345, 3.1846, 3.4348, 3.7016, 3.9517,
    4.2018, 4.4519, 4.7187, 4.9522, 5.219, 5.4524, 5.7192, 5.9694, 6.2362, 6.4696, 6.7364, 6.9699, 7.22, 7.4534,
    7.7036, 7.9704, 8.2038, 8.4539, 8.7207, 8.9709, 9.2043, 9.4711, 9.7212, 9.9714, 10.2382, 10.4883, 10.7551,
    11.0052, 11.272, 11.5221, 11.7723, 12.0224, 12.2892, 12.5226, 12.7894]


def test_a_sound_well_under_the_footfalls_through_a_headset_is_no_step_off_the_rhythm() -> None:
    """Shower steps at a run through a 16 kHz headset (AGC, noise gate) with loud clicks: at 12.236 s
    the gate lets through a sound 14 dB under the steps that jumps as much as a step, 53 ms before
    the step at 12.289 s. Taken as a step off the rhythm, the step merged into it as its toe (one
    footfall 53 ms early, the step lost). More than ``off_level_margin_db`` (10 dB) under the
    footfalls' level it is never a step off the rhythm, and the step is reported on it."""
    y, sr = sf.read(DATA / "clicks_shower_hfp16_16k.flac")
    ref = np.array(CLICKS_SHOWER_HFP16_STEPS_S)
    found = detect_footfalls(y, sample_rate=sr).time_s
    was = detect_footfalls(y, sample_rate=sr, params=PickParams(off_level_margin_db=np.inf)).time_s

    def near(times: np.ndarray, t_s: float, lo_s: float, hi_s: float) -> bool:
        return bool(np.any((times >= t_s + lo_s) & (times <= t_s + hi_s)))

    assert near(found, 12.2892, -0.025, 0.025) and not near(found, 12.2892, -0.1, -0.03), found
    assert near(was, 12.2892, -0.1, -0.03) and not near(was, 12.2892, -0.025, 0.025), was  # without the rule
    scores = score_events(ref, found, tolerance_s=0.025)
    before = score_events(ref, was, tolerance_s=0.025)
    assert scores.f1 >= 0.98, scores
    assert before.f1 <= scores.f1 - 0.015, before


def test_steps_give_a_confident_cadence_and_texture_does_not() -> None:
    y, ref, sr = _run(spm=165.0)
    report = _report(y, sr)
    assert report["cadence_confident"] is True
    assert report["cadence_spm"] == pytest.approx(165.0, abs=1.0)
    assert report["bands"] and all(b["band"] in features.BAND_NAMES and 0 < b["weight"] <= 1 for b in report["bands"])
    grass, gsr = sf.read(DATA / "texture_long_grass_16k.flac")
    texture = _report(np.concatenate([grass, grass[::-1], grass]), gsr)  # 15 s of shuffling through grass
    assert texture["cadence_confident"] is False
    assert texture["cadence_spm"] is None  # as with too few steps: no number to misread
    assert any("no steady step rhythm" in w for w in texture["warnings"])


MIC_PATHS = {  # (output rate, scipy band-pass/high-pass of the path): what a phone or headset hands over
    "phone": (44100, ("highpass", 150.0)),
    "hfp16": (16000, ("bandpass", (100.0, 7000.0))),
    "hfp8": (8000, ("bandpass", (300.0, 3400.0))),
}


def _mic(y: np.ndarray, sr: int, path: str) -> tuple[np.ndarray, int]:
    rate, (kind, corner) = MIC_PATHS[path]
    g = np.gcd(sr, rate)
    y = signal.resample_poly(y, rate // g, sr // g)
    return signal.sosfilt(signal.butter(4, corner, btype=kind, fs=rate, output="sos"), y), rate


@pytest.mark.parametrize("path", sorted(MIC_PATHS))
def test_texture_is_not_a_rhythm_on_any_mic_path(path: str) -> None:
    """Shuffling through grass: no confident cadence through a phone, HFP 16 kHz or HFP 8 kHz
    path; real steps through the same path keep theirs."""
    grass, gsr = sf.read(DATA / "texture_long_grass_16k.flac")
    texture = _report(*_mic(np.concatenate([grass, grass[::-1], grass, grass[::-1]]), gsr, path))
    assert texture["cadence_confident"] is False and texture["cadence_spm"] is None, texture.get("cadence_spm")
    y, _, sr = _run(spm=172.0, duration_s=16.0)
    steps = _report(*_mic(y, sr, path))
    assert steps["cadence_confident"] is True
    assert steps["cadence_spm"] == pytest.approx(172.0, abs=1.0)


def test_thuds_off_the_rhythm_keep_the_bands_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real steps at 170 spm and low thuds (60-120 Hz knocks, 11 dB below a step, every
    0.15-0.5 s) off the rhythm: the thump path hears the footfalls too, but also the thuds, so
    its tracker finds little of what it hears on the rhythm; the bands path, which the thuds
    hardly touch, stays reported instead of handing back to the thump path."""
    y, ref, sr = _run(spm=170.0, duration_s=20.0, seed=0)
    rng = np.random.default_rng(15)
    t = np.arange(int(0.06 * sr)) / sr
    at_s = 0.8
    while at_s < 19.5:
        at_s += rng.uniform(0.15, 0.5)
        knock = np.sin(2 * np.pi * rng.uniform(60, 120) * t) * np.exp(-t / 0.015) * np.minimum(1, t / 0.002)
        a = int(at_s * sr)
        y[a : a + t.size] += 0.1 * 10 ** (-11 / 20) * knock[: y.size - a]
    detector = StepDetector(sample_rate=sr)
    scores = score_events(ref, detector.process_block(y).time_s, tolerance_s=0.025)
    assert scores.f1 >= 0.95, scores
    assert detector.path == "bands"
    monkeypatch.setattr(online, "AGREE_MIN_SALIENCE", 0.0)  # the hand-back as it was: the thuds are reported
    monkeypatch.setattr(online, "CLOSENESS_FLOOR", 1.0)  # (and every footfall on a rhythm counting 1)
    assert score_events(ref, detect_footfalls(y, sample_rate=sr).time_s, tolerance_s=0.025).f1 <= 0.85


@pytest.mark.parametrize("bad", [{"tick_step_window_fraction": 0.0}, {"masked_from_s": 0.2, "masked_after_s": 0.15}])
def test_bad_tick_parameters_are_rejected(bad: dict[str, float]) -> None:
    with pytest.raises(ParameterError, match="picker"):
        PickParams(**bad)  # type: ignore[arg-type]
    assert PickParams().masked_from_s < PickParams().masked_after_s  # the shipped set passes


def test_windows_at_equals_the_sliding_window_view(rng: np.random.Generator) -> None:
    # the picker's look-ahead windows in one gather: the same values, and the same means
    # (the same additions in the same order along each window)
    from numpy.lib.stride_tricks import sliding_window_view

    from stepdetect.peaks import windows_at

    for x in (rng.standard_normal(300), rng.standard_normal((300, features.N_BANDS))):
        starts = rng.integers(0, 300 - 31, 17)
        for width in (1, 13, 26, 31):
            want = sliding_window_view(x, width, axis=0)[starts]
            got = windows_at(x, width, starts)
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got.mean(axis=-1), want.mean(axis=-1))
            np.testing.assert_array_equal(got.argmax(axis=-1), want.argmax(axis=-1))


def _streamed(y: np.ndarray, sr: int, rng: np.random.Generator, max_block: int) -> list[float]:
    """The footfall times a stream of random blocks up to ``max_block`` samples reports."""
    streamed: list[float] = []
    pos, stream = 0, StepDetector(sample_rate=sr)
    while pos < y.size:
        size = int(rng.integers(1, max_block))
        streamed.extend(stream.process_block(y[pos : pos + size]).time_s)
        pos += size
    return streamed


# the step times of crunchy_inear_16k.flac (the benchmark's truth, the first 7.5 s of its dev item)
CRUNCHY_INEAR_STEPS_S = [0.6, 1.0002, 1.4004, 1.8006, 2.2342, 2.601, 3.0346, 3.4348, 3.8516, 4.2352, 4.6687, 5.0356,
                         5.4858, 5.8693, 6.2695, 6.6697, 7.1199]


def test_a_step_the_thump_path_rejects_off_its_rhythm_comes_from_the_bands_path_on_its_rhythm(
        rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Crunchy ice steps through the in-ear path: at 5.9-6.1 s the thump path's tracker takes a
    louder crunch after the step at 5.87 s on its rhythm, and then rejects the steps at 6.27 and
    6.67 s off it, which the bands path hears on its rhythm. A step both paths heard, the bands
    path on its rhythm, is reported while the thump path is (``HEARD_FILL``); before, both were
    lost (F1 0.94 -> 1.0; the bands path takes over at the end of the excerpt). A stream in blocks
    reports the same."""
    y, sr = sf.read(DATA / "crunchy_inear_16k.flac")
    ref = np.array(CRUNCHY_INEAR_STEPS_S)
    det = StepDetector(sample_rate=sr)
    found = det.process_block(y).time_s
    for step_s in (6.2695, 6.6697):
        assert np.min(np.abs(found - step_s)) <= 0.025, (step_s, found)
    assert score_events(ref, found, tolerance_s=0.025).f1 >= 0.99
    np.testing.assert_allclose(_streamed(y, sr, rng, 3000), found, atol=1e-12, rtol=0)
    monkeypatch.setattr(online, "HEARD_FILL", False)  # without the rule both steps are lost
    was = detect_footfalls(y, sample_rate=sr).time_s
    for step_s in (6.2695, 6.6697):
        assert np.min(np.abs(was - step_s)) > 0.025, (step_s, was)


# the step times of synthetic_stop_hfp8_8k.flac (the benchmark's truth, the first 4 s of its dev item)
SYNTHETIC_STOP_HFP8_STEPS_S = [0.6, 1.0002, 1.4171, 1.8173, 2.2342, 2.6344, 3.0512, 3.4514, 3.8683]


def test_a_step_the_bands_path_rejects_in_a_weak_stretch_comes_from_the_thump_path_on_its_rhythm(
        rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Synthetic heel thumps through the 8 kHz headset path: the bands path is reported, and its
    tracker, finding little of what it hears on a rhythm yet, rejects the step at 2.63 s, which the
    locked thump path takes on its rhythm a period after the last footfall reported. That step is
    reported from the thump path (``BANDS_REJECTED_FILL``: the picker hands its tracker's rejections
    to the arbitration in decision order); before, it was lost. A stream in blocks reports the same."""
    _assert_found_only_by(online, "BANDS_REJECTED_FILL", "synthetic_stop_hfp8_8k.flac", SYNTHETIC_STOP_HFP8_STEPS_S,
                          2.6344, rng, monkeypatch)


def _assert_found_only_by(module: object, rule: str, name: str, steps_s: list[float], step_s: float,
                          rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The detector finds every step of the excerpt ``name`` (true times ``steps_s``), the one at
    ``step_s`` among them, the same streamed in random blocks; with ``module.rule`` off that step is lost."""
    y, sr = sf.read(DATA / name)
    found = StepDetector(sample_rate=sr).process_block(y).time_s
    assert np.min(np.abs(found - step_s)) <= 0.025, found
    assert score_events(np.array(steps_s), found, tolerance_s=0.025).recall == 1.0
    np.testing.assert_allclose(_streamed(y, sr, rng, 1500), found, atol=1e-12, rtol=0)
    monkeypatch.setattr(module, rule, False)  # without the rule the step is lost
    was = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(was - step_s)) > 0.025, was
    # and the rule adds that step, not extra reports: precision does not fall
    truth = np.array(steps_s)
    assert (score_events(truth, found, tolerance_s=0.025).precision
            >= score_events(truth, was, tolerance_s=0.025).precision), (found, was)


def _assert_added_by(rule: str, name: str, truth_s: list[float], steps_s: tuple[float, ...],
                     rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch,
                     max_blocks: tuple[int, ...] = (1500,)) -> None:
    """The detector finds each of ``steps_s`` in the excerpt ``name`` (true step times ``truth_s``),
    the same streamed in random blocks up to each of ``max_blocks`` samples; with ``online.rule`` off
    none of them is found and F1 is lower."""
    y, sr = sf.read(DATA / name)
    truth = np.array(truth_s)
    result = StepDetector(sample_rate=sr).process_block(y)
    found = result.time_s
    for step_s in steps_s:
        k = int(np.argmin(np.abs(found - step_s)))
        assert abs(found[k] - step_s) <= 0.025, found
        assert result.decided_at_s[k] - step_s <= 0.050, result.decided_at_s[k]  # the report budget after contact
    for max_block in max_blocks:
        np.testing.assert_allclose(_streamed(y, sr, rng, max_block), found, atol=1e-12, rtol=0)
    monkeypatch.setattr(online, rule, False)
    was = detect_footfalls(y, sample_rate=sr).time_s
    for step_s in steps_s:
        assert np.min(np.abs(was - step_s)) > 0.025, was
    assert (score_events(truth, found, tolerance_s=0.025).f1
            > score_events(truth, was, tolerance_s=0.025).f1), (found, was)


# the step times of dirt_walk_hfp16_16k.flac (the benchmark's truth, the first 6.8 s of its dev item)
DIRT_WALK_HFP16_STEPS_S = [0.6, 1.1777, 1.7468, 2.3066, 2.8801, 3.4751, 4.0598, 4.6249, 5.198, 5.7943, 6.3849]


def test_the_bands_path_still_reports_its_own_step_just_after_a_thump_fill(
        rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dirt & rocks walking steps through the 16 kHz headset path: the bands path is reported; at
    6.349 s the thump path takes the step's early part on its rhythm where the bands tracker rejected
    a candidate, and that is reported (``BANDS_REJECTED_FILL``, 36 ms before the step). The bands
    path's own footfall on its rhythm at the step, 40 ms later, is reported too (``AFTER_FILL_OWN``);
    before, it fell within ``MERGE_ACROSS_S`` of the fill and was lost. A stream in blocks reports
    the same."""
    _assert_found_only_by(online, "AFTER_FILL_OWN", "dirt_walk_hfp16_16k.flac", DIRT_WALK_HFP16_STEPS_S, 6.3849,
                          rng, monkeypatch)


# the step times of dirt_walk_long_hfp16_16k.flac (the benchmark's truth, the first 14.3 s of its dev item)
DIRT_WALK_LONG_HFP16_STEPS_S = [
    0.6, 1.1777, 1.7468, 2.3066, 2.8801, 3.4751, 4.0598, 4.6249, 5.198, 5.7943, 6.3849, 6.9381, 7.5029, 8.0929,
    8.7279, 9.3078, 9.9024, 10.4604, 11.0095, 11.6082, 12.1973, 12.7762, 13.3601, 13.9269]


def test_before_a_path_is_chosen_the_bands_step_after_a_rejected_thump_sound_is_reported(
        rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same 8 kHz walk's start: before either path is chosen, the thump path reports a faint
    sound its tracker rejected at 1.126 s (0.2 x its first step), 52 ms before the second step; the
    bands path's step at 1.178 s, at full confidence, fell within ``MERGE_ACROSS_S`` of it and was
    lost, and the thump path's own later part at 1.242 s was reported instead. With
    ``AFTER_UNDECIDED_REJECT`` the bands step is reported (the faint sound, decided first, stays) and
    the later part is that step again; random blocks report the same."""
    _assert_added_by("AFTER_UNDECIDED_REJECT", "dirt_walk_long_hfp8_8k.flac",
                     DIRT_WALK_LONG_HFP16_STEPS_S + [14.5371], (1.1777,), rng, monkeypatch)


def test_before_a_path_is_chosen_only_a_bands_step_at_full_confidence_follows_a_rejected_thump_sound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic 8 kHz walk's start: before either path is chosen the thump path reports sounds
    its tracker rejects, and the bands path's onsets 63 ms after one (1.046 s, half its footfalls'
    strength) and 65 ms before the second step (1.116 s) are no steps: under the picker's full
    confidence (``AFTER_REJECT_MIN_CONFIDENCE``) ``AFTER_UNDECIDED_REJECT`` does not report them."""
    y, sr = sf.read(DATA / "walk_synthetic_hfp8_8k.flac")
    truth = np.array(WALK_SYNTHETIC_HFP8_STEPS_S)
    found = StepDetector(sample_rate=sr).process_block(y).time_s
    monkeypatch.setattr(online, "AFTER_REJECT_MIN_CONFIDENCE", 0.0)
    was = StepDetector(sample_rate=sr).process_block(y).time_s
    for false_s in (1.046, 1.116):
        assert np.min(np.abs(found - false_s)) > 0.025, found
        assert np.min(np.abs(was - false_s)) <= 0.005, was  # without the bound both are reported
    assert (score_events(truth, found, tolerance_s=0.025).precision
            > score_events(truth, was, tolerance_s=0.025).precision), (found, was)


# the step times of crunchy_ramp_hfp8_8k.flac (the benchmark's truth, the first 6.2 s of its dev item)
CRUNCHY_RAMP_HFP8_STEPS_S = [0.6, 0.9776, 1.361, 1.7212, 2.1016, 2.4723, 2.8469, 3.212, 3.5941, 3.9627, 4.3254,
                             4.6883, 5.0566, 5.421, 5.7906, 6.1427]


def test_a_thump_step_the_bands_path_rejects_just_after_it_decided_it_fills_the_gap_then(
        rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A runner on crunchy ice at 163 spm through the 8 kHz headset path: the reported bands path is
    locked on strides (0.74 s) until 6.1 s and rejects the other foot's steps at 4.688 and 5.424 s,
    which the thump path takes on its rhythm (closeness 0.99-1.0, a period after the last footfall
    reported). The bands tracker decides those rejections 4-13 ms after the thump path's footfall, so
    ``BANDS_REJECTED_FILL`` (asked when the thump footfall is decided) missed them; with
    ``LATE_BANDS_REJECTION`` the footfall is reported when the rejection comes. Random blocks report
    the same."""
    # small blocks too: the rejection and the footfall it fills come in different blocks
    _assert_added_by("LATE_BANDS_REJECTION", "crunchy_ramp_hfp8_8k.flac", CRUNCHY_RAMP_HFP8_STEPS_S, (4.6883, 5.421),
                     rng, monkeypatch, max_blocks=(160, 1500))


# the step times of crunchy_treadmill_hfp16_16k.flac (the benchmark's truth, the first 11 s of its dev item)
CRUNCHY_TREADMILL_HFP16_STEPS_S = [
    0.6, 0.8501, 1.1169, 1.3837, 1.6338, 1.884, 2.1508, 2.4009, 2.651, 2.9012, 3.168, 3.4014, 3.6682, 3.9017,
    4.1685, 4.4186, 4.6854, 4.9188, 5.1856, 5.4191, 5.6692, 5.9027, 6.1528, 6.4196, 6.653, 6.9032, 7.17, 7.4201,
    7.6535, 7.9203, 8.1705, 8.4206, 8.6874, 8.9375, 9.2043, 9.4544, 9.7212, 9.9714, 10.2215, 10.4716, 10.7384]


def test_no_hand_over_to_the_thump_path_on_a_sound_far_from_the_bands_rhythm(
        monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    """A 240 spm runner on crunchy ice through a 16 kHz headset: at 8.905 s both paths take the last
    step's crunch 33 ms before the contact, the bands path at closeness 0.40 to its prediction (it
    then takes the contact itself at 0.99). On that footfall the two paths "agreed" and the bands
    path handed over to the thump path, which dated the next step at a crunch 88 ms early. A
    hand-over on agreement now needs the bands path's last footfall on its rhythm at least
    ``AGREE_OWN_MIN_CLOSENESS`` close to its prediction: the contacts at 8.938 and 9.204 s are
    reported (the crunch at 8.905 s, decided first, stays)."""
    y, sr = sf.read(DATA / "crunchy_treadmill_hfp16_16k.flac")
    ref = np.array(CRUNCHY_TREADMILL_HFP16_STEPS_S)

    def near(times: np.ndarray, t_s: float) -> bool:
        return bool(np.any(np.abs(times - t_s) <= 0.025))

    found = detect_footfalls(y, sample_rate=sr).time_s
    np.testing.assert_allclose(_streamed(y, sr, rng, 4000), found, atol=1e-9, rtol=0)  # random blocks: the same
    monkeypatch.setattr(online, "AGREE_OWN_MIN_CLOSENESS", 0.0)
    was = detect_footfalls(y, sample_rate=sr).time_s
    assert near(found, 8.9375) and near(found, 9.2043), found
    assert not near(was, 8.9375) and not near(was, 9.2043), was  # without the rule
    scores, before = (score_events(ref, f, tolerance_s=0.025) for f in (found, was))
    assert scores.n_matched >= before.n_matched + 2 and scores.precision > before.precision, (scores, before)


# the step times of dirt_quiet_inear_16k.flac (the benchmark's truth, the first 8 s of its dev item)
DIRT_QUIET_INEAR_STEPS_S = [0.6, 0.8668, 1.1169, 1.3671, 1.6339, 1.9006, 2.1508, 2.4176, 2.6844, 2.9512, 3.218,
                            3.4681, 3.7516, 4.0017, 4.2685, 4.502, 4.7688, 5.0356, 5.3024, 5.5525, 5.8026, 6.0694,
                            6.3362, 6.5863, 6.8531, 7.1199, 7.3701, 7.6369, 7.887]


def test_a_fill_may_come_a_little_earlier_than_the_thump_paths_prediction_at_a_fast_cadence(
        rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dirt & rocks running steps (0.26 s apart) through the in-ear path: the thump path is reported
    and misses one foot's soft steps (6.34 and 7.64 s), which the bands path takes on its rhythm
    15 ms before the thump tracker's prediction -- where ``FILL_EARLY`` x the period allows 13 ms.
    The early bound is at least ``FILL_EARLY_MIN_S`` (20 ms), so they are filled; before, both were
    lost. A stream in blocks reports the same."""
    _assert_found_only_by(online, "FILL_EARLY_MIN_S", "dirt_quiet_inear_16k.flac", DIRT_QUIET_INEAR_STEPS_S, 6.3362,
                          rng, monkeypatch)


def _thump_led_run(seed: int, sample_rate: int = 16000, spm: float = 180.0,
                   duration_s: float = 12.0) -> tuple[np.ndarray, np.ndarray, int]:
    """Steps whose 90 Hz thump swells over 8 ms after a short 1.5-6 kHz splash 12 dB softer, with
    noise in the splash's band (the weights then pick the thump band, as a treadmill's noise does)."""
    rng = np.random.default_rng(seed)
    times = np.arange(0.6, duration_s - 0.4, 60.0 / spm)
    times = times + rng.normal(0.0, 0.004, times.size)
    n = int(duration_s * sample_rate)
    sos = signal.butter(4, [1500.0, 6000.0], "bandpass", fs=sample_rate, output="sos")
    y = 3 * 10 ** (-35 / 20) * signal.sosfilt(sos, rng.standard_normal(n))
    tt = np.arange(int(0.12 * sample_rate)) / sample_rate
    for t in times:
        thump = np.sin(2 * np.pi * 90.0 * tt) * np.minimum(tt / 0.008, 1.0) * np.exp(-np.maximum(tt - 0.008, 0) / 0.03)
        splash = 3 * 10 ** (-12 / 20) * signal.sosfilt(sos, rng.standard_normal(tt.size)) * np.exp(-tt / 0.01)
        a = int(round(t * sample_rate))
        y[a : a + tt.size] += 0.3 * (thump + splash)[: max(0, n - a)]
    return y, times, sample_rate


def test_a_footfall_dated_in_the_thump_band_is_reported_at_its_higher_bands_onset(rng: np.random.Generator) -> None:
    errors: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(1, 6):
        y, times, sr = _thump_led_run(seed)
        found = {rule: detect_footfalls(y, sample_rate=sr, params=PickParams(
            thump_dating_jump_db=PickParams().thump_dating_jump_db if rule else None)).time_s for rule in (True, False)}
        for rule, t in found.items():
            assert t.size == times.size  # every step, nothing else
            errors[rule].extend(np.abs(t - times))
        # reported earlier, never later, and at most thump_dating_max_s earlier
        shift = found[True] - found[False]
        assert np.all(shift <= 1e-12) and np.all(shift >= -PickParams().thump_dating_max_s - 1e-9)
    # the thump band's onset lags the contact ~3.6 ms (past its band delay); the splash's does not
    assert np.median(errors[False]) > 0.0033
    assert np.median(errors[True]) < 0.0027
    y, _, sr = _thump_led_run(1)
    np.testing.assert_allclose(_streamed(y, sr, rng, 2000), detect_footfalls(y, sample_rate=sr).time_s, atol=1e-12,
                               rtol=0)
