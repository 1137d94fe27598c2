"""The ``cadence`` command-line app: wires ``metronome`` and ``stepdetect`` together."""

# The C module itself: `import signal` runs signal.py first (it builds the Signals enums, a few
# milliseconds in which a Ctrl-C lands as a KeyboardInterrupt traceback); `_signal` is built in.
import _signal  # type: ignore[import-not-found]  # (no stub: the same functions as signal)


def _quiet_exit(signum: int, frame: object) -> None:
    """Ctrl-C while the app is still importing: end at once, without a traceback (exit 130).

    Nothing is open yet (no stream, no history, no output), so there is nothing to clean up;
    an exception raised here could be caught and re-raised by the library being imported
    (chained tracebacks), ``os._exit`` cannot."""
    import os

    os._exit(128 + signum)


# Until the command line runs (cli.main.CadenceGroup.main restores Python's handler), a Ctrl-C
# lands inside some import: it ends the process there quietly; KeyboardInterrupt would not.
if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _quiet_exit)
