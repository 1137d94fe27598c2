"""The acoustic loop latency as a time series: one latency per tick, and the steps between them.

A sound server re-buffers after an underflow, so the delay from a rendered tick to the moment the
microphone hears it can step by tens of ms in the middle of a session. :class:`LatencyTrack`
takes one measurement per tick (or ``None`` when the tick was not found in the input) in tick
order and *settles* each tick's latency once: the level in force at that tick. A measurement
more than ``step_threshold_s`` from the level opens a candidate step; it becomes a step when
``confirm`` consecutive measurements agree with one another at the new level (from the first of
them on, ticks get the new level), and is an outlier if a later measurement returns to the old
level. Within a level, the level follows slow drift (median of its recent measurements).

Settled latencies never change afterwards, so figures computed from them during the session
(the history, written as it runs) and at its end (the report) are the same figures.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from typing import Any

import numpy as np

STEP_THRESHOLD_S = 0.005  # a change larger than this (the trusted calibration spread) is a step
STEP_CONFIRM = 3  # consecutive agreeing measurements that make a step
LEVEL_WINDOW = 15  # recent measurements the level is the median of (follows clock drift within ~3 s)
MAX_UNSETTLED = 16  # ticks waiting on an undecided candidate before the oldest are settled


class LatencyTrack:
    """Per-tick loop latency with step detection (see the module docstring).

    Attributes
    ----------
    latency_s : list of float
        Settled latency of ticks 0, 1, ... (a prefix of all ticks added).
    events : list of dict
        One per change of level: ``beat`` (tick index), ``rendered_s`` (the tick's output time),
        ``from_ms``, ``to_ms``, ``step_ms`` and ``kind`` ("step", or "measured" when the first
        measured level replaces the stream's figure).
    """

    def __init__(self, *, step_threshold_s: float = STEP_THRESHOLD_S, confirm: int = STEP_CONFIRM,
                 window: int = LEVEL_WINDOW, max_unsettled: int = MAX_UNSETTLED) -> None:
        self.step_threshold_s = step_threshold_s
        self.confirm = confirm
        self.max_unsettled = max_unsettled
        # Compact arrays (8 bytes a tick): a long session's memory stays flat (the soak's RSS bar).
        self.latency_s = array("d")
        self.measurements = array("d")  # per tick, settled or not; NaN: the tick was not found
        self._n_measured = 0
        self.events: list[dict[str, Any]] = []
        self.level_s: float | None = None  # measured level in force (None: none measured yet)
        self._values: deque[float] = deque(maxlen=window)
        self._rendered_s = array("d")  # output time of every tick added
        self._fallback_used = False
        self._counted_until = -1  # ticks up to this one are already in the level's values

    # ------------------------------------------------------------------ state
    def current_s(self, fallback_s: float) -> float:
        """The latency in force now: the measured level, else ``fallback_s``."""
        return self.level_s if self.level_s is not None else fallback_s

    @property
    def n_settled(self) -> int:
        return len(self.latency_s)

    @property
    def n_measured(self) -> int:
        return self._n_measured

    def residuals_s(self) -> list[float]:
        """Measurement minus the settled latency, for every settled tick that was measured."""
        return [m - lat for m, lat in zip(self.measurements, self.latency_s) if not math.isnan(m)]

    # ------------------------------------------------------------------ input
    def add(self, measured_s: float | None, *, rendered_s: float, fallback_s: float) -> None:
        """The next tick's measurement (``None``: not found), its output time and the fallback
        latency (stream figure + headphone offset) in force."""
        self.measurements.append(math.nan if measured_s is None else float(measured_s))
        self._n_measured += measured_s is not None
        self._rendered_s.append(float(rendered_s))
        self._resolve(fallback_s)

    def finish(self, fallback_s: float) -> None:
        """Settle every tick still waiting (an open candidate at the end keeps the old level)."""
        self._resolve(fallback_s)
        while self.n_settled < len(self.measurements):
            self._settle_one(self.current_s(fallback_s))

    # --------------------------------------------------------------- internals
    def _measurement(self, k: int) -> float | None:
        m = self.measurements[k]
        return None if math.isnan(m) else m

    def _settle_one(self, latency_s: float) -> None:
        k = self.n_settled
        m = self._measurement(k)
        if self.level_s is None:
            self._fallback_used = True
        elif m is not None and abs(m - self.level_s) <= self.step_threshold_s:
            if k > self._counted_until:
                self._values.append(m)
                self.level_s = float(np.median(self._values))
            latency_s = self.level_s
        self.latency_s.append(latency_s)

    def _set_level(self, first: int, run: list[tuple[int, float]], fallback_s: float) -> None:
        values = [m for _, m in run]
        old = self.level_s
        new = float(np.median(values))
        if old is not None or self._fallback_used:
            before = old if old is not None else fallback_s
            self.events.append({
                "beat": first,
                "rendered_s": round(self._rendered_s[first], 6),
                "from_ms": round(1000 * before, 2),
                "to_ms": round(1000 * new, 2),
                "step_ms": round(1000 * (new - before), 2),
                "kind": "step" if old is not None else "measured",
            })
        self.level_s = new
        self._values.clear()
        self._values.extend(values)
        self._counted_until = run[-1][0]

    def _resolve(self, fallback_s: float) -> None:
        thr = self.step_threshold_s
        while self.n_settled < len(self.measurements):
            start = self.n_settled
            pending = [(k, self._measurement(k)) for k in range(start, len(self.measurements))]
            measured = [(k, m) for k, m in pending if m is not None]
            level = self.level_s
            if level is not None:
                m0 = pending[0][1]
                if m0 is not None and abs(m0 - level) <= thr:
                    self._settle_one(level)
                    continue
                # A tick not heard, or heard off the level, waits for what comes next.
                back = next((k for k, m in measured if abs(m - level) <= thr), None)
                if back is not None:  # still the same level: deviations before it were outliers
                    while self.n_settled < back:
                        self._settle_one(level)
                    continue
            elif not measured:
                self._settle_one(fallback_s)
                continue
            run = measured[-self.confirm:]
            values = [m for _, m in run]
            if len(run) == self.confirm and max(values) - min(values) <= thr:
                first = run[0][0]
                # ticks not heard just before the new level are at the new level: a step is what
                # makes the ticks go missing (they fall outside the search window until it widens)
                while first - 1 >= self.n_settled and self._measurement(first - 1) is None and level is not None:
                    first -= 1
                while self.n_settled < first:  # before the new level: the old one
                    self._settle_one(self.current_s(fallback_s))
                self._set_level(first, run, fallback_s)
                continue
            if len(pending) > self.max_unsettled:
                self._settle_one(self.current_s(fallback_s))
                continue
            return
