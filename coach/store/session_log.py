"""A running session's log in the history: the data queue, the writer thread that retries
failed writes, and the fallback JSON file for what could not be stored."""

from __future__ import annotations

import atexit
import sqlite3
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from coach.jsonfile import write_json_atomic
from coach.store.database import BUSY_TIMEOUT_MS
from coach.store.history import Store
from coach.store.report_import import report_summary
from coach.store.schema import aware, finite_or_none

WRITE_RETRY_S = (0.25, 0.5, 1.0, 2.0, 4.0)  # back-off between attempts while writes fail
SESSION_BUSY_TIMEOUT_MS = 2000  # one write attempt waits this long for another connection's lock
FINISH_WAIT_S = 10.0  # at the end, unsaved writes get this long without progress, then the fallback file


@dataclass
class SaveResult:
    """Where a session's data went.

    ``saved``: everything is in the database ``db`` as session ``session_id``. Otherwise the
    whole session report is in ``fallback`` (a JSON file; ``cadence history --import`` puts it
    into the history), or, if not even that could be written, ``fallback`` is None.
    ``errors`` are the storage errors met (SQLite's own words: "database or disk is full",
    "database is locked"), ``failed_attempts`` how many writes failed and ``delayed_s`` the
    longest time data waited to be written.
    """

    saved: bool
    db: Path
    session_id: int | None
    fallback: Path | None = None
    errors: tuple[str, ...] = ()
    failed_attempts: int = 0
    delayed_s: float = 0.0
    fallback_errors: tuple[str, ...] = ()

    def message(self) -> str | None:
        """One line for the runner (None when everything went smoothly)."""
        cause = "; ".join(self.errors)
        if self.saved:
            if not self.failed_attempts:
                return None
            return (f"history: writes to {self.db} failed for up to {self.delayed_s:.0f} s ({cause}); "
                    f"retried, all saved as session {self.session_id}")
        if self.fallback is not None:
            return (f"history: could not write to {self.db} ({cause}); the whole session is in {self.fallback} "
                    f"(once the database works: cadence history --import {self.fallback})")
        return (f"history: could not write to {self.db} ({cause}) nor a fallback file "
                f"({'; '.join(self.fallback_errors)}); use the --json-report file if you gave one")


DROP_ABORTED_BEFORE_S = 1.0  # an aborted session shorter than this with no footfall leaves no row


@dataclass(frozen=True)
class _Ending:
    """A session's last write: how it ended, with its summary."""

    status: str
    reason: str | None
    summary: dict[str, Any]
    ended_at: datetime
    audio_duration_s: float | None


#: A queued write: ("steps" | "beats", rows), ("interval", figures), ("end", _Ending) or
#: ("drop", None): remove the session row its first writes created.
_Op = tuple[str, Any]


