"""What the runner hears: tick sounds, the sample-accurate beat clock, tempo plans, rendering.

Pure modules only; ``metronome.engine`` is the one module that imports sounddevice, lazily.
"""

from metronome.units import ParameterError, check_spm, parse_duration_s, seconds_to_samples, spm_to_period_s

__all__ = ["ParameterError", "check_spm", "parse_duration_s", "seconds_to_samples", "spm_to_period_s"]
