"""The training history: one SQLite file with sessions, their steps, beats and intervals, and
baselines.

Where: ``--db PATH``, else ``$CADENCE_DB``, else ``platformdirs.user_data_dir("cadence")/cadence.db``.

Crash safety: the database runs in WAL mode and every ``add_*`` / ``begin`` / ``end`` call is its
own short transaction, so a process killed mid-session loses at most the write in progress; the
session stays "incomplete" (no ``ended_at``) with everything written before. ``synchronous=NORMAL``
(the WAL default) survives a killed process; an OS crash or power cut may lose the last few
commits, never the file's consistency. Several processes may write at once (``busy_timeout``).

Schema versions live in ``PRAGMA user_version``; ``MIGRATIONS[k]`` takes version k to k + 1 and
runs inside one ``BEGIN IMMEDIATE`` transaction, so concurrent openers migrate once. A database
from a newer cadence is refused rather than guessed at.

Times: ``started_at`` is stored as ISO 8601 with the runner's UTC offset (local wall time, the
calendar the weekly view uses) and as UTC (for ordering). Session times inside a session
(``time_s``) are seconds on the session's input time axis.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Iterable, Iterator

SCHEMA_VERSION = 3
CACHE_KIB = 512
BUSY_TIMEOUT_MS = 15000

#: A session's status: ``incomplete`` while it runs (or after its process was killed),
#: ``complete`` once it ended normally (the plan played out, the recording ended, or the runner
#: stopped it), ``aborted`` when it stopped early for a reason that was not the runner's
#: (the stream died, the input turned out unusable): ``abort_reason`` says why. Progression and
#: the weekly averages ignore aborted sessions.
SESSION_STATUSES = ("incomplete", "complete", "aborted")

# Version 1: sessions, steps, beats, intervals, baselines. Version 2: the runner's free fields
# (pace, terrain, shoes, pain during and next day, perceived effort) and the history indexes.
# Version 3: the session status with an abort reason, and the audio duration apart from the
# wall-clock start/end (a --fast simulated session ends seconds after it started, whatever the
# recording's length). Sessions stored before version 3 keep their ``ended_at`` (for simulated
# ones it was start + recording length); their audio duration comes from the stored summary.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            started_at TEXT NOT NULL,
            started_at_utc TEXT NOT NULL,
            ended_at TEXT,
            settings TEXT NOT NULL DEFAULT '{}',
            device TEXT,
            latency TEXT NOT NULL DEFAULT '{}',
            summary TEXT,
            notes TEXT
        )""",
        """CREATE TABLE steps (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            time_s REAL NOT NULL,
            foot TEXT,
            asynchrony_ms REAL,
            confidence REAL,
            extra TEXT
        )""",
        """CREATE TABLE beats (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            time_s REAL NOT NULL,
            accent INTEGER,
            sounding INTEGER,
            extra TEXT
        )""",
        """CREATE TABLE intervals (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            label TEXT,
            start_s REAL,
            end_s REAL,
            cadence_spm REAL,
            tempo_spm REAL,
            mean_asynchrony_ms REAL,
            sd_asynchrony_ms REAL,
            in_sync_pct REAL,
            resultant_r REAL,
            drift_ms_per_min REAL,
            retention REAL,
            extra TEXT
        )""",
        """CREATE TABLE baselines (
            id INTEGER PRIMARY KEY,
            measured_at TEXT NOT NULL,
            baseline_spm REAL NOT NULL,
            method TEXT,
            sources TEXT,
            runs TEXT NOT NULL DEFAULT '[]'
        )""",
    ),
    (
        "ALTER TABLE sessions ADD COLUMN pace TEXT",
        "ALTER TABLE sessions ADD COLUMN terrain TEXT",
        "ALTER TABLE sessions ADD COLUMN shoes TEXT",
        "ALTER TABLE sessions ADD COLUMN pain_during REAL",
        "ALTER TABLE sessions ADD COLUMN pain_next_day REAL",
        "ALTER TABLE sessions ADD COLUMN effort REAL",
        "CREATE INDEX steps_session ON steps(session_id)",
        "CREATE INDEX beats_session ON beats(session_id)",
        "CREATE INDEX intervals_session ON intervals(session_id, idx)",
        "CREATE INDEX sessions_started ON sessions(started_at_utc)",
    ),
    (
        "ALTER TABLE sessions ADD COLUMN status TEXT NOT NULL DEFAULT 'incomplete' "
        "CHECK (status IN ('incomplete', 'complete', 'aborted'))",
        "ALTER TABLE sessions ADD COLUMN abort_reason TEXT",
        "ALTER TABLE sessions ADD COLUMN audio_duration_s REAL",
        "UPDATE sessions SET status = 'complete' WHERE ended_at IS NOT NULL",
        "UPDATE sessions SET audio_duration_s = json_extract(summary, '$.duration_s') "
        "WHERE json_valid(summary) AND json_type(summary, '$.duration_s') IN ('integer', 'real')",
    ),
)
assert len(MIGRATIONS) == SCHEMA_VERSION

