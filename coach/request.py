"""What a session is asked to do, as typed objects built once by the command line.

:class:`RunRequest` travels ``cadence run`` -> :func:`coach.run.run_session`: the metronome and
session settings, the length, and either the live stream (:class:`StreamOptions`) or a recording
standing in for the microphone (:class:`FileInput`). :class:`PlanRequest` turns a baseline into
the metronome settings (the target within its band), now or after a silent warm-up measured it.
No click here: bad requests raise :class:`RunError` with a one-line message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from coach.progression import TARGET_HIGH_RATIO, TARGET_LOW_RATIO
from coach.calibration import HEADPHONE_OFFSET_MAX_MS
from coach.session import SessionSettings
from metronome.settings import MetronomeSettings, settings_from_options
from metronome.units import check_spm

TARGET_BAND_PCT = (round(100 * (TARGET_LOW_RATIO - 1), 6), round(100 * (TARGET_HIGH_RATIO - 1), 6))
DEFAULT_TARGET_PCT = 7.0
PROVISIONAL_BASELINE_SPM = 160.0  # the silent warm-up's clock runs at this until the baseline is measured
_TARGET_RE = re.compile(r"^\+\s*(\d+(?:\.\d+)?)\s*%$")

#: A simulated output-to-mic delay: ``[(from_s, delay_ms), ...]``, the first from 0 s.
BleedSchedule = Sequence[tuple[float, float]]


class RunError(ValueError):
    """A session that cannot start, or that failed: the message is one line for the user."""


def resolve_target(target: str | None, spm: float | None, baseline_spm: float, force: bool) -> float:
    """``+7%`` or an absolute spm (or ``--spm``) -> target spm, within +5..+10 % unless forced."""
    if target is not None and spm is not None:
        raise RunError("give the target either as --target or as --spm, not both")
    if spm is not None:
        value = spm
    elif target is None:
        value = baseline_spm * (1 + DEFAULT_TARGET_PCT / 100)
    elif match := _TARGET_RE.match(target.strip()):
        value = baseline_spm * (1 + float(match.group(1)) / 100)
    else:
        try:
            value = float(target)
        except ValueError:
            raise RunError(f"--target {target!r}: use +7% or a cadence such as 178") from None
    value = round(check_spm(value, force=force, what="target"), 1)
    pct = 100 * (value / baseline_spm - 1)
    lo, hi = TARGET_BAND_PCT
    if not force and not (lo - 0.05 <= pct <= hi + 0.05):
        raise RunError(
            f"target {value:g} spm is {pct:+.1f} % from your baseline {baseline_spm:g} spm; cadence work "
            f"uses +{lo:g}…+{hi:g} % (start at +5-7 % and hold it 3-6 weeks); use --force to go beyond"
        )
    return value


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """The plan, sound and target as asked for; :meth:`build` makes the settings for a baseline."""

    target: str | None = None  # '+7%' or spm as text (--target)
    spm: float | None = None  # --spm
    force: bool = False
    duration_s: float | None = None
    plan: str = "steady"
    warmup_s: float | None = None
    cooldown_s: float | None = None
    every_other_step: bool = False
    sound: str = "woodblock"
    accent_every: int = 0
    alternate_ears: bool = False
    volume_db: float = -6.0
    ramp_s: float = 0.0
    cues: bool = False

    def build(self, baseline_spm: float) -> MetronomeSettings:
        """The metronome settings for ``baseline_spm`` (raises ParameterError/RunError, one line)."""
        checked = check_spm(baseline_spm, force=self.force, what="baseline")
        target = resolve_target(self.target, self.spm, checked, self.force)
        return settings_from_options(
            spm=target, baseline_spm=checked, duration_s=self.duration_s, plan=self.plan, warmup_s=self.warmup_s,
            cooldown_s=self.cooldown_s, every_other_step=self.every_other_step, sound=self.sound,
            accent_every=self.accent_every, alternate_ears=self.alternate_ears, volume_db=self.volume_db,
            force=self.force, ramp_s=self.ramp_s, cues=self.cues,
        )


@dataclass(frozen=True, kw_only=True)
class StreamOptions:
    """The live stream: devices (index or name part; None: the default), rate (None: the best the
    devices take), frames per callback, PortAudio latency ('low', 'high' or seconds, as text or number)."""

    device: str | None = None
    input_device: str | None = None
    output_device: str | None = None
    sample_rate: int | None = None
    block_size: int = 0
    latency: str | float = "0.1"
    #: restart the stream when PortAudio's thread spins; a restart moves the loop latency, so a
    #: short measurement (calibration) turns it off
    restart_on_spin: bool = True

    @property
    def label(self) -> str:
        """The device named in the history."""
        return self.device or "default"


@dataclass(frozen=True, kw_only=True)
class FileInput:
    """A recording as the microphone (simulation): ``fast`` runs it faster than real time,
    ``monitor`` writes the mix of recording and ticks, ``bleed_db`` lets the "mic" hear the
    ticks at that level after ``bleed_delay_ms`` (a number, or a schedule that steps it)."""

    path: Path
    fast: bool = False
    monitor: Path | None = None
    bleed_db: float | None = None
    bleed_delay_ms: float | BleedSchedule = 25.0

    def bleed_delay_frames(self, sample_rate: int) -> list[tuple[int, int]]:
        """The bleed delay as ``[(from_frame, delay_frames), ...]`` at ``sample_rate``."""
        delay = self.bleed_delay_ms
        schedule = [(0.0, float(delay))] if isinstance(delay, (int, float)) else delay
        return [(round(at_s * sample_rate), round(ms / 1000 * sample_rate)) for at_s, ms in schedule]


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """One session: what it plays and measures, for how long, on which audio."""

    metronome: MetronomeSettings
    settings: SessionSettings
    duration_s: float | None = None  # None: until stopped (or the end of the recording)
    stream: StreamOptions = StreamOptions()
    input: FileInput | None = None  # None: live, on ``stream``

    @property
    def input_label(self) -> str:
        """``report["input"]``: the recording's path, or 'microphone'."""
        return "microphone" if self.input is None else str(self.input.path)


def headphone_offset_ms(given: float | None, input_file: Path | None, stream: StreamOptions) -> float:
    """--headphone-offset-ms, else the offset 'cadence calibrate' stored for these devices at this
    sample rate, else 0."""
    if given is not None:
        if input_file is not None and given < 0:
            raise RunError(
                f"--headphone-offset-ms {given:g}: a recording (--input-file) has no output delay to take back; "
                f"give 0 to {HEADPHONE_OFFSET_MAX_MS:g} ms"
            )
        return given
    if input_file is not None:
        return 0.0
    from coach.calibration import stored_headphone_offset_ms

    return stored_headphone_offset_ms(stream.device, stream.input_device, stream.output_device,
                                      stream.sample_rate) or 0.0
