"""Accelerometer step detection: real walk excerpts (Oxford foot-switch ground truth, see
tests/data/accel/make_walk_excerpts.py), orientation invariance, a phone turning mid-walk, a
pause, synthetic running, bad input. The whole Oxford set is scored by benchmarks/bench_accel.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.bench_accel import block_mean, match_step_times
from stepdetect.accel import accel_steps, detect_steps_accel, step_candidates
from stepdetect.accel_front import accel_front_end
from stepdetect.accel_io import read_accel_csv
from stepdetect.cadence import cadence_spm
from stepdetect.validate import ParameterError

FIXTURES = Path(__file__).resolve().parent / "data" / "accel"
STANDARD_GRAVITY_M_S2 = 9.80665
TIMING_TOLERANCE_S = 0.15  # ground truth is sampled every ~0.1 s


def _walk(stem: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rec = read_accel_csv(FIXTURES / f"{stem}_50hz.csv")
    truth_s = np.loadtxt(FIXTURES / f"{stem}_steps.txt")
    return rec.time_s, rec.xyz, truth_s


@pytest.fixture(scope="module")
def back_pocket() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """30 s of a phone in one back pocket: 57 foot-switch steps, lopsided (0.41 / 0.62 s)."""
    return _walk("walk_backpocket")


@pytest.fixture(scope="module")
def pause() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """20 s of a phone in a bag; the walker stops between 10.45 s and 11.62 s."""
    return _walk("walk_pause")


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix about ``axis`` by ``angle`` radians (Rodrigues)."""
    k = axis / np.linalg.norm(axis)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def _inner(times_s: np.ndarray, duration_s: float, margin_s: float = 1.0) -> np.ndarray:
    return times_s[(times_s > margin_s) & (times_s < duration_s - margin_s)]


def test_back_pocket_counts_every_step(back_pocket) -> None:
    """The lopsided back-pocket signal used to be read at its stride: 29 % of the steps lost."""
    time_s, xyz, truth_s = back_pocket
    detected_s = detect_steps_accel(time_s, xyz)
    assert abs(detected_s.size - truth_s.size) <= 1, (detected_s.size, truth_s.size)
    assert match_step_times(truth_s, detected_s, tolerance_s=TIMING_TOLERANCE_S) >= 0.95 * truth_s.size
    assert cadence_spm(detected_s) == pytest.approx(cadence_spm(truth_s), abs=2.0)


@pytest.mark.parametrize("fixture", ["back_pocket", "pause"])
def test_the_shared_tracker_decides_and_matches_the_picker(fixture: str, request) -> None:
    """The default path runs the candidates through stepdetect.tracker (ACCEL_PARAMS, the front
    end's step period as each candidate's hint); on the real excerpts it finds the same steps as
    the two-sided picker, give or take one, at the candidates' own times."""
    time_s, xyz, truth_s = request.getfixturevalue(fixture)
    tracked = accel_steps(time_s, xyz)
    picked = accel_steps(time_s, xyz, method="picker")
    assert tracked.method == "tracker" and picked.method == "picker"
    assert tracked.rhythm_salience >= 0.8  # a walk: nearly all candidate strength on the rhythm
    assert abs(tracked.time_s.size - picked.time_s.size) <= 1
    assert match_step_times(picked.time_s, tracked.time_s, tolerance_s=1e-9) >= picked.time_s.size - 1
    cand_s, _, _ = step_candidates(tracked.front)
    assert np.isin(tracked.time_s, cand_s).all()  # never a predicted time


def test_front_end_finds_the_step_not_the_stride(back_pocket) -> None:
    time_s, xyz, truth_s = back_pocket
    front = accel_front_end(time_s, xyz)
    true_step_s = float(np.median(truth_s[2:] - truth_s[:-2])) / 2  # half the median stride
    inner = (front.grid_s > 3.0) & (front.grid_s < time_s[-1] - 3.0)
    assert np.median(front.step_period_s[inner]) == pytest.approx(true_step_s, rel=0.05)
    # the adaptive band brackets the step rate and lies above the stride rate
    assert 1 / (2 * true_step_s) < front.band_hz[0] < 1 / true_step_s < front.band_hz[1]
    assert front.has_gravity


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rotated_phone_gives_the_same_steps(back_pocket, seed: int) -> None:
    time_s, xyz, _ = back_pocket
    rng = np.random.default_rng(seed)
    q = _rotation(rng.normal(size=3), rng.uniform(0.3, np.pi))
    rotated_s = detect_steps_accel(time_s, xyz @ q.T)
    reference_s = detect_steps_accel(time_s, xyz)
    assert rotated_s.size == reference_s.size
    np.testing.assert_allclose(rotated_s, reference_s, atol=1e-6)


