"""StepDetector: streaming == offline, real step timing, ticks, delay, validation.

Synthetic audio here is driven by the real treadmill step times in
``../shared/data/soundtrackdb/<session>.csv`` (YOLO_Start_Time), rendered with the same code
as samples/ (``samples/generate.py``).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from samples.generate import Condition, add_at, render
from stepdetect import StepDetector, cadence_spm, detect_footfalls, score_events
from stepdetect.validate import ParameterError

SESSIONS = [  # (session, start s, sample rate): all eight sessions, rates 8-96 kHz
    ("d57_P35_5_1", 30.0, 8000),
    ("d57_P35_6_0", 60.0, 16000),
    ("d17_P09_6_0", 90.0, 22050),
    ("d55_P11_7_0", 20.0, 44100),
    ("d04_P47_8_0", 100.0, 48000),
    ("d04_P47_9_0", 50.0, 32000),
    ("d17_P16_9_0", 80.0, 96000),
    ("d17_P15_10_0", 40.0, 48000),
]


def _render(session: str, start_s: float, sample_rate: int, duration_s: float = 20.0, **kw) -> tuple[np.ndarray, np.ndarray]:
    cond = Condition(f"test_{session}", "test", session, start_s, sample_rate, "wav", duration_s=duration_s,
                     layers=kw.pop("layers", {"breathing": -16.0}), seed=zlib.crc32(session.encode()) % 1000, **kw)
    y, truth = render(cond)
    return y, np.array([s["time_s"] for s in truth["steps"]])


@pytest.mark.parametrize("session,start_s,sample_rate", SESSIONS)
def test_real_step_timing_is_recovered(session: str, start_s: float, sample_rate: int) -> None:
    y, ref = _render(session, start_s, sample_rate)
    found = detect_footfalls(y, sample_rate=sample_rate)
    scores = score_events(ref, found.time_s, tolerance_s=0.025)
    assert scores.f1 >= 0.97, scores
    assert scores.median_abs_error_ms <= 5.0, scores
    assert abs(cadence_spm(found.time_s) - cadence_spm(ref)) <= 0.5


def _blocks(rng: np.random.Generator, n: int) -> list[int]:
    sizes = [1, 1, 2, 3, 17, 4096, 255, 1]
    while sum(sizes) < n:
        sizes.append(int(rng.choice([1, 7, 63, 128, 511, 1000, 2049, 4096])))
    return sizes


@pytest.mark.parametrize("session,start_s,sample_rate", [SESSIONS[1], SESSIONS[4]])
def test_streaming_over_random_blocks_equals_offline(
    session: str, start_s: float, sample_rate: int, rng: np.random.Generator
) -> None:
    y, _ = _render(session, start_s, sample_rate, duration_s=8.0, channels=2)
    offline = detect_footfalls(y, sample_rate=sample_rate)
    assert len(offline) >= 15
    detector = StepDetector(sample_rate=sample_rate)
    times, pos = [], 0
    for size in _blocks(rng, y.shape[0]):
        out = detector.process_block(y[pos : pos + size])
        times.extend(out.time_s)
        # each footfall is reported within 50 ms of its contact, counting the block wait
        assert np.all((pos + size) / sample_rate - out.time_s <= 0.050 + size / sample_rate)
        pos += size
    np.testing.assert_allclose(times, offline.time_s, atol=1e-12, rtol=0)


def test_a_trace_tells_every_candidate_and_changes_nothing() -> None:
    from stepdetect.peaks import FATES

    y, ref = _render("d17_P09_6_0", 90.0, 16000, duration_s=8.0)
    trace: list[tuple[float, float, str]] = []
    det = StepDetector(sample_rate=16000, trace=lambda c, o, f: trace.append((c, o, f)))
    traced = detect_footfalls(y, sample_rate=16000, detector=det)
    plain = detect_footfalls(y, sample_rate=16000)
    np.testing.assert_array_equal(traced.time_s, plain.time_s)
    assert {f for _, _, f in trace} <= set(FATES)
    # the multi-band path's steps are the contacts (the bundled model's clean thumps); an onset
    # lies within the picker's look-back / look-ahead of its crossing (a band's delay either way)
    steps = np.array([o for _, o, f in trace if f == "step"])
    assert score_events(ref, steps).f1 >= 0.95
    assert all(-0.05 <= o - c <= 0.05 for c, o, _ in trace if np.isfinite(o))
    assert all(np.isfinite(o) for _, o, f in trace if f in ("step", "merged", "rejected", "tick", "same_onset"))
    det.reset()  # a new stream keeps its trace
    n = len(trace)
    det.process_block(y[:16000 * 3])
    assert len(trace) > n


def test_block_size_one_equals_offline() -> None:
    y, _ = _render("d17_P09_6_0", 90.0, 8000, duration_s=2.5)
    offline = detect_footfalls(y, sample_rate=8000)
    detector = StepDetector(sample_rate=8000)
    times = [t for i in range(y.size) for t in detector.process_block(y[i : i + 1]).time_s]
    assert len(offline) >= 4
    np.testing.assert_allclose(times, offline.time_s, atol=1e-12, rtol=0)


def test_detection_delay_is_documented_and_under_50_ms() -> None:
    y, ref = _render("d04_P47_8_0", 100.0, 48000, duration_s=6.0)
    found = detect_footfalls(y, sample_rate=48000)
    delay_s = found.decided_at_s - found.time_s
    assert np.all(delay_s <= 0.050), delay_s.max()
    assert np.all(delay_s > 0)
    assert StepDetector(sample_rate=48000).detection_delay_s <= 0.050


def test_reset_starts_a_new_stream() -> None:
    y, _ = _render("d57_P35_6_0", 60.0, 16000, duration_s=5.0)
    detector = StepDetector(sample_rate=16000)
    first = detector.process_block(y).time_s
    detector.reset()
    np.testing.assert_array_equal(detector.process_block(y).time_s, first)


def _low_tick(sample_rate: int) -> np.ndarray:
    """A metronome sound that leaks into the footfall band (200 Hz thud): the hard case."""
    n = int(0.05 * sample_rate)
    return np.sin(2 * np.pi * 200 * np.arange(n) / sample_rate) * np.exp(-np.arange(n) / (0.01 * sample_rate))


def test_known_tick_times_are_used() -> None:
    sr = 16000
    y, ref = _render("d17_P09_6_0", 10.0, sr, layers={})
    ticks_s = np.arange(0.3, 19.5, 0.5)
    tick = _low_tick(sr)
    for t in ticks_s:
        add_at(y, tick, int(round(t * sr)), 0.25 * 10 ** (-9 / 20))
    blind = score_events(ref, detect_footfalls(y, sample_rate=sr).time_s)
    told = score_events(ref, detect_footfalls(y, sample_rate=sr, tick_times_s=ticks_s).time_s)
    assert told.recall >= 0.97 and told.precision >= 0.95, told
    # this tick does leak into the footfall band: blind, the rhythm tracker rejects most of the
    # ticks off the steps' rhythm but not all, and loses steps next to them; told, it does better
    assert told.f1 >= blind.f1 + 0.03, (told, blind)
    false_told = told.n_estimated - told.n_matched
    assert false_told <= 2, told  # only ticks before the reference level exists (~1 s) remain


def test_ticks_alone_are_not_steps_and_a_step_on_a_tick_is_found() -> None:
    from metronome.clicks import make_tick

    sr = 48000
    y, ref = _render("d04_P47_8_0", 100.0, sr, duration_s=10.0, layers={})
    tick = make_tick("cowbell", sr).astype(np.float64)
    silence = 0.002 * np.random.default_rng(1).standard_normal(y.size)
    for t in np.arange(0.2, 10.0, 60 / 170):  # loud ticks, no steps at all
        add_at(silence, tick, int(round(t * sr)), 0.8)
    assert len(detect_footfalls(silence, sample_rate=sr)) == 0
    for t in ref:  # a tick exactly on every footfall
        add_at(y, tick, int(round(t * sr)), 0.8)
    for ticks in (None, ref):
        scores = score_events(ref, detect_footfalls(y, sample_rate=sr, tick_times_s=ticks).time_s)
        assert scores.f1 >= 0.97 and scores.median_abs_error_ms <= 5.0, scores


def test_clipping_dc_and_level_swings_are_tolerated() -> None:
    y, ref = _render("d17_P16_9_0", 80.0, 16000, gain_swing_db=10.0, dc_offset=0.3, clip_gain=3.0)
    assert np.mean(np.abs(y) >= 0.97) > 0.001  # really clipped
    scores = score_events(ref, detect_footfalls(y, sample_rate=16000).time_s)
    assert scores.f1 >= 0.95, scores


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ParameterError, match="floating"):
        detect_footfalls(np.zeros(100, dtype=np.int16), sample_rate=16000)
    with pytest.raises(ParameterError, match="empty"):
        detect_footfalls(np.zeros(0), sample_rate=16000)
    with pytest.raises(ParameterError, match="NaN"):
        detect_footfalls(np.full(100, np.nan), sample_rate=16000)
    with pytest.raises(ParameterError, match="sample rate"):
        StepDetector(sample_rate=100)


def test_silence_gives_no_footfalls() -> None:
    assert len(detect_footfalls(np.zeros(48000 * 3), sample_rate=48000)) == 0


@pytest.mark.parametrize("drop_db,max_missed", [(-12.0, 3), (-20.0, 4)])
def test_a_sudden_level_drop_costs_a_few_footfalls(drop_db: float, max_missed: int) -> None:
    y, ref = _render("d17_P09_6_0", 90.0, 16000)
    y[10 * 16000 :] *= 10 ** (drop_db / 20)  # the phone slips into a pocket
    after = ref >= 10.0
    found = detect_footfalls(y, sample_rate=16000).time_s
    scores = score_events(ref[after], found[found >= 10.0])
    assert scores.n_estimated == scores.n_matched, scores  # nothing invented
    assert scores.n_reference - scores.n_matched <= max_missed, scores
    before = score_events(ref[~after], found[found < 10.0])
    # before the drop every footfall is found; while the paths are first compared (~2 s) one
    # breath 30 ms before a step may be reported beside it
    assert before.recall == 1.0 and before.n_estimated - before.n_matched <= 1, before


@pytest.mark.parametrize("attack_s,low_hz,high_hz", [(0.006, 55.0, 110.0), (0.012, 55.0, 110.0), (0.002, 35.0, 60.0),
                                                     (0.002, 120.0, 220.0)])
def test_timing_does_not_hinge_on_the_sample_thump_model(
    attack_s: float, low_hz: float, high_hz: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Softer onsets and other thump pitches than samples/ uses: still within 5 ms (median)."""
    import samples.generate as gen

    def thump(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
        t = np.arange(int(0.2 * sample_rate)) / sample_rate
        f0 = rng.uniform(low_hz, high_hz)
        y = np.sin(2 * np.pi * np.cumsum(f0 * (1 + 0.5 * np.exp(-t / 0.02))) / sample_rate)
        y *= np.exp(-t / 0.04) * np.minimum(1.0, t / attack_s)
        return y / np.max(np.abs(y))

    monkeypatch.setattr(gen, "heel_thump", thump)
    y, ref = _render("d04_P47_8_0", 100.0, 48000)
    scores = score_events(ref, detect_footfalls(y, sample_rate=48000).time_s)
    assert scores.f1 >= 0.97, scores
    assert scores.median_abs_error_ms <= 5.0, scores
    assert abs(scores.mean_error_ms) <= 0.4 * attack_s * 1000 + 1.0, scores  # late by < 40 % of the attack


@pytest.mark.parametrize("session,start_s,sample_rate", [SESSIONS[0], SESSIONS[2], SESSIONS[4], SESSIONS[6]])
def test_a_louder_second_thump_is_part_of_the_footfall(session: str, start_s: float, sample_rate: int) -> None:
    # every sound again 90 ms later and 1.3x louder (a heel, then a louder toe slap, both in the
    # thump band): one footfall per step, at the heel
    y, ref = _render(session, start_s, sample_rate)
    n = int(0.09 * sample_rate)
    y2 = y.copy()
    y2[n:] += 1.3 * y[:-n]
    y2 /= 1.1 * np.max(np.abs(y2))
    found = detect_footfalls(y2, sample_rate=sample_rate)
    scores = score_events(ref, found.time_s, tolerance_s=0.025)
    assert scores.precision >= 0.975, scores
    assert scores.recall >= 0.98, scores
    assert scores.median_abs_error_ms <= 5.0, scores


def test_sample_history_equals_concatenating_and_keeping_the_newest(rng: np.random.Generator) -> None:
    # the raw samples the detector keeps for the tick test: the same as concatenating the kept
    # samples and each block, then keeping a copy of the newest, through blocks of any size
    # (empty ones, and one longer than its array with and without samples kept)
    from stepdetect.online import SampleHistory

    keep = 50
    history, kept = SampleHistory(keep), np.zeros(0)
    sizes = [700, *rng.integers(0, 90, 120), 0, 1000, *rng.integers(0, 90, 60)]
    for size in sizes:
        x = rng.standard_normal(int(size))
        got = history.append(x)
        want = np.concatenate((kept, x))
        np.testing.assert_array_equal(got, want)
        kept = want[-keep:].copy()
