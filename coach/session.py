"""A cadence session: metronome out, footfalls in, controller, drift figures and the report.

The session is the consumer side of :mod:`coach.duplex`: ``consume()`` (called by a backend
between blocks, never from the audio callback) reads the new input, tells the detector when
ticks are heard, measures the loop latency from ticks the microphone hears, detects
footfalls, runs the tempo controller, closes finished intervals and hands new data to the
session log (written incrementally, so a crash loses at most the last seconds).

Heard time of a tick rendered at output sample ``s``, on the input's time axis:
``s + loop latency`` where the loop latency is measured from the ticks in the input when the
microphone hears them, and otherwise taken from the stream's DAC/ADC timestamps plus the
calibrated headphone offset (Bluetooth headphones add a delay PortAudio cannot see).

The loop latency is a time series (:class:`coach.latency.LatencyTrack`): each tick's latency is
settled once, as the level in force at that tick, and steps between levels are events. Each
footfall's asynchrony is computed once, when the beats around it are settled; the history
(written while the session runs) and the report are computed from these same frozen values.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Protocol

import numpy as np
from numpy.typing import NDArray

from coach.duplex import DuplexCore
from coach.latency import LatencyTrack
from metronome.settings import MetronomeSettings, apply_cues
from coach.control import AdaptiveController, AdaptiveParams
from metronome.render import TickRecord
from stepdetect import assign_feet, cadence_spm, find_gaps, step_asymmetry
from stepdetect.drift import DEFAULT_TOLERANCE_MS, asynchronies_ms, asynchrony_stats
from stepdetect.online import StepDetector
from stepdetect.ticks import locate_template

CADENCE_WINDOW_S = 10.0  # the "current cadence" is measured over this many seconds
CONTROL_PERIOD_S = 0.5
FLUSH_PERIOD_S = 2.0
MAX_LOOP_LATENCY_S = 0.6  # search window for ticks in the input
SETTLED_AFTER_S = 1.0  # longer than any beat (120 spm, one tick per stride)
LOST_AFTER_MISSES = 2  # ticks not found in a row before the search window opens to a whole beat
MIN_STEPS_FOR_CADENCE = 4


class SessionLog(Protocol):
    """Where a session's data go while it runs (the SQLite history store implements it).

    ``start`` is called once, when the stream delivers its first block (wall-clock start);
    ``finish`` ends a session that ran its course (or was stopped by the runner), ``abort`` one
    that stopped early for ``reason`` (history status "aborted", ignored by progression).
    """

    def start(self, started_at: datetime) -> None: ...
    def add_steps(self, steps: list[dict[str, Any]]) -> None: ...
    def add_beats(self, beats: list[dict[str, Any]]) -> None: ...
    def add_interval(self, interval: dict[str, Any]) -> None: ...
    def finish(self, report: dict[str, Any]) -> None: ...
    def abort(self, report: dict[str, Any], reason: str) -> None: ...


@dataclass(frozen=True)
class SessionSettings:
    metronome: MetronomeSettings
    kind: str = "simulated"  # "live" or "simulated"
    tolerance_ms: float = DEFAULT_TOLERANCE_MS
    ramp_s: float = 0.0
    adaptive: AdaptiveParams | None = None
    cue_only_off_target: bool = False
    off_target_band_pct: float = 2.0
    headphone_offset_ms: float = 0.0
    measure_latency: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.metronome.as_dict(),
            "kind": self.kind,
            "tolerance_ms": self.tolerance_ms,
            "ramp_s": self.ramp_s,
            "adaptive": self.adaptive is not None,
            "adaptive_params": None if self.adaptive is None else self.adaptive.__dict__,
            "cue_only_off_target": self.cue_only_off_target,
            "off_target_band_pct": self.off_target_band_pct,
            "headphone_offset_ms": self.headphone_offset_ms,
        }


@dataclass
class LiveFigures:
    """What the live display shows (updated by the session's consumer)."""

    time_s: float = 0.0
    tempo_spm: float | None = None  # None while the baseline is measured in a silent warm-up
    cadence_spm: float | None = None
    last_asynchrony_ms: float | None = None
    recent_asynchrony_ms: deque = field(default_factory=lambda: deque(maxlen=40))
    in_sync_pct: float | None = None
    segment_label: str = ""
    segment_sounding: bool = True
    segment_left_s: float | None = 0.0  # None: the segment runs until the session is stopped
    controller_state: str = ""
    n_steps: int = 0
    muted: bool = False


class TempoTrace:
    """(time_s, tempo_spm) at each control step, kept in two compact arrays; reads like a list of
    pairs (``len``, ``trace[-1]``, iteration)."""

    def __init__(self) -> None:
        self.time_s = array("d")
        self.tempo_spm = array("d")

    def append(self, point: tuple[float, float]) -> None:
        self.time_s.append(point[0])
        self.tempo_spm.append(point[1])

    def __len__(self) -> int:
        return len(self.time_s)

    def __getitem__(self, k: int) -> tuple[float, float]:
        return self.time_s[k], self.tempo_spm[k]

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return zip(self.time_s, self.tempo_spm)

    def mean_between(self, start_s: float, stop_s: float) -> float | None:
        """Mean tempo of the control steps in [start_s, stop_s) (None: none)."""
        t = np.frombuffer(self.time_s, dtype=np.float64) if len(self) else np.zeros(0)
        sel = (t >= start_s) & (t < stop_s)
        return float(np.frombuffer(self.tempo_spm, dtype=np.float64)[sel].mean()) if sel.any() else None


class Session:
    """Joins a :class:`DuplexCore` (ticks out, input ring in) with footfall detection.

    Parameters
    ----------
    settings : SessionSettings
    core : DuplexCore
    nominal_loop_latency_s : float
        Output-to-input delay from the stream (0 for a file backend without bleed).
    tick_template : 1-D array
        The (normal) tick waveform as played, for finding ticks in the input.
    log : SessionLog or None
        Receives steps, beats and finished intervals as they happen.
    """

    def __init__(
        self,
        settings: SessionSettings,
        core: DuplexCore,
        *,
        nominal_loop_latency_s: float,
        tick_template: NDArray[np.floating],
        log: SessionLog | None = None,
        on_update: Callable[["Session"], None] | None = None,
        baseline_probe: tuple[float, Callable[[float], MetronomeSettings]] | None = None,
    ) -> None:
        self.settings = settings
        self.core = core
        self.sample_rate = core.sample_rate
        self.timeline = settings.metronome.timeline
        self.steps_per_tick = 2 if settings.metronome.every_other_step else 1
        self.nominal_loop_latency_s = nominal_loop_latency_s
        self.tick_template = np.asarray(tick_template, dtype=np.float64)
        self.log = log
        self.on_update = on_update
        self.started_at = datetime.now(timezone.utc)
        self.detector = StepDetector(sample_rate=self.sample_rate)
        self.ticks: list[TickRecord] = []
        # Per-footfall/per-beat series are compact C arrays (8 bytes a value, not a Python float in a
        # list): a long session grows by a few KiB a minute, not ~70 KiB (the 30-min soak's RSS bar).
        self.step_times_s = array("d")
        self.step_confidence = array("d")
        #: For each footfall in ``step_times_s``: the stream time (s, input sample position / rate)
        #: at which ``consume`` first held it, i.e. when the session could report it.
        self.step_reported_at_s = array("d")
        self.latency_measurements_s = array("d")
        self.latency = LatencyTrack()
        #: Frozen asynchrony (ms, NaN: no beat) and beat period (s) of the first footfalls.
        self._step_async_ms = array("d")
        self._step_period_s = array("d")
        self._underflows_seen_s: list[float] = []  # input time at which each new output underflow was seen
        self._latency_misses = 0  # ticks in a row not found in the input
        self.controller = (
            AdaptiveController(settings.metronome.baseline_spm, settings.metronome.target_spm, settings.adaptive)
            if settings.adaptive is not None
            else None
        )
        self.tempo_trace = TempoTrace()  # (time_s, tempo_spm) at each control step
        self._tick_start_samples = array("q")  # start sample of every tick in ``ticks``
        self.live = LiveFigures()
        self.stop_requested = False
        self.error: str | None = None  # why the session stopped early, if it did
        #: (warm-up end, plan builder): measure the baseline in a silent warm-up, then start the plan
        self.baseline_probe = baseline_probe
        self.measured_baseline_spm: float | None = None
        self._pending: deque[TickRecord] = deque()
        self._history = np.zeros(0, dtype=np.float32)
        self._history_start = 0
        self._input_end = 0
        self._last_control_s = -math.inf
        self._last_flush_s = 0.0
        self._flushed_steps = 0
        self._flushed_ticks = 0
        self._closed_intervals = 0
        self._stream_started = False
        self.input_name = "the input"  # named in error messages (the file, for a simulation)

    def warm_up(self) -> None:
        """Run every consumer path once on silence before the stream starts, so that first-call
        costs (lazy imports, FFT plans, filter design) never compete with the audio callback."""
        n = int(0.5 * self.sample_rate)
        silence = np.zeros((n, self.core.ring.n_channels), dtype=np.float32)
        StepDetector(sample_rate=self.sample_rate).process_block(silence)
        locate_template(silence[:, 0], self.tick_template, sample_rate=self.sample_rate)
        fake_steps = np.arange(12) * 0.35
        cadence_spm(fake_steps)
        step_asymmetry(fake_steps, assign_feet(fake_steps))
        a, p = asynchronies_ms(fake_steps, fake_steps + 0.01)
        asynchrony_stats(fake_steps, a, p)

    # ----------------------------------------------------------------- timing
    @property
    def fallback_latency_s(self) -> float:
        """The stream's loop latency plus the headphone offset (used until ticks are heard)."""
        return self.nominal_loop_latency_s + self.settings.headphone_offset_ms / 1000.0

    @property
    def loop_latency_s(self) -> float:
        """The loop latency in force now: the measured level if ticks are heard, else the fallback."""
        return self.latency.current_s(self.fallback_latency_s)

    @property
    def measured_loop_latency_s(self) -> float | None:
        return self.latency.level_s

    def heard_time_s(self, start_sample: int) -> float:
        """Heard time of a tick rendered now (at the latency in force now)."""
        return start_sample / self.sample_rate + self.loop_latency_s

    def tick_heard_s(self, k: int) -> float:
        """Heard time of tick ``k``: at its settled latency, else (not settled yet) the current one."""
        lat = self.latency.latency_s
        return self.ticks[k].start_sample / self.sample_rate + (lat[k] if k < len(lat) else self.loop_latency_s)

    def _add_latency(self, measured_s: float | None) -> None:
        k = len(self.latency.measurements)
        self.latency.add(measured_s, rendered_s=self.ticks[k].start_sample / self.sample_rate,
                         fallback_s=self.fallback_latency_s)

    def latency_events(self) -> list[dict[str, Any]]:
        """Steps of the loop latency: at which beat, heard when (at the new level), from/to (ms), and
        how long after the last output underflow the consumer saw before it (None: none)."""
        out = []
        for e in self.latency.events:
            time_s = e["rendered_s"] + e["to_ms"] / 1000.0
            before = [t for t in self._underflows_seen_s if t <= time_s + 0.5]
            out.append({"time_s": round(time_s, 3), "beat": e["beat"], "kind": e["kind"], "from_ms": e["from_ms"],
                        "to_ms": e["to_ms"], "step_ms": e["step_ms"],
                        "after_underflow_s": round(time_s - before[-1], 2) if before else None})
        return out

    def settle(self) -> None:
        """The session is over: settle every tick's latency and every footfall's asynchrony."""
        while self._pending:
            self._pending.popleft()
            self._add_latency(None)
        self.latency.finish(self.fallback_latency_s)
        self._freeze_steps(final=True)

    @property
    def elapsed_s(self) -> float:
        return self._input_end / self.sample_rate

    # ---------------------------------------------------------------- consume
    def consume(self) -> bool:
        """Process whatever input arrived; return False once a stop was requested."""
        start, block = self.core.ring.read()
        if block.shape[0] == 0:
            return not self.stop_requested
        if not self._stream_started:  # the wall-clock start is when the stream delivers
            self._stream_started = True
            self.started_at = datetime.now(timezone.utc)
            if self.log is not None:
                self.log.start(self.started_at)
        finite = np.isfinite(block)
        if not finite.all():  # a damaged recording: keep what came before, stop there
            first_bad = int(np.argmin(finite.all(axis=1)))
            self.error = (f"{self.input_name} has NaN/Inf samples at {(start + first_bad) / self.sample_rate:.3f} s "
                          f"(a damaged recording); the session stopped there")
            self.stop_requested = True
            block = block[:first_bad]
            if block.shape[0] == 0:
                return False
        new_ticks = self.core.renderer.drain_log()
        if new_ticks:
            self.ticks.extend(new_ticks)
            self._tick_start_samples.extend(t.start_sample for t in new_ticks)
            if self.settings.measure_latency:
                self._pending.extend(new_ticks)
            else:
                for _ in new_ticks:
                    self._add_latency(None)
            self.detector.add_ticks(np.array([self.heard_time_s(t.start_sample) for t in new_ticks]))
        self._input_end = start + block.shape[0]
        while len(self._underflows_seen_s) < self.core.stats.output_underflows:
            self._underflows_seen_s.append(self.elapsed_s)
        if self.settings.measure_latency:
            self._keep_history(start, block)
            self._measure_latency()
        found = self.detector.process_block(block)
        if len(found):
            self.step_times_s.extend(found.time_s.tolist())
            self.step_confidence.extend(found.confidence.tolist())
            self.step_reported_at_s.extend([self.elapsed_s] * len(found))
        now_s = self.elapsed_s
        if self.baseline_probe is not None and now_s >= self.baseline_probe[0]:
            self._start_plan_from_warmup(now_s)
        if now_s - self._last_control_s >= CONTROL_PERIOD_S:
            self._control(now_s)
        self._close_finished_intervals(now_s)
        if self.log is not None and now_s - self._last_flush_s >= FLUSH_PERIOD_S:
            self._flush()
        if self.on_update is not None:
            self.on_update(self)
        return not self.stop_requested

    def _start_plan_from_warmup(self, now_s: float) -> None:
        """The warm-up is over: its cadence (last 2 minutes) is the baseline; build the plan."""
        warmup_end_s, build = self.baseline_probe  # type: ignore[misc]
        self.baseline_probe = None
        steps = np.asarray([t for t in self.step_times_s if warmup_end_s - 120.0 <= t < warmup_end_s])
        baseline = cadence_spm(steps) if steps.size >= 20 else float("nan")
        if not math.isfinite(baseline):
            self.error = (f"only {steps.size} footfalls in the warm-up: cannot measure your baseline "
                          "(run during the warm-up, or give --baseline)")
            self.stop_requested = True
            return
        try:
            metronome = build(round(baseline, 1))
        except Exception as exc:  # noqa: BLE001 - e.g. a target outside the band: end with its message
            self.error = str(getattr(exc, "message", exc))
            self.stop_requested = True
            return
        self.measured_baseline_spm = round(baseline, 1)
        self.settings = replace(self.settings, metronome=metronome)
        self.timeline = metronome.timeline
        if self.controller is not None:
            self.controller = AdaptiveController(metronome.baseline_spm, metronome.target_spm, self.settings.adaptive)
        self.core.renderer.clock.timeline = metronome.timeline  # the callback picks it up at the next beat
        apply_cues(self.core.renderer, metronome, self.sample_rate)

    def _keep_history(self, start: int, block: NDArray[np.float32]) -> None:
        mono = block.mean(axis=1) if block.ndim == 2 else block
        keep = int((MAX_LOOP_LATENCY_S + 1.0) * self.sample_rate) + self.tick_template.size
        self._history = np.concatenate([self._history, mono])[-keep:]
        self._history_start = start + block.shape[0] - self._history.size

    def _measure_latency(self) -> None:
        """Find each tick in the input within half a beat of where it is expected.

        The search is centred on the current loop-latency estimate (the stream's figure until
        ticks have been found) and spans one beat, so it can never pick the neighbouring tick.
        An estimate off by whole beats still lands the ticks on a beat of the same grid.
        After a step of more than ~half a beat (seen after a sound server stalled) the ticks fall
        outside that window: after ``LOST_AFTER_MISSES`` misses in a row the window opens to a
        whole beat around the estimate (not clipped at the tick's own output time), which holds
        exactly one tick whatever the step, the one nearest the old latency.
        """
        while self._pending:
            tick = self._pending[0]
            period = self.steps_per_tick * 60.0 * self.sample_rate / tick.spm
            centre = tick.start_sample + int(round(self.loop_latency_s * self.sample_rate))
            if self._latency_misses >= LOST_AFTER_MISSES and self.latency.level_s is not None:
                half = int(min(0.5 * period, MAX_LOOP_LATENCY_S * self.sample_rate))
                lo_sample = centre - half
            else:
                half = int(min(0.45 * period, MAX_LOOP_LATENCY_S * self.sample_rate))
                lo_sample = max(centre - half, tick.start_sample)
            hi_sample = centre + half + self.tick_template.size
            if hi_sample > self._input_end:
                return  # its window has not fully arrived yet
            self._pending.popleft()
            lo = lo_sample - self._history_start
            if lo < 0:
                self._add_latency(None)  # too old (the consumer fell behind)
                continue
            offset, _ = locate_template(self._history[lo : hi_sample - self._history_start], self.tick_template,
                                        sample_rate=self.sample_rate)
            measured = None if offset is None else (lo_sample + offset - tick.start_sample) / self.sample_rate
            if measured is not None and measured < -0.002:
                measured += period / self.sample_rate  # the previous tick: no tick is heard before it is played
            if measured is not None:
                self.latency_measurements_s.append(measured)
            self._latency_misses = 0 if measured is not None else self._latency_misses + 1
            self._add_latency(measured)

    # -------------------------------------------------------------- controller
    def current_cadence_spm(self, now_s: float) -> float | None:
        times = self.step_times_s
        k = len(times)
        while k > 0 and times[k - 1] > now_s - CADENCE_WINDOW_S:
            k -= 1
        window = times[k:]
        if len(window) < MIN_STEPS_FOR_CADENCE:
            return None
        value = cadence_spm(np.asarray(window))
        return value if math.isfinite(value) else None

    def _control(self, now_s: float) -> None:
        self._last_control_s = now_s
        clock = self.core.renderer.clock
        i = self.timeline.locate(now_s)
        entry = self.timeline.entries[i]
        cadence = self.current_cadence_spm(now_s)
        tempo = self.timeline.entry_spm_at(i, now_s)
        if self.controller is not None:
            self.controller.update(now_s, cadence)
            baseline = self.settings.metronome.baseline_spm
            plan_spm = entry.spm_at(now_s)
            tempo = baseline + (plan_spm - baseline) * self.controller.progress
            clock.spm_override = tempo
        if self.settings.cue_only_off_target:
            band = tempo * self.settings.off_target_band_pct / 100.0
            self.core.renderer.muted = cadence is not None and abs(cadence - tempo) <= band
        measuring = self.baseline_probe is not None  # the tempo is a placeholder until the baseline is known
        if not measuring:
            self.tempo_trace.append((now_s, tempo))
        live = self.live
        live.time_s = now_s
        live.tempo_spm = None if measuring else tempo
        live.cadence_spm = cadence
        live.segment_label = entry.segment.label or self.timeline.plan.name
        live.segment_sounding = entry.segment.sounding
        open_ended = self.timeline.duration_s is None and i == len(self.timeline.entries) - 1
        live.segment_left_s = None if open_ended else max(entry.end_s - now_s, 0.0)
        live.controller_state = self.controller.state if self.controller is not None else ""
        live.n_steps = len(self.step_times_s)
        live.muted = self.core.renderer.muted
        self._update_live_asynchrony(now_s)

    def _update_live_asynchrony(self, now_s: float) -> None:
        recent_steps = [t for t in self.step_times_s[-8:] if t > now_s - 5.0]
        if recent_steps:  # footfalls in a silent interval have no beat to follow
            entries = self.timeline.entries
            sounding = [entries[e].segment.sounding for e in self._entry_of(np.asarray(recent_steps))]
            recent_steps = [t for t, ok in zip(recent_steps, sounding) if ok]
        if not recent_steps or len(self.ticks) < 2:
            return
        n = len(self.ticks)
        beats = np.array([self.tick_heard_s(k) for k in range(max(n - 40, 0), n)])
        a, _ = asynchronies_ms(np.array(recent_steps), beats, every_other_step=self.steps_per_tick == 2)
        valid = a[np.isfinite(a)]
        if valid.size:
            self.live.last_asynchrony_ms = float(valid[-1])
            self.live.recent_asynchrony_ms.extend(valid[-2:].tolist())
            recent = np.array(self.live.recent_asynchrony_ms)
            self.live.in_sync_pct = 100.0 * float(np.mean(np.abs(recent) <= self.settings.tolerance_ms))

    # ----------------------------------------------------------------- figures
    def _beats_s(self) -> NDArray[np.float64]:
        """Heard times of the ticks whose latency is settled (all of them once the session is over)."""
        lat = self.latency.latency_s
        n = len(lat)
        starts = np.frombuffer(self._tick_start_samples, dtype=np.int64, count=n).astype(np.float64)
        return starts / self.sample_rate + np.asarray(lat, dtype=np.float64)

    def _entry_of(self, times_s: NDArray[np.float64]) -> NDArray[np.intp]:
        """Timeline entry of each time (entries are contiguous: the last one starting at or before it)."""
        starts_s = np.array([e.start_s for e in self.timeline.entries])
        return np.clip(np.searchsorted(starts_s, times_s, side="right") - 1, 0, starts_s.size - 1)

    def _freeze_steps(self, *, final: bool = False) -> None:
        """Compute, once, the asynchrony of the footfalls whose beats are settled.

        A footfall is final when two settled beats follow it (the nearest beat and the local
        period are then known), when its interval is silent (no asynchrony: no beat to follow),
        or when every tick rendered is settled and the output is more than a beat (1 s) past it
        (ticks muted by --cue-off-target, the end of a sounding stretch); at the end of the
        session (``final``) every footfall is. Frozen values are never recomputed.
        """
        n0 = len(self._step_async_ms)
        steps = np.asarray(self.step_times_s[n0:], dtype=np.float64)
        if steps.size == 0:
            return
        beats = self._beats_s()
        entries = self.timeline.entries
        entry = self._entry_of(steps)
        silent = np.array([not entries[e].segment.sounding for e in entry], dtype=bool)
        if final:
            ok = np.ones(steps.size, dtype=bool)
        else:
            ok = silent.copy()
            if beats.size >= 2:
                ok |= steps <= beats[-2]
            if self.latency.n_settled == len(self.ticks) and not self._pending:
                # a tick not rendered yet is heard more than a beat after these footfalls
                ok |= steps + SETTLED_AFTER_S <= self.core.renderer.position / self.sample_rate
        n = steps.size if ok.all() else int(np.argmin(ok))
        if n == 0:
            return
        asyn, period = asynchronies_ms(steps[:n], beats, every_other_step=self.steps_per_tick == 2)
        asyn[silent[:n]] = np.nan
        period[silent[:n]] = np.nan
        self._step_async_ms.extend(asyn.tolist())
        self._step_period_s.extend(period.tolist())

    def _frozen_steps(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """(times, asynchronies ms, periods s) of the footfalls frozen so far."""
        n = len(self._step_async_ms)
        return (np.asarray(self.step_times_s[:n], dtype=np.float64), np.asarray(self._step_async_ms),
                np.asarray(self._step_period_s))

    def step_table(self) -> list[dict[str, Any]]:
        """Every footfall whose asynchrony is final, with its foot, asynchrony (ms) and interval."""
        steps, asyn, _ = self._frozen_steps()
        if steps.size == 0:
            return []
        beats = self._beats_s()
        feet = self._feet(steps, beats, asyn)
        intervals = self._entry_of(steps)
        return [
            {
                "time_s": round(float(t), 5),
                "foot": foot,
                "asynchrony_ms": None if not math.isfinite(a) else round(float(a), 2),
                "confidence": round(float(c), 3),
                "interval": int(i),
            }
            for t, foot, a, c, i in zip(steps, feet, asyn, self.step_confidence, intervals)
        ]

    def _feet(self, steps: NDArray[np.float64], beats: NDArray[np.float64],
              asyn: NDArray[np.float64]) -> list[str | None]:
        """Feet by alternation, anchored to the ticks: a tick's foot is known from its beat number.

        ``beats`` are the heard beat times and ``asyn`` the footfalls' asynchronies to them
        (``asynchronies_ms``); the footfalls that have a beat vote on which foot is which.
        """
        feet = assign_feet(steps)
        matched = np.isfinite(asyn) & np.array([f is not None for f in feet], dtype=bool)
        if not self.ticks or not matched.any():
            return feet
        heard = steps[matched] - asyn[matched] / 1000.0  # the beat each of these footfalls belongs to
        k = np.clip(np.searchsorted(beats, heard), 1, beats.size - 1)
        k = np.where(np.abs(beats[k - 1] - heard) <= np.abs(beats[k] - heard), k - 1, k)
        beat_numbers = np.array([t.index for t in self.ticks])[k]
        tick_left = (beat_numbers * self.steps_per_tick) % 2 == 0
        step_left = np.array([f == "L" for f in feet])[matched]
        if int(np.sum(np.where(tick_left == step_left, 1, -1))) < 0:
            return [None if f is None else ("R" if f == "L" else "L") for f in feet]
        return feet

    def _tick_json(self, k: int) -> dict[str, Any]:
        t = self.ticks[k]
        return {
            "time_s": round(self.tick_heard_s(k), 6),
            "sample": t.start_sample,
            "accent": t.accent,
            "channel": t.channel,
            "foot": "L" if (t.index * self.steps_per_tick) % 2 == 0 else "R",
            "spm": round(t.spm, 3),
            "segment": self.timeline.entries[t.segment_index].segment.label,
        }

    def interval_figures(self, index: int, end_s: float | None = None) -> dict[str, Any]:
        """Figures for timeline entry ``index`` up to ``end_s`` (default: its end)."""
        entry = self.timeline.entries[index]
        stop_s = min(entry.end_s, end_s if end_s is not None else entry.end_s)
        steps, asyn, period = self._frozen_steps()
        in_interval = (steps >= entry.start_s) & (steps < stop_s)
        interval_steps = steps[in_interval]
        beats = self._beats_s()
        stats = asynchrony_stats(interval_steps, asyn[in_interval], period[in_interval],
                                 tolerance_ms=self.settings.tolerance_ms)
        tick_spm = [t.spm for t in self.ticks if entry.start_s <= t.start_sample / self.sample_rate < stop_s]
        tempo = float(np.mean(tick_spm)) if tick_spm else self._mean_tempo(entry.start_s, stop_s)
        if self.baseline_probe is not None:  # still in the warm-up: no tempo was set yet
            tempo = None
        cadence = cadence_spm(interval_steps) if interval_steps.size >= MIN_STEPS_FOR_CADENCE else None
        feet = self._feet(interval_steps, beats, asyn[in_interval])
        asym = step_asymmetry(interval_steps, feet) if interval_steps.size >= 6 else None
        figures: dict[str, Any] = {
            "index": index,
            "label": entry.segment.label,
            "sounding": entry.segment.sounding,
            "start_s": entry.start_s,
            "end_s": stop_s,
            "n_steps": int(interval_steps.size),
            "n_beats": len(tick_spm),
            "cadence_spm": None if cadence is None or not math.isfinite(cadence) else round(cadence, 2),
            "tempo_spm": None if tempo is None else round(tempo, 2),
            "asynchrony": stats.as_dict(),
            "asymmetry": None if asym is None else asym.__dict__,
        }
        if not entry.segment.sounding and entry.segment.label not in ("warm-up", "cool-down"):
            figures["retention"] = self._retention(index, figures["cadence_spm"])
        return figures

    def _mean_tempo(self, start_s: float, stop_s: float) -> float:
        mean = self.tempo_trace.mean_between(start_s, stop_s)
        return mean if mean is not None else self.timeline.spm_at(start_s)

    def _retention(self, index: int, cadence: float | None) -> dict[str, Any]:
        """How much of the cadence the beat asked for held in a silent interval.

        Compared with the tempo of the last tick the runner heard before the silence.
        """
        start_s = self.timeline.entries[index].start_s
        heard = [t for t in self.ticks if t.start_sample / self.sample_rate < start_s]
        if cadence is None or not heard:
            return {"cadence_spm": cadence, "tempo_before_spm": None, "held_pct": None, "retained_pct": None}
        tempo_before = round(heard[-1].spm, 2)
        baseline = self.settings.metronome.baseline_spm
        retained = None
        if abs(tempo_before - baseline) > 0.5:
            retained = round(100.0 * (cadence - baseline) / (tempo_before - baseline), 1)
        return {
            "cadence_spm": cadence,
            "tempo_before_spm": tempo_before,
            "held_pct": round(100.0 * cadence / tempo_before, 2),  # cadence as % of the last tempo heard
            "retained_pct": retained,  # % of the increase over baseline that held
        }

    def _close_finished_intervals(self, now_s: float) -> None:
        entries = self.timeline.entries
        # an interval is closed once the detector can no longer add footfalls to it
        settled_s = now_s - 0.2
        if self._closed_intervals < len(entries) and entries[self._closed_intervals].end_s <= settled_s:
            self._freeze_steps()
        while self._closed_intervals < len(entries) and entries[self._closed_intervals].end_s <= settled_s:
            n_frozen = len(self._step_async_ms)
            if n_frozen < len(self.step_times_s) and self.step_times_s[n_frozen] < entries[self._closed_intervals].end_s:
                return  # its last footfalls wait for their beats to be settled
            if self.log is not None:
                self._flush()
                self.log.add_interval(self.interval_figures(self._closed_intervals))
            self._closed_intervals += 1

    def _flush(self) -> None:
        self._last_flush_s = self.elapsed_s
        if self.log is None:
            return
        self._freeze_steps()
        table = self.step_table()[self._flushed_steps :]
        if table:
            self.log.add_steps(table)
            self._flushed_steps += len(table)
        n_settled = self.latency.n_settled  # a beat is written once its heard time is final
        if n_settled > self._flushed_ticks:
            self.log.add_beats([self._tick_json(k) for k in range(self._flushed_ticks, n_settled)])
            self._flushed_ticks = n_settled

    def close_log(self, report: dict[str, Any], *, abort_reason: str | None = None) -> None:
        """Hand the log what it has not had yet (last steps and beats, open intervals) and the
        summary. The session is stored as aborted with ``abort_reason``, else with
        ``self.error`` when set (the session stopped early), else as complete."""
        if self.log is None:
            return
        self._flush()
        for interval in report["intervals"]:
            if interval["index"] >= self._closed_intervals:
                self.log.add_interval(interval)
        reason = abort_reason or self.error
        if reason:
            self.log.abort(report, reason)
        else:
            self.log.finish(report)

    # ------------------------------------------------------------------ report
    def report(self, *, interrupted: bool = False, backend: Any = None) -> dict[str, Any]:
        """The whole session as a JSON-ready dict."""
        self.settle()
        end_s = self.elapsed_s
        entries = self.timeline.entries
        last = self.timeline.locate(max(end_s - 1e-9, 0.0))
        intervals = [self.interval_figures(i, end_s) for i in range(0, last + 1) if entries[i].start_s < end_s]
        steps, asyn, period = self._frozen_steps()
        table = self.step_table()
        overall = asynchrony_stats(steps, asyn, period, tolerance_ms=self.settings.tolerance_ms)
        sounding = [iv for iv in intervals if iv["sounding"] and iv["n_steps"]]
        silent = [iv for iv in intervals if "retention" in iv and iv["retention"]["held_pct"] is not None]
        feet = [s["foot"] for s in table]
        asym = step_asymmetry(steps, feet) if steps.size >= 6 else None
        stream_latency = getattr(backend, "stream_latency_s", None)
        measured = self.measured_loop_latency_s
        residuals = self.latency.residuals_s()
        events = self.latency_events()
        latency = {
            "loop_latency_ms": round(1000 * self.loop_latency_s, 2),
            "method": "measured from ticks heard by the microphone" if measured is not None
            else ("recording as the microphone: ticks heard as rendered" if self.settings.kind == "simulated"
                  else "stream timestamps + headphone offset"),
            "measured_loop_latency_ms": None if measured is None else round(1000 * measured, 2),
            "n_latency_measurements": len(self.latency_measurements_s),
            # p90 - p10 of each measurement minus the level in force at its tick
            "latency_measurement_spread_ms": None if measured is None or not residuals
            else round(1000 * float(np.percentile(residuals, 90) - np.percentile(residuals, 10)), 2),
            "n_latency_steps": sum(e["kind"] == "step" for e in events),
            "events": events,
            "nominal_loop_latency_ms": round(1000 * self.nominal_loop_latency_s, 2),
            "headphone_offset_ms": self.settings.headphone_offset_ms,
            "stream_latency_ms": None if stream_latency is None
            else {"input": round(1000 * stream_latency[0], 2), "output": round(1000 * stream_latency[1], 2)},
        }
        cadence_all = cadence_spm(steps) if steps.size >= MIN_STEPS_FOR_CADENCE else None
        settings = self.settings.as_dict()
        if self.baseline_probe is not None:  # ended in the warm-up: no baseline, so no target either
            settings.update(baseline_spm=None, target_spm=None)
        return {
            "started_at": self.started_at.isoformat(),
            "ended_at": datetime.now(timezone.utc).isoformat(),  # wall clock; duration_s is audio time
            "duration_s": round(end_s, 3),
            "interrupted": interrupted,
            "sample_rate": self.sample_rate,
            "settings": settings,
            "latency": latency,
            "latency_events": events,
            "xruns": self.core.stats.as_dict(self.core.ring.lost_frames),
            "summary": {
                "n_steps": int(steps.size),
                "n_beats": len(self.ticks),
                "cadence_spm": None if cadence_all is None or not math.isfinite(cadence_all) else round(cadence_all, 2),
                "cadence_with_beat_spm": _weighted(sounding, "cadence_spm"),
                "tempo_spm": _weighted(sounding, "tempo_spm"),
                "cadence_without_beat_spm": _weighted(silent, "cadence_spm"),
                "retention_held_pct": _mean([iv["retention"]["held_pct"] for iv in silent]),
                "asynchrony": overall.as_dict(),
                "asymmetry": None if asym is None else asym.__dict__,
                "gaps": [g.__dict__ for g in find_gaps(steps)] if steps.size >= 3 else [],
                "final_tempo_spm": round(self.tempo_trace[-1][1], 2) if self.tempo_trace else None,
                "controller_state": self.controller.state if self.controller is not None else None,
            },
            "intervals": intervals,
            "beats": [self._tick_json(k) for k in range(len(self.ticks))],
            "steps": table,
        }


def _weighted(intervals: list[dict[str, Any]], key: str) -> float | None:
    pairs = [(iv[key], iv["n_steps"]) for iv in intervals if iv.get(key) is not None and iv["n_steps"]]
    if not pairs:
        return None
    total = sum(n for _, n in pairs)
    return round(sum(v * n for v, n in pairs) / total, 2)


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(float(np.mean(vals)), 2) if vals else None