def test_a_phone_turning_mid_walk_keeps_its_steps(back_pocket) -> None:
    """The phone turns upside down between 14 s and 16 s and stays so: gravity reverses in the
    device frame and the whole-walk mean vector cancels (the old whole-walk gravity test then
    took the stream for gravity-free)."""
    time_s, xyz, truth_s = back_pocket
    mean = xyz.mean(axis=0)
    axis = np.cross(mean, [1.0, 0.0, 0.0])  # perpendicular to gravity
    angle = np.interp(time_s, [14.0, 16.0], [0.0, np.pi])
    turned = np.stack([_rotation(axis, a) @ v for a, v in zip(angle, xyz)])
    assert np.linalg.norm(turned.mean(axis=0)) < 0.1 * np.linalg.norm(mean)
    front = accel_front_end(time_s, turned)
    assert front.has_gravity
    detected_s = detect_steps_accel(time_s, turned)
    reference_s = detect_steps_accel(time_s, xyz)
    assert abs(detected_s.size - truth_s.size) <= 1
    assert match_step_times(reference_s, detected_s, tolerance_s=0.02) >= reference_s.size - 1


def test_a_pause_gives_no_steps(pause) -> None:
    """The real stop in the bag walk: no step invented in it, all steps around it found."""
    time_s, xyz, truth_s = pause
    detected_s = detect_steps_accel(time_s, xyz)
    stop_start_s, stop_end_s = 10.45, 11.62  # last step before, first step after (foot switches)
    assert not np.any((detected_s > stop_start_s + 0.25) & (detected_s < stop_end_s - 0.15)), detected_s
    assert abs(detected_s.size - truth_s.size) <= 1
    assert match_step_times(truth_s, detected_s, tolerance_s=TIMING_TOLERANCE_S) >= 0.9 * truth_s.size


def test_the_fading_last_step_of_a_walk_is_counted() -> None:
    """The end of a neck-pouch walk: each of its last steps softer than the one before, the
    walk's last step (13.37 s; the other foot joins it at 13.86 s) is under the tracker's
    reference; one step period after the run's last step and 0.4 of its strength, it is taken
    (without the walk-end rule the count stops a step short). Nothing once the phone is still."""
    time_s, xyz, truth_s = _walk("walk_end")
    detected_s = detect_steps_accel(time_s, xyz)
    assert np.min(np.abs(detected_s - truth_s[-2])) <= TIMING_TOLERANCE_S, detected_s[-4:]
    assert not np.any(detected_s > truth_s[-1] + TIMING_TOLERANCE_S), detected_s[-4:]
    assert match_step_times(truth_s, detected_s, tolerance_s=TIMING_TOLERANCE_S) >= truth_s.size - 2


def test_a_long_stop_between_walks_gives_no_steps(back_pocket, rng) -> None:
    """10 s standing still (phone at rest, sensor noise) spliced between two halves of a walk."""
    time_s, xyz, truth_s = back_pocket
    split_s, stop_s = 15.0, 10.0
    first, second = time_s < split_s, time_s >= split_s
    still_t = np.arange(split_s, split_s + stop_s, np.median(np.diff(time_s)))
    still = xyz[first][-1] + rng.normal(0.0, 0.05, (still_t.size, 3))
    joined_t = np.concatenate([time_s[first], still_t, time_s[second] + stop_s])
    joined = np.vstack([xyz[first], still, xyz[second]])
    detected_s = detect_steps_accel(joined_t, joined)
    assert not np.any((detected_s > split_s + 0.5) & (detected_s < split_s + stop_s - 0.5)), detected_s
    expected_s = np.concatenate([truth_s[truth_s < split_s], truth_s[truth_s >= split_s] + stop_s])
    assert abs(detected_s.size - expected_s.size) <= 2
    assert match_step_times(expected_s, detected_s, tolerance_s=TIMING_TOLERANCE_S) >= 0.9 * expected_s.size