STEP_COLUMNS = ("time_s", "foot", "asynchrony_ms", "confidence")
BEAT_COLUMNS = ("time_s", "accent", "sounding")
INTERVAL_COLUMNS = (
    "label", "start_s", "end_s", "cadence_spm", "tempo_spm", "mean_asynchrony_ms", "sd_asynchrony_ms",
    "in_sync_pct", "resultant_r", "drift_ms_per_min", "retention",
)
INTERVAL_ALIASES = {"R": "resultant_r", "r": "resultant_r"}
NOTE_FIELDS = {"notes": str, "pace": str, "terrain": str, "shoes": str,
               "pain_during": float, "pain_next_day": float, "effort": float}
SCORE_FIELDS = ("pain_during", "pain_next_day", "effort")  # 0-10


class StoreError(ValueError):
    """A database the user pointed at cannot be used, or a bad value for it."""


def default_db_path() -> Path:
    """``$CADENCE_DB`` or ``<user data dir>/cadence/cadence.db``."""
    env = os.environ.get("CADENCE_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("cadence", appauthor=False)) / "cadence.db"


def _aware(ts: datetime) -> datetime:
    """Naive datetimes are local wall time (``datetime.now()``); give them the local offset."""
    return ts if ts.tzinfo is not None and ts.utcoffset() is not None else ts.astimezone()


def _iso(ts: datetime) -> str:
    return _aware(ts).isoformat(timespec="microseconds")


def _utc_iso(ts: datetime) -> str:
    return _aware(ts).astimezone(timezone.utc).isoformat(timespec="microseconds")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _split(row: dict[str, Any], columns: tuple[str, ...], aliases: dict[str, str] | None = None) -> tuple[list[Any], str | None]:
    row = {(aliases or {}).get(k, k): v for k, v in row.items()}
    values = [row.get(c) for c in columns]
    extra = {k: v for k, v in row.items() if k not in columns}
    return values, (json.dumps(extra, default=str) if extra else None)


class Store:
    """The history database. Each write is its own transaction; safe to use from one thread
    per instance at a time (a lock serialises calls), and from several processes at once.

    Parameters
    ----------
    path : Path, optional
        Database file; default ``default_db_path()``. Parent directories are created.
    """

    def __init__(self, path: Path | str | None = None, *, check: bool = True, damaged_ok: bool = False) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        #: What ``PRAGMA quick_check`` found wrong (None: nothing, or not checked).
        self.damaged: str | None = None
        if self.path.is_dir():
            raise StoreError(f"database {self.path} is a directory")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from None
        self._lock = threading.RLock()
        self._batch = False
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            # 512 KiB of page cache (SQLite's default is 2 MiB): a session only appends, and a
            # long live session's memory should stay flat (the 30-min soak's RSS bar)
            self._conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            if check or damaged_ok:
                self.damaged = self._quick_check()
            if self.damaged is not None and not damaged_ok:
                raise self._damaged_error(self.damaged)
            if self.damaged is None:
                self._migrate()
            if check and self.damaged is None:
                self._probe_writable()
        except StoreError:
            self._conn.close()
            raise
        except sqlite3.OperationalError as exc:  # read-only file or directory, locked, disk full
            self._conn.close()
            raise StoreError(f"cannot use database {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if "not a database" in str(exc):
                raise StoreError(f"{self.path} is not a cadence database ({exc}); if it held your history, its "
                                 "header is damaged: restore a backup") from None
            raise StoreError(f"{self.path} is damaged beyond what cadence can read ({exc}); try 'sqlite3 {self.path} "
                             ".recover | sqlite3 recovered.db', or restore a backup") from None
        except BaseException:
            self._conn.close()
            raise

    # --- plumbing ------------------------------------------------------------------------------

    def _quick_check(self) -> str | None:
        """SQLite's ``quick_check`` (every page and record readable, O(file size): ~0.4 s for a
        130 MB history): None when it is fine, else its first finding."""
        try:
            rows = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check(5)").fetchall()]
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):
                raise
            return " ".join(str(exc).split())
        if rows == ["ok"]:
            return None
        lines = [line for row in rows for line in row.splitlines() if line.strip()]
        findings = [line for line in lines if not line.startswith("***")] or lines
        return " ".join(findings[0].split())[:160]

    def _probe_writable(self) -> None:
        """Refuse, before anything starts, a database that cannot take a write at all (a read-only
        or immutable file, a read-only mount); a lock held by another writer is fine (session
        writes wait and retry)."""
        with self._lock:
            self._conn.execute("PRAGMA busy_timeout = 50")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
                self._conn.execute(f"PRAGMA user_version = {version}")  # a write, rolled back
                self._conn.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                self._rollback()
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreError(f"the history database {self.path} cannot be written: {exc} (is the file "
                                     "read-only, immutable or on a full disk? --db or $CADENCE_DB selects another, "
                                     "--no-save runs without the history)") from None
            finally:
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def _damaged_error(self, problem: str) -> StoreError:
        return StoreError(
            f"{self.path} is damaged ({problem}); cadence will not write to it. Save what is readable with "
            f"'cadence export --format json --db {self.path} -o rescued.json' (or: sqlite3 {self.path} .recover "
            "| sqlite3 recovered.db), then move the file aside or restore a backup"
        )

    def _check_damage(self, exc: sqlite3.Error) -> None:
        """A read or write that hit a damaged page: the one-line damage message instead."""
        if type(exc) is sqlite3.DatabaseError:  # not locked/full (OperationalError), not a constraint
            self.damaged = self.damaged or " ".join(str(exc).split())
            raise self._damaged_error(self.damaged) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def set_busy_timeout_ms(self, ms: int) -> None:
        """How long a write waits for another connection's lock before "database is locked"."""
        with self._lock:
            self._conn.execute(f"PRAGMA busy_timeout = {int(ms)}")

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._lock:
            if int(self._conn.execute("PRAGMA user_version").fetchone()[0]) == SCHEMA_VERSION:
                return  # current: no write lock needed (opening works while another writer holds it)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
                if version < 0:
                    raise StoreError(f"database {self.path} has schema version {version}, which cadence never "
                                     "writes; restore a backup of it (nothing was changed)")
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"database {self.path} has schema version {version}, newer than this cadence "
                        f"({SCHEMA_VERSION}); upgrade cadence"
                    )
                if version == 0:
                    tables = self._conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
                    if tables:
                        raise StoreError(f"{self.path} is an SQLite file but not a cadence database")
                for k in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[k]:
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {k + 1}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (after a full disk or an I/O
        error it rolls back by itself, and a second ROLLBACK would replace the real cause with
        "cannot rollback - no transaction is active")."""
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error being raised is the one that matters

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make the writes inside one transaction: all of them land, or none."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._batch = True
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            finally:
                self._batch = False

    def _write(self, sql: str, params: Iterable[Any] = (), *, many: bool = False) -> sqlite3.Cursor:
        """One short transaction (or part of the open ``transaction()``)."""
        with self._lock:
            if self.damaged is not None:
                raise self._damaged_error(self.damaged)
            try:
                if self._batch:
                    return self._conn.executemany(sql, params) if many else self._conn.execute(sql, tuple(params))
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    cur = self._conn.executemany(sql, params) if many else self._conn.execute(sql, tuple(params))
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            except sqlite3.Error as exc:
                self._check_damage(exc)
                raise
            return cur

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._conn.row_factory = sqlite3.Row
            try:
                return self._conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                self._check_damage(exc)
                raise
            finally:
                self._conn.row_factory = None

    def _check_session(self, session_id: int) -> None:
        if not self._query("SELECT 1 FROM sessions WHERE id = ?", (session_id,)):
            raise StoreError(f"no session {session_id} in {self.path}")

    # --- session writes (called by `cadence run`) ------------------------------------------------

    def begin_session(self, *, kind: str, started_at: datetime, settings: dict[str, Any],
                      device: str | None = None, latency: dict[str, Any] | None = None) -> int:
        """Start a session record; returns its id. ``started_at`` should carry the runner's
        time zone (a naive datetime is taken as local time)."""
        cur = self._write(
            "INSERT INTO sessions (kind, started_at, started_at_utc, settings, device, latency) VALUES (?,?,?,?,?,?)",
            (kind, _iso(started_at), _utc_iso(started_at), json.dumps(settings, default=str), device,
             json.dumps(latency or {}, default=str)),
        )
        return int(cur.lastrowid)

    def add_steps(self, session_id: int, steps: list[dict[str, Any]]) -> None:
        """Append footfalls: ``time_s``, ``foot``, ``asynchrony_ms`` (or None), ``confidence``;
        other keys are kept as JSON."""
        rows = []
        for s in steps:
            values, extra = _split(s, STEP_COLUMNS)
            rows.append((session_id, float(values[0]), values[1], _num(values[2]), _num(values[3]), extra))
        if rows:
            self._write("INSERT INTO steps VALUES (?,?,?,?,?,?)", rows, many=True)

    def add_beats(self, session_id: int, beats: list[dict[str, Any]]) -> None:
        """Append heard beats: ``time_s``, ``accent``, ``sounding``; other keys as JSON."""
        rows = []
        for b in beats:
            values, extra = _split(b, BEAT_COLUMNS)
            accent = None if values[1] is None else int(bool(values[1]))
            sounding = None if values[2] is None else int(bool(values[2]))
            rows.append((session_id, float(values[0]), accent, sounding, extra))
        if rows:
            self._write("INSERT INTO beats VALUES (?,?,?,?,?)", rows, many=True)

    def add_interval(self, session_id: int, interval: dict[str, Any]) -> None:
        """Append one interval's figures: flat ``INTERVAL_COLUMNS`` (``R`` is read as
        ``resultant_r``), or the session report's layout (see ``flatten_interval``)."""
        values, extra = _split(flatten_interval(interval), INTERVAL_COLUMNS, INTERVAL_ALIASES)
        values = [values[0]] + [_num(v) for v in values[1:]]
        self._write(
            "INSERT INTO intervals VALUES (?, (SELECT count(*) FROM intervals WHERE session_id = ?), "
            + ",".join("?" * (len(INTERVAL_COLUMNS) + 1)) + ")",
            (session_id, session_id, *values, extra),
        )

    def end_session(self, session_id: int, summary: dict[str, Any], ended_at: datetime, *,
                    audio_duration_s: float | None = None) -> None:
        """Mark the session complete with its summary figures.

        ``ended_at`` is the wall-clock end; ``audio_duration_s`` the length of the session on its
        input's time axis (for a ``--fast`` simulation much longer than the wall-clock span);
        default: the summary's ``duration_s``.
        """
        self._finish(session_id, "complete", None, summary, ended_at, audio_duration_s)

    def abort_session(self, session_id: int, reason: str, *, summary: dict[str, Any] | None = None,
                      ended_at: datetime | None = None, audio_duration_s: float | None = None) -> None:
        """Mark the session aborted: it stopped early for ``reason`` (one line, e.g. "the audio
        stream stopped after 0:20: device unplugged"). What it wrote so far stays; progression
        and the weekly averages ignore it. ``summary``/``audio_duration_s`` as in ``end_session``;
        ``ended_at`` defaults to now."""
        if not str(reason).strip():
            raise StoreError("an aborted session needs a reason")
        self._finish(session_id, "aborted", " ".join(str(reason).split()), summary,
                     ended_at if ended_at is not None else datetime.now().astimezone(), audio_duration_s)

    def _finish(self, session_id: int, status: str, reason: str | None, summary: dict[str, Any] | None,
                ended_at: datetime, audio_duration_s: float | None) -> None:
        self._check_session(session_id)
        if audio_duration_s is None and summary:
            audio_duration_s = summary.get("duration_s")
        self._write("UPDATE sessions SET summary = ?, ended_at = ?, status = ?, abort_reason = ?, "
                    "audio_duration_s = ? WHERE id = ?",
                    (None if summary is None else json.dumps(summary, default=str), _iso(ended_at), status, reason,
                     _num(audio_duration_s), session_id))

    def delete_session(self, session_id: int) -> None:
        """Remove a session with its steps, beats and intervals (one transaction)."""
        self._write("DELETE FROM sessions WHERE id = ?", (session_id,))

    def set_notes(self, session_id: int, **fields: Any) -> None:
        """Add or edit the runner's notes: ``notes``, ``pace``, ``terrain``, ``shoes`` (text),
        ``pain_during``, ``pain_next_day``, ``effort`` (0-10). ``None`` leaves a field as is."""
        unknown = set(fields) - set(NOTE_FIELDS)
        if unknown:
            raise StoreError(f"unknown note field(s): {', '.join(sorted(unknown))}")
        updates = {}
        for key, value in fields.items():
            if value is None:
                continue
            value = NOTE_FIELDS[key](value)
            if key in SCORE_FIELDS and not (isinstance(value, float) and 0 <= value <= 10):
                raise StoreError(f"{key.replace('_', ' ')} must be 0-10, got {value:g}")
            updates[key] = value
        self._check_session(session_id)
        if updates:
            sets = ", ".join(f"{k} = ?" for k in updates)
            self._write(f"UPDATE sessions SET {sets} WHERE id = ?", (*updates.values(), session_id))

    # --- baselines -------------------------------------------------------------------------------

    def add_baseline(self, baseline_spm: float, *, measured_at: datetime, method: str = "",
                     sources: list[str] | None = None, runs: list[dict[str, Any]] | None = None) -> int:
        cur = self._write(
            "INSERT INTO baselines (measured_at, baseline_spm, method, sources, runs) VALUES (?,?,?,?,?)",
            (_iso(measured_at), float(baseline_spm), method, json.dumps(sources or []),
             json.dumps(runs or [], default=str)),
        )
        return int(cur.lastrowid)

    def baselines(self) -> list[dict[str, Any]]:
        """All baselines in the order they were stored (the last is the one in use)."""
        rows = self._query("SELECT * FROM baselines ORDER BY id")
        return [{**dict(r), "sources": json.loads(r["sources"] or "[]"), "runs": json.loads(r["runs"])} for r in rows]

    def latest_baseline(self) -> dict[str, Any] | None:
        all_ = self.baselines()
        return all_[-1] if all_ else None

    # --- reads -----------------------------------------------------------------------------------

    def intervals(self, session_id: int) -> list[dict[str, Any]]:
        rows = self._query("SELECT * FROM intervals WHERE session_id = ? ORDER BY idx", (session_id,))
        return [_with_extra(dict(r)) for r in rows]

    def steps(self, session_id: int) -> list[dict[str, Any]]:
        rows = self._query("SELECT * FROM steps WHERE session_id = ? ORDER BY time_s, rowid", (session_id,))
        return [_with_extra(dict(r)) for r in rows]

    def beats(self, session_id: int) -> list[dict[str, Any]]:
        rows = self._query("SELECT * FROM beats WHERE session_id = ? ORDER BY time_s, rowid", (session_id,))
        out = []
        for r in rows:
            d = _with_extra(dict(r))
            for k in ("accent", "sounding"):
                d[k] = None if d[k] is None else bool(d[k])
            out.append(d)
        return out

    def session(self, session_id: int) -> dict[str, Any]:
        found = self.sessions(ids=[session_id])
        if not found:
            raise StoreError(f"no session {session_id} in {self.path}")
        return found[0]

    def sessions(self, *, ids: list[int] | None = None) -> list[dict[str, Any]]:
        """Sessions, oldest first, with status, counts and figures (see ``session_figures``)."""
        where = f"WHERE s.id IN ({','.join('?' * len(ids))})" if ids else ""
        rows = self._query(
            "SELECT s.*, (SELECT count(*) FROM steps WHERE session_id = s.id) AS n_steps, "
            "(SELECT count(*) FROM beats WHERE session_id = s.id) AS n_beats "
            f"FROM sessions s {where} ORDER BY s.started_at_utc, s.id",
            ids or (),
        )
        return [_session_dict(dict(r), self.intervals(r["id"])) for r in rows]

    def readable_sessions(self, ids: list[int] | None = None) -> tuple[list[dict[str, Any]], list[int]]:
        """``sessions(ids=...)``, session by session where the database is damaged: (the
        sessions that could be read, the ids of those that could not)."""
        try:
            return self.sessions(ids=ids), []
        except StoreError:
            if self.damaged is None:
                raise
        wanted = ids or [int(r[0]) for r in self._query("SELECT id FROM sessions ORDER BY id")]
        readable: list[dict[str, Any]] = []
        unreadable: list[int] = []
        for sid in wanted:
            try:
                readable.extend(self.sessions(ids=[sid]))
                continue
            except StoreError:
                pass
            try:  # the session's own row, without the counts and intervals that cannot be read
                rows = self._query("SELECT * FROM sessions WHERE id = ?", (sid,))
                readable.extend({**_session_dict(dict(r), []), "damaged": "its intervals or counts are unreadable"}
                                for r in rows)
            except StoreError:
                unreadable.append(sid)
        return readable, unreadable

    def last_session_id(self) -> int:
        """The latest session that was not aborted (the one the runner means by 'last')."""
        rows = self._query("SELECT id FROM sessions WHERE status != 'aborted' "
                           "ORDER BY started_at_utc DESC, id DESC LIMIT 1")
        if not rows:
            raise StoreError(f"no sessions in {self.path}" + (" (only aborted ones; give the session id)"
                                                               if self._query("SELECT 1 FROM sessions") else ""))
        return int(rows[0][0])

    def weekly(self, *, tz: tzinfo | None = None) -> list[dict[str, Any]]:
        """Weekly averages over sessions (see ``weekly_averages``)."""
        return weekly_averages(self.sessions(), tz=tz)


