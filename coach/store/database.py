"""The history database file: opening it, its pragmas, the damage check, the schema migrations
and the transactions every read and write goes through.

Where: ``--db PATH``, else ``$CADENCE_DB``, else ``platformdirs.user_data_dir("cadence")/cadence.db``.

Crash safety: the database runs in WAL mode and every write is its own short transaction, so a
process killed mid-session loses at most the write in progress. ``synchronous=NORMAL`` (the WAL
default) survives a killed process; an OS crash or power cut may lose the last few commits,
never the file's consistency. Several processes may write at once (``busy_timeout``).

Migrations (``coach.store.schema.MIGRATIONS``) run inside one ``BEGIN IMMEDIATE`` transaction, so
concurrent openers migrate once. A database from a newer cadence is refused rather than guessed at.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

from coach.store.schema import MIGRATIONS, SCHEMA_VERSION

CACHE_KIB = 512
BUSY_TIMEOUT_MS = 15000

_D = TypeVar("_D", bound="Database")


class StoreError(ValueError):
    """A database the user pointed at cannot be used, or a bad value for it."""


def default_db_path() -> Path:
    """``$CADENCE_DB`` or ``<user data dir>/cadence/cadence.db``."""
    env = os.environ.get("CADENCE_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("cadence", appauthor=False)) / "cadence.db"



class Database:
    """An open history database: its connection, checks and transactions. Safe to use from one
    thread per instance at a time (a lock serialises calls), and from several processes at once.
    ``coach.store.Store`` adds the history's reads and writes.

    Parameters
    ----------
    path : Path, optional
        Database file; default ``default_db_path()``. Parent directories are created.
    check : bool
        Run ``quick_check`` and refuse a file that cannot be written.
    damaged_ok : bool
        Open a damaged file anyway (for reading what is readable): ``damaged`` says what is wrong.
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
            self._prepare_when_free(check=check, damaged_ok=damaged_ok)
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

    def _prepare_when_free(self, *, check: bool, damaged_ok: bool) -> None:
        """:meth:`_prepare`, again while another process holds the lock it needs: a new file's
        switch to WAL can meet another opener's lock without SQLite's busy handler being called
        (it would deadlock), so "database is locked" comes at once; each step is idempotent."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                return self._prepare(check=check, damaged_ok=damaged_ok)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _prepare(self, *, check: bool, damaged_ok: bool) -> None:
        """Pragmas, the damage check, the migration and the write probe of a fresh connection."""
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

    def __enter__(self: _D) -> _D:
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

