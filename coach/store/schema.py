"""What the history database holds and how values go into it: the tables, the migrations from
one schema version to the next, and the conversions of times and figures to stored values.

Schema versions live in ``PRAGMA user_version``; ``MIGRATIONS[k]`` takes version k to k + 1.

Times: ``started_at`` is stored as ISO 8601 with the runner's UTC offset (local wall time, the
calendar the weekly view uses) and as UTC (for ordering). Session times inside a session
(``time_s``) are seconds on the session's input time axis.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

SCHEMA_VERSION = 3

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


def aware(ts: datetime) -> datetime:
    """Naive datetimes are local wall time (``datetime.now()``); give them the local offset."""
    return ts if ts.tzinfo is not None and ts.utcoffset() is not None else ts.astimezone()


def local_iso(ts: datetime) -> str:
    """``ts`` as stored in ``started_at``/``ended_at``: ISO 8601 with the runner's UTC offset."""
    return aware(ts).isoformat(timespec="microseconds")


def utc_iso(ts: datetime) -> str:
    """``ts`` as stored in ``started_at_utc`` (ISO 8601 in UTC, for ordering)."""
    return aware(ts).astimezone(timezone.utc).isoformat(timespec="microseconds")


def finite_or_none(value: Any) -> float | None:
    """A stored figure: a finite float, else None (NULL)."""
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def split_row(row: dict[str, Any], columns: tuple[str, ...],
              aliases: dict[str, str] | None = None) -> tuple[list[Any], str | None]:
    """A row's values for ``columns`` (in order), and every other key as the JSON ``extra``."""
    row = {(aliases or {}).get(k, k): v for k, v in row.items()}
    values = [row.get(c) for c in columns]
    extra = {k: v for k, v in row.items() if k not in columns}
    return values, (json.dumps(extra, default=str) if extra else None)
