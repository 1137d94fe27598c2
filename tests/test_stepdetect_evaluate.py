"""stepdetect.evaluate: one-to-one matching and scores."""

from __future__ import annotations

import numpy as np
import pytest

from stepdetect import classify_errors, match_events, score_events
from stepdetect.evaluate import misdated_pairs
from stepdetect.validate import ParameterError


def test_one_to_one() -> None:
    ref = np.array([1.0, 2.0, 3.0])
    est = np.array([0.99, 1.01, 2.03, 3.0, 3.02])
    assert match_events(ref, est, tolerance_s=0.025) == [(0, 0), (2, 3)]
    s = score_events(ref, est, tolerance_s=0.025)
    assert (s.n_matched, s.precision, s.recall) == (2, pytest.approx(0.4), pytest.approx(2 / 3))
    assert s.f1 == pytest.approx(2 * 0.4 * (2 / 3) / (0.4 + 2 / 3))


def test_greedy_matching_is_maximal_on_a_chain() -> None:
    # ref 1.00 could take est 0.98 or 1.02; taking the earliest leaves 1.02 for ref 1.04
    ref = np.array([1.00, 1.04])
    est = np.array([0.98, 1.02])
    assert len(match_events(ref, est, tolerance_s=0.025)) == 2


def test_timing_errors(rng: np.random.Generator) -> None:
    ref = np.arange(1.0, 50.0, 0.35)
    err_s = rng.normal(0.003, 0.002, ref.size)
    s = score_events(ref, np.sort(ref + err_s))
    assert s.f1 == 1.0
    assert s.median_abs_error_ms == pytest.approx(np.median(np.abs(err_s)) * 1000, rel=1e-6)
    assert s.mean_error_ms == pytest.approx(3.0, abs=0.5)


def test_empty_and_bad_input() -> None:
    assert score_events(np.zeros(0), np.zeros(0)).f1 == 1.0
    assert score_events(np.array([1.0]), np.zeros(0)).f1 == 0.0
    with pytest.raises(ParameterError, match="milliseconds"):
        match_events(np.array([1.0]), np.array([1.0]), tolerance_s=25)


def test_error_classes_tell_a_misdated_footfall_from_a_miss_and_a_false_report() -> None:
    ref = np.array([1.0, 1.5, 2.0, 2.5, 3.0])
    # 1.0 dated at a sound 100 ms before it, 2.0 at its toe 80 ms after, 2.5 not heard at all,
    # 4.0 a click long after the run
    est = np.array([0.9, 1.5, 2.08, 3.01, 4.0])
    e = classify_errors(ref, est, tolerance_s=0.025)
    assert (e.misdated_early, e.misdated_late, e.missed, e.extra) == (1, 1, 1, 1)
    # further than misdated_s from any missed contact: a miss and a false report, not a misdating
    e = classify_errors(np.array([1.0]), np.array([1.2]))
    assert (e.misdated_early, e.misdated_late, e.missed, e.extra) == (0, 0, 1, 1)
    e = classify_errors(np.array([1.0]), np.array([1.2]), misdated_s=0.25)
    assert (e.misdated_early, e.misdated_late, e.missed, e.extra) == (0, 1, 0, 0)


def test_error_classes_pair_the_nearest_first() -> None:
    # two unmatched reports around one missed contact: the nearer one (50 ms late) is its
    # misdating, the other (120 ms early) a false report; the order they come in does not matter
    e = classify_errors(np.array([1.0]), np.array([0.88, 1.05]))
    assert (e.misdated_early, e.misdated_late, e.missed, e.extra) == (0, 1, 0, 1)
    # one report between two missed contacts: paired with the nearer, the other is missed
    e = classify_errors(np.array([1.0, 1.2]), np.array([1.14]))
    assert (e.misdated_early, e.misdated_late, e.missed, e.extra) == (1, 0, 1, 0)


def test_error_classes_account_for_every_unmatched_event(rng: np.random.Generator) -> None:
    for _ in range(50):
        ref = np.sort(rng.uniform(1.0, 10.0, rng.integers(0, 40)))
        heard = ref[rng.random(ref.size) < 0.7]  # some contacts heard, ~50 ms (sd) off, plus other sounds
        est = np.sort(np.concatenate([heard + rng.normal(0.0, 0.05, heard.size), rng.uniform(0.0, 10.0, rng.integers(0, 10))]))
        s = score_events(ref, est)
        e = classify_errors(ref, est)
        assert e.missed + e.misdated_early + e.misdated_late == s.n_reference - s.n_matched
        assert e.extra + e.misdated_early + e.misdated_late == s.n_estimated - s.n_matched
        assert min(e.as_dict().values()) >= 0


def test_misdated_pairs_name_the_contact_and_the_report() -> None:
    ref = np.array([1.0, 1.5, 2.0, 2.5, 3.0])
    est = np.array([0.9, 1.5, 2.08, 3.01, 4.0])  # as above: 1.0 early, 2.0 late, 2.5 missed, 4.0 extra
    pairs, n_free_ref, n_free_est = misdated_pairs(ref, est)
    assert pairs == [(0, 0), (2, 2)]  # (contact, report), in the contacts' order
    assert (n_free_ref, n_free_est) == (3, 3)
    assert misdated_pairs(np.array([1.0]), np.array([1.0])) == ([], 0, 0)


def test_error_classes_reject_a_window_inside_the_tolerance() -> None:
    with pytest.raises(ParameterError, match="misdated_s"):
        classify_errors(np.array([1.0]), np.array([1.0]), tolerance_s=0.025, misdated_s=0.02)
