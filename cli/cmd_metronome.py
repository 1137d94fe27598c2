"""Metronome commands: ``render``, ``play``, ``plans``, ``devices``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from cli.metronome_setup import (
    MetronomeSettings,
    cue_list_json,
    build_renderer,
    metronome_options,
    settings_from_options,
    tick_records_json,
)
from cli.options import DURATION, audio_device_options, parse_latency, spm_option
from metronome.plans import PRESETS, load_plan, preset_text
from metronome.render import render_blocks
from metronome.units import format_duration

OUTPUT_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


def _open_output(path: Path, sample_rate: int, n_channels: int) -> Any:
    import soundfile

    if path.is_dir():
        raise click.ClickException(f"cannot write {path}: it is a directory")
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise click.ClickException(f"cannot write {path.name}: use a .wav, .flac or .ogg file name")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise click.ClickException(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.ClickException(f"cannot write {path}: permission denied")
    try:
        return soundfile.SoundFile(str(path), "w", samplerate=sample_rate, channels=n_channels,
                                   format=fmt[0], subtype=fmt[1])
    except Exception as exc:  # noqa: BLE001 - libsndfile reports unwritable paths in its own words
        reason = str(exc).split(":")[-1].strip() or "not writable"
        raise click.ClickException(f"cannot write {path}: {reason}") from None


def _summary(settings: MetronomeSettings, ticks: list[dict[str, Any]], sample_rate: int, duration_s: float) -> dict[str, Any]:
    return {
        **settings.as_dict(),
        "sample_rate": sample_rate,
        "duration_s": duration_s,
        "n_beats": len(ticks),
        "segments": settings.timeline.describe(),
        "cues": cue_list_json(settings),
        "beats": ticks,
    }


@click.command()
@click.argument("out", type=click.Path(path_type=Path))
@spm_option()
@click.option("--duration", "duration_s", type=DURATION, required=True, help="Length, e.g. 90s, 20m, 1h.")
@metronome_options
@click.option("--sample-rate", type=click.IntRange(8000, 192000), default=48000, show_default=True, help="Hz.")
@click.option("--channels", "n_channels", type=click.IntRange(1, 2), default=2, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print every tick that sounds as JSON on stdout.")
def render(out: Path, spm: float, duration_s: float, sample_rate: int, n_channels: int, as_json: bool,
           **opts: Any) -> None:
    """Write a click track to OUT (.wav, .flac or .ogg) for a phone or music player.

    With a plan, --spm is the plan's target; --baseline defaults to target / 1.07.
    """
    settings = settings_from_options(spm=spm, duration_s=duration_s, **opts)
    if settings.alternate_ears and n_channels == 1:
        raise click.ClickException("--alternate-ears needs --channels 2")
    renderer = build_renderer(settings, sample_rate, n_channels)
    n_frames = round(duration_s * sample_rate)
    started = time.perf_counter()
    with _open_output(out, sample_rate, n_channels) as sink:
        for block in render_blocks(renderer, n_frames):
            sink.write(block)
    elapsed = time.perf_counter() - started
    ticks = tick_records_json(renderer.drain_log(), settings, sample_rate)
    if as_json:
        click.echo(json.dumps({**_summary(settings, ticks, sample_rate, duration_s), "output": str(out)}))
    click.echo(
        f"wrote {out}: {format_duration(duration_s)} at {sample_rate} Hz, {len(ticks)} ticks, plan {settings.plan.name} "
        f"({settings.target_spm:g} spm{', one tick per stride' if settings.every_other_step else ''}); "
        f"rendered at {duration_s / max(elapsed, 1e-9):.0f}x real time",
        err=True,
    )


def _status_line(player: Any, settings: MetronomeSettings, total_s: float | None) -> str:
    clock = player.renderer.clock
    elapsed_s = player.elapsed_s
    entry = settings.timeline.entries[settings.timeline.locate(elapsed_s)]
    left = format_duration(max(entry.end_s - elapsed_s, 0.0))
    phase = f"{entry.segment.label or settings.plan.name} ({left} left)"
    tempo = f"{clock.next_spm:.1f} spm" + ("" if entry.segment.sounding else " (silent)")
    total = f"/{format_duration(total_s)}" if total_s else ""
    xruns = player.stats.output_underflows
    return f"{tempo} | {phase} | {format_duration(elapsed_s)}{total} | xruns {xruns}"


@click.command()
@spm_option()
@click.option("--duration", "duration_s", type=DURATION, default=None, help="Stop after this long [default: until Ctrl-C].")
@metronome_options
@audio_device_options
@click.option("--channels", "n_channels", type=click.IntRange(1, 2), default=2, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="At the end, print a JSON summary (ticks, xruns, latency).")
def play(spm: float, duration_s: float | None, device: str | None, sample_rate: int | None, block_size: int,
         latency: str, n_channels: int, as_json: bool, **opts: Any) -> None:
    """Play the metronome live in your headphones. Ctrl-C stops cleanly.

    With a plan, --spm is the plan's target; --baseline defaults to target / 1.07.
    """
    from metronome.engine import Player, resolve_device

    settings = settings_from_options(spm=spm, duration_s=duration_s, **opts)
    device_index, info = resolve_device(device, "output")
    rate = sample_rate or int(info["default_samplerate"])
    channels = min(n_channels, int(info["max_output_channels"]))
    renderer = build_renderer(settings, rate, channels)
    player = Player(renderer, sample_rate=rate, device=device_index, latency=parse_latency(latency),
                    block_size=block_size, n_frames=round(duration_s * rate) if duration_s else None)
    tty = sys.stderr.isatty()
    last_plain = [0.0]

    def show(p: Any) -> None:
        line = _status_line(p, settings, duration_s)
        if tty:
            click.echo("\r" + line.ljust(78), nl=False, err=True)
        elif p.elapsed_s - last_plain[0] >= 10.0:
            last_plain[0] = p.elapsed_s
            click.echo(line, err=True)

    click.echo(f"playing on {info['name']} at {rate} Hz; Ctrl-C to stop", err=True)
    interrupted = False
    try:
        player.run(on_status=show)
    except KeyboardInterrupt:
        interrupted = True
    if tty:
        click.echo("", err=True)
    if player.failure is not None:  # the stream stopped before --duration (or before Ctrl-C): not a success
        raise click.ClickException(f"playback aborted after {format_duration(player.elapsed_s)}: {player.failure}")
    ticks = tick_records_json(renderer.drain_log(), settings, rate)
    stats = player.stats
    click.echo(
        f"{'stopped' if interrupted else 'done'} after {format_duration(player.elapsed_s)}: {len(ticks)} ticks, "
        f"{stats.output_underflows} output underflows, stream latency {1000 * (player.stream_latency_s or 0):.1f} ms, "
        f"blocks {stats.min_block if stats.blocks else 0}-{stats.max_block} frames",
        err=True,
    )
    if as_json:
        summary = _summary(settings, ticks, rate, player.elapsed_s)
        summary.update(device=info["name"], latency_s=player.stream_latency_s, interrupted=interrupted,
                       stream=stats.as_dict())
        click.echo(json.dumps(summary))


@click.command()
@click.argument("name", required=False)
def plans(name: str | None) -> None:
    """List the built-in tempo plans, or print one as TOML (a starting point for your own)."""
    if name:
        click.echo(preset_text(name), nl=False)
        return
    for preset in PRESETS:
        plan = load_plan(preset, target_spm=170.0)
        click.echo(f"{preset:10s} {plan.description}")
    click.echo("\nShow one as TOML: cadence plans NAME; write your own and pass it as --plan FILE.toml", err=True)


@click.command()
def devices() -> None:
    """List audio devices (index, name, inputs/outputs, default sample rate)."""
    from metronome.engine import query_devices

    click.echo(query_devices())


COMMANDS = (render, play, plans, devices)