class SessionStoreLog:
    """A running session's log in the store (implements ``coach.session.SessionLog``).

    The session row is created by the first write, i.e. only once the stream runs and has
    produced something: a run that fails before (a bad input file, an option the plan rejects)
    leaves no trace in the history. ``start`` records the wall-clock start (the moment the
    stream delivered its first block); ``finish`` ends the session as complete, ``abort`` as
    aborted with its reason. ``session_id`` is None until the row exists.

    Storage never holds the session up: ``add_*`` only queue the data; a writer thread writes
    it, one short transaction per call, in order. A write that fails (disk full, the database
    locked by another program, an I/O error) stays queued and is retried with back-off while
    the session goes on. ``finish``/``abort`` wait for the queue to drain as long as writes keep
    succeeding (and up to ``FINISH_WAIT_S`` without progress) in ``wait()``, which the caller
    runs after printing the report; what could not be written then goes, with the rest of the
    session, into a fallback JSON file (the whole report) beside the database, else in the
    working directory, else in the temporary directory. ``wait()`` returns a
    :class:`SaveResult`: where the data went.
    """

    def __init__(self, store: Store, *, kind: str, settings: dict[str, Any], device: str | None = None,
                 started_at: datetime | None = None) -> None:
        self.store = store
        self.kind = kind
        self.settings = settings
        self.device = device
        self.started_at = started_at
        self.session_id: int | None = None
        self.result: SaveResult | None = None
        self.errors: list[str] = []
        self.failed_attempts = 0
        self._ops: deque[_Op] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._failing_since: float | None = None
        self._last_progress = time.monotonic()
        self._max_delay_s = 0.0
        self._closed = False
        self._applying = False  # the writer is doing _ops[0] right now
        self._final: tuple[dict[str, Any], str, str | None] | None = None
        self._wait_lock = threading.Lock()

    def start(self, started_at: datetime) -> None:
        """The stream runs: its wall-clock start (shown in the runner's local time)."""
        self.started_at = aware(started_at).astimezone()

    @property
    def unsaved(self) -> int:
        """Writes waiting (queued, or failed and waiting for a retry)."""
        with self._cond:
            return len(self._ops)

    @property
    def failing(self) -> str | None:
        """The storage error while writes are failing right now (for a live display), else None."""
        with self._cond:
            return self.errors[-1] if self._failing_since is not None and self.errors else None

    def add_steps(self, steps: list[dict[str, Any]]) -> None:
        self._enqueue(("steps", list(steps)))

    def add_beats(self, beats: list[dict[str, Any]]) -> None:
        self._enqueue(("beats", list(beats)))

    def add_interval(self, interval: dict[str, Any]) -> None:
        self._enqueue(("interval", interval))

    def finish(self, report: dict[str, Any]) -> None:
        """Close the session as complete with the report's summary (the session has handed over
        its last steps, beats and intervals before). Returns at once; ``wait()`` says where the
        data went."""
        self._close(report, "complete", None)

    def abort(self, report: dict[str, Any], reason: str) -> None:
        """Close the session as aborted: it stopped early for ``reason`` (one line). What was
        measured stays in the history (and in the report); progression and the weekly view
        ignore it. A session that stopped before it measured a single footfall leaves no row
        (``wait().session_id`` is None; one its first writes created is removed): there is
        nothing to keep and nothing to attach notes to. Returns at once, like ``finish``."""
        self._close(report, "aborted", " ".join(str(reason).split()) or "stopped early")

    def sync(self, timeout_s: float = 10.0) -> bool:
        """Wait (up to ``timeout_s``) until every write queued so far has landed; True if so.
        For tools and tests that read the history while the session runs."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._ops and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            return not self._ops

    def wait(self) -> SaveResult:
        """After ``finish``/``abort``: wait while the queued writes land (as long as they make
        progress; ``FINISH_WAIT_S`` without), then write what could not be stored, with the
        whole report, to the fallback file. Returns (and keeps in ``result``) where the data
        went. Called at exit if nobody did."""
        with self._wait_lock:
            if self.result is None:
                self.result = self._drain()
            return self.result

    # --- the writer ------------------------------------------------------------------------------

    def _enqueue(self, op: _Op) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the session log is closed")
            self._ops.append(op)
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer, name="cadence-history-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _writer(self) -> None:
        try:
            self.store.set_busy_timeout_ms(SESSION_BUSY_TIMEOUT_MS)
        except sqlite3.Error:
            pass
        attempt = 0
        try:
            while True:
                with self._cond:
                    while not self._ops and not self._closing and not self._stop.is_set():
                        self._cond.wait()
                    if self._stop.is_set() or not self._ops:
                        return
                    op = self._ops[0]
                    self._applying = True
                try:
                    self._apply(op)
                except Exception as exc:  # noqa: BLE001 - kept queued and retried; the cause is reported
                    with self._cond:
                        self._applying = False
                    self._failed(exc)
                    if self._stop.wait(WRITE_RETRY_S[min(attempt, len(WRITE_RETRY_S) - 1)]):
                        return
                    attempt += 1
                    continue
                attempt = 0
                with self._cond:
                    self._applying = False
                    self._ops.popleft()
                    self._last_progress = time.monotonic()
                    if self._failing_since is not None:
                        self._max_delay_s = max(self._max_delay_s, self._last_progress - self._failing_since)
                        self._failing_since = None
                    self._cond.notify_all()
        finally:
            try:
                self.store.set_busy_timeout_ms(BUSY_TIMEOUT_MS)
            except sqlite3.Error:
                pass

    def _failed(self, exc: Exception) -> None:
        cause = " ".join(str(exc).split()) or type(exc).__name__
        with self._cond:
            self.failed_attempts += 1
            if cause not in self.errors:
                self.errors.append(cause)
            if self._failing_since is None:
                self._failing_since = time.monotonic()

    def _apply(self, op: _Op) -> None:
        what, data = op
        if what == "drop":
            if self.session_id is not None:
                self.store.delete_session(self.session_id)
                self.session_id = None
            return
        if self.session_id is None:
            if self.started_at is None:
                self.started_at = datetime.now().astimezone()
            self.session_id = self.store.begin_session(kind=self.kind, started_at=self.started_at,
                                                       settings=self.settings, device=self.device)
        if what == "steps":
            self.store.add_steps(self.session_id, data)
        elif what == "beats":
            self.store.add_beats(self.session_id, data)
        elif what == "interval":
            self.store.add_interval(self.session_id, data)
        elif data.status == "complete":
            self.store.end_session(self.session_id, data.summary, data.ended_at,
                                   audio_duration_s=data.audio_duration_s)
        else:
            self.store.abort_session(self.session_id, data.reason, summary=data.summary, ended_at=data.ended_at,
                                     audio_duration_s=data.audio_duration_s)

    def _close(self, report: dict[str, Any], status: str, reason: str | None) -> None:
        summary = report.get("summary") or {}
        if (status == "aborted" and not summary.get("n_steps")
                and ((finite_or_none(report.get("duration_s")) or 0.0) < DROP_ABORTED_BEFORE_S or not summary.get("n_beats"))):
            # nothing measured: stopped in its first second without a footfall (a recording damaged
            # from the start, a stream that never ran) or with neither a footfall nor a tick (a silent
            # warm-up that heard no one): no row for `cadence log` or the weekly counts. A stream that
            # ticked and then failed stays in the history, as aborted.
            with self._cond:
                while len(self._ops) > (1 if self._applying else 0):
                    self._ops.pop()
            self._enqueue(("drop", None))
        else:
            self._enqueue(("end", _Ending(status, reason, report_summary(report), datetime.now().astimezone(),
                                          finite_or_none(report.get("duration_s")))))
        with self._cond:
            self._final = (report, status, reason)
            self._closed = self._closing = True
            self._cond.notify_all()
        atexit.register(self.wait)  # a caller that never waits still gets its data stored or saved

    def _drain(self) -> SaveResult:
        if self._final is None:
            raise RuntimeError("wait() before finish() or abort()")
        report, status, reason = self._final
        with self._cond:
            while self._ops:
                left = self._last_progress + FINISH_WAIT_S - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if self._ops:
                self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=SESSION_BUSY_TIMEOUT_MS / 1000 + 1.0)
        with self._cond:
            self._stop.set()
            saved = not self._ops  # the last attempt may have landed meanwhile
            if self._failing_since is not None:
                self._max_delay_s = max(self._max_delay_s, time.monotonic() - self._failing_since)
            fallback: Path | None = None
            fallback_errors: list[str] = []
            if not saved:
                fallback, fallback_errors = write_fallback(self.store.path, report, self.started_at, {
                    "db": str(self.store.path), "session_id": self.session_id, "saved": False,
                    "errors": list(self.errors), "status": status, "abort_reason": reason})
            return SaveResult(saved=saved, db=self.store.path, session_id=self.session_id, fallback=fallback,
                              errors=tuple(self.errors), failed_attempts=self.failed_attempts,
                              delayed_s=round(self._max_delay_s, 1), fallback_errors=tuple(fallback_errors))



def write_fallback(db: Path, report: dict[str, Any], started_at: datetime | None,
                   history: dict[str, Any]) -> tuple[Path | None, list[str]]:
    """Write the whole session report (with ``history`` saying why) to the first place that
    takes it: beside the database, the working directory, the temporary directory.
    Returns (path or None, the errors met)."""
    stamp = (started_at or datetime.now().astimezone()).strftime("%Y%m%d-%H%M%S")
    name = f"{db.stem}-unsaved-session-{stamp}.json"
    doc = {**report, "history": history}
    errors: list[str] = []
    for folder in dict.fromkeys([db.parent, Path.cwd(), Path(tempfile.gettempdir())]):
        path = folder / name
        try:
            write_json_atomic(path, doc)
        except OSError as exc:
            errors.append(f"{folder}: {exc.strerror or exc}")
            continue
        return path, errors
    return None, errors
