"""Unit conversions and duration parsing for the metronome.

Every conversion that rounds says how: sample positions are rounded to the nearest
integer sample (exact halves round up), never truncated.
"""

from __future__ import annotations

import math
import re

MIN_SPM = 60.0
MAX_SPM = 240.0
# What --force may reach: beyond this the metronome is no longer a cadence (and 1e9 spm
# would schedule a beat every sample).
FORCE_MIN_SPM = 20.0
FORCE_MAX_SPM = 400.0

_DURATION_RE = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s?)?$")


class ParameterError(ValueError):
    """A parameter given to the metronome is out of range or malformed."""


def parse_duration_s(text: str | float | int) -> float:
    """Parse a duration such as ``90s``, ``2m``, ``1m30s``, ``1h``, ``20m`` or ``45``.

    A bare number is seconds. Returns seconds (float > 0).
    """
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        cleaned = str(text).strip().lower().replace(" ", "")
        match = _DURATION_RE.match(cleaned)
        if not cleaned or match is None or not any(match.groupdict().values()):
            raise ParameterError(
                f"invalid duration {text!r}: use forms like 90s, 2m, 1m30s, 1h or a number of seconds"
            )
        parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
        value = parts["h"] * 3600.0 + parts["m"] * 60.0 + parts["s"]
    if not math.isfinite(value):
        raise ParameterError(f"duration must be a finite number of seconds, got {text!r}")
    if not value > 0:
        raise ParameterError(f"duration must be positive, got {text!r}")
    return value


def format_duration(seconds: float) -> str:
    """Format seconds as ``h:mm:ss`` or ``m:ss``."""
    total = int(round(seconds))
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def seconds_to_samples(time_s: float, sample_rate: int) -> int:
    """Nearest integer sample of ``time_s`` seconds at ``sample_rate`` Hz (halves round up)."""
    return math.floor(time_s * sample_rate + 0.5)


def db_to_gain(db: float) -> float:
    """Amplitude factor for a level in decibels."""
    return float(10.0 ** (db / 20.0))


def spm_to_period_s(spm: float) -> float:
    """Step period in seconds for a cadence in steps per minute."""
    if not spm > 0:
        raise ParameterError(f"cadence must be positive, got {spm!r} spm")
    return 60.0 / spm


def check_spm(spm: float, *, force: bool = False, what: str = "cadence") -> float:
    """Check that ``spm`` lies in the usable 60-240 steps/min range (20-400 when forced)."""
    if not math.isfinite(spm):
        raise ParameterError(f"{what} must be a finite number of steps per minute, got {spm!r}")
    if not spm > 0:
        raise ParameterError(f"{what} must be positive, got {spm:g} spm")
    if force and not (FORCE_MIN_SPM <= spm <= FORCE_MAX_SPM):
        raise ParameterError(
            f"{what} {spm:g} spm is outside {FORCE_MIN_SPM:g}-{FORCE_MAX_SPM:g} spm, the most --force allows"
        )
    if not force and not (MIN_SPM <= spm <= MAX_SPM):
        raise ParameterError(
            f"{what} {spm:g} spm is outside {MIN_SPM:g}-{MAX_SPM:g} spm "
            "(steps per minute, both feet); use --force to allow it"
        )
    return float(spm)