_ASYNC_KEYS = {"mean_asynchrony_ms": "mean_ms", "sd_asynchrony_ms": "sd_ms", "in_sync_pct": "within_pct",
               "resultant_r": "resultant_length", "drift_ms_per_min": "drift_ms_per_min"}


def flatten_interval(interval: dict[str, Any]) -> dict[str, Any]:
    """Interval figures in the ``cadence run`` report layout -> the store's flat columns.

    ``asynchrony: {mean_ms, sd_ms, within_pct, resultant_length, drift_ms_per_min}`` fills
    ``mean_asynchrony_ms``, ``sd_asynchrony_ms``, ``in_sync_pct``, ``resultant_r`` and
    ``drift_ms_per_min`` (flat keys given explicitly win). ``retention: {retained_pct, held_pct,
    ...}`` becomes ``retention`` = ``retained_pct / 100`` (the fraction of the increase over
    baseline that held in a silent interval) and the whole dict is kept as ``retention_detail``.
    """
    d = dict(interval)
    asyn = d.get("asynchrony")
    if isinstance(asyn, dict):
        for flat, nested in _ASYNC_KEYS.items():
            if d.get(flat) is None and asyn.get(nested) is not None:
                d[flat] = asyn[nested]
    ret = d.get("retention")
    if isinstance(ret, dict):
        d["retention_detail"] = d.pop("retention")
        d["retention"] = None if ret.get("retained_pct") is None else float(ret["retained_pct"]) / 100.0
    return d


