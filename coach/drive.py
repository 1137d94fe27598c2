"""Driving a session while its audio runs: the consumer loop, the live display, how it ended.

:func:`drive` runs a backend (:class:`coach.duplex.FileBackend` or :class:`coach.live_backend.LiveBackend`)
with the session as its consumer: signals (Ctrl-C, SIGTERM, SIGHUP) end it cleanly, what C audio
libraries print goes to a log instead of the panel, and the user interface is reached only through
:class:`RunHooks` (no click or rich here).
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, Protocol

from coach import interrupts
from coach.duplex import FileBackend
from coach.interrupts import SessionSignal, signal_name
from coach.libnoise import LibraryMessages
from coach.live_backend import LiveBackend
from coach.session import Session
from metronome.engine import heap_frozen


class Display(Protocol):
    """The live display: ``update`` after every consume, ``close`` at the end."""

    def update(self, session: Session) -> None: ...
    def close(self) -> None: ...


class DisplayFactory(Protocol):
    """Opens the display for a session of ``total_s`` (None: open-ended); ``force_plain``: periodic
    plain lines every ``plain_every_s`` rather than a panel."""

    def __call__(self, total_s: float | None, *, force_plain: bool, plain_every_s: float) -> Display: ...


def _ignore(text: str) -> None:
    pass


@dataclass(kw_only=True)
class RunHooks:
    """How a session talks to its user interface.

    display : opens the live display (None: quiet; then only the retry notes are echoed)
    echo : one line for the user (stderr), e.g. which devices a live session opened
    on_session : called with each :class:`Session` built, before its stream starts (for callers
        that need more than the report, e.g. calibration): the last one is the session that ran
    """

    display: DisplayFactory | None = None
    echo: Callable[[str], None] = field(default=_ignore)
    on_session: Callable[[Session], None] | None = None


def drive(session: Session, backend: FileBackend | LiveBackend, hooks: RunHooks, *, total_s: float | None,
           plain: bool = False, plain_every_s: float = 10.0) -> str:
    """Run ``backend`` with ``session`` as its consumer and the live display; return how it ended:
    'end' (the plan or the input file was done), 'stopped' (the session asked to stop), 'error'
    (the session stopped with an error), 'aborted' (the stream failed) or the name of the signal."""
    live = isinstance(backend, LiveBackend)
    display: Display | None = None

    def consume() -> bool:
        if isinstance(backend, LiveBackend) and session.nominal_loop_latency_s == 0.0:
            measured = backend.nominal_loop_latency_s()
            if measured is not None:
                session.nominal_loop_latency_s = measured
        with interrupts.deferred():  # a signal ends the session between two blocks, never inside one
            keep_going = session.consume()
            if isinstance(backend, LiveBackend):
                session.live.stream_note = backend.outage_note()
            if display is not None:
                display.update(session)
        return keep_going

    session.warm_up()
    ended_by = "end"
    messages = LibraryMessages() if live else nullcontext()
    switch_interval = sys.getswitchinterval()
    with messages:
        if hooks.display is not None:
            display = hooks.display(total_s, force_plain=plain, plain_every_s=plain_every_s)
        sys.setswitchinterval(0.001)  # let the audio callback's thread get the GIL promptly
        try:
            with interrupts.armed(), heap_frozen(live):  # no long garbage collection while the callback needs the GIL
                backend.run(consume)
        except SessionSignal as exc:
            ended_by = signal_name(exc.signum)
            if isinstance(backend, LiveBackend):
                backend.stop()
            consume()  # take in what arrived before the stop
        except Exception as exc:  # noqa: BLE001 - e.g. a recording unreadable mid-way: keep and report what ran
            if os.environ.get("CADENCE_DEBUG"):
                raise
            session.error = session.error or (f"{session.input_name}: the session stopped at {session.elapsed_s:.1f} s: "
                                              + (" ".join(str(exc).split()) or type(exc).__name__))
        finally:
            sys.setswitchinterval(switch_interval)
            _close_display(display)
    if isinstance(messages, LibraryMessages) and hooks.display is not None:
        summary = messages.summary()
        if summary:
            hooks.echo(summary)
    return _how_it_ended(ended_by, session, backend)


def _close_display(display: Display | None) -> None:
    if display is not None:
        try:
            display.close()
        except OSError:  # the terminal is gone (SIGHUP)
            pass


def _how_it_ended(ended_by: str, session: Session, backend: FileBackend | LiveBackend) -> str:
    """A run that ended by itself: 'end', or 'error', 'aborted' or 'stopped' if that is why."""
    if ended_by != "end":
        return ended_by
    if session.error is not None:
        return "error"
    if isinstance(backend, LiveBackend) and backend.failure is not None:
        return "aborted"
    if session.stop_requested or getattr(backend, "stopped", False):
        return "stopped"
    return "end"
