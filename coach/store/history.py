"""The training history: sessions with their steps, beats and intervals, and baselines, read
and written through :class:`Store` (one SQLite file, see ``coach.store.database``).

Every ``add_*`` / ``begin`` / ``end`` call is its own short transaction, so a process killed
mid-session loses at most the write in progress; the session stays "incomplete" (no
``ended_at``) with everything written before.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from coach.store.database import Database, StoreError
from coach.store.summaries import flatten_interval, session_figures, weekly_averages
from coach.store.schema import (
    BEAT_COLUMNS,
    INTERVAL_ALIASES,
    INTERVAL_COLUMNS,
    NOTE_FIELDS,
    SCORE_FIELDS,
    STEP_COLUMNS,
    finite_or_none,
    local_iso,
    split_row,
    utc_iso,
)


class Store(Database):
    """The history database: the session, notes and baseline writes of ``cadence run``,
    ``log`` and ``baseline``, and the reads of ``history``, ``export`` and ``target``. Each
    write is its own transaction (or part of an open ``transaction()``).

    Parameters
    ----------
    path : Path, optional
        Database file; default ``default_db_path()``. Parent directories are created.
    check, damaged_ok : bool
        See :class:`coach.store.database.Database`.
    """

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
            (kind, local_iso(started_at), utc_iso(started_at), json.dumps(settings, default=str), device,
             json.dumps(latency or {}, default=str)),
        )
        return _row_id(cur)

    def add_steps(self, session_id: int, steps: list[dict[str, Any]]) -> None:
        """Append footfalls: ``time_s``, ``foot``, ``asynchrony_ms`` (or None), ``confidence``;
        other keys are kept as JSON."""
        rows = []
        for s in steps:
            values, extra = split_row(s, STEP_COLUMNS)
            rows.append((session_id, float(values[0]), values[1], finite_or_none(values[2]),
                         finite_or_none(values[3]), extra))
        if rows:
            self._write("INSERT INTO steps VALUES (?,?,?,?,?,?)", rows, many=True)

    def add_beats(self, session_id: int, beats: list[dict[str, Any]]) -> None:
        """Append heard beats: ``time_s``, ``accent``, ``sounding``; other keys as JSON."""
        rows = []
        for b in beats:
            values, extra = split_row(b, BEAT_COLUMNS)
            accent = None if values[1] is None else int(bool(values[1]))
            sounding = None if values[2] is None else int(bool(values[2]))
            rows.append((session_id, float(values[0]), accent, sounding, extra))
        if rows:
            self._write("INSERT INTO beats VALUES (?,?,?,?,?)", rows, many=True)

    def add_interval(self, session_id: int, interval: dict[str, Any]) -> None:
        """Append one interval's figures: flat ``INTERVAL_COLUMNS`` (``R`` is read as
        ``resultant_r``), or the session report's layout (see ``flatten_interval``)."""
        values, extra = split_row(flatten_interval(interval), INTERVAL_COLUMNS, INTERVAL_ALIASES)
        values = [values[0]] + [finite_or_none(v) for v in values[1:]]
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
                    (None if summary is None else json.dumps(summary, default=str), local_iso(ended_at), status, reason,
                     finite_or_none(audio_duration_s), session_id))

    def replace_partial_session(self, *, kind: str, started_at: datetime) -> None:
        """Before a whole session report is stored: remove its partial record (an incomplete
        session with the same start instant and kind, what its history writes got in before
        they failed); refuse a session already stored complete or aborted."""
        same = self._query("SELECT id, status FROM sessions WHERE started_at_utc = ? AND kind = ?",
                           (utc_iso(started_at), kind))
        for row in same:  # the same start instant and kind: this very session
            if row["status"] == "incomplete":
                self._write("DELETE FROM sessions WHERE id = ?", (row["id"],))
            else:
                raise StoreError(f"this session ({started_at.isoformat(timespec='seconds')}) is already in "
                                 f"{self.path} as session {row['id']}")

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
            (local_iso(measured_at), float(baseline_spm), method, json.dumps(sources or []),
             json.dumps(runs or [], default=str)),
        )
        return _row_id(cur)

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


def _row_id(cur: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just wrote."""
    if cur.lastrowid is None:
        raise StoreError("the database did not say which row it wrote")
    return cur.lastrowid


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