def store_report(store: "Store", report: dict[str, Any], *, device: str | None = None) -> int:
    """Store a whole ``cadence run --json-report`` report as a session, in one transaction
    (e.g. a report written before the history existed, or the fallback file of a session whose
    history writes failed). Returns the session id. A report with an ``error`` (the session
    stopped early) is stored as aborted.

    An incomplete session with the same start time and kind is this session's partial record
    (what its history writes got in before they failed): it is replaced. A session already
    stored complete or aborted is refused.
    """
    settings = report.get("settings") or {}
    kind = str(settings.get("kind") or "live")
    try:
        started = _aware(datetime.fromisoformat(str(report["started_at"])))
    except (KeyError, ValueError):
        raise StoreError("not a cadence session report (no valid started_at)") from None
    history = report.get("history") if isinstance(report.get("history"), dict) else {}
    with store.transaction():
        same = store._query("SELECT id, status FROM sessions WHERE started_at_utc = ? AND kind = ?",
                            (_utc_iso(started), kind))
        for row in same:  # the same start instant and kind: this very session
            if row["status"] == "incomplete":  # what its history writes got in before they failed
                store._write("DELETE FROM sessions WHERE id = ?", (row["id"],))
            else:
                raise StoreError(f"this session ({started.isoformat(timespec='seconds')}) is already in "
                                 f"{store.path} as session {row['id']}")
        sid = store.begin_session(kind=kind, started_at=started, settings=settings,
                                  device=device or settings.get("device"), latency=report.get("latency") or {})
        store.add_steps(sid, list(report.get("steps") or []))
        store.add_beats(sid, list(report.get("beats") or []))
        for interval in report.get("intervals") or []:
            store.add_interval(sid, interval)
        duration_s = float(report.get("duration_s") or 0.0)
        ended = (datetime.fromisoformat(report["ended_at"]) if report.get("ended_at")
                 else started + timedelta(seconds=duration_s))
        reason = report.get("error") or history.get("abort_reason")
        if reason:
            store.abort_session(sid, str(reason), summary=report_summary(report), ended_at=ended,
                                audio_duration_s=duration_s)
        else:
            store.end_session(sid, report_summary(report), ended, audio_duration_s=duration_s)
    return sid


