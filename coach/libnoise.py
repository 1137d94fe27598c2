"""Keep what C audio libraries print (ALSA, PortAudio, JACK) out of the live display.

ALSA and PortAudio write diagnostics ("ALSA lib pcm.c: underrun occurred", "Expression ...
failed") straight to file descriptor 2, under any Python-level redirect. While a live session
runs, :class:`LibraryMessages` points fd 2 at a log file and gives Python's ``sys.stderr`` (the
live panel, progress lines, errors) a duplicate of the terminal; afterwards fd 2 is restored
and the messages are summarised in one line.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

LOG_MAX_BYTES = 1 << 20  # start the log afresh beyond this


def audio_log_path() -> Path:
    """$CADENCE_AUDIO_LOG, else audio.log in the user log directory."""
    env = os.environ.get("CADENCE_AUDIO_LOG")
    if env:
        return Path(env)
    from platformdirs import user_log_path

    return user_log_path("cadence") / "audio.log"


class LibraryMessages:
    """Context manager: fd 2 -> the audio log; ``sys.stderr`` -> the terminal; ``summary()`` after."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or audio_log_path()
        self.lines: list[str] = []
        self._saved_fd: int | None = None
        self._saved_stderr: Any = None
        self._start = 0

    def __enter__(self) -> "LibraryMessages":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            mode = "wb" if self.path.exists() and self.path.stat().st_size > LOG_MAX_BYTES else "ab"
            log = open(self.path, mode)  # noqa: SIM115 - kept open only until dup2
        except OSError:
            return self  # no log directory: leave fd 2 alone
        with log:
            self._start = log.tell()
            sys.stderr.flush()
            self._saved_fd = os.dup(2)
            os.dup2(log.fileno(), 2)
        self._saved_stderr = sys.stderr
        terminal = os.fdopen(os.dup(self._saved_fd), "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None)
                             or "utf-8", errors="backslashreplace")
        sys.stderr = terminal
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._saved_fd is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        replacement, sys.stderr = sys.stderr, self._saved_stderr
        os.dup2(self._saved_fd, 2)
        os.close(self._saved_fd)
        self._saved_fd = None
        try:
            replacement.close()
        except (OSError, ValueError):
            pass
        try:
            with open(self.path, "rb") as f:
                f.seek(self._start)
                text = f.read(LOG_MAX_BYTES).decode("utf-8", "replace")
        except OSError:
            return
        self.lines = [line for line in text.splitlines() if line.strip()]

    def summary(self) -> str | None:
        """One line about what the libraries printed (None if nothing)."""
        if not self.lines:
            return None
        counts = Counter(self.lines)
        most = "; ".join(f"{line.strip()[:90]}" + (f" (x{n})" if n > 1 else "") for line, n in counts.most_common(2))
        return f"audio library messages: {len(self.lines)} line(s) in {self.path}, e.g. {most}"
