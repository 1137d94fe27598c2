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


def test_a_signal_inside_a_deferred_block_ends_the_session_after_it() -> None:
    # a signal landing between two updates of one block (a tick's measurement kept, its output
    # time not) broke the report ("buffer is smaller than requested size", seen under load)
    done = []
    with interrupts.session_signals():
        with pytest.raises(interrupts.SessionSignal) as caught:
            with interrupts.armed():
                with interrupts.deferred():
                    os.kill(os.getpid(), signal.SIGTERM)
                    done.append("rest of the block")
        assert done == ["rest of the block"] and caught.value.signum == signal.SIGTERM
        with interrupts.deferred():  # no longer armed (the session is writing out): no signal raised
            os.kill(os.getpid(), signal.SIGINT)
            done.append("write-out")
    assert done == ["rest of the block", "write-out"]


def test_a_deferred_block_without_a_signal_stays_armed() -> None:
    with interrupts.session_signals():
        with pytest.raises(interrupts.SessionSignal):
            with interrupts.armed():
                with interrupts.deferred():
                    pass
                os.kill(os.getpid(), signal.SIGHUP)  # armed again: raised at once
                raise AssertionError("the signal should have ended the block")
