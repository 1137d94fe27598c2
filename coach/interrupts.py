"""Ending a session from outside: Ctrl-C (SIGINT), SIGTERM and SIGHUP all end it the same way.

While a session's stream runs, each of the three signals raises :class:`SessionSignal` (a
``KeyboardInterrupt``) in the main thread once, so the session stops its stream, writes its
report, its JSON and its history entry and restores the terminal, exactly as for Ctrl-C.
A signal that arrives while the session is being set up or written out is remembered and
ends the session at its first chance; it never cuts the write-out short (a second signal
is ignored). Nor does it land in the middle of the session taking in a block (:func:`deferred`):
half an update (a tick's measurement kept, its output time not) would break the report. Elsewhere the handlers are those of the process (restored on exit).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                if s is not None)
NAMES: dict[int, str] = {int(signal.SIGINT): "Ctrl-C"}


class SessionSignal(KeyboardInterrupt):
    """A session was asked to end by a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int) -> str:
    return NAMES.get(signum, signal.Signals(signum).name)


class _State:
    depth = 0
    armed = False
    received: int | None = None


_state = _State()


def _handler(signum: int, frame: object) -> None:
    if _state.received is not None:
        return  # the session is already ending
    _state.received = signum
    if _state.armed:
        _state.armed = False
        raise SessionSignal(signum)


@contextmanager
def session_signals() -> Iterator[_State]:
    """Install the handlers for the duration of a session command (re-entrant; main thread only)."""
    if threading.current_thread() is not threading.main_thread() or _state.depth:
        _state.depth += 1
        try:
            yield _state
        finally:
            _state.depth -= 1
        return
    # the state first: a signal that lands while the handlers are being installed is remembered
    _state.depth, _state.armed, _state.received = 1, False, None
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    try:
        yield _state
    finally:
        _state.depth, _state.armed = 0, False
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def armed() -> Iterator[None]:
    """While the stream runs: a signal raises :class:`SessionSignal` (at once if one came before)."""
    if _state.depth == 0:
        yield
        return
    if _state.received is not None:
        raise SessionSignal(_state.received)
    _state.armed = True
    try:
        yield
    finally:
        _state.armed = False


def received() -> str | None:
    """The name of the signal that ended (or will end) the session, if any."""
    return None if _state.received is None else signal_name(_state.received)


@contextmanager
def deferred() -> Iterator[None]:
    """While armed: a signal that comes inside this block is raised at its end, not in the middle
    of the state it updates (a session taking in a block of audio)."""
    if not _state.armed:
        yield
        return
    _state.armed = False
    try:
        yield
    finally:
        if _state.received is None:
            _state.armed = True
    if _state.received is not None:
        raise SessionSignal(_state.received)