def test_candidates_carry_time_and_strength(back_pocket) -> None:
    time_s, xyz, truth_s = back_pocket
    cand_s, strength, period_s = step_candidates(accel_front_end(time_s, xyz))
    assert np.all(np.diff(cand_s) > 0) and cand_s.size >= truth_s.size
    assert np.all(strength >= 0) and np.all(period_s > 0)
    # the strongest candidates are steps
    strongest = cand_s[np.argsort(-strength)[: truth_s.size // 2]]
    assert match_step_times(truth_s, np.sort(strongest), tolerance_s=TIMING_TOLERANCE_S) >= 0.95 * strongest.size


@pytest.mark.parametrize("stem", ["walk_backpocket", "walk_pause"])
def test_a_25_hz_wearable_still_counts_steps(stem: str) -> None:
    time_s, xyz, truth_s = _walk(stem)
    detected_s = detect_steps_accel(*block_mean(time_s, xyz, rate_hz=25.0))
    assert abs(detected_s.size - truth_s.size) <= 2
    assert match_step_times(truth_s, detected_s, tolerance_s=TIMING_TOLERANCE_S) >= 0.9 * truth_s.size


def _synthetic_run(step_times_s: np.ndarray, *, rate_hz: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Phone on a runner: one loading bump per footfall (Gaussian, sd 50 ms, peak at the
    footfall, 2 g and 1.5 g on alternate feet), a stride-rate sway of 3 m/s², sensor noise
    0.3 m/s², gravity, a random orientation and jittered (irregular) sample times."""
    duration_s = step_times_s[-1] + 1.0
    time_s = np.sort(rng.uniform(0.0, duration_s, int(duration_s * rate_hz)))
    vertical = np.zeros_like(time_s)
    for k, step_s in enumerate(step_times_s):
        amplitude = (2.0 if k % 2 == 0 else 1.5) * STANDARD_GRAVITY_M_S2
        vertical += amplitude * np.exp(-0.5 * ((time_s - step_s) / 0.05) ** 2)
    stride_s = 2 * np.median(np.diff(step_times_s))
    sway = 3.0 * np.sin(2 * np.pi * time_s / stride_s)
    body = np.column_stack([sway, 0.5 * sway, STANDARD_GRAVITY_M_S2 + vertical - vertical.mean()])
    body += rng.normal(0.0, 0.3, body.shape)
    q = np.linalg.qr(rng.normal(size=(3, 3)))[0]  # random rotation (orthonormal)
    return time_s, body @ q.T


@pytest.mark.parametrize("cadence_spm_true", [150.0, 170.0, 190.0, 230.0])
@pytest.mark.parametrize("rate_hz", [50.0, 100.0])
def test_synthetic_running(rng, cadence_spm_true: float, rate_hz: float) -> None:
    """Running step times: the cadence, 2 % interval jitter, 60 s."""
    intervals_s = 60.0 / cadence_spm_true * (1 + rng.normal(0.0, 0.02, int(cadence_spm_true)))
    steps_s = 1.0 + np.cumsum(intervals_s)
    time_s, xyz = _synthetic_run(steps_s, rate_hz=rate_hz, rng=rng)
    detected_s = detect_steps_accel(time_s, xyz)
    # ignore 1 s at each end (filter edges); the bump peaks at the footfall, so the detected
    # peak should sit on it within 40 ms (< 1/6 of the shortest step: matching stays unique)
    ref_s = _inner(steps_s, steps_s[-1])
    est_s = _inner(detected_s, steps_s[-1])
    n_matched = match_step_times(ref_s, est_s, tolerance_s=0.04)
    assert n_matched >= 0.98 * ref_s.size, (n_matched, ref_s.size, est_s.size)
    assert n_matched >= 0.98 * est_s.size, (n_matched, ref_s.size, est_s.size)
    assert cadence_spm(detected_s) == pytest.approx(cadence_spm(steps_s), rel=0.01)


def test_still_phone_gives_no_steps(rng) -> None:
    time_s = np.arange(0, 30, 0.01)
    xyz = np.array([0.0, 0.0, STANDARD_GRAVITY_M_S2]) + rng.normal(0.0, 0.05, (time_s.size, 3))
    assert detect_steps_accel(time_s, xyz).size == 0


def test_steps_stay_on_the_input_time_axis(back_pocket) -> None:
    time_s, xyz, truth_s = back_pocket
    detected_s = detect_steps_accel(time_s + 100.0, xyz)
    assert np.all(np.diff(detected_s) > 0)
    assert detected_s.dtype == np.float64
    assert match_step_times(truth_s + 100.0, detected_s, tolerance_s=TIMING_TOLERANCE_S) >= 0.9 * truth_s.size


def test_gravity_free_input(back_pocket) -> None:
    """'Linear acceleration' exports (gravity removed) use the principal axis, not |a|."""
    time_s, xyz, truth_s = back_pocket
    gravity = np.column_stack([np.convolve(xyz[:, k], np.ones(51) / 51, mode="same") for k in range(3)])
    front = accel_front_end(time_s, xyz - gravity)
    assert not front.has_gravity
    detected_s = detect_steps_accel(time_s, xyz - gravity)
    assert abs(detected_s.size - truth_s.size) <= 0.05 * truth_s.size


def test_gravity_free_input_with_the_phone_turning(back_pocket) -> None:
    """A linear-acceleration stream whose phone turns a full circle mid-walk: the step axis is
    followed window by window (one whole-walk principal axis would be wrong half of the time)."""
    time_s, xyz, truth_s = back_pocket
    gravity = np.column_stack([np.convolve(xyz[:, k], np.ones(51) / 51, mode="same") for k in range(3)])
    linear = xyz - gravity
    angle = np.interp(time_s, [10.0, 20.0], [0.0, 2 * np.pi])
    axis = np.cross(xyz.mean(axis=0), [1.0, 0.0, 0.0])
    turned = np.stack([_rotation(axis, a) @ v for a, v in zip(angle, linear)])
    detected_s = detect_steps_accel(time_s, turned)
    assert abs(detected_s.size - truth_s.size) <= 0.05 * truth_s.size
    assert match_step_times(truth_s, detected_s, tolerance_s=TIMING_TOLERANCE_S) >= 0.85 * truth_s.size


@pytest.mark.parametrize(
    ("time_s", "xyz", "kwargs", "match"),
    [
        (np.arange(100) * 0.01, np.zeros((100, 2)), {}, r"xyz must have shape \(100, 3\)"),
        (np.arange(100) * 0.01, np.zeros((99, 3)), {}, r"xyz must have shape"),
        (np.zeros((100, 1)), np.zeros((100, 3)), {}, "time_s must be 1-D"),
        (np.arange(5) * 0.01, np.zeros((5, 3)), {}, "at least 10"),
        (np.arange(100)[::-1] * 0.01, np.zeros((100, 3)), {}, "sorted"),
        (np.arange(100) * 10.0, np.zeros((100, 3)), {}, "did you pass milliseconds|not milliseconds"),
        (np.full(100, np.nan), np.zeros((100, 3)), {}, "finite"),
        (np.arange(100) * 0.01, np.zeros((100, 3)), {"min_cadence_spm": 200, "max_cadence_spm": 100}, "cadence range"),
        (np.arange(100) * 0.01, np.zeros((100, 3)), {"refractory_fraction": 1.5}, "refractory_fraction"),
        (np.arange(100) * 0.01, np.zeros((100, 3)), {"window_s": 1.0}, "window_s"),
        (np.arange(100) * 0.01, np.zeros((100, 3)), {"method": "vote"}, "method 'vote' must be one of"),
    ],
)
def test_bad_input_raises(time_s, xyz, kwargs, match) -> None:
    with pytest.raises(ParameterError, match=match):
        detect_steps_accel(time_s, xyz, **kwargs)
