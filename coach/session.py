"""A cadence session: metronome out, footfalls in, the control step, figures and the log.

The session is the consumer side of :mod:`coach.duplex`: ``consume()`` (called by a backend
between blocks, never from the audio callback) reads the new input, tells the detector when
ticks are heard, measures the loop latency from ticks the microphone hears
(:class:`coach.latency.TickSearch`), detects footfalls, runs the control step
(:class:`coach.control.TempoControl`), closes finished intervals and hands new data to the
session log (written incrementally, so a crash loses at most the last seconds). The figures
and the report are computed in :mod:`coach.figures` from what the session recorded.

Heard time of a tick rendered at output sample ``s``, on the input's time axis:
``s + loop latency`` where the loop latency is measured from the ticks in the input when the
microphone hears them, and otherwise taken from the stream's DAC/ADC timestamps plus the
calibrated headphone offset (Bluetooth headphones add a delay PortAudio cannot see). Each
tick's latency is settled once (:class:`coach.latency.LatencyTrack`) and each footfall's
asynchrony frozen once (:class:`coach.footfalls.Footfalls`), so the history written while the
session runs and the report agree.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

import numpy as np
from numpy.typing import NDArray

from coach import figures
from coach.control import AdaptiveController, AdaptiveParams, TempoControl, TempoTrace, warmup_baseline_spm
from coach.duplex import DuplexCore
from coach.footfalls import Footfalls, entry_of
from coach.latency import TickSearch
from coach.live import LiveFigures
from metronome.plans import Timeline
from metronome.render import TickRecord
from metronome.settings import MetronomeSettings, apply_cues
from stepdetect import assign_feet, cadence_spm, step_asymmetry
from stepdetect.cadence import SIDE_WINDOW_S
from stepdetect.drift import DEFAULT_TOLERANCE_MS, asynchronies_ms, asynchrony_stats
from stepdetect.online import StepDetector
from stepdetect.ticks import locate_template

FLUSH_PERIOD_S = 2.0


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
    on_update : callable or None
        Called with the session after each ``consume`` (the live display).
    baseline_probe : (warm-up end s, plan builder) or None
        Measure the baseline in a silent warm-up, then build the plan from it.
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
        self.steps_per_tick = 2 if settings.metronome.every_other_step else 1
        self.nominal_loop_latency_s = nominal_loop_latency_s
        self.tick_template = np.asarray(tick_template, dtype=np.float64)
        self.log = log
        self.on_update = on_update
        self.started_at = datetime.now(timezone.utc)
        self.detector = StepDetector(sample_rate=self.sample_rate)
        self.search = TickSearch(self.sample_rate, self.tick_template, steps_per_tick=self.steps_per_tick,
                                 measure=settings.measure_latency)
        self.control = TempoControl(settings.metronome, core.renderer, adaptive=settings.adaptive,
                                    cue_only_off_target=settings.cue_only_off_target,
                                    off_target_band_pct=settings.off_target_band_pct)
        self.ticks: list[TickRecord] = []
        self.footfalls = Footfalls()
        self.live = LiveFigures()
        self.stop_requested = False
        self.error: str | None = None  # why the session stopped early, if it did
        self.baseline_probe = baseline_probe
        self.measured_baseline_spm: float | None = None
        self.input_name = "the input"  # named in error messages (the file, for a simulation)
        self._input_end = 0
        self._last_flush_s = 0.0
        self._flushed_steps = 0
        self._flushed_ticks = 0
        self._closed_intervals = 0
        self._stream_started = False

    def warm_up(self) -> None:
        """Run every consumer path once on silence before the stream starts, so that first-call
        costs (lazy imports, FFT plans, filter design) never compete with the audio callback."""
        n = int(0.5 * self.sample_rate)
        silence = np.zeros((n, self.core.ring.n_channels), dtype=np.float32)
        StepDetector(sample_rate=self.sample_rate).process_block(silence)
        locate_template(silence[:, 0], self.tick_template, sample_rate=self.sample_rate)
        # ~12 s of steps: longer than the cadence's side windows, so their code (nanmedian) runs
        # here, not first in a live interval figure
        fake_steps = np.arange(0.0, SIDE_WINDOW_S + 2.0, 0.35)
        cadence_spm(fake_steps)
        step_asymmetry(fake_steps, assign_feet(fake_steps))
        a, p = asynchronies_ms(fake_steps, fake_steps + 0.01)
        asynchrony_stats(fake_steps, a, p)

    # ------------------------------------------------------------- the parts
    @property
    def timeline(self) -> Timeline:
        return self.settings.metronome.timeline

    @property
    def controller(self) -> AdaptiveController | None:
        return self.control.controller

    @property
    def tempo_trace(self) -> TempoTrace:
        return self.control.trace

    @property
    def latency_measurements_s(self) -> array[float]:
        return self.search.measurements_s

    @property
    def step_times_s(self) -> array[float]:
        return self.footfalls.time_s

    @property
    def step_reported_at_s(self) -> array[float]:
        """When the session first held each footfall (stream time, s)."""
        return self.footfalls.reported_at_s

    # ----------------------------------------------------------------- timing
    @property
    def fallback_latency_s(self) -> float:
        """The stream's loop latency plus the headphone offset (used until ticks are heard)."""
        return self.nominal_loop_latency_s + self.settings.headphone_offset_ms / 1000.0

    @property
    def loop_latency_s(self) -> float:
        """The loop latency in force now: the measured level if ticks are heard, else the fallback."""
        return self.search.current_s(self.fallback_latency_s)

    @property
    def measured_loop_latency_s(self) -> float | None:
        return self.search.track.level_s

    def heard_time_s(self, start_sample: int) -> float:
        """Heard time of a tick rendered now (at the latency in force now)."""
        return start_sample / self.sample_rate + self.loop_latency_s

    def tick_heard_s(self, k: int) -> float:
        """Heard time of tick ``k``: at its settled latency, else (not settled yet) the current one."""
        lat = self.search.track.latency_s
        return self.ticks[k].start_sample / self.sample_rate + (lat[k] if k < len(lat) else self.loop_latency_s)

    def beats_s(self) -> NDArray[np.float64]:
        """Heard times of the ticks whose latency is settled (all of them once the session is over)."""
        return self.search.track.heard_s()

    def settle(self) -> None:
        """The session is over: settle every tick's latency and every footfall's asynchrony."""
        self.search.finish(self.fallback_latency_s)
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
        block = self._finite_part(start, block)
        if block.shape[0] == 0:
            return False
        self._add_ticks(self.core.renderer.drain_log())
        self._input_end = start + block.shape[0]
        self.search.note_underflows(self.core.stats.output_underflows, self.elapsed_s)
        self.search.feed(start, block, self.fallback_latency_s)
        found = self.detector.process_block(block)
        if len(found):
            self.footfalls.add(found.time_s, found.confidence, self.elapsed_s)
        now_s = self.elapsed_s
        if self.baseline_probe is not None and now_s >= self.baseline_probe[0]:
            self._start_plan_from_warmup(self.baseline_probe)
        if self.control.due(now_s):
            self._control(now_s)
        self._close_finished_intervals(now_s)
        if self.log is not None and now_s - self._last_flush_s >= FLUSH_PERIOD_S:
            self._flush()
        if self.on_update is not None:
            self.on_update(self)
        return not self.stop_requested

    def _finite_part(self, start: int, block: NDArray[np.float32]) -> NDArray[np.float32]:
        """``block`` up to its first NaN/Inf sample: a damaged recording stops the session there."""
        finite = np.isfinite(block)
        if finite.all():
            return block
        first_bad = int(np.argmin(finite.all(axis=1)))
        self.error = (f"{self.input_name} has NaN/Inf samples at {(start + first_bad) / self.sample_rate:.3f} s "
                      f"(a damaged recording); the session stopped there")
        self.stop_requested = True
        return block[:first_bad]

    def _add_ticks(self, new_ticks: list[TickRecord]) -> None:
        """Ticks the renderer played since the last block: keep them, look for them in the input,
        and tell the detector when they are heard."""
        if not new_ticks:
            return
        self.ticks.extend(new_ticks)
        self.search.add_ticks(new_ticks, self.fallback_latency_s)
        self.detector.add_ticks(np.array([self.heard_time_s(t.start_sample) for t in new_ticks]))

    def _start_plan_from_warmup(self, probe: tuple[float, Callable[[float], MetronomeSettings]]) -> None:
        """The warm-up is over: its cadence (last 2 minutes) is the baseline; build the plan."""
        warmup_end_s, build = probe
        self.baseline_probe = None
        baseline, n_steps = warmup_baseline_spm(self.step_times_s, warmup_end_s)
        if not math.isfinite(baseline):
            self.error = (f"only {n_steps} footfalls in the warm-up: cannot measure your baseline "
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
        self.control.replan(metronome)  # the callback picks the timeline up at the next beat
        apply_cues(self.core.renderer, metronome, self.sample_rate)

    # ------------------------------------------------------ control and live
    def _control(self, now_s: float) -> None:
        tempo_known = self.baseline_probe is None  # the tempo is a placeholder until the baseline is known
        step = self.control.step(now_s, self.step_times_s, record=tempo_known)
        self.live.show_control(step, self.timeline, tempo_known=tempo_known, controller_state=self.control.state,
                               n_steps=len(self.step_times_s), muted=self.core.renderer.muted)
        recent_steps = np.asarray([t for t in self.step_times_s[-8:] if t > now_s - 5.0], dtype=np.float64)
        entries = self.timeline.entries  # footfalls in a silent interval have no beat to follow
        recent_steps = recent_steps[[entries[e].segment.sounding for e in entry_of(self.timeline, recent_steps)]]
        n = len(self.ticks)
        if recent_steps.size and n >= 2:
            beats = np.array([self.tick_heard_s(k) for k in range(max(n - 40, 0), n)])
            self.live.show_asynchrony(recent_steps, beats, every_other_step=self.steps_per_tick == 2,
                                      tolerance_ms=self.settings.tolerance_ms)

    def _freeze_steps(self, *, final: bool = False) -> None:
        """Freeze the asynchrony of the footfalls whose beats are settled (:meth:`Footfalls.freeze`)."""
        if len(self.footfalls) == self.footfalls.n_frozen:
            return
        output_s = None if self.search.waiting else self.core.renderer.position / self.sample_rate
        self.footfalls.freeze(self.beats_s(), self.timeline, every_other_step=self.steps_per_tick == 2, final=final,
                              output_s=output_s)

    # ----------------------------------------------------------------- figures
    def step_table(self, start: int = 0) -> list[figures.StepRow]:
        """Every footfall whose asynchrony is final (from footfall ``start`` on)."""
        return figures.step_rows(self, start)

    def interval_figures(self, index: int, end_s: float | None = None) -> figures.IntervalFigures:
        """Figures for timeline entry ``index`` up to ``end_s`` (default: its end)."""
        return figures.interval_figures(self, index, end_s, tolerance_ms=self.settings.tolerance_ms,
                                        baseline_spm=self.settings.metronome.baseline_spm,
                                        tempo_known=self.baseline_probe is None)

    def report_figures(self, *, interrupted: bool = False, backend: Any = None) -> figures.SessionReport:
        """The whole session as typed figures (settles every tick and footfall first)."""
        self.settle()
        end_s = self.elapsed_s
        entries = self.timeline.entries
        last = self.timeline.locate(max(end_s - 1e-9, 0.0))
        intervals = [self.interval_figures(i, end_s) for i in range(0, last + 1) if entries[i].start_s < end_s]
        table = self.step_table()
        settings = self.settings.as_dict()
        if self.baseline_probe is not None:  # ended in the warm-up: no baseline, so no target either
            settings.update(baseline_spm=None, target_spm=None)
        latency = figures.latency_figures(
            self.search, fallback_s=self.fallback_latency_s, nominal_s=self.nominal_loop_latency_s,
            headphone_offset_ms=self.settings.headphone_offset_ms, simulated=self.settings.kind == "simulated",
            stream_latency_s=getattr(backend, "stream_latency_s", None))
        controller_state = self.controller.state if self.controller is not None else None
        return figures.SessionReport(
            started_at=self.started_at, ended_at=datetime.now(timezone.utc), duration_s=round(end_s, 3),
            interrupted=interrupted, sample_rate=self.sample_rate, settings=settings, latency=latency,
            xruns=self.core.stats.as_dict(self.core.ring.lost_frames),
            summary=figures.summary(self, intervals, table, tolerance_ms=self.settings.tolerance_ms,
                                    controller_state=controller_state),
            intervals=intervals, beats=[figures.beat_row(self, k, self.tick_heard_s(k)) for k in range(len(self.ticks))],
            steps=table,
        )

    def report(self, *, interrupted: bool = False, backend: Any = None) -> dict[str, Any]:
        """The whole session as a JSON-ready dict (:meth:`report_figures` in the report's layout)."""
        return self.report_figures(interrupted=interrupted, backend=backend).as_dict()

    # --------------------------------------------------------------------- log
    def _close_finished_intervals(self, now_s: float) -> None:
        entries = self.timeline.entries
        # an interval is closed once the detector can no longer add footfalls to it
        settled_s = now_s - 0.2
        if self._closed_intervals < len(entries) and entries[self._closed_intervals].end_s <= settled_s:
            self._freeze_steps()
        while self._closed_intervals < len(entries) and entries[self._closed_intervals].end_s <= settled_s:
            n_frozen = self.footfalls.n_frozen
            if n_frozen < len(self.footfalls) and self.step_times_s[n_frozen] < entries[self._closed_intervals].end_s:
                return  # its last footfalls wait for their beats to be settled
            if self.log is not None:
                self._flush()
                self.log.add_interval(self.interval_figures(self._closed_intervals).as_dict())
            self._closed_intervals += 1

    def _flush(self) -> None:
        self._last_flush_s = self.elapsed_s
        if self.log is None:
            return
        self._freeze_steps()
        table = self.step_table(self._flushed_steps)
        if table:
            self.log.add_steps([row.as_dict() for row in table])
            self._flushed_steps += len(table)
        n_settled = self.search.track.n_settled  # a beat is written once its heard time is final
        if n_settled > self._flushed_ticks:
            self.log.add_beats([figures.beat_row(self, k, self.tick_heard_s(k)).as_dict()
                                for k in range(self._flushed_ticks, n_settled)])
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
