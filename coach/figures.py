"""A session's figures: the step table, the beats, each interval's figures (cadence, tempo,
asynchrony, asymmetry, retention in silent intervals), the loop latency and the whole report.

Each part is a typed dataclass whose ``as_dict()`` is the JSON layout of the report (and of
what the history log receives while the session runs); the keys and their order are those of
DESIGN.md's report. The figures read the session's recording through :class:`Recording`: the
ticks as rendered, the heard time of each tick whose latency is settled, and the footfalls
whose asynchrony is frozen. Nothing here changes the recording, so figures computed while the
session runs (the history) and at its end (the report) agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from coach.control import TempoTrace
from coach.footfalls import Footfalls, entry_of
from coach.latency import TickSearch
from metronome.plans import Timeline
from metronome.render import TickRecord
from metronome.schedule import Channel, beat_foot
from stepdetect.cadence import (Asymmetry, Foot, Gap, assign_feet, cadence_spm, find_gaps,
                                step_asymmetry)
from stepdetect.drift import AsynchronyStats, asynchrony_stats

MIN_STEPS_FOR_ASYMMETRY = 6
MIN_STEPS_FOR_GAPS = 3
NOT_RETAINED = ("warm-up", "cool-down")  # silent segments that are not a retention test


class Recording(Protocol):
    """What the figures read from a running (or finished) session."""

    @property
    def timeline(self) -> Timeline: ...
    @property
    def sample_rate(self) -> int: ...
    @property
    def steps_per_tick(self) -> int: ...
    @property
    def ticks(self) -> list[TickRecord]: ...
    @property
    def footfalls(self) -> Footfalls: ...
    @property
    def tempo_trace(self) -> TempoTrace: ...

    def beats_s(self) -> NDArray[np.float64]:
        """Heard times of the ticks whose latency is settled (a prefix of ``ticks``)."""


def _round_finite(value: float | None, digits: int) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


# --------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class StepRow:
    """One footfall of the step table."""

    time_s: float
    foot: Foot | None
    asynchrony_ms: float | None  # None: no beat (a silent interval, or the unticked foot)
    confidence: float
    interval: int  # timeline entry

    def as_dict(self) -> dict[str, Any]:
        return {"time_s": self.time_s, "foot": self.foot, "asynchrony_ms": self.asynchrony_ms,
                "confidence": self.confidence, "interval": self.interval}


@dataclass(frozen=True)
class BeatRow:
    """One tick that sounded, at its heard time on the input's time axis."""

    time_s: float
    sample: int  # first output sample
    accent: bool
    channel: Channel
    foot: Foot
    spm: float
    segment: str

    def as_dict(self) -> dict[str, Any]:
        return {"time_s": self.time_s, "sample": self.sample, "accent": self.accent, "channel": self.channel,
                "foot": self.foot, "spm": self.spm, "segment": self.segment}


def beat_row(rec: Recording, k: int, heard_s: float) -> BeatRow:
    t = rec.ticks[k]
    return BeatRow(time_s=round(heard_s, 6), sample=t.start_sample, accent=t.accent, channel=t.channel,
                   foot=beat_foot(t.index, rec.steps_per_tick), spm=round(t.spm, 3),
                   segment=rec.timeline.entries[t.segment_index].segment.label)


def feet(rec: Recording, steps: NDArray[np.float64], asyn: NDArray[np.float64]) -> list[Foot | None]:
    """Feet by alternation, anchored to the ticks: a tick's foot is known from its beat number.

    ``asyn`` are the footfalls' asynchronies to the heard beats (``asynchronies_ms``); the
    footfalls that have a beat vote on which foot is which.
    """
    labels = assign_feet(steps)
    matched = np.isfinite(asyn) & np.array([f is not None for f in labels], dtype=bool)
    if not rec.ticks or not matched.any():
        return labels
    beats = rec.beats_s()
    heard = steps[matched] - asyn[matched] / 1000.0  # the beat each of these footfalls belongs to
    k = np.clip(np.searchsorted(beats, heard), 1, beats.size - 1)
    k = np.where(np.abs(beats[k - 1] - heard) <= np.abs(beats[k] - heard), k - 1, k)
    spt = rec.steps_per_tick
    tick_left = np.array([beat_foot(rec.ticks[j].index, spt) == "L" for j in k.tolist()], dtype=bool)
    step_left = np.array([f == "L" for f in labels])[matched]
    if int(np.sum(np.where(tick_left == step_left, 1, -1))) < 0:
        return [None if f is None else ("R" if f == "L" else "L") for f in labels]
    return labels


