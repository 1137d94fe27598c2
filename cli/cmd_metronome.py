"""Metronome commands: ``render``, ``play``, ``plans``, ``devices``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from metronome.settings import (
    MetronomeSettings,
    cue_list_json,
    build_renderer,
    settings_from_options,
    tick_records_json,
)
from cli.metronome_options import metronome_options
from cli.options import DURATION, audio_device_options, parse_latency, spm_option
from coach.jsonfile import json_text
from metronome.plans import PRESETS, load_plan, preset_text
from metronome.render import render_blocks
from metronome.units import format_duration

OUTPUT_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}
# A RIFF WAV counts its data in 32 bits: above this many bytes of samples it is written as RF64.
WAV_MAX_DATA_BYTES = 0xFFFFFFFF - 1024
# Bytes written per byte of 16-bit PCM, generous upper bounds of what renders measured (FLAC
# 3-4 %, Ogg/Vorbis about 1 % of 16-bit PCM for a click track), for the free-space check.
_COMPRESSED_FRACTION = {"WAV": 1.0, "RF64": 1.0, "FLAC": 0.15, "OGG": 0.05}
FREE_SPACE_MARGIN_BYTES = 64 * 1024 * 1024  # left free on the disk, checked before and while writing


def output_format(path: Path, n_frames: int, n_channels: int) -> tuple[str, str]:
    """(libsndfile format, subtype) for ``path``: by extension, with WAV files whose samples
    would not fit a 32-bit RIFF size (> 4 GiB, e.g. 6.2 h of 48 kHz stereo) written as RF64."""
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise click.ClickException(f"cannot write {path.name}: use a .wav, .flac or .ogg file name")
    if fmt[0] == "WAV" and n_frames * n_channels * 2 > WAV_MAX_DATA_BYTES:
        return ("RF64", fmt[1])
    return fmt


def estimated_size_bytes(fmt: str, n_frames: int, n_channels: int) -> int:
    """What a render of ``n_frames`` takes on disk, at most (exact for WAV/RF64)."""
    return int(n_frames * n_channels * 2 * _COMPRESSED_FRACTION[fmt]) + 4096


def _free_bytes(directory: Path) -> int:
    import shutil

    return shutil.disk_usage(directory).free


def _open_output(path: Path, sample_rate: int, n_channels: int, n_frames: int) -> Any:
    import soundfile

    if path.is_dir():
        raise click.ClickException(f"cannot write {path}: it is a directory")
    fmt = output_format(path, n_frames, n_channels)
    parent = path.resolve().parent
    if not parent.is_dir():
        raise click.ClickException(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.ClickException(f"cannot write {path}: permission denied")
    need = estimated_size_bytes(fmt[0], n_frames, n_channels)
    free = _free_bytes(parent) + (path.stat().st_size if path.exists() else 0)
    if need + FREE_SPACE_MARGIN_BYTES > free:
        raise click.ClickException(
            f"cannot write {path}: it needs about {_gib(need)} and {parent} has {_gib(free)} free; "
            "render a shorter duration, a lower --sample-rate, --channels 1, or a .flac/.ogg file"
        )
    try:
        return soundfile.SoundFile(os.fsencode(path), "w", samplerate=sample_rate, channels=n_channels,
                                   format=fmt[0], subtype=fmt[1])
    except Exception as exc:  # noqa: BLE001 - libsndfile reports unwritable paths in its own words
        reason = str(exc).split(":")[-1].strip() or "not writable"
        raise click.ClickException(f"cannot write {path}: {reason}") from None


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.1f} MiB"


def _write_render(out: Path, renderer: Any, n_frames: int, sample_rate: int, n_channels: int) -> list[Any]:
    """Render into ``out``; return every tick that sounded. Stops with a clear error (and removes
    the partial file) if the disk fills up while writing."""
    records: list[Any] = []
    check_every = max(1, int(60 * sample_rate) // 65536)  # blocks between free-space checks (~1 min)
    with _open_output(out, sample_rate, n_channels, n_frames) as sink:
        try:
            for k, block in enumerate(render_blocks(renderer, n_frames)):
                sink.write(block)
                records.extend(renderer.drain_log())  # the renderer's log holds 65,536 ticks
                checked = k % check_every == check_every - 1
                if checked and _free_bytes(out.resolve().parent) < FREE_SPACE_MARGIN_BYTES // 4:
                    raise OSError(28, "the disk is almost full")
        except (OSError, RuntimeError, AssertionError) as exc:
            sink.close()
            out.unlink(missing_ok=True)
            reason = getattr(exc, "strerror", None) or str(exc) or "write failed"
            raise click.ClickException(f"cannot write {out}: {reason}; the partial file was removed") from None
    return records


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
    records = _write_render(out, renderer, n_frames, sample_rate, n_channels)
    elapsed = time.perf_counter() - started
    ticks = tick_records_json(records, settings, sample_rate)
    if as_json:
        click.echo(json_text({**_summary(settings, ticks, sample_rate, duration_s), "output": str(out)}))
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
    from metronome.engine import Player, heap_frozen, resolve_device

    settings = settings_from_options(spm=spm, duration_s=duration_s, **opts)
    device_index, info = resolve_device(device, "output")
    rate = sample_rate or int(info["default_samplerate"])
    channels = min(n_channels, int(info["max_output_channels"]))
    renderer = build_renderer(settings, rate, channels)
    player = Player(renderer, sample_rate=rate, device=device_index, latency=parse_latency(latency),
                    block_size=block_size, n_frames=round(duration_s * rate) if duration_s else None)
    tty = sys.stderr.isatty()
    last_plain = [0.0]
    records: list[Any] = []

    def show(p: Any) -> None:
        records.extend(renderer.drain_log())  # drained as it plays: the log holds 65,536 ticks
        line = _status_line(p, settings, duration_s)
        if tty:
            click.echo("\r" + line.ljust(78), nl=False, err=True)
        elif p.elapsed_s - last_plain[0] >= 10.0:
            last_plain[0] = p.elapsed_s
            click.echo(line, err=True)

    click.echo(f"playing on {info['name']} at {rate} Hz; Ctrl-C to stop", err=True)
    interrupted = False
    try:
        with heap_frozen():  # no long garbage collection while the callback needs the GIL
            player.run(on_status=show)
    except KeyboardInterrupt:
        interrupted = True
    if tty:
        click.echo("", err=True)
    if player.failure is not None:  # the stream stopped before --duration (or before Ctrl-C): not a success
        raise click.ClickException(f"playback aborted after {format_duration(player.elapsed_s)}: {player.failure}")
    records.extend(renderer.drain_log())
    ticks = tick_records_json(records, settings, rate)
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
        click.echo(json_text(summary))


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
