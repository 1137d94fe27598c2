"""Metronome commands: ``render``, ``play``, ``devices``."""

from __future__ import annotations

import click


@click.command()
def devices() -> None:
    """List audio devices (index, name, inputs/outputs, default sample rate)."""
    from metronome.engine import query_devices

    click.echo(query_devices())


COMMANDS = (devices,)