def step_rows(rec: Recording, start: int = 0) -> list[StepRow]:
    """The step table from footfall ``start`` on: every footfall whose asynchrony is final."""
    steps, asyn, _ = rec.footfalls.frozen()
    if steps.size <= start:
        return []
    labels = feet(rec, steps, asyn)  # the vote uses every footfall, so the table's feet never change
    intervals = entry_of(rec.timeline, steps[start:])
    conf = rec.footfalls.confidence
    return [StepRow(time_s=round(float(steps[j]), 5), foot=labels[j],
                    asynchrony_ms=None if not math.isfinite(asyn[j]) else round(float(asyn[j]), 2),
                    confidence=round(float(conf[j]), 3), interval=int(i))
            for j, i in zip(range(start, steps.size), intervals)]


# ---------------------------------------------------------------------- intervals
@dataclass(frozen=True)
class Retention:
    """How much of the cadence the beat asked for held in a silent interval."""

    cadence_spm: float | None
    tempo_before_spm: float | None  # the last tempo the runner heard before the silence
    held_pct: float | None  # cadence as % of the last tempo heard
    retained_pct: float | None  # % of the increase over the baseline that held

    def as_dict(self) -> dict[str, Any]:
        return {"cadence_spm": self.cadence_spm, "tempo_before_spm": self.tempo_before_spm,
                "held_pct": self.held_pct, "retained_pct": self.retained_pct}


def retention(rec: Recording, index: int, cadence: float | None, baseline_spm: float) -> Retention:
    """Retention in silent entry ``index``, against the tempo of the last tick heard before it."""
    start_s = rec.timeline.entries[index].start_s
    heard = [t for t in rec.ticks if t.start_sample / rec.sample_rate < start_s]
    if cadence is None or not heard:
        return Retention(cadence, None, None, None)
    tempo_before = round(heard[-1].spm, 2)
    retained = None
    if abs(tempo_before - baseline_spm) > 0.5:
        retained = round(100.0 * (cadence - baseline_spm) / (tempo_before - baseline_spm), 1)
    return Retention(cadence, tempo_before, round(100.0 * cadence / tempo_before, 2), retained)


@dataclass(frozen=True)
class IntervalFigures:
    """One timeline entry (up to where the session got)."""

    index: int
    label: str
    sounding: bool
    start_s: float
    end_s: float
    n_steps: int
    n_beats: int
    cadence_spm: float | None
    tempo_spm: float | None  # None: still in a warm-up that measures the baseline
    asynchrony: AsynchronyStats
    asymmetry: Asymmetry | None
    retention: Retention | None  # silent intervals only (not the warm-up or cool-down)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index, "label": self.label, "sounding": self.sounding, "start_s": self.start_s,
            "end_s": self.end_s, "n_steps": self.n_steps, "n_beats": self.n_beats, "cadence_spm": self.cadence_spm,
            "tempo_spm": self.tempo_spm, "asynchrony": self.asynchrony.as_dict(),
            "asymmetry": None if self.asymmetry is None else self.asymmetry.__dict__,
        }
        if self.retention is not None:
            out["retention"] = self.retention.as_dict()
        return out


def interval_figures(rec: Recording, index: int, end_s: float | None = None, *, tolerance_ms: float,
                     baseline_spm: float, tempo_known: bool = True) -> IntervalFigures:
    """Figures for timeline entry ``index`` up to ``end_s`` (default: its end)."""
    entry = rec.timeline.entries[index]
    stop_s = min(entry.end_s, end_s if end_s is not None else entry.end_s)
    steps, asyn, period = rec.footfalls.frozen()
    inside = (steps >= entry.start_s) & (steps < stop_s)
    interval_steps = steps[inside]
    stats = asynchrony_stats(interval_steps, asyn[inside], period[inside], tolerance_ms=tolerance_ms)
    tick_spm = [t.spm for t in rec.ticks if entry.start_s <= t.start_sample / rec.sample_rate < stop_s]
    tempo: float | None = float(np.mean(tick_spm)) if tick_spm else _mean_tempo(rec, entry.start_s, stop_s)
    if not tempo_known:  # still in the warm-up: no tempo was set yet
        tempo = None
    cadence = cadence_spm(interval_steps)  # NaN with too few footfalls
    labels = feet(rec, interval_steps, asyn[inside])
    asym = step_asymmetry(interval_steps, labels) if interval_steps.size >= MIN_STEPS_FOR_ASYMMETRY else None
    cadence_spm_2 = _round_finite(cadence, 2)
    retained = None
    if not entry.segment.sounding and entry.segment.label not in NOT_RETAINED:
        retained = retention(rec, index, cadence_spm_2, baseline_spm)
    return IntervalFigures(
        index=index, label=entry.segment.label, sounding=entry.segment.sounding, start_s=entry.start_s, end_s=stop_s,
        n_steps=int(interval_steps.size), n_beats=len(tick_spm), cadence_spm=cadence_spm_2,
        tempo_spm=None if tempo is None else round(tempo, 2), asynchrony=stats, asymmetry=asym, retention=retained,
    )


