"""The acoustic loop latency: measured from the ticks the microphone hears, kept as a time series.

:class:`TickSearch` looks for each rendered tick in the input (within half a beat of where the
latency in force puts it); :class:`LatencyTrack` turns those measurements into one settled
latency per tick and the steps between levels.

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
from numpy.typing import NDArray

from metronome.render import TickRecord
from stepdetect.ticks import locate_template

STEP_THRESHOLD_S = 0.005  # a change larger than this (the trusted calibration spread) is a step
STEP_CONFIRM = 3  # consecutive agreeing measurements that make a step
LEVEL_WINDOW = 15  # recent measurements the level is the median of (follows clock drift within ~3 s)
# A smaller shift than a step (a sound server re-buffering by a few ms): STEP_CONFIRM consecutive
# measurements on one side of the level, more than SHIFT_MIN_S from it and within SHIFT_AGREE_S of
# each other, become the level at once (the median would lag ~8 ticks behind); not an event.
SHIFT_MIN_S = 0.0015
SHIFT_AGREE_S = 0.001
MAX_UNSETTLED = 16  # ticks waiting on an undecided candidate before the oldest are settled
MAX_LOOP_LATENCY_S = 0.6  # search window for ticks in the input
LOST_AFTER_MISSES = 2  # ticks not found in a row before the search window opens to a whole beat
# No tick is heard before it is played: a measurement below this (the matched filter's timing
# noise under 0) is the previous tick's, a beat later (the simulated microphone may hear at 0 ms).
MIN_LOOP_LATENCY_S = -0.002


class LatencyTrack:
    """Per-tick loop latency with step detection (see the module docstring); a shift smaller than
    a step (``SHIFT_MIN_S``-``step_threshold_s``) confirmed by ``confirm`` agreeing ticks is followed
    at once, without an event.

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

    def heard_s(self) -> NDArray[np.float64]:
        """Heard time (output time + settled latency, s) of every settled tick."""
        n = self.n_settled
        return np.frombuffer(self._rendered_s, dtype=np.float64, count=n) + np.asarray(self.latency_s, dtype=np.float64)

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
                recent = list(self._values)[-self.confirm:]
                if (len(recent) == self.confirm and max(recent) - min(recent) <= SHIFT_AGREE_S
                        and (min(recent) - self.level_s > SHIFT_MIN_S or self.level_s - max(recent) > SHIFT_MIN_S)):
                    self._values.clear()  # a small shift: the level follows it now
                    self._values.extend(recent)
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


