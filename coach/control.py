"""Cadence -> controller -> tempo: everything that decides what tempo the runner hears.

This is the one place of the control loop. :class:`AdaptiveController` is the pure state
machine (measured cadence in, tempo out); :class:`TempoControl` is the session's control step
around it: every ``CONTROL_PERIOD_S`` it measures the runner's current cadence, asks the plan
(and the controller, with ``--adaptive``) for the tempo, sets the clock's override, mutes the
ticks while the runner is on target (``--cue-off-target``) and records the tempo trace.

Why here and not in ``metronome/``: the metronome plays a timeline (and takes a tempo override
at the next beat); deciding the tempo from the runner's footfalls needs the detector's cadence,
so it is coaching, and ``metronome`` never imports ``stepdetect``. The controller was split
between ``metronome/controller.py`` and ``Session._control``; both halves now live here.

The adaptive controller:

- The runner *keeps up* while their cadence is within ``tolerance_spm`` of the tempo (or
  above it). After ``settle_s`` of keeping up, the tempo advances toward the target at
  ``advance_spm_per_min``.
- The runner *falls off* when their cadence stays below ``tempo - tolerance_spm``. The
  tempo then holds; after ``ease_after_s`` of falling off it eases back at
  ``ease_spm_per_min``, never below the baseline or below the runner's own cadence.
- Without a cadence measurement (no steps) the tempo holds.

It runs off the audio thread (the session's consumer); the clock picks the tempo up at its
next beat.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from metronome.render import TickRenderer
from metronome.settings import MetronomeSettings
from metronome.units import ParameterError
from stepdetect.cadence import cadence_spm

CADENCE_WINDOW_S = 10.0  # the "current cadence" is measured over this many seconds
CONTROL_PERIOD_S = 0.5
WARMUP_BASELINE_WINDOW_S = 120.0  # the baseline is the cadence of the warm-up's last 2 minutes
MIN_WARMUP_STEPS = 20  # footfalls the warm-up needs to measure a baseline


@dataclass(frozen=True)
class AdaptiveParams:
    tolerance_spm: float = 3.0
    settle_s: float = 20.0
    advance_spm_per_min: float = 2.0
    ease_after_s: float = 20.0
    ease_spm_per_min: float = 2.0

    def __post_init__(self) -> None:
        for name in ("tolerance_spm", "advance_spm_per_min", "ease_spm_per_min"):
            if getattr(self, name) <= 0:
                raise ParameterError(f"{name} must be positive, got {getattr(self, name)}")
        if self.settle_s < 0 or self.ease_after_s < 0:
            raise ParameterError("settle_s and ease_after_s must be >= 0 seconds")


class AdaptiveController:
    """Tempo from baseline toward target, paced by the runner.

    Parameters
    ----------
    baseline_spm, target_spm : float
        Start and goal (steps per minute); the target may be below the baseline.
    params : AdaptiveParams
    """

    def __init__(self, baseline_spm: float, target_spm: float, params: AdaptiveParams | None = None) -> None:
        if baseline_spm <= 0 or target_spm <= 0:
            raise ParameterError("baseline and target must be positive spm")
        self.baseline_spm = float(baseline_spm)
        self.target_spm = float(target_spm)
        self.params = params or AdaptiveParams()
        self.tempo_spm = self.baseline_spm
        self.state = "settling"  # settling | advancing | holding | easing | at-target
        self._keeping_up_s = 0.0
        self._falling_off_s = 0.0
        self._last_time_s: float | None = None

    @property
    def progress(self) -> float:
        """0 at the baseline, 1 at the target."""
        span = self.target_spm - self.baseline_spm
        return 1.0 if span == 0 else (self.tempo_spm - self.baseline_spm) / span

    def update(self, time_s: float, cadence_spm: float | None) -> float:
        """Advance the state to ``time_s`` given the runner's current cadence; return the tempo."""
        dt = 0.0 if self._last_time_s is None else max(time_s - self._last_time_s, 0.0)
        self._last_time_s = time_s
        p = self.params
        direction = 1.0 if self.target_spm >= self.baseline_spm else -1.0
        if cadence_spm is None:
            self.state = "holding"
            return self.tempo_spm
        gap = direction * (cadence_spm - self.tempo_spm)  # > 0: runner ahead of the tempo
        if gap >= -p.tolerance_spm:
            self._keeping_up_s += dt
            self._falling_off_s = 0.0
            if self._keeping_up_s >= p.settle_s:
                step = p.advance_spm_per_min * dt / 60.0
                remaining = direction * (self.target_spm - self.tempo_spm)
                self.tempo_spm += direction * min(step, max(remaining, 0.0))
                self.state = "at-target" if remaining <= step else "advancing"
            else:
                self.state = "settling"
        else:
            self._falling_off_s += dt
            self._keeping_up_s = 0.0
            if self._falling_off_s >= p.ease_after_s:
                floor = max(direction * self.baseline_spm, direction * cadence_spm)
                eased = direction * self.tempo_spm - p.ease_spm_per_min * dt / 60.0
                self.tempo_spm = direction * max(eased, floor)
                self.state = "easing"
            else:
                self.state = "holding"
        return self.tempo_spm


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