def _mean_tempo(rec: Recording, start_s: float, stop_s: float) -> float:
    """Mean tempo of the control steps in [start_s, stop_s), else the plan's at ``start_s``."""
    mean = rec.tempo_trace.mean_between(start_s, stop_s)
    return mean if mean is not None else rec.timeline.spm_at(start_s)


# ------------------------------------------------------------------------ latency
ON_LEVEL_S = 0.001  # a measured tick this close to the level settled at it is "on the level"


@dataclass(frozen=True)
class LatencyFigures:
    """The loop latency used for the heard times, how it was known, and its steps."""

    loop_latency_ms: float
    method: str
    measured_loop_latency_ms: float | None
    n_latency_measurements: int
    latency_measurement_spread_ms: float | None  # p90 - p10 of measurement minus the level at its tick
    latency_on_level_pct: float | None  # share of the measured ticks within 1 ms of the level at them
    n_latency_steps: int
    events: list[dict[str, Any]]
    nominal_loop_latency_ms: float
    headphone_offset_ms: float
    stream_latency_ms: tuple[float, float] | None  # (input, output) as the stream reported them

    def as_dict(self) -> dict[str, Any]:
        return {
            "loop_latency_ms": self.loop_latency_ms, "method": self.method,
            "measured_loop_latency_ms": self.measured_loop_latency_ms,
            "n_latency_measurements": self.n_latency_measurements,
            "latency_measurement_spread_ms": self.latency_measurement_spread_ms,
            "latency_on_level_pct": self.latency_on_level_pct,
            "n_latency_steps": self.n_latency_steps, "events": self.events,
            "nominal_loop_latency_ms": self.nominal_loop_latency_ms, "headphone_offset_ms": self.headphone_offset_ms,
            "stream_latency_ms": None if self.stream_latency_ms is None
            else {"input": self.stream_latency_ms[0], "output": self.stream_latency_ms[1]},
        }


def latency_figures(search: TickSearch, *, fallback_s: float, nominal_s: float, headphone_offset_ms: float,
                    simulated: bool, stream_latency_s: tuple[float, float] | None) -> LatencyFigures:
    measured = search.track.level_s
    residuals = search.track.residuals_s()
    events = search.events()
    if measured is not None:
        method = "measured from ticks heard by the microphone"
    elif simulated:
        method = "recording as the microphone: ticks heard as rendered"
    else:
        method = "stream timestamps + headphone offset"
    spread = on_level = None
    if measured is not None and residuals:
        spread = round(1000 * float(np.percentile(residuals, 90) - np.percentile(residuals, 10)), 2)
        on_level = round(100.0 * float(np.mean(np.abs(residuals) <= ON_LEVEL_S)), 1)
    return LatencyFigures(
        loop_latency_ms=round(1000 * search.current_s(fallback_s), 2), method=method,
        measured_loop_latency_ms=None if measured is None else round(1000 * measured, 2),
        n_latency_measurements=len(search.measurements_s), latency_measurement_spread_ms=spread,
        latency_on_level_pct=on_level,
        n_latency_steps=sum(e["kind"] == "step" for e in events), events=events,
        nominal_loop_latency_ms=round(1000 * nominal_s, 2), headphone_offset_ms=headphone_offset_ms,
        stream_latency_ms=None if stream_latency_s is None
        else (round(1000 * stream_latency_s[0], 2), round(1000 * stream_latency_s[1], 2)),
    )