def _session_dict(d: dict[str, Any], intervals: list[dict[str, Any]]) -> dict[str, Any]:
    """A sessions row (JSON columns decoded) with its intervals and figures."""
    d["settings"] = json.loads(d["settings"] or "{}")
    d["latency"] = json.loads(d["latency"] or "{}")
    d["summary"] = json.loads(d["summary"]) if d["summary"] else None
    d["intervals"] = intervals
    d.update(session_figures(d))
    return d


def _with_extra(d: dict[str, Any]) -> dict[str, Any]:
    extra = d.pop("extra", None)
    d.pop("session_id", None)
    if extra:
        d.update(json.loads(extra))
    return d


FIGURE_KEYS = ("cadence_spm", "tempo_spm", "in_sync_pct", "mean_asynchrony_ms", "retention")


def session_figures(session: dict[str, Any]) -> dict[str, Any]:
    """One session's headline figures.

    ``cadence_spm``, ``in_sync_pct`` and ``mean_asynchrony_ms`` come from the summary when it
    has them (flat, or in the ``cadence run`` layout with an ``asynchrony`` dict), else from the
    intervals, weighted by interval duration (intervals without the figure are skipped).
    ``retention`` always comes from the (silent) intervals. ``tempo_spm`` is the session's target:
    the summary's or the settings' ``target_spm`` (or ``spm``), else the highest interval tempo.
    """
    summary = flatten_interval(session.get("summary") or {})
    settings = session.get("settings") or {}
    intervals = session.get("intervals") or []
    out: dict[str, Any] = {}
    for key in FIGURE_KEYS:
        if key in ("cadence_spm", "in_sync_pct", "mean_asynchrony_ms") and summary.get(key) is not None:
            out[key] = float(summary[key])
            continue
        pairs = [((iv.get("end_s") or 0) - (iv.get("start_s") or 0), iv.get(key)) for iv in intervals]
        pairs = [(max(w, 0.0), v) for w, v in pairs if v is not None]
        total = sum(w for w, _ in pairs)
        if key == "tempo_spm":
            out[key] = max((v for _, v in pairs), default=None)
        elif pairs and total > 0:
            out[key] = sum(w * v for w, v in pairs) / total
        elif pairs:
            out[key] = sum(v for _, v in pairs) / len(pairs)
        else:
            out[key] = None
    for source in (summary, settings):
        target = next((source[k] for k in ("target_spm", "spm") if source.get(k) is not None), None)
        if target is not None:
            out["tempo_spm"] = float(target)
            break
    return out


