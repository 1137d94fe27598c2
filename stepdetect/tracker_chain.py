"""Finding a rhythm to lock on: the best regular chain of candidates ending at the newest one.

Used by :class:`stepdetect.tracker.StepTracker` when it is not locked, and while locked to test
whether another rhythm has taken over (walk -> run, a lock on the wrong phase or on strides).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from stepdetect.tracker_lock import Lock, TrackerParams

Chain = tuple[float, float, Lock]  # (mean interval s, summed strength, the lock it starts)


def find_chain(history: Iterable[tuple[float, float]], t: float, s: float, ref: float | None,
               hint: float | None, params: TrackerParams) -> tuple[Lock, float] | None:
    """The rhythm of the best regular chain of candidates ending at ``t`` (None if there is none).

    ``history``: earlier candidates (time s, strength) in time order; ``ref``: the tracker's
    reference strength (None before the first step); ``hint``: the caller's step period, if any.
    Regular: strides (two consecutive intervals) within ``chain_tolerance`` of their mean,
    so a lopsided left/right step pattern still counts; the lock starts with its asymmetry.
    Returns the lock and the chain's summed strength.
    """
    p = params
    hist = [(ht, hs) for ht, hs in history if ht < t]
    if len(hist) < p.chain_steps - 1:
        return None
    strongest = max(hs for _, hs in hist)
    floor = p.chain_min_strength * (ref if ref is not None else strongest)
    if s < max(floor, p.chain_start_strength * (ref if ref is not None else 0.0)):
        return None  # a rhythm is not found on a weak candidate
    return _best_chain(chains_ending_at(hist, t, s, floor, p, hint), hint, p)


def _chain_through(t: float, s: float, j: int, times: NDArray[np.float64], strengths: NDArray[np.float64],
                   hint: float | None, p: TrackerParams) -> Chain | None:
    """The chain from ``t`` back through candidate ``j`` and ``chain_steps - 2`` more, if it is regular."""
    tol = p.chain_tolerance
    chain_t = [t, float(times[j])]
    score = s + float(strengths[j])
    for _ in range(p.chain_steps - 2):
        period = (chain_t[0] - chain_t[-1]) / (len(chain_t) - 1)
        back = chain_t[-3] - chain_t[-2] if len(chain_t) >= 3 else period  # alternation
        width = 0.3 * period if len(chain_t) < 3 else 1.5 * tol * period
        if len(chain_t) < 3 and hint is not None:
            # with the step period known, the other foot's step completes the stride of
            # two hinted steps (a lopsided one too)
            back = max(p.min_period_s, 2.0 * hint - period)
            width = 1.5 * tol * hint
        target = chain_t[-1] - back
        # the first step back: the stride is unknown yet, so allow a lopsided one
        near = np.flatnonzero(np.abs(times - target) <= width)
        if near.size == 0:
            return None
        fit = strengths[near] * np.exp(-0.5 * ((times[near] - target) / (0.1 * period)) ** 2)
        k = near[np.argmax(fit)]
        chain_t.append(float(times[k]))
        score += float(strengths[k])
    d_s = -np.diff(chain_t)  # newest interval first
    mean = float(np.mean(d_s))
    strides = d_s[:-1] + d_s[1:]
    if (np.max(np.abs(strides - np.mean(strides))) <= 2 * tol * mean
            and np.all(np.abs(d_s - mean) <= 0.3 * mean) and p.min_period_s <= mean <= p.max_period_s):
        # the newest stride's step (within the periods a lock keeps: with chain_newest_min_fraction
        # < 1 it may be a little under min_period_s while the chain's mean is not)
        period = min(p.max_period_s, max(p.min_period_s, float(0.5 * (d_s[0] + d_s[1]))))
        return mean, score, Lock(period_s=period, asym_s=float(0.5 * (d_s[1] - d_s[0])), parity=1,
                                 chain_s=tuple(reversed(chain_t)))
    return None


def _best_chain(chains: list[Chain], hint: float | None, p: TrackerParams) -> tuple[Lock, float] | None:
    """The strongest chain; with a hint only one at the hinted period, without one the step
    period over a nearly as strong chain of every other (every third) step."""
    if hint is not None:  # the caller knows the step period: only a chain of steps locks
        chains = [c for c in chains if abs(c[0] - hint) <= p.hint_tolerance * hint]
        if not chains:
            return None
        best = max(chains, key=lambda c: c[1])
        return best[2], best[1]
    if not chains:
        return None
    best = max(chains, key=lambda c: c[1])
    # A chain of every other step is as regular as the steps: prefer the step period when
    # a chain at about half (a third) of the best period is nearly as strong.
    tol = p.chain_tolerance
    for div in (3, 2):
        sub = [c for c in chains if abs(c[0] * div - best[0]) <= tol * best[0] and c[1] >= 0.6 * best[1]]
        if sub:
            c = max(sub, key=lambda c: c[1])
            return c[2], c[1]
    return best[2], best[1]


def chains_ending_at(history: Iterable[tuple[float, float]], t: float, s: float, floor: float,
                     params: TrackerParams, hint: float | None = None) -> list[Chain]:
    """Every regular chain of ``chain_steps`` candidates (each at least ``floor`` strong) ending at
    ``t``, whatever ``t``'s own strength (:func:`find_chain` looks only at a strong candidate);
    ``hint``: the caller's step period, if any."""
    p = params
    cands = [(ht, hs) for ht, hs in history if ht < t and hs >= floor]
    times = np.array([c[0] for c in cands])
    strengths = np.array([c[1] for c in cands])
    chains: list[Chain] = []
    for j in range(times.size - 1, -1, -1):
        d = t - times[j]
        if d < p.chain_newest_min_fraction * p.min_period_s:
            continue
        if d > p.max_period_s:
            break
        chain = _chain_through(t, s, j, times, strengths, hint, p)
        if chain is not None:
            chains.append(chain)
    return chains