class TickSearch:
    """Measures the loop latency from the ticks the microphone hears, and keeps the track.

    Each tick rendered is added (:meth:`add_ticks`) and, once its search window has arrived in
    the input (:meth:`feed`), looked for there: the measurement (or ``None``) goes to the
    :class:`LatencyTrack`, which settles each tick's latency. Without measuring (a silent
    session, or no bleed) every tick is added unmeasured and gets the fallback latency.

    ``fallback_s`` (the stream's loop latency plus the headphone offset) is passed with each
    call: the runner may correct the stream's figure once the stream runs.
    """

    def __init__(self, sample_rate: int, tick_template: NDArray[np.floating], *, steps_per_tick: int,
                 measure: bool) -> None:
        self.sample_rate = sample_rate
        self.tick_template = np.asarray(tick_template, dtype=np.float64)
        self.steps_per_tick = steps_per_tick
        self.measure = measure
        self.track = LatencyTrack()
        self.measurements_s = array("d")  # every tick found, in order (seconds)
        self.underflows_seen_s: list[float] = []  # input time at which each new output underflow was seen
        self._pending: deque[TickRecord] = deque()
        self._misses = 0  # ticks in a row not found in the input
        self._history = np.zeros(0, dtype=np.float32)
        self._history_start = 0
        self._input_end = 0

    def current_s(self, fallback_s: float) -> float:
        """The loop latency in force now: the measured level if ticks are heard, else the fallback."""
        return self.track.current_s(fallback_s)

    @property
    def waiting(self) -> bool:
        """Ticks rendered whose latency is not settled yet."""
        return bool(self._pending) or self.track.n_settled < len(self.track.measurements)

    def add_ticks(self, ticks: list[TickRecord], fallback_s: float) -> None:
        if self.measure:
            self._pending.extend(ticks)
        else:
            for tick in ticks:
                self._add(tick, None, fallback_s)

    def note_underflows(self, count: int, now_s: float) -> None:
        """The output's underflow count as the consumer sees it at input time ``now_s``."""
        while len(self.underflows_seen_s) < count:
            self.underflows_seen_s.append(now_s)

    def feed(self, start: int, block: NDArray[np.float32], fallback_s: float) -> None:
        """New input (``start``: its first sample); measure every tick whose window is complete."""
        self._input_end = start + block.shape[0]
        if not self.measure:
            return
        mono = block.mean(axis=1) if block.ndim == 2 else block
        keep = int((MAX_LOOP_LATENCY_S + 1.0) * self.sample_rate) + self.tick_template.size
        self._history = np.concatenate([self._history, mono])[-keep:]
        self._history_start = start + block.shape[0] - self._history.size
        self._measure(fallback_s)

    def finish(self, fallback_s: float) -> None:
        """The session is over: every tick still waiting is settled unmeasured."""
        while self._pending:
            self._add(self._pending.popleft(), None, fallback_s)
        self.track.finish(fallback_s)

    def _add(self, tick: TickRecord, measured_s: float | None, fallback_s: float) -> None:
        self.track.add(measured_s, rendered_s=tick.start_sample / self.sample_rate, fallback_s=fallback_s)

    def _reference_s(self, fallback_s: float) -> float:
        """Where the next tick is expected: the last measurement if the last tick was found (a
        level waits ``confirm`` ticks before it moves), else the latency in force."""
        if self._misses == 0 and self.measurements_s:
            return self.measurements_s[-1]
        return self.current_s(fallback_s)

    def _window(self, tick: TickRecord, reference_s: float) -> tuple[int, int, float]:
        """(first, end) input sample of the search window of ``tick`` and the beat period (samples)."""
        period = self.steps_per_tick * 60.0 * self.sample_rate / tick.spm
        centre = tick.start_sample + int(round(reference_s * self.sample_rate))
        lost = self._misses >= LOST_AFTER_MISSES and self.track.level_s is not None
        half = int(min((0.5 if lost else 0.45) * period, MAX_LOOP_LATENCY_S * self.sample_rate))
        return max(centre - half, 0), centre + half + self.tick_template.size, period  # input begins at 0

    def _measure(self, fallback_s: float) -> None:
        """Find each tick in the input within half a beat of where it is expected.

        The search is centred where the last tick was heard (the latency in force if it was not
        found; the stream's figure until ticks have been found) and spans less than one beat, so
        it holds one tick at most. After a step of more than ~half a beat (seen after a sound
        server stalled) the ticks fall outside that window: after ``LOST_AFTER_MISSES`` misses in
        a row the window opens to a whole beat around the latency in force, which holds exactly
        one tick whatever the step.

        The tick found may be the previous one (its sound is the same): the input only tells the
        latency modulo one beat. Of the values a whole beat apart, the one nearest the last
        measurement is taken, never one below ``MIN_LOOP_LATENCY_S`` (:func:`unwrap_latency`).
        Near a loop latency of one beat (a server stalled past it) the measurements so stay on one
        side instead of flipping between ~0 and a beat, and the window is never cut at the tick's
        output time (a tick heard just before the cut was matched in part, ms off).
        """
        while self._pending:
            tick = self._pending[0]
            reference_s = self._reference_s(fallback_s)
            lo_sample, hi_sample, period = self._window(tick, reference_s)
            if hi_sample > self._input_end:
                return  # its window has not fully arrived yet
            self._pending.popleft()
            lo = lo_sample - self._history_start
            if lo < 0:
                self._add(tick, None, fallback_s)  # too old (the consumer fell behind)
                continue
            offset, _ = locate_template(self._history[lo : hi_sample - self._history_start], self.tick_template,
                                        sample_rate=self.sample_rate)
            measured = None
            if offset is not None:
                measured = unwrap_latency((lo_sample + offset - tick.start_sample) / self.sample_rate,
                                          period / self.sample_rate, reference_s)
                self.measurements_s.append(measured)
            self._misses = 0 if measured is not None else self._misses + 1
            self._add(tick, measured, fallback_s)

    def events(self) -> list[dict[str, Any]]:
        """Steps of the loop latency: at which beat, heard when (at the new level), from/to (ms), and
        how long after the last output underflow the consumer saw before it (None: none)."""
        out = []
        for e in self.track.events:
            time_s = e["rendered_s"] + e["to_ms"] / 1000.0
            before = [t for t in self.underflows_seen_s if t <= time_s + 0.5]
            out.append({"time_s": round(time_s, 3), "beat": e["beat"], "kind": e["kind"], "from_ms": e["from_ms"],
                        "to_ms": e["to_ms"], "step_ms": e["step_ms"],
                        "after_underflow_s": round(time_s - before[-1], 2) if before else None})
        return out


def unwrap_latency(measured_s: float, period_s: float, reference_s: float) -> float:
    """The loop latency a tick found ``measured_s`` after its output time stands for: of
    ``measured_s`` + whole beats, the one nearest ``reference_s`` that is not below
    ``MIN_LOOP_LATENCY_S`` (a tick is not heard before it is played)."""
    out = measured_s + round((reference_s - measured_s) / period_s) * period_s
    while out < MIN_LOOP_LATENCY_S:
        out += period_s
    return out