def week_of(ts: datetime, tz: tzinfo | None = None) -> tuple[int, int, date]:
    """ISO (year, week, Monday) of a moment, on the calendar of ``tz`` (default: the moment's
    own UTC offset, i.e. the runner's local date when the session was recorded)."""
    local = ts.astimezone(tz) if tz is not None else ts
    iso = local.date().isocalendar()
    monday = local.date() - timedelta(days=local.date().isoweekday() - 1)
    return iso[0], iso[1], monday


def weekly_averages(sessions: list[dict[str, Any]], *, tz: tzinfo | None = None) -> list[dict[str, Any]]:
    """Average the sessions' figures per ISO week (Monday-Sunday, ISO week-numbering year, so
    29 Dec 2025 - 4 Jan 2026 is one week, ``2026-W01``). Aborted sessions are left out.

    Returns
    -------
    list of dict
        Oldest first: ``week`` ("YYYY-Www"), ``week_start`` (ISO date of the Monday),
        ``n_sessions``, and the unweighted mean over the week's sessions of ``cadence_spm``,
        ``tempo_spm``, ``in_sync_pct``, ``mean_asynchrony_ms``, ``retention``, ``pain_during``,
        ``pain_next_day``, ``effort`` (None when no session has it).
    """
    groups: dict[tuple[int, int], dict[str, Any]] = {}
    for s in sessions:
        if s.get("status") == "aborted":
            continue
        year, week, monday = week_of(datetime.fromisoformat(s["started_at"]), tz)
        g = groups.setdefault((year, week), {"week": f"{year}-W{week:02d}", "week_start": monday.isoformat(),
                                             "sessions": []})
        g["sessions"].append(s)
    out = []
    for key in sorted(groups):
        g = groups[key]
        row = {"week": g["week"], "week_start": g["week_start"], "n_sessions": len(g["sessions"])}
        for field in (*FIGURE_KEYS, "pain_during", "pain_next_day", "effort"):
            values = [s.get(field) for s in g["sessions"] if s.get(field) is not None]
            row[field] = sum(values) / len(values) if values else None
        out.append(row)
    return out


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
        self._ops: deque[tuple[Any, ...]] = deque()
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
        self.started_at = _aware(started_at).astimezone()

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

    def _enqueue(self, op: tuple[Any, ...]) -> None:
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

    def _apply(self, op: tuple[Any, ...]) -> None:
        if op[0] == "drop":
            if self.session_id is not None:
                self.store.delete_session(self.session_id)
                self.session_id = None
            return
        if self.session_id is None:
            if self.started_at is None:
                self.started_at = datetime.now().astimezone()
            self.session_id = self.store.begin_session(kind=self.kind, started_at=self.started_at,
                                                       settings=self.settings, device=self.device)
        what = op[0]
        if what == "steps":
            self.store.add_steps(self.session_id, op[1])
        elif what == "beats":
            self.store.add_beats(self.session_id, op[1])
        elif what == "interval":
            self.store.add_interval(self.session_id, op[1])
        else:
            _, status, reason, summary, ended_at, audio_duration_s = op
            if status == "complete":
                self.store.end_session(self.session_id, summary, ended_at, audio_duration_s=audio_duration_s)
            else:
                self.store.abort_session(self.session_id, reason, summary=summary, ended_at=ended_at,
                                         audio_duration_s=audio_duration_s)

    def _close(self, report: dict[str, Any], status: str, reason: str | None) -> None:
        summary = report.get("summary") or {}
        if (status == "aborted" and not summary.get("n_steps")
                and ((_num(report.get("duration_s")) or 0.0) < DROP_ABORTED_BEFORE_S or not summary.get("n_beats"))):
            # nothing measured: stopped in its first second without a footfall (a recording damaged
            # from the start, a stream that never ran) or with neither a footfall nor a tick (a silent
            # warm-up that heard no one): no row for `cadence log` or the weekly counts. A stream that
            # ticked and then failed stays in the history, as aborted.
            with self._cond:
                while len(self._ops) > (1 if self._applying else 0):
                    self._ops.pop()
            self._enqueue(("drop",))
        else:
            self._enqueue(("end", status, reason, report_summary(report), datetime.now().astimezone(),
                           _num(report.get("duration_s"))))
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
            fallback, fallback_errors = (None, [])
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
    import tempfile

    from coach.jsonfile import write_json_atomic

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


def report_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What the history keeps of a session report as its summary."""
    summary = dict(report.get("summary") or {})
    summary.update({k: report[k] for k in ("duration_s", "interrupted", "xruns", "latency", "settings") if k in report})
    return summary
