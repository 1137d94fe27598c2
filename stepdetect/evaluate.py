"""Score detected footfalls against reference times: one-to-one matching at a tolerance.

The matching is the standard onset F-measure (as in ``mir_eval.onset.f_measure``): each
reference event is matched to at most one detection within ``+-tolerance_s`` and vice versa, and
the number of matches is maximal. For events on a line with one window width, matching every
reference in time order to the earliest still-free detection inside its window is maximal
(the greedy choice never blocks a later reference that another choice would have served), so
no bipartite-graph solver is needed. The benchmark cross-checks the counts with mir_eval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from stepdetect.validate import ParameterError, validate_events

DEFAULT_TOLERANCE_S = 0.025
# A footfall dated at another sound of the same step (a heel's toe, a crunch, a scuff, a tick or a
# hi-hat just before it) lands 25-150 ms from the contact: heel/toe and scuff double hits are
# 30-150 ms apart (stepdetect.tracker_lock.TrackerParams.merge_s).
DEFAULT_MISDATED_S = 0.15


def match_events(
    reference_s: NDArray[np.float64], estimated_s: NDArray[np.float64], *, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> list[tuple[int, int]]:
    """Maximal one-to-one matching of sorted event times.

    Parameters
    ----------
    reference_s, estimated_s : ndarray, shape (n,), sorted, seconds
    tolerance_s : float > 0
        Largest allowed ``|estimated - reference|``, in seconds.

    Returns
    -------
    list of (reference index, estimated index) pairs, in time order.
    """
    if not tolerance_s > 0 or tolerance_s > 1.0:
        raise ParameterError(f"tolerance {tolerance_s!r} s must be in (0, 1] s (did you pass milliseconds?)")
    ref = validate_events(reference_s, name="reference times")
    est = validate_events(estimated_s, name="estimated times")
    pairs: list[tuple[int, int]] = []
    j = 0
    for i, r in enumerate(ref):
        while j < est.size and est[j] < r - tolerance_s:
            j += 1
        if j < est.size and est[j] <= r + tolerance_s:
            pairs.append((i, j))
            j += 1
    return pairs


@dataclass(frozen=True)
class Scores:
    """Detection scores of one recording."""

    n_reference: int
    n_estimated: int
    n_matched: int
    precision: float
    recall: float
    f1: float
    median_abs_error_ms: float  # over matched pairs; NaN if none
    p95_abs_error_ms: float
    mean_error_ms: float  # signed (estimated - reference): the bias

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def score_events(
    reference_s: NDArray[np.float64], estimated_s: NDArray[np.float64], *, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> Scores:
    """Precision, recall, F1 and timing errors of ``estimated_s`` against ``reference_s``.

    Empty inputs are legal: precision (recall) of nothing detected (nothing to detect) is 0,
    as in mir_eval; the F1 of two empty lists is 1 by convention here.
    """
    ref = validate_events(reference_s, name="reference times")
    est = validate_events(estimated_s, name="estimated times")
    pairs = match_events(ref, est, tolerance_s=tolerance_s)
    m = len(pairs)
    if ref.size == 0 and est.size == 0:
        p = r = f = 1.0
    else:
        p = m / est.size if est.size else 0.0
        r = m / ref.size if ref.size else 0.0
        f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    if m:
        err_ms = np.array([(est[j] - ref[i]) * 1000.0 for i, j in pairs])
        med, p95, mean = float(np.median(np.abs(err_ms))), float(np.percentile(np.abs(err_ms), 95)), float(err_ms.mean())
    else:
        med = p95 = mean = float("nan")
    return Scores(int(ref.size), int(est.size), m, p, r, f, med, p95, mean)


@dataclass(frozen=True)
class ErrorClasses:
    """What the unmatched events of one recording were (see :func:`classify_errors`)."""

    misdated_early: int  # a footfall reported 25-150 ms *before* its contact (and the contact missed)
    misdated_late: int  # ... reported after it: dated at a later sound of the same step
    missed: int  # a contact with no unmatched report near it: not heard, or taken for something else
    extra: int  # a report with no missed contact near it: a sound that was no footfall

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def misdated_pairs(
    reference_s: NDArray[np.float64], estimated_s: NDArray[np.float64], *,
    tolerance_s: float = DEFAULT_TOLERANCE_S, misdated_s: float = DEFAULT_MISDATED_S,
) -> tuple[list[tuple[int, int]], int, int]:
    """The footfalls dated at the wrong sound of their step (see :func:`classify_errors`): the
    (reference index, estimate index) pairs, in reference order, and the numbers of unmatched
    references and unmatched estimates."""
    if not misdated_s > tolerance_s:
        raise ParameterError(f"misdated_s {misdated_s!r} s must be above the tolerance {tolerance_s!r} s")
    ref = validate_events(reference_s, name="reference times")
    est = validate_events(estimated_s, name="estimated times")
    pairs = match_events(ref, est, tolerance_s=tolerance_s)
    free_ref = np.setdiff1d(np.arange(ref.size), [i for i, _ in pairs])
    free_est = np.setdiff1d(np.arange(est.size), [j for _, j in pairs])
    free_est_s = est[free_est]  # sorted, as est is
    near = []  # (distance, reference time, reference index, detection index) of every pair in reach
    for i in free_ref:
        lo = int(np.searchsorted(free_est_s, ref[i] - misdated_s, side="left"))
        hi = int(np.searchsorted(free_est_s, ref[i] + misdated_s, side="right"))
        near += [(abs(float(free_est_s[k] - ref[i])), float(ref[i]), int(i), int(free_est[k])) for k in range(lo, hi)]
    near.sort()
    used_ref: set[int] = set()
    used_est: set[int] = set()
    out = []
    for _, _, i, j in near:
        if i in used_ref or j in used_est:
            continue
        used_ref.add(i)
        used_est.add(j)
        out.append((i, j))
    return sorted(out), int(free_ref.size), int(free_est.size)


def classify_errors(
    reference_s: NDArray[np.float64], estimated_s: NDArray[np.float64], *,
    tolerance_s: float = DEFAULT_TOLERANCE_S, misdated_s: float = DEFAULT_MISDATED_S,
) -> ErrorClasses:
    """Sort the errors of a one-to-one matching (:func:`match_events`) into a footfall dated at
    the wrong sound of its step (one false and one missed event within ``misdated_s`` of each
    other: it costs both a false positive and a miss), a contact missed outright and a report of
    something that was no footfall.

    Each unmatched reference is paired with at most one unmatched detection within
    ``misdated_s``, nearest pairs first (ties to the earlier reference): a report between two
    missed contacts is the misdating of the nearer one. ``missed + misdated_*`` is the number of
    unmatched references, ``extra + misdated_*`` that of unmatched detections.
    """
    pairs, n_free_ref, n_free_est = misdated_pairs(reference_s, estimated_s, tolerance_s=tolerance_s,
                                                   misdated_s=misdated_s)
    ref, est = np.asarray(reference_s, dtype=float), np.asarray(estimated_s, dtype=float)
    early = sum(1 for i, j in pairs if est[j] < ref[i])
    late = len(pairs) - early
    return ErrorClasses(early, late, n_free_ref - early - late, n_free_est - early - late)
