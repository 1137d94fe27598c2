"""Options shared by several subcommands, as decorators, and their checks."""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, cast

import click

from metronome.units import ParameterError, check_spm, parse_duration_s

F = Callable[..., Any]


class DurationType(click.ParamType):
    """``90s``, ``2m``, ``1m30s``, ``1h`` or plain seconds -> float seconds."""

    name = "duration"

    def __init__(self, allow_zero: bool = False) -> None:
        self.allow_zero = allow_zero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        if self.allow_zero and str(value).strip() in ("0", "0s", "0m"):
            return 0.0
        try:
            return parse_duration_s(value)
        except ParameterError as exc:
            self.fail(str(exc), param, ctx)


class FiniteFloat(click.FloatRange):
    """A float option that must be a finite number (``nan``/``inf`` are refused), optionally in
    ``[min, max]``: click's own ``float``/``FloatRange`` let ``nan`` through."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = cast(Any, click.types.FloatParamType).convert(self, value, param, ctx)  # click's own words
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.min is None and self.max is None:
            return number
        return super().convert(number, param, ctx)


FINITE = FiniteFloat()


def finite_range(low: float | None = None, high: float | None = None) -> FiniteFloat:
    """A finite float within ``[low, high]`` (either end may be open)."""
    return FiniteFloat(low, high)


DURATION = DurationType()
DURATION_OR_ZERO = DurationType(allow_zero=True)


def spm_option(required: bool = True, help_text: str | None = None) -> Callable[[F], F]:
    """``--spm N`` (alias ``--bpm``): cadence in steps per minute."""
    return click.option(
        "--spm",
        "--bpm",
        "spm",
        type=FINITE,
        required=required,
        metavar="N",
        help=help_text
        or "Cadence in steps per minute (both feet). --bpm is the same number, as running metronome apps call it.",
    )


def force_option(f: F) -> F:
    return click.option(
        "--force", is_flag=True, help="Allow tempos outside 60-240 spm (and other out-of-range settings)."
    )(f)


def every_other_step_option(f: F) -> F:
    return click.option(
        "--every-other-step",
        is_flag=True,
        help="One tick per stride (every second step): the tick rate is spm/2.",
    )(f)


def audio_device_options(f: F, default_latency: str = "high") -> F:
    """``--device``, ``--sample-rate``, ``--block-size``, ``--latency`` for live streams."""
    f = click.option(
        "--latency",
        default=default_latency,
        show_default=True,
        help="PortAudio latency: 'low', 'high' or seconds (e.g. 0.05). Raise it if you hear dropouts.",
    )(f)
    f = click.option(
        "--block-size",
        type=click.IntRange(0, 16384),
        default=0,
        show_default=True,
        help="Frames per audio callback; 0 lets PortAudio choose (and vary it).",
    )(f)
    f = click.option(
        "--sample-rate",
        type=click.IntRange(8000, 192000),
        default=None,
        help="Stream sample rate in Hz [default: the device's].",
    )(f)
    f = click.option(
        "--device",
        "-d",
        default=None,
        help="Audio device: index or part of its name (see 'cadence devices').",
    )(f)
    return f


def session_device_options(f: F) -> F:
    """Device options for sessions: a 0.1 s buffer by default, since drift is measured where the
    runner hears the tick (latency is compensated), so a bigger buffer only adds safety."""
    return audio_device_options(f, default_latency="0.1")


def parse_latency(text: str) -> str | float:
    """'low' / 'high' / seconds -> what sounddevice accepts (one-line error, exit 1)."""
    from metronome.stream import parse_latency as parse

    try:
        return parse(text)
    except ParameterError as exc:
        raise click.ClickException(str(exc)) from None


def checked_spm(spm: float, force: bool, what: str = "cadence") -> float:
    """Range-check a cadence given on the command line: one-line error, exit 1."""
    try:
        return check_spm(spm, force=force, what=what)
    except ParameterError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def user_errors() -> Iterator[None]:
    """A request the core refuses (``coach.request.RunError``, ``ParameterError``) -> a one-line
    click error (exit 1)."""
    try:
        yield
    except ParameterError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        from coach.request import RunError  # already imported by whoever raised it

        if not isinstance(exc, RunError):
            raise
        raise click.ClickException(str(exc)) from None


def db_option(f: F) -> F:
    """``--db PATH``: the history database."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="History database [default: $CADENCE_DB or the user data directory's cadence/cadence.db].",
    )(f)