def current_cadence_spm(step_times_s: Sequence[float], now_s: float) -> float | None:
    """The runner's cadence over the last ``CADENCE_WINDOW_S`` (None: too few footfalls, see
    :func:`stepdetect.cadence.cadence_spm`)."""
    k = len(step_times_s)
    while k > 0 and step_times_s[k - 1] > now_s - CADENCE_WINDOW_S:
        k -= 1
    value = cadence_spm(np.asarray(step_times_s[k:], dtype=np.float64))  # NaN with too few footfalls
    return value if math.isfinite(value) else None


def warmup_baseline_spm(step_times_s: Sequence[float], warmup_end_s: float) -> tuple[float, int]:
    """(cadence of the warm-up's last ``WARMUP_BASELINE_WINDOW_S``, footfalls in it); the
    cadence is NaN with fewer than ``MIN_WARMUP_STEPS`` footfalls."""
    steps = np.asarray([t for t in step_times_s if warmup_end_s - WARMUP_BASELINE_WINDOW_S <= t < warmup_end_s],
                       dtype=np.float64)
    return (cadence_spm(steps) if steps.size >= MIN_WARMUP_STEPS else math.nan), int(steps.size)


@dataclass(frozen=True)
class ControlStep:
    """What one control step decided."""

    time_s: float
    entry_index: int  # the timeline entry in force
    cadence_spm: float | None  # the runner's current cadence (None: too few footfalls)
    tempo_spm: float


class TempoControl:
    """The session's control step (see the module docstring).

    Parameters
    ----------
    metronome : MetronomeSettings
        The plan (timeline, baseline and target).
    renderer : TickRenderer
        Its clock takes the tempo override; its ``muted`` flag the cue-off-target decision.
    adaptive : AdaptiveParams or None
        Pace the plan by the runner (None: play the plan as written).
    cue_only_off_target : bool
        Mute the ticks while the cadence is within ``off_target_band_pct`` % of the tempo.
    """

    def __init__(self, metronome: MetronomeSettings, renderer: TickRenderer, *, adaptive: AdaptiveParams | None,
                 cue_only_off_target: bool, off_target_band_pct: float) -> None:
        self.metronome = metronome
        self.renderer = renderer
        self.adaptive = adaptive
        self.cue_only_off_target = cue_only_off_target
        self.off_target_band_pct = off_target_band_pct
        self.controller = self._new_controller()
        self.trace = TempoTrace()  # (time_s, tempo_spm) at each control step
        self._last_s = -math.inf

    def _new_controller(self) -> AdaptiveController | None:
        if self.adaptive is None:
            return None
        return AdaptiveController(self.metronome.baseline_spm, self.metronome.target_spm, self.adaptive)

    @property
    def state(self) -> str:
        """The adaptive controller's state ("" without one)."""
        return self.controller.state if self.controller is not None else ""

    def replan(self, metronome: MetronomeSettings) -> None:
        """A new plan (the baseline measured in the warm-up): a fresh controller, and the clock
        picks the new timeline up at its next beat."""
        self.metronome = metronome
        self.controller = self._new_controller()
        self.renderer.clock.timeline = metronome.timeline

    def due(self, now_s: float) -> bool:
        return now_s - self._last_s >= CONTROL_PERIOD_S

    def step(self, now_s: float, step_times_s: Sequence[float], *, record: bool = True) -> ControlStep:
        """Measure the cadence, set the tempo (and the mute); ``record``: add it to the trace
        (not while the tempo is a placeholder, in a warm-up that measures the baseline)."""
        self._last_s = now_s
        timeline = self.metronome.timeline
        i = timeline.locate(now_s)
        cadence = current_cadence_spm(step_times_s, now_s)
        tempo = timeline.entry_spm_at(i, now_s)
        if self.controller is not None:
            self.controller.update(now_s, cadence)
            baseline = self.metronome.baseline_spm
            tempo = baseline + (timeline.entries[i].spm_at(now_s) - baseline) * self.controller.progress
            self.renderer.clock.spm_override = tempo
        if self.cue_only_off_target:
            band = tempo * self.off_target_band_pct / 100.0
            self.renderer.muted = cadence is not None and abs(cadence - tempo) <= band
        if record:
            self.trace.append((now_s, tempo))
        return ControlStep(now_s, i, cadence, tempo)
