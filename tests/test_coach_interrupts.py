"""coach.interrupts in-process: real signals to this process (main thread)."""

from __future__ import annotations

import os
import signal

import pytest

from coach import interrupts


def test_a_signal_during_set_up_ends_the_session_at_its_first_chance() -> None:
    with interrupts.session_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        assert interrupts.received() == "SIGTERM"
        with pytest.raises(interrupts.SessionSignal):
            with interrupts.armed():
                pass
    assert signal.getsignal(signal.SIGTERM) is not interrupts._handler  # the process's handler is back


def test_a_signal_while_the_handlers_are_installed_is_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C landing between the installation of the first handler and the end of the set-up
    # (seen once in a start-up test on a loaded machine: the session then ran on)
    real = signal.signal

    def install_then_interrupt(signum: int, handler: object) -> object:
        previous = real(signum, handler)  # type: ignore[arg-type]
        if signum == signal.SIGINT and handler is interrupts._handler:
            os.kill(os.getpid(), signal.SIGINT)
        return previous

    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(signal, "signal", install_then_interrupt)
    with interrupts.session_signals():
        assert interrupts.received() == "Ctrl-C"
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is before
