"""The click options that say what the runner hears (plan, sound, tick placement): shared by
``render``, ``play``, ``run`` and ``demo``; they fill :class:`metronome.settings.MetronomeSettings`.
Apart from ``cli.options`` because the lists of sounds and plans import the metronome's synthesis
(commands such as ``history`` must start without it)."""

from __future__ import annotations

from typing import Any, Callable

import click

from cli.options import DURATION, FINITE, every_other_step_option, finite_range, force_option
from metronome.clicks import SOUNDS
from metronome.plans import PRESETS

F = Callable[..., Any]


def metronome_options(f: F) -> F:
    """Plan, sound and tick-placement options (not the cadence itself)."""
    decorators: list[Callable[[F], F]] = [
        click.option(
            "--plan",
            default="steady",
            show_default=True,
            help=f"Tempo plan: a preset ({', '.join(PRESETS)}) or a .toml file. --spm is the plan's target.",
        ),
        click.option("--baseline", "baseline_spm", type=FINITE, default=None, metavar="N",
                     help="Your habitual easy-pace cadence (spm): plans ramp from it, easy segments use it."),
        click.option("--warmup", "warmup_s", type=DURATION, default=None, help="Silent warm-up at the baseline first, e.g. 5m."),
        click.option("--cooldown", "cooldown_s", type=DURATION, default=None, help="Silent cool-down at the baseline at the end."),
        every_other_step_option,
        click.option("--sound", default="woodblock", show_default=True,
                     help=f"Tick sound: {', '.join(SOUNDS)}, or a .wav/.flac file."),
        click.option("--accent", "accent_every", type=click.IntRange(0, 64), default=0, show_default=True,
                     help="Accent every N-th tick (0: none)."),
        click.option("--alternate-ears", is_flag=True,
                     help="Left-foot ticks in the left ear, right-foot ticks in the right."),
        click.option("--volume", "volume_db", type=finite_range(-60, 0), default=-6.0, show_default=True,
                     help="Tick level in dB below full scale."),
        click.option("--cues", is_flag=True,
                     help="Chime at interval changes: rising when ticks start, falling when they stop."),
        force_option,
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f
