"""What the runner hears, as settings, and the ready :class:`metronome.render.TickRenderer` built from them.

Shared by ``render``, ``play`` and the session: the plan, sound and tick placement, and the one
function that builds the plan, clock and tick bank from them. No command line here (``cli.options``
holds the click options that fill these settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metronome.clicks import SOUNDS, tick_from_array
from metronome.plans import Plan, Timeline, default_baseline_spm, load_plan
from metronome.render import TickBank, TickRenderer, cue_events, cue_waves
from metronome.schedule import BeatClock
from metronome.units import ParameterError, check_spm

@dataclass(frozen=True, kw_only=True)
class MetronomeSettings:
    target_spm: float
    baseline_spm: float
    plan: Plan
    timeline: Timeline
    every_other_step: bool
    sound: str
    accent_every: int
    alternate_ears: bool
    volume_db: float
    cues: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "target_spm": self.target_spm,
            "baseline_spm": self.baseline_spm,
            "plan": self.plan.name,
            "every_other_step": self.every_other_step,
            "ticks_per_min": self.target_spm / (2 if self.every_other_step else 1),
            "sound": self.sound,
            "accent_every": self.accent_every,
            "alternate_ears": self.alternate_ears,
            "volume_db": self.volume_db,
            "cues": self.cues,
        }


def settings_from_options(
    *,
    spm: float,
    duration_s: float | None,
    plan: str,
    baseline_spm: float | None,
    warmup_s: float | None,
    cooldown_s: float | None,
    every_other_step: bool,
    sound: str,
    accent_every: int,
    alternate_ears: bool,
    volume_db: float,
    force: bool,
    ramp_s: float = 0.0,
    cues: bool = False,
) -> MetronomeSettings:
    target = check_spm(spm, force=force, what="cadence")
    baseline = check_spm(baseline_spm, force=force, what="baseline") if baseline_spm is not None else default_baseline_spm(target)
    resolved = load_plan(plan, target_spm=target, baseline_spm=baseline, force=force)
    timeline = Timeline(
        resolved,
        duration_s=duration_s,
        warmup_s=warmup_s or 0.0,
        cooldown_s=cooldown_s or 0.0,
        baseline_spm=baseline,
        ramp_s=ramp_s,
    )
    return MetronomeSettings(target_spm=target, baseline_spm=baseline, plan=resolved, timeline=timeline,
                             every_other_step=every_other_step, sound=sound, accent_every=accent_every,
                             alternate_ears=alternate_ears, volume_db=volume_db, cues=cues)


def load_tick_bank(settings: MetronomeSettings, sample_rate: int, n_channels: int) -> TickBank:
    """Synthesized ticks by name, or a user's sound file."""
    if settings.sound in SOUNDS:
        return TickBank.synthesized(settings.sound, sample_rate, n_channels=n_channels, volume_db=settings.volume_db)
    path = Path(settings.sound)
    if not path.is_file():
        raise ParameterError(
            f"tick sound {settings.sound!r} is neither one of {', '.join(SOUNDS)} nor an audio file"
        )
    import soundfile

    try:
        data, source_rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - libsndfile's errors vary by format
        raise ParameterError(f"cannot read tick sound {path}: {exc}") from None
    mono = tick_from_array(data, int(source_rate), sample_rate)
    return TickBank.build(mono, mono, n_channels=n_channels, volume_db=settings.volume_db)


def build_renderer(settings: MetronomeSettings, sample_rate: int, n_channels: int, *,
                   start_s: float = 0.0) -> TickRenderer:
    """Clock, tick bank and cues for the settings; the first beat at ``start_s`` seconds."""
    clock = BeatClock(
        settings.timeline,
        sample_rate,
        steps_per_tick=2 if settings.every_other_step else 1,
        accent_every=settings.accent_every,
        alternate_ears=settings.alternate_ears,
        start_s=start_s,
    )
    renderer = TickRenderer(clock, load_tick_bank(settings, sample_rate, n_channels))
    apply_cues(renderer, settings, sample_rate)
    return renderer


def apply_cues(renderer: TickRenderer, settings: MetronomeSettings, sample_rate: int) -> None:
    """Chimes at the settings' interval changes, if asked for (again after a plan change)."""
    if settings.cues:
        starts, kinds = cue_events(settings.timeline, sample_rate)
        renderer.set_cues(starts, kinds, cue_waves(sample_rate, renderer.n_channels, settings.volume_db))


def cue_list_json(settings: MetronomeSettings) -> list[dict[str, Any]]:
    if not settings.cues:
        return []
    starts, kinds = cue_events(settings.timeline, 1_000_000)
    return [{"time_s": int(s) / 1_000_000, "kind": "start" if k else "stop"} for s, k in zip(starts, kinds)]


def tick_records_json(records: list[Any], settings: MetronomeSettings, sample_rate: int) -> list[dict[str, Any]]:
    entries = settings.timeline.entries
    return [
        {
            "time_s": r.start_sample / sample_rate,
            "sample": r.start_sample,
            "accent": r.accent,
            "channel": r.channel,
            "spm": round(r.spm, 4),
            "segment": entries[r.segment_index].segment.label,
        }
        for r in records
    ]