# ------------------------------------------------------------------------- report
@dataclass(frozen=True)
class Summary:
    """The whole session in a few figures."""

    n_steps: int
    n_beats: int
    cadence_spm: float | None
    cadence_with_beat_spm: float | None  # sounding intervals, weighted by their footfalls
    tempo_spm: float | None
    cadence_without_beat_spm: float | None  # silent intervals with a retention figure
    retention_held_pct: float | None
    asynchrony: AsynchronyStats
    asymmetry: Asymmetry | None
    gaps: list[Gap]
    final_tempo_spm: float | None
    controller_state: str | None  # None: no adaptive controller

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_steps": self.n_steps, "n_beats": self.n_beats, "cadence_spm": self.cadence_spm,
            "cadence_with_beat_spm": self.cadence_with_beat_spm, "tempo_spm": self.tempo_spm,
            "cadence_without_beat_spm": self.cadence_without_beat_spm, "retention_held_pct": self.retention_held_pct,
            "asynchrony": self.asynchrony.as_dict(), "asymmetry": None if self.asymmetry is None else self.asymmetry.__dict__,
            "gaps": [g.__dict__ for g in self.gaps], "final_tempo_spm": self.final_tempo_spm,
            "controller_state": self.controller_state,
        }


def summary(rec: Recording, intervals: list[IntervalFigures], table: list[StepRow], *, tolerance_ms: float,
            controller_state: str | None) -> Summary:
    steps, asyn, period = rec.footfalls.frozen()
    sounding = [iv for iv in intervals if iv.sounding and iv.n_steps]
    silent = [iv for iv in intervals if iv.retention is not None and iv.retention.held_pct is not None]
    asym = step_asymmetry(steps, [s.foot for s in table]) if steps.size >= MIN_STEPS_FOR_ASYMMETRY else None
    cadence = cadence_spm(steps)  # NaN with too few footfalls
    trace = rec.tempo_trace
    return Summary(
        n_steps=int(steps.size), n_beats=len(rec.ticks), cadence_spm=_round_finite(cadence, 2),
        cadence_with_beat_spm=_weighted([(iv.cadence_spm, iv.n_steps) for iv in sounding]),
        tempo_spm=_weighted([(iv.tempo_spm, iv.n_steps) for iv in sounding]),
        cadence_without_beat_spm=_weighted([(iv.cadence_spm, iv.n_steps) for iv in silent]),
        retention_held_pct=_mean([iv.retention.held_pct for iv in silent if iv.retention is not None]),
        asynchrony=asynchrony_stats(steps, asyn, period, tolerance_ms=tolerance_ms), asymmetry=asym,
        gaps=find_gaps(steps) if steps.size >= MIN_STEPS_FOR_GAPS else [],
        final_tempo_spm=round(trace[-1][1], 2) if trace else None, controller_state=controller_state,
    )


@dataclass(frozen=True)
class SessionReport:
    """The whole session; ``as_dict()`` is the JSON report (``cadence run --json-report``)."""

    started_at: datetime
    ended_at: datetime  # wall clock; duration_s is audio time
    duration_s: float
    interrupted: bool
    sample_rate: int
    settings: dict[str, Any]  # SessionSettings.as_dict()
    latency: LatencyFigures
    xruns: dict[str, Any]  # DuplexStats.as_dict()
    summary: Summary
    intervals: list[IntervalFigures]
    beats: list[BeatRow]
    steps: list[StepRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(), "ended_at": self.ended_at.isoformat(),
            "duration_s": self.duration_s, "interrupted": self.interrupted, "sample_rate": self.sample_rate,
            "settings": self.settings, "latency": self.latency.as_dict(), "latency_events": self.latency.events,
            "xruns": self.xruns, "summary": self.summary.as_dict(),
            "intervals": [iv.as_dict() for iv in self.intervals],
            "beats": [b.as_dict() for b in self.beats], "steps": [s.as_dict() for s in self.steps],
        }


def _weighted(pairs: list[tuple[float | None, int]]) -> float | None:
    """Mean of the values weighted by their footfall counts (None: no value)."""
    kept = [(v, n) for v, n in pairs if v is not None and n]
    if not kept:
        return None
    total = sum(n for _, n in kept)
    return round(sum(v * n for v, n in kept) / total, 2)


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(float(np.mean(vals)), 2) if vals else None
