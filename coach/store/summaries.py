"""A stored session's headline figures and the weekly averages over sessions: pure functions on
the session dicts ``Store.sessions()`` returns (no database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Iterable

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


def duration_weighted_mean(intervals: Iterable[dict[str, Any]], key: str) -> float | None:
    """The mean of ``key`` over intervals weighted by their duration (``end_s - start_s``);
    intervals without the figure are skipped; an unweighted mean when no interval has a
    duration; None when none has the figure."""
    pairs = [(max((iv.get("end_s") or 0.0) - (iv.get("start_s") or 0.0), 0.0), iv[key])
             for iv in intervals if iv.get(key) is not None]
    if not pairs:
        return None
    total = sum(w for w, _ in pairs)
    return sum(w * v for w, v in pairs) / total if total > 0 else sum(v for _, v in pairs) / len(pairs)


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
        if key == "tempo_spm":
            out[key] = max((iv[key] for iv in intervals if iv.get(key) is not None), default=None)
        else:
            out[key] = duration_weighted_mean(intervals, key)
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

