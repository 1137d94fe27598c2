"""stepdetect.cadence on synthetic step trains and on the real soundtrackdb labels."""

from __future__ import annotations

import numpy as np
import pytest

from samples.generate import clean_steps, load_soundtrack_steps
from stepdetect import assign_feet, cadence_spm, cadence_track, find_gaps, step_asymmetry
from stepdetect.validate import ParameterError


def _train(spm: float, n: int, start_s: float = 1.0) -> np.ndarray:
    return start_s + np.arange(n) * 60.0 / spm


@pytest.mark.parametrize("spm", [150.0, 172.5, 200.0])
def test_regular_train(spm: float) -> None:
    np.testing.assert_allclose(cadence_spm(_train(spm, 60)), spm, rtol=1e-9)


def test_missed_and_extra_steps_barely_move_cadence() -> None:
    t = _train(170.0, 80)
    missed = np.delete(t, [10, 40, 41])
    extra = np.sort(np.append(t, [t[20] + 0.05, t[60] + 0.12]))
    assert abs(cadence_spm(missed) - 170.0) < 0.01
    assert abs(cadence_spm(extra) - 170.0) < 0.01


def test_too_few_steps_is_nan() -> None:
    assert np.isnan(cadence_spm(np.array([1.0, 1.35, 1.7])))


def test_gaps_are_flagged_not_filled() -> None:
    t = np.delete(_train(180.0, 50), [20, 21, 35])
    gaps = find_gaps(t)
    assert [g.n_missing for g in gaps] == [2, 1]
    np.testing.assert_allclose([g.start_s for g in gaps], [t[19], t[32]])


def test_cadence_track_follows_a_ramp() -> None:
    intervals = 60.0 / np.linspace(160.0, 180.0, 400)
    t = np.concatenate(([0.0], np.cumsum(intervals)))
    centres, spm = cadence_track(t, window_s=10.0, hop_s=2.0)
    expected = np.interp(centres, t[1:], 60.0 / intervals)
    np.testing.assert_allclose(spm, expected, atol=0.5)
    assert spm[-1] > spm[0] + 15


def test_feet_alternate_and_keep_parity_across_a_one_step_gap() -> None:
    t = np.delete(_train(170.0, 12), 5)
    feet = assign_feet(t, first_foot="R")
    assert feet[:5] == ["R", "L", "R", "L", "R"]
    assert feet[5] == "R"  # step 6 of the original train (index 6) is R again after the missed L
    assert feet[6] == "L"


def test_an_extra_event_gets_no_foot_and_alternation_continues() -> None:
    t = _train(170.0, 12)
    feet = assign_feet(np.sort(np.append(t, t[4] + 0.06)), first_foot="L")
    assert feet[:5] == ["L", "R", "L", "R", "L"] and feet[5] is None
    assert feet[6:] == ["R", "L", "R", "L", "R", "L", "R"]


def test_feet_after_a_pause_are_unknown() -> None:
    t = np.concatenate((_train(170.0, 10), _train(170.0, 10, start_s=20.13)))
    feet = assign_feet(t)
    assert None not in feet[:10] and all(f is None for f in feet[10:])


def test_asymmetry_of_a_limping_train() -> None:
    lr_s, rl_s = 0.36, 0.32
    t = np.cumsum(np.tile([lr_s, rl_s], 30))  # first step L, then R after 0.36 s, ...
    t = np.concatenate(([0.0], t))
    feet = assign_feet(t, first_foot="L")
    a = step_asymmetry(t, feet)
    assert a.left_to_right_ms == pytest.approx(360.0, abs=1e-6)
    assert a.right_to_left_ms == pytest.approx(320.0, abs=1e-6)
    assert a.symmetry_index_pct == pytest.approx(200 * 40 / 680, abs=1e-6)


def test_real_labels_give_the_published_cadence(real_data) -> None:
    # ../shared/data/soundtrackdb/d04_P47_8_0.csv: median YOLO_Cadence 179.9 spm
    t, feet = load_soundtrack_steps("d04_P47_8_0", directory=real_data / "soundtrackdb")
    t, feet, _ = clean_steps(t, feet)
    assert cadence_spm(t) == pytest.approx(179.9, abs=2.0)
    a = step_asymmetry(t, [f if f in ("L", "R") else None for f in feet])
    assert a.n_left_to_right > 200 and abs(a.symmetry_index_pct) < 10


def test_bad_input() -> None:
    with pytest.raises(ParameterError, match="sorted"):
        cadence_spm(np.array([2.0, 1.0, 3.0, 4.0]))
    with pytest.raises(ParameterError, match="first_foot"):
        assign_feet(_train(170, 5), first_foot="X")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="labels"):
        step_asymmetry(_train(170, 5), ["L"])


def test_an_extra_event_at_either_end_is_the_one_dropped() -> None:
    from stepdetect.cadence import drop_extra_events

    steps = np.arange(0.424, 60.0, 60 / 171)
    with_junk = np.sort(np.concatenate([steps, [0.299, steps[-1] + 0.1]]))
    np.testing.assert_allclose(drop_extra_events(with_junk), steps, atol=1e-12)
    assert cadence_spm(with_junk) == pytest.approx(171.0, abs=0.01)
