"""The ``cadence`` click group.

Subcommands live in ``cli/cmd_*.py`` and are loaded lazily (click's ``LazyGroup`` pattern):
``cadence --help`` and ``--version`` import no command module, and a command imports only its
own module, so scipy, sounddevice and the detector are loaded only by the commands that use
them. Errors a user can cause become a one-line ``Error: ...`` on stderr with a non-zero exit
code, never a traceback (set ``CADENCE_DEBUG=1`` to see one).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

import click


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class LazyGroup(click.Group):
    """A group whose subcommands are imported when they are used (click's documented pattern).

    ``lazy_subcommands`` maps a command name to ``("module", "attribute", "first paragraph of
    its help")``; the help text lets ``--help`` list the commands without importing them.
    """

    def __init__(self, *args: Any, lazy_subcommands: dict[str, tuple[str, str, str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands and cmd_name not in self.commands:
            module, attribute, _ = self.lazy_subcommands[cmd_name]
            command = getattr(_import_quietly(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module}.{attribute} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, from the stored help texts (no command module is imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.commands or name not in self.lazy_subcommands:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                stub = click.Command(name, help=self.lazy_subcommands[name][2])  # shortened as click does
                rows.append((name, stub.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class CadenceGroup(LazyGroup):
    """A lazily loading click group that turns every error into a single line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt, BrokenPipeError):
            raise  # a closed pipe (`cadence plan | head`): click exits quietly
        except Exception as exc:  # noqa: BLE001 - the user sees one line, never a traceback
            if os.environ.get("CADENCE_DEBUG"):
                raise
            if isinstance(exc, (ValueError, OSError)) or type(exc).__name__ in _USER_ERRORS:
                raise click.ClickException(_one_line(exc)) from None
            if type(exc).__name__ == "OperationalError":  # sqlite3: the database file, not cadence
                raise click.ClickException(
                    f"the history database cannot be used: {_one_line(exc)} (is the file read-only, immutable "
                    "or on a full disk? --db or $CADENCE_DB selects another)"
                ) from None
            raise click.ClickException(
                f"internal error ({type(exc).__name__}: {_one_line(exc)}); "
                "run again with CADENCE_DEBUG=1 for details"
            ) from None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        _interrupts_from_now_on()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
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
            # Nothing is open here (sessions end themselves on Ctrl-C): leave at once, so that the
            # interpreter's shutdown cannot turn the interrupt into a death by SIGINT (exit -2).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


def _import_quietly(module: str) -> Any:
    """Import a command's module as the app itself is imported: a Ctrl-C inside it (numpy's or
    scipy's C initialisation turns KeyboardInterrupt into "ImportError: initialization failed")
    ends the process quietly (exit 130), as ``cli/__init__`` does."""
    import signal

    from cli import _quiet_exit

    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:
        signal.signal(signal.SIGINT, _quiet_exit)
    try:
        return importlib.import_module(module)
    finally:
        if previous is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous)


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


# name -> (module, attribute, first paragraph of the command's help; tests/test_cli_main.py checks
# that it matches the command's own docstring)
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "analyze": ("cli.cmd_analyze", "analyze",
            'Find the footfalls in a recording; report cadence over time and step-time asymmetry.'),
    "baseline": ("cli.cmd_plan", "baseline_cmd",
            'Measure the easy-pace cadence baseline from runs.'),
    "calibrate": ("cli.cmd_calibrate", "calibrate",
            "Measure the headphone offset of a device pair and store it for 'cadence run'."),
    "demo": ("cli.cmd_session", "demo",
            'The main job on a bundled recording, for a machine without a microphone.'),
    "devices": ("cli.cmd_metronome", "devices",
            'List audio devices (index, name, inputs/outputs, default sample rate).'),
    "export": ("cli.cmd_history", "export_cmd",
            'Export sessions (with intervals, settings, notes) or steps as CSV or JSON.'),
    "history": ("cli.cmd_history", "history_cmd",
            'Sessions and weekly averages (cadence, in-sync %, asynchrony, retention, pain).'),
    "log": ("cli.cmd_history", "log_cmd",
            "Add or edit a session's notes and pain scores afterwards (SESSION: id or 'last')."),
    "plan": ("cli.cmd_plan", "plan_cmd",
            'Build a 6-8 week cadence program from the baseline.'),
    "plans": ("cli.cmd_metronome", "plans",
            'List the built-in tempo plans, or print one as TOML (a starting point for your own).'),
    "play": ("cli.cmd_metronome", "play",
            'Play the metronome live in your headphones. Ctrl-C stops cleanly.'),
    "render": ("cli.cmd_metronome", "render",
            'Write a click track to OUT (.wav, .flac or .ogg) for a phone or music player.'),
    "run": ("cli.cmd_session", "run",
            'A cadence session: ticks in your headphones, footfalls from the microphone, drift report.'),
    "target": ("cli.cmd_plan", "target_cmd",
            'Show the target band (+5 to +10 % over baseline) and the recommended next target.'),
}


@click.group(cls=CadenceGroup, lazy_subcommands=LAZY_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cadence-coach")
def cli() -> None:
    """Cadence: a running cadence coach.

    A metronome in your headphones, a step detector on your microphone, and a report
    of your cadence and of how far each footfall lands from the beat.
    """


