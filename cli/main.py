"""The ``cadence`` click group.

Subcommands live in ``cli/cmd_*.py``; each module defines one click command and is
registered below. Errors a user can cause become a one-line ``Error: ...`` on stderr
with a non-zero exit code, never a traceback (set ``CADENCE_DEBUG=1`` to see one).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class CadenceGroup(click.Group):
    """A click group that turns every error into a single line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the user sees one line, never a traceback
            if os.environ.get("CADENCE_DEBUG"):
                raise
            if isinstance(exc, (ValueError, OSError)) or type(exc).__name__ in _USER_ERRORS:
                raise click.ClickException(_one_line(exc)) from None
            raise click.ClickException(
                f"internal error ({type(exc).__name__}: {_one_line(exc)}); "
                "run again with CADENCE_DEBUG=1 for details"
            ) from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        _interrupts_from_now_on()
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("Aborted.", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


def _interrupts_from_now_on() -> None:
    """Ctrl-C raises KeyboardInterrupt again (cli/__init__ ends quietly while importing)."""
    import signal

    from cli import _quiet_exit

    if signal.getsignal(signal.SIGINT) is _quiet_exit:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# Library exceptions that are about the user's input or machine, by class name, so that
# optional modules (soundfile, sounddevice) need not be imported here.
_USER_ERRORS = {"PortAudioError", "LibsndfileError", "SoundFileError", "SoundFileRuntimeError",
                "AudioUnavailableError"}


@click.group(cls=CadenceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cadence-coach")
def cli() -> None:
    """Cadence: a running cadence coach.

    A metronome in your headphones, a step detector on your microphone, and a report
    of your cadence and of how far each footfall lands from the beat.
    """


# One module per area; each exposes COMMANDS, a tuple of click commands.
_COMMAND_MODULES = ("cli.cmd_metronome", "cli.cmd_analyze", "cli.cmd_session", "cli.cmd_history", "cli.cmd_calibrate")


def _register() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        for command in importlib.import_module(name).COMMANDS:
            cli.add_command(command)


_register()
