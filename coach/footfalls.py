"""The footfalls a session detected, and the asynchrony of each, frozen once its beats are settled.

Each footfall's asynchrony (ms to the nearest heard beat) and the local beat period are
computed once, when they can no longer change; the history (written while the session runs)
and the report are computed from these same frozen values.
"""

from __future__ import annotations

from array import array

import numpy as np
from numpy.typing import NDArray

from metronome.plans import Timeline
from stepdetect.drift import asynchronies_ms

SETTLED_AFTER_S = 1.0  # longer than any beat (120 spm, one tick per stride)


def entry_of(timeline: Timeline, times_s: NDArray[np.float64]) -> NDArray[np.intp]:
    """Timeline entry of each time (entries are contiguous: the last one starting at or before it)."""
    starts_s = np.array([e.start_s for e in timeline.entries])
    return np.clip(np.searchsorted(starts_s, times_s, side="right") - 1, 0, starts_s.size - 1)


class Footfalls:
    """Every footfall detected, in order.

    The series are compact C arrays (8 bytes a value, not a Python float in a list): a long
    session grows by a few KiB a minute, not ~70 KiB (the 30-min soak's RSS bar).

    Attributes
    ----------
    time_s, confidence : array of float
        Each footfall's time (s, input time axis) and the detector's confidence.
    reported_at_s : array of float
        The stream time (s, input sample position / rate) at which the session first held it,
        i.e. when the session could report it.
    asynchrony_ms, period_s : array of float
        Frozen asynchrony (ms, NaN: no beat) and beat period (s) of the first footfalls.
    """

    def __init__(self) -> None:
        self.time_s = array("d")
        self.confidence = array("d")
        self.reported_at_s = array("d")
        self.asynchrony_ms = array("d")
        self.period_s = array("d")

    def __len__(self) -> int:
        return len(self.time_s)

    @property
    def n_frozen(self) -> int:
        return len(self.asynchrony_ms)

    def add(self, time_s: NDArray[np.float64], confidence: NDArray[np.float64], reported_at_s: float) -> None:
        self.time_s.extend(time_s.tolist())
        self.confidence.extend(confidence.tolist())
        self.reported_at_s.extend([reported_at_s] * len(time_s))

    def freeze(self, beats_s: NDArray[np.float64], timeline: Timeline, *, every_other_step: bool, final: bool,
               output_s: float | None) -> None:
        """Compute, once, the asynchrony of the footfalls whose beats are settled.

        ``beats_s`` are the heard times of the ticks whose latency is settled; ``output_s`` the
        output's position (s) when every tick rendered is settled (None: some are not).
        A footfall is final when two settled beats follow it (the nearest beat and the local
        period are then known), when its interval is silent (no asynchrony: no beat to follow),
        or when every tick rendered is settled and the output is more than a beat (1 s) past it
        (ticks muted by --cue-off-target, the end of a sounding stretch); at the end of the
        session (``final``) every footfall is. Frozen values are never recomputed.
        """
        steps = np.asarray(self.time_s[self.n_frozen:], dtype=np.float64)
        if steps.size == 0:
            return
        entries = timeline.entries
        silent = np.array([not entries[e].segment.sounding for e in entry_of(timeline, steps)], dtype=bool)
        if final:
            ok = np.ones(steps.size, dtype=bool)
        else:
            ok = silent.copy()
            if beats_s.size >= 2:
                ok |= steps <= beats_s[-2]
            if output_s is not None:  # a tick not rendered yet is heard more than a beat after these footfalls
                ok |= steps + SETTLED_AFTER_S <= output_s
        n = steps.size if ok.all() else int(np.argmin(ok))
        if n == 0:
            return
        asyn, period = asynchronies_ms(steps[:n], beats_s, every_other_step=every_other_step)
        asyn[silent[:n]] = np.nan
        period[silent[:n]] = np.nan
        self.asynchrony_ms.extend(asyn.tolist())
        self.period_s.extend(period.tolist())

    def frozen(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """(times, asynchronies ms, periods s) of the footfalls frozen so far (copies: a view of an
        array would stop it from growing while the view lives)."""
        n = self.n_frozen
        return (np.array(self.time_s[:n], dtype=np.float64), np.array(self.asynchrony_ms, dtype=np.float64),
                np.array(self.period_s, dtype=np.float64))
