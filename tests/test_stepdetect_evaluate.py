"""stepdetect.evaluate: one-to-one matching and scores."""

from __future__ import annotations

import numpy as np
import pytest

from stepdetect import match_events, score_events
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
