"""The adaptive tempo controller: advance toward the target only while the runner keeps up.

The controller is a small state machine fed with the measured cadence; it returns the
tempo (spm) the clock should play. It runs off the audio thread (the session's worker); the
clock picks the value up at its next beat.

- The runner *keeps up* while their cadence is within ``tolerance_spm`` of the tempo (or
  above it). After ``settle_s`` of keeping up, the tempo advances toward the target at
  ``advance_spm_per_min``.
- The runner *falls off* when their cadence stays below ``tempo - tolerance_spm``. The
  tempo then holds; after ``ease_after_s`` of falling off it eases back at
  ``ease_spm_per_min``, never below the baseline or below the runner's own cadence.
- Without a cadence measurement (no steps) the tempo holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from metronome.units import ParameterError


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
