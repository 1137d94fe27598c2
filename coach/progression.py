"""Progression: the target band over a baseline, whether the runner holds the current target
(the "held" rules on stored sessions) and the next target. Pure computation on the session
dicts ``coach.store.Store.sessions()`` returns.

The rule (``HOLD_RULE``): a session counts when it is complete (not aborted, not killed) and
at least ``HOLD_MIN_SESSION_S`` long; it held when its cadence in the on-intervals (ticking at
the target) is within ±``HOLD_CADENCE_TOL_PCT`` % of the target, its retention in the
off-intervals is at least ``HOLD_RETENTION`` (where it has off-intervals) and it is in sync at
least ``HOLD_IN_SYNC_PCT`` % of the time (where measured). The target holds when the last
``HOLD_MIN_SESSIONS`` counted sessions held, the pain of the last two stays below 5 and the last
session's pain is not above the mean of the earlier ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, TypedDict

from coach.baseline import MAX_RUNNING_SPM, MIN_BASELINE_SPM
from coach.store.summaries import duration_weighted_mean
from metronome.units import format_duration

TARGET_LOW_RATIO = 1.05
TARGET_HIGH_RATIO = 1.10
TARGET_STEP_RATIO = 0.025  # each move up: +2.5 % of baseline
HOLD_IN_SYNC_PCT = 70.0
HOLD_RETENTION = 0.8
HOLD_MIN_SESSIONS = 2
HOLD_MIN_SESSION_S = 600.0  # a session shorter than 10 min is no evidence
HOLD_CADENCE_TOL_PCT = 2.0  # on-interval cadence within ± this % of the target
HOLD_RULE = (
    f"a session counts when it is complete (not aborted or killed) and >= {HOLD_MIN_SESSION_S / 60:g} min long; "
    f"it held when its cadence in the on-intervals at the target is within ±{HOLD_CADENCE_TOL_PCT:g} % of the "
    f"target, retention >= {HOLD_RETENTION:g} in the off-intervals and in sync >= {HOLD_IN_SYNC_PCT:g} %; the "
    f"target holds when the last {HOLD_MIN_SESSIONS} counted sessions held, pain stays below 5/10 and is not rising"
)


def target_band(baseline_spm: float) -> tuple[float, float]:
    """The +5 % ... +10 % target band over a baseline, in steps per minute."""
    if not MIN_BASELINE_SPM <= baseline_spm <= MAX_RUNNING_SPM:
        raise ValueError(
            f"baseline {baseline_spm:g} spm is outside {MIN_BASELINE_SPM:g}-{MAX_RUNNING_SPM:g} spm "
            "(did you pass strides/min? double it)"
        )
    return baseline_spm * TARGET_LOW_RATIO, baseline_spm * TARGET_HIGH_RATIO


def session_length_s(session: dict[str, Any]) -> float | None:
    """How long a stored session ran: its audio duration, else the summary's ``duration_s``,
    else (older records) the wall-clock span, else the end of its last interval."""
    for value in (session.get("audio_duration_s"), (session.get("summary") or {}).get("duration_s")):
        if value is not None:
            return float(value)
    if session.get("ended_at") and session.get("started_at"):
        return (datetime.fromisoformat(session["ended_at"]) - datetime.fromisoformat(session["started_at"])).total_seconds()
    ends = [iv.get("end_s") for iv in session.get("intervals") or [] if iv.get("end_s") is not None]
    return float(max(ends)) if ends else None


_EASY_LABELS = ("warm-up", "cool-down", "warm up", "cool down")


def _is_off(interval: dict[str, Any]) -> bool:
    """A silent interval meant to hold the cadence (not a warm-up or cool-down)."""
    label = str(interval.get("label") or "").lower()
    if any(label.startswith(e) for e in _EASY_LABELS):
        return False
    if "sounding" in interval:
        return interval["sounding"] is False
    return interval.get("retention") is not None


def _is_on(interval: dict[str, Any]) -> bool:
    label = str(interval.get("label") or "").lower()
    if any(label.startswith(e) for e in _EASY_LABELS):
        return False
    return interval.get("sounding", interval.get("retention") is None) is True


def session_verdict(session: dict[str, Any], target_spm: float, *,
                    tolerance_spm: float = 1.0) -> tuple[str | None, list[str]]:
    """Why a stored session does not count towards holding ``target_spm``.

    Returns
    -------
    (not_counted, misses)
        ``not_counted``: why the session is no evidence at all (aborted, never ended, too
        short), else None. ``misses``: the rules a counted session failed (cadence off the
        target in the on-intervals, retention in the off-intervals, in sync); empty = it held.
    """
    status = session.get("status") or ("complete" if session.get("ended_at") else "incomplete")
    if status == "aborted":
        return f"aborted ({session.get('abort_reason') or 'stopped early'})", []
    if status != "complete":
        return "incomplete (it never ended: the program was killed)", []
    length_s = session_length_s(session)
    if length_s is None or length_s < HOLD_MIN_SESSION_S:
        return f"{'unknown length' if length_s is None else format_duration(length_s)} long (< {format_duration(HOLD_MIN_SESSION_S)})", []
    intervals = session.get("intervals") or []
    on = [iv for iv in intervals if _is_on(iv) and iv.get("tempo_spm") is not None
          and abs(iv["tempo_spm"] - target_spm) <= tolerance_spm]
    if not on:
        return f"no interval with ticks at {target_spm:g} spm", []
    misses: list[str] = []
    cadence = duration_weighted_mean(on, "cadence_spm")
    band = HOLD_CADENCE_TOL_PCT / 100.0 * target_spm
    if cadence is None:
        misses.append("no footfalls in the on-intervals")
    elif abs(cadence - target_spm) > band:
        misses.append(f"cadence {cadence:.1f} spm in the on-intervals, not within {target_spm:g} ± {band:.1f}")
    if any(_is_off(iv) for iv in intervals):
        retention = session.get("retention")
        if retention is None:
            misses.append("no retention measured in the off-intervals")
        elif retention < HOLD_RETENTION:
            misses.append(f"retention {retention:.2f} < {HOLD_RETENTION:g} in the off-intervals")
    sync = session.get("in_sync_pct")
    if sync is not None and sync < HOLD_IN_SYNC_PCT:
        misses.append(f"in sync {sync:.0f} % < {HOLD_IN_SYNC_PCT:.0f} %")
    return None, misses


class HoldCheck(TypedDict):
    """Whether the runner holds a target (``holds_target``); a dict, as it goes out in JSON."""

    holds: bool
    n_sessions: int
    reasons: list[str]
    rule: str
    counted: list[dict[str, Any]]
    not_counted: list[dict[str, Any]]


def holds_target(sessions: Iterable[dict[str, Any]], target_spm: float, *,
                 tolerance_spm: float = 1.0) -> HoldCheck:
    """Whether recent sessions at ``target_spm`` show the runner holds it and pain is not rising.

    The rule (``HOLD_RULE``): a session counts when it is complete (not aborted, not killed)
    and at least ``HOLD_MIN_SESSION_S`` long; it held when its cadence in the on-intervals
    (ticking at the target) is within ±``HOLD_CADENCE_TOL_PCT`` % of the target, its retention
    in the off-intervals is at least ``HOLD_RETENTION`` (where it has off-intervals) and it is
    in sync at least ``HOLD_IN_SYNC_PCT`` % of the time (where measured). The target holds when
    the last ``HOLD_MIN_SESSIONS`` counted sessions held, the pain of the last two stays below 5
    and the last session's pain is not above the mean of the earlier ones.

    Parameters
    ----------
    sessions : iterable of dict
        Stored sessions (``Store.sessions()``), oldest first; those whose ``tempo_spm`` (the
        session's target) is not ``target_spm`` are skipped.
    target_spm : float
        The current target.

    Returns
    -------
    HoldCheck
        ``holds`` (bool), ``n_sessions`` (counted sessions at the target), ``reasons`` (why
        not, empty when it holds), ``rule`` (the rule in words), ``counted`` (``id``,
        ``started_at``, ``held``, ``misses`` of each counted session) and ``not_counted``
        (``id``, ``started_at``, ``why``).
    """
    at_target = [s for s in sessions if s.get("tempo_spm") is not None
                 and abs(s["tempo_spm"] - target_spm) <= tolerance_spm]
    counted: list[dict[str, Any]] = []
    not_counted: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for s in at_target:
        why, misses = session_verdict(s, target_spm, tolerance_spm=tolerance_spm)
        entry = {"id": s.get("id"), "started_at": s.get("started_at")}
        if why is not None:
            not_counted.append({**entry, "why": why})
        else:
            counted.append({**entry, "held": not misses, "misses": misses})
            kept.append(s)
    reasons: list[str] = []
    if len(kept) < HOLD_MIN_SESSIONS:
        reasons.append(f"{len(kept)} counted session(s) at {target_spm:.0f} spm; need {HOLD_MIN_SESSIONS}")
    for c in counted[-HOLD_MIN_SESSIONS:]:
        if c["misses"]:
            reasons.append(f"session {c['id']}: " + ", ".join(c["misses"]))
    reasons += _pain_reasons([p for p in map(_pain, kept) if p is not None])
    return {"holds": not reasons, "n_sessions": len(kept), "reasons": reasons, "rule": HOLD_RULE,
            "counted": counted, "not_counted": not_counted}


def _pain_reasons(pains: list[float]) -> list[str]:
    """Pain of the last two counted sessions at 5/10 or more, or the last above the earlier mean."""
    reasons: list[str] = []
    if pains:
        if max(pains[-2:]) >= 5:
            reasons.append(f"pain {max(pains[-2:]):.0f}/10")
        earlier = sum(pains[:-1]) / len(pains[:-1]) if len(pains) >= 2 else None
        if earlier is not None and pains[-1] > earlier:
            reasons.append(f"pain rising ({pains[-1]:.0f} after {earlier:.1f})")
    return reasons


def _pain(session: dict[str, Any]) -> float | None:
    values = [float(v) for v in (session.get("pain_during"), session.get("pain_next_day")) if v is not None]
    return max(values) if values else None


def next_target_spm(baseline_spm: float, current_target_spm: float | None, holds: bool) -> float:
    """The recommended target: +5 % to start, +2.5 % of baseline more when the current one
    holds, never above +10 %. Whole spm, rounded into the band."""
    low, high = target_band(baseline_spm)
    nxt = low if current_target_spm is None else (
        current_target_spm + TARGET_STEP_RATIO * baseline_spm if holds else current_target_spm
    )
    rounded = float(round(nxt))
    if rounded < low:
        rounded = float(math.ceil(low))
    if rounded > high:
        rounded = float(math.floor(high))
    return rounded


@dataclass(frozen=True)
class Progress:
    """Where the runner stands: the current target (that of the last complete session), whether
    it holds (``check``, from the sessions since the baseline) and the recommended next target."""

    current_target_spm: float | None
    check: HoldCheck
    next_target_spm: float

    @property
    def holds(self) -> bool:
        return self.check["holds"]

    def as_dict(self) -> dict[str, Any]:
        """The JSON layout of ``cadence target --json``: the current target, the check's keys,
        the next target."""
        return {"current_target_spm": self.current_target_spm, **self.check, "next_target_spm": self.next_target_spm}


def current_progress(sessions: Iterable[dict[str, Any]], baseline_spm: float, since: str | None) -> Progress:
    """Current target and whether the runner holds it, from the stored sessions (oldest first)
    since ``since`` (ISO time of the baseline, or None: all); ``holds_target`` says which count
    and why."""
    at_tempo = [s for s in sessions if s.get("tempo_spm")]
    if since:
        cutoff = datetime.fromisoformat(since)
        at_tempo = [s for s in at_tempo if datetime.fromisoformat(s["started_at"]) >= cutoff]
    complete = [s for s in at_tempo if s["status"] == "complete"]
    current = float(complete[-1]["tempo_spm"]) if complete else None
    check: HoldCheck = holds_target(at_tempo, current) if current is not None else {
        "holds": False, "n_sessions": 0, "reasons": ["no sessions yet"], "rule": HOLD_RULE, "counted": [],
        "not_counted": []}
    return Progress(current, check, next_target_spm(baseline_spm, current, check["holds"]))
