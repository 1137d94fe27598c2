"""Whole session reports into the history: what the history keeps of a report as the session's
summary, and ``cadence history --import`` (a ``--json-report`` file, or the fallback file of a
session whose history writes failed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from coach.store.database import StoreError
from coach.store.history import Store
from coach.store.schema import aware


def report_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What the history keeps of a session report as its summary."""
    summary = dict(report.get("summary") or {})
    summary.update({k: report[k] for k in ("duration_s", "interrupted", "xruns", "latency", "settings") if k in report})
    return summary


def store_report(store: Store, report: dict[str, Any], *, device: str | None = None) -> int:
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
        started = aware(datetime.fromisoformat(str(report["started_at"])))
    except (KeyError, ValueError):
        raise StoreError("not a cadence session report (no valid started_at)") from None
    history: dict[str, Any] = report["history"] if isinstance(report.get("history"), dict) else {}
    with store.transaction():
        store.replace_partial_session(kind=kind, started_at=started)
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
