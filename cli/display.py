"""The live session display: a rich panel on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

from metronome.units import format_duration

if TYPE_CHECKING:
    from coach.drive import RunHooks
    from coach.session import Session

_SPARK = "▁▂▃▄▅▆▇█"


def asynchrony_trace(values: list[float], *, span_ms: float = 80.0, width: int = 30) -> str:
    """A one-line picture of recent asynchronies: '·' on the beat, '<' early, '>' late."""
    out = []
    for v in values[-width:]:
        if abs(v) <= span_ms / 8:
            out.append("·")
        else:
            level = min(int(abs(v) / span_ms * (len(_SPARK) - 1)), len(_SPARK) - 1)
            out.append(("<" if v < 0 else ">") if level >= len(_SPARK) - 1 else _SPARK[level])
    return "".join(out)


def status_line(session: Any, total_s: float | None) -> str:
    """The figures in one line (also what non-terminal output prints every few seconds)."""
    f = session.live
    cadence = "--" if f.cadence_spm is None else f"{f.cadence_spm:5.1f}"
    last = "--" if f.last_asynchrony_ms is None else f"{f.last_asynchrony_ms:+4.0f} ms"
    sync = "--" if f.in_sync_pct is None else f"{f.in_sync_pct:3.0f}%"
    phase = f"{f.segment_label}{'' if f.segment_sounding else ' (silent)'}{' (muted: on target)' if f.muted else ''}"
    total = f"/{format_duration(total_s)}" if total_s else ""
    xruns = session.core.stats.output_underflows + session.core.stats.input_overflows
    tempo = "  --" if f.tempo_spm is None else f"{f.tempo_spm:5.1f}"
    note = f" | {f.stream_note}" if f.stream_note else ""
    return (f"{format_duration(f.time_s)}{total} | tempo {tempo} | cadence {cadence} spm | "
            f"last {last} | in sync {sync} | {phase}{_left(f.segment_left_s)} | xruns {xruns}{note}")


def _left(segment_left_s: float | None) -> str:
    """`` 2:30 left``, or nothing for a segment that runs until the session is stopped."""
    return "" if segment_left_s is None else f" {format_duration(segment_left_s)} left"


class LiveDisplay:
    """Shows a session's live figures; call ``update(session)`` often, ``close()`` at the end."""

    def __init__(self, total_s: float | None, *, plain_every_s: float = 10.0, force_plain: bool = False) -> None:
        self.total_s = total_s
        self.plain_every_s = plain_every_s
        self.tty = sys.stderr.isatty() and not force_plain
        self._last_plain_s = 0.0  # the first plain line after one interval (nothing to say at 0:00)
        self._last_note = ""
        self._last_draw_s = -1.0
        self._live: Any = None
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(stderr=True), refresh_per_second=8, transient=False)
            self._live.start()

    def update(self, session: Any) -> None:
        now = session.live.time_s
        note = session.live.stream_note  # session time stands still while the stream is away
        note_changed = note != self._last_note
        self._last_note = note
        if self.tty:
            if now - self._last_draw_s >= 0.12 or note:
                self._last_draw_s = now
                self._live.update(self._panel(session))
        elif now - self._last_plain_s >= self.plain_every_s or (note_changed and note):
            self._last_plain_s = now
            print(status_line(session, self.total_s), file=sys.stderr, flush=True)

    def _panel(self, session: Any) -> Any:
        from rich.panel import Panel
        from rich.table import Table

        f = session.live
        grid = Table.grid(padding=(0, 2))
        grid.add_column(justify="right", style="bold")
        grid.add_column()
        cadence = "--" if f.cadence_spm is None else f"{f.cadence_spm:.1f} spm"
        gap = "" if f.cadence_spm is None or f.tempo_spm is None else f"  ({f.cadence_spm - f.tempo_spm:+.1f} vs tempo)"
        tempo = "-- (measuring your baseline)" if f.tempo_spm is None else f"{f.tempo_spm:.1f} spm"
        grid.add_row("tempo", tempo + (f"  [{f.controller_state}]" if f.controller_state else ""))
        grid.add_row("cadence", cadence + gap)
        grid.add_row("last footfall", "--" if f.last_asynchrony_ms is None else
                     f"{f.last_asynchrony_ms:+.0f} ms ({'early' if f.last_asynchrony_ms < 0 else 'late'})")
        grid.add_row("in sync", "--" if f.in_sync_pct is None else
                     f"{f.in_sync_pct:.0f}% within ±{session.settings.tolerance_ms:.0f} ms")
        grid.add_row("drift", asynchrony_trace(list(f.recent_asynchrony_ms)) or "--")
        phase = f.segment_label + ("" if f.segment_sounding else " (silent: hold the cadence)")
        grid.add_row("interval", phase + ("," if f.segment_left_s is not None else "") + _left(f.segment_left_s))
        total = f" of {format_duration(self.total_s)}" if self.total_s else ""
        remaining = f", {format_duration(self.total_s - f.time_s)} to go" if self.total_s else ""
        grid.add_row("time", f"{format_duration(f.time_s)}{total}{remaining}")
        xruns = session.core.stats.output_underflows + session.core.stats.input_overflows
        grid.add_row("steps / xruns", f"{f.n_steps} / {xruns}")
        if f.stream_note:
            grid.add_row("stream", f"[bold red]{f.stream_note}[/]")
        return Panel(grid, title="Cadence", expand=False)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def echo_quietly(text: str) -> None:
    """A line on stderr, unless the terminal is gone (SIGHUP)."""
    import click

    try:
        click.echo(text, err=True)
    except OSError:
        pass


def run_hooks(*, quiet: bool = False, on_session: Callable[["Session"], None] | None = None) -> "RunHooks":
    """What a session run shows: the live display (unless ``quiet``) and its notes on stderr."""
    from coach.drive import RunHooks

    return RunHooks(display=None if quiet else LiveDisplay, echo=echo_quietly, on_session=on_session)
