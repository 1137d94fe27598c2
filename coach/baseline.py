"""Easy-pace cadence baseline, target band and progression: pure computation, no files.

Method (stated in every baseline report, see ``METHOD``):

1. **Running, moving records only.** An activity record counts when it has a cadence and, when
   the source knows speed, the speed is above 0 m/s (a pause has speed 0). Step-time sources
   (audio, accelerometer) have no speed: a step whose stride time (two steps) exceeds
   ``MAX_STRIDE_S`` is a pause.
2. **Walking breaks out.** Records below ``min_running_spm`` (default 140 spm) are walking
   (walking is 100–130 spm; easy running 150–185 spm).
3. **Outliers out.** Of the rest, records further than ``max(3 × 1.4826 × MAD, 6 spm)`` from the
   median are dropped (cadence spikes, sprints, GPS/footpod glitches).
4. The run's baseline is the unweighted mean of the records kept; its median is reported too.
5. Several runs combine with equal weight per run (a long run must not outvote two short
   ones): the baseline is the mean of the per-run baselines.

The "moving" mean and median (step 1 only) are reported as well; for FIT files they are the
figures a direct decode gives (speed > 0, spm = 2 × (cadence + fractional_cadence)).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from metronome.units import format_duration

MIN_RUNNING_SPM = 140.0
MAX_RUNNING_SPM = 240.0
MIN_BASELINE_SPM = 120.0  # a running baseline below this is strides/min or walking
OUTLIER_MAD_K = 3.0
OUTLIER_FLOOR_SPM = 6.0
MAX_STRIDE_S = 2.0  # two steps slower than 60 spm: standing, not running
MIN_RELIABLE_RECORDS = 30
MIN_RELIABLE_DURATION_S = 120.0
RUN_SPREAD_WARN_SPM = 8.0

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

METHOD = (
    "running, moving records only (speed > 0, or stride time <= 2 s for step times); "
    "walking below {min_running_spm:g} spm and outliers beyond max(3*1.4826*MAD, 6 spm) of the "
    "median excluded; run baseline = mean of kept records; runs combined with equal weight"
)


class BaselineError(ValueError):
    """No usable running cadence in the input."""


@dataclass(frozen=True)
class RunBaseline:
    """Cadence figures of one run (steps per minute)."""

    source: str
    sport: str
    baseline_spm: float
    median_spm: float
    moving_mean_spm: float
    moving_median_spm: float
    n_records: int
    n_no_cadence: int
    n_stopped: int
    n_walking: int
    n_outliers: int
    n_kept: int
    duration_s: float
    kept_duration_s: float
    started_at: str | None = None
    uncertain: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite_or_nan(values: ArrayLike | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    out = np.asarray(values, dtype=float).reshape(-1)
    if out.size != n:
        raise ValueError(f"expected {n} values, got {out.size}")
    return out


def cadence_from_step_times(step_times_s: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Per-step cadence from step times, using the stride (two steps) around each step.

    Parameters
    ----------
    step_times_s : array_like, shape (n,)
        Footfall times in seconds, sorted.

    Returns
    -------
    time_s, cadence_spm : ndarray, shape (max(n - 2, 0),)
        Time of each step and ``120 / (t[i + 2] - t[i])`` in steps per minute. Strides longer
        than ``MAX_STRIDE_S`` are pauses and get NaN (no cadence).
    """
    t = np.asarray(step_times_s, dtype=float).reshape(-1)
    if t.size and (not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0)):
        raise ValueError("step times must be finite and sorted (seconds)")
    if t.size < 3:
        return np.empty(0), np.empty(0)
    stride_s = t[2:] - t[:-2]
    with np.errstate(divide="ignore"):
        spm = np.where((stride_s > 0) & (stride_s <= MAX_STRIDE_S), 120.0 / np.maximum(stride_s, 1e-9), np.nan)
    return t[:-2].copy(), spm


def run_baseline(
    cadence_spm: ArrayLike,
    *,
    time_s: ArrayLike | None = None,
    speed_m_s: ArrayLike | None = None,
    source: str = "",
    sport: str = "running",
    started_at: str | None = None,
    min_running_spm: float = MIN_RUNNING_SPM,
) -> RunBaseline:
    """Filter one run's cadence records and compute its baseline (method in the module doc).

    Parameters
    ----------
    cadence_spm : array_like, shape (n,)
        Cadence per record in steps per minute; NaN where the record has none.
    time_s : array_like, shape (n,), optional
        Record times in seconds (for durations). Without it, durations are 0.
    speed_m_s : array_like, shape (n,), optional
        Speed per record in m/s; NaN where unknown. Records with speed 0 are pauses. When no
        record has a speed above 0 (none recorded, or a treadmill run logged at 0 m/s), the
        moving test is skipped (step-time sources mark pauses as NaN cadence instead).
    min_running_spm : float > 0
        Records below this are walking.

    Returns
    -------
    RunBaseline

    Raises
    ------
    BaselineError
        When no running record is left.
    """
    spm = np.asarray(cadence_spm, dtype=float).reshape(-1)
    n = spm.size
    t = _finite_or_nan(time_s, n)
    speed = _finite_or_nan(speed_m_s, n)
    if not 0 < min_running_spm < MAX_RUNNING_SPM:
        raise ValueError(f"min_running_spm {min_running_spm!r} must lie in 0-{MAX_RUNNING_SPM:g} spm")
    has_cad = np.isfinite(spm)
    notes: list[str] = []
    if np.any(np.isfinite(speed) & (speed > 0)):
        moving = np.isfinite(speed) & (speed > 0)
    else:
        moving = np.ones(n, dtype=bool)
        if np.any(np.isfinite(speed)):
            notes.append("speed is 0 throughout (treadmill without speed?): pauses not detected from speed")
    moving_rec = has_cad & moving
    stopped = has_cad & ~moving
    walking = moving_rec & (spm < min_running_spm)
    running = moving_rec & ~walking & (spm <= MAX_RUNNING_SPM)
    too_fast = moving_rec & (spm > MAX_RUNNING_SPM)
    if not np.any(running):
        what = "no cadence records" if not np.any(has_cad) else "no running records"
        raise BaselineError(
            f"{source or 'run'}: {what} ({int(has_cad.sum())} with cadence, {int(moving_rec.sum())} moving, "
            f"{int(walking.sum())} below {min_running_spm:g} spm, {int(too_fast.sum())} above "
            f"{MAX_RUNNING_SPM:g} spm)"
        )
    med = float(np.median(spm[running]))
    mad = float(np.median(np.abs(spm[running] - med)))
    half_width = max(OUTLIER_MAD_K * 1.4826 * mad, OUTLIER_FLOOR_SPM)
    outlier = running & (np.abs(spm - med) > half_width)
    kept = running & ~outlier
    kept_vals = spm[kept]
    duration_s = float(np.nanmax(t) - np.nanmin(t)) if np.any(np.isfinite(t)) else 0.0
    kept_duration_s = _kept_duration_s(t, kept)
    uncertain = int(kept.sum()) < MIN_RELIABLE_RECORDS or kept_duration_s < MIN_RELIABLE_DURATION_S
    if uncertain:
        notes.append(
            f"uncertain: only {int(kept.sum())} records / {kept_duration_s:.0f} s of running kept "
            f"(want >= {MIN_RELIABLE_RECORDS} and >= {MIN_RELIABLE_DURATION_S:.0f} s)"
        )
    moving_vals = spm[moving_rec]
    return RunBaseline(
        source=source,
        sport=sport,
        baseline_spm=float(np.mean(kept_vals)),
        median_spm=float(np.median(kept_vals)),
        moving_mean_spm=float(np.mean(moving_vals)),
        moving_median_spm=float(np.median(moving_vals)),
        n_records=int(n),
        n_no_cadence=int((~has_cad).sum()),
        n_stopped=int(stopped.sum()),
        n_walking=int(walking.sum()),
        n_outliers=int(outlier.sum() + too_fast.sum()),
        n_kept=int(kept.sum()),
        duration_s=duration_s,
        kept_duration_s=kept_duration_s,
        started_at=started_at,
        uncertain=bool(uncertain),
        notes=notes,
    )


def _kept_duration_s(t: np.ndarray, kept: np.ndarray) -> float:
    """Time covered by kept records: each record owns the gap to the next one (capped at 10 s)."""
    if not np.all(np.isfinite(t)) or t.size < 2:
        return 0.0
    gaps = np.minimum(np.diff(t), 10.0)
    gaps = np.append(gaps, np.median(gaps) if gaps.size else 0.0)
    return float(np.sum(gaps[kept]))


def combine_runs(runs: Sequence[RunBaseline], *, min_running_spm: float = MIN_RUNNING_SPM) -> dict[str, Any]:
    """Combine per-run baselines into one (equal weight per run).

    Returns
    -------
    dict
        ``{"baseline_spm", "n_runs", "spread_spm", "method", "uncertain", "notes", "runs"}``;
        ``runs`` holds each run's figures as a dict.
    """
    if not runs:
        raise BaselineError("no runs to combine")
    values = np.array([r.baseline_spm for r in runs])
    spread_spm = float(values.max() - values.min())
    notes: list[str] = []
    if len(runs) == 1:
        notes.append("one run: the advice is two or three easy runs")
    if spread_spm > RUN_SPREAD_WARN_SPM:
        notes.append(f"runs differ by {spread_spm:.1f} spm: were they all at easy pace?")
    return {
        "baseline_spm": round(float(values.mean()), 2),
        "n_runs": len(runs),
        "spread_spm": round(spread_spm, 2),
        "method": METHOD.format(min_running_spm=min_running_spm),
        "uncertain": any(r.uncertain for r in runs),
        "notes": notes,
        "runs": [r.as_dict() for r in runs],
    }


# --- Target and progression ------------------------------------------------------------------


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
        from datetime import datetime

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


def _weighted_cadence(intervals: list[dict[str, Any]]) -> float | None:
    pairs = [(max((iv.get("end_s") or 0.0) - (iv.get("start_s") or 0.0), 0.0), iv["cadence_spm"])
             for iv in intervals if iv.get("cadence_spm") is not None]
    total = sum(w for w, _ in pairs)
    if not pairs:
        return None
    return sum(w * v for w, v in pairs) / total if total > 0 else sum(v for _, v in pairs) / len(pairs)


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
    cadence = _weighted_cadence(on)
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


def holds_target(sessions: Iterable[dict[str, Any]], target_spm: float, *, tolerance_spm: float = 1.0) -> dict[str, Any]:
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
    dict
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
    pains = [_pain(s) for s in kept]
    pains = [p for p in pains if p is not None]
    if pains:
        if max(pains[-2:]) >= 5:
            reasons.append(f"pain {max(pains[-2:]):.0f}/10")
        if len(pains) >= 2 and pains[-1] > float(np.mean(pains[:-1])):
            reasons.append(f"pain rising ({pains[-1]:.0f} after {float(np.mean(pains[:-1])):.1f})")
    return {"holds": not reasons, "n_sessions": len(kept), "reasons": reasons, "rule": HOLD_RULE,
            "counted": counted, "not_counted": not_counted}


def _pain(session: dict[str, Any]) -> float | None:
    values = [session.get(k) for k in ("pain_during", "pain_next_day")]
    values = [float(v) for v in values if v is not None]
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


# --- The 6-8 week program ---------------------------------------------------------------------

SESSION_KINDS = ("intervals", "strides", "drills")
SESSIONS_PER_WEEK = 2
SESSION_DAY_OFFSETS = (1, 4)  # Tuesday and Friday when the plan starts on a Monday
WEEKS_PER_TARGET = 3  # hold a target ~3 weeks before the plan proposes the next
WARM_UP_S = 300.0
COOL_DOWN_S = 300.0


def _seg(label: str, duration_s: float, spm: float, sound: bool = True) -> dict[str, Any]:
    return {"label": label, "duration_s": float(duration_s), "spm": float(spm), "sound": sound}


def session_segments(kind: str, *, baseline_spm: float, target_spm: float) -> list[dict[str, Any]]:
    """The segments of one ~20 min cadence session (warm-up and cool-down included).

    Parameters
    ----------
    kind : {"intervals", "strides", "drills"}
    baseline_spm, target_spm : float
        Easy-pace baseline and the session's target, steps per minute.

    Returns
    -------
    list of dict
        ``label``, ``duration_s``, ``spm`` and ``sound`` per segment, in order; a group is a dict
        with ``times`` and ``segments``. Nothing asks for more than +10 % over baseline.
    """
    cap = math.floor(baseline_spm * TARGET_HIGH_RATIO)
    target = min(float(target_spm), cap)
    easy = float(round(baseline_spm))
    warm = _seg("warm-up (easy, no ticks)", WARM_UP_S, easy, sound=False)
    cool = _seg("cool-down (easy, no ticks)", COOL_DOWN_S, easy, sound=False)
    if kind == "intervals":  # 1 min at target, then 3 x (2 min on, 1 min off): 10 min
        main = [
            _seg("settle at target", 60.0, target),
            {"label": "interval", "times": 3, "segments": [_seg("on", 120.0, target),
                                                           _seg("off (hold it)", 60.0, target, sound=False)]},
        ]
    elif kind == "strides":  # 4 x (20 s quick strides, 2 min easy), then 40 s at target: 10 min
        stride = float(min(round(target * 1.02), cap))
        main = [
            {"label": "stride", "times": 4, "segments": [_seg("stride", 20.0, stride),
                                                         _seg("easy jog", 120.0, easy, sound=False)]},
            _seg("settle at target", 40.0, target),
        ]
    elif kind == "drills":  # 6 x (30 s quick-feet drill on the tick, 1 min easy), 1 min on: 10 min
        main = [
            {"label": "drill", "times": 6, "segments": [_seg("quick feet / A-skips", 30.0, target),
                                                        _seg("easy", 60.0, easy, sound=False)]},
            _seg("run at target", 60.0, target),
        ]
    else:
        raise ValueError(f"unknown session kind {kind!r}; kinds are {', '.join(SESSION_KINDS)}")
    return [warm, *main, cool]


def segments_duration_s(segments: list[dict[str, Any]]) -> float:
    total = 0.0
    for s in segments:
        total += s["times"] * segments_duration_s(s["segments"]) if "times" in s else s["duration_s"]
    return total


def build_program(
    baseline_spm: float,
    *,
    weeks: int,
    start: Any,
    current_target_spm: float | None = None,
    holds: bool = False,
) -> list[dict[str, Any]]:
    """A 6-8 week program of two ~20 min cadence sessions a week.

    The first target is ``next_target_spm(baseline, current, holds)`` (the history decides
    whether it moves). Later targets are *proposals*: +2.5 % of baseline every
    ``WEEKS_PER_TARGET`` weeks, to be taken only when ``cadence target`` confirms the runner
    holds the current one; never above +10 %. Blocks cycle intervals -> strides -> drills.

    Parameters
    ----------
    start : datetime.date
        Monday (or any day) the program starts.

    Returns
    -------
    list of dict
        Per session: ``week`` (1-based), ``n`` (1-based session number), ``date`` (ISO),
        ``kind``, ``target_spm``, ``provisional`` (bool), ``duration_s``, ``segments``.
    """
    from datetime import timedelta

    if not 6 <= weeks <= 8:
        raise ValueError(f"a program lasts 6-8 weeks, got {weeks}")
    first = next_target_spm(baseline_spm, current_target_spm, holds)
    out = []
    target = first
    for week in range(1, weeks + 1):
        if week > 1 and (week - 1) % WEEKS_PER_TARGET == 0:
            target = next_target_spm(baseline_spm, target, holds=True)
        for k in range(SESSIONS_PER_WEEK):
            n = (week - 1) * SESSIONS_PER_WEEK + k + 1
            kind = SESSION_KINDS[(n - 1) % len(SESSION_KINDS)]
            segs = session_segments(kind, baseline_spm=baseline_spm, target_spm=target)
            out.append({
                "week": week,
                "n": n,
                "date": (start + timedelta(days=7 * (week - 1) + SESSION_DAY_OFFSETS[k])).isoformat(),
                "kind": kind,
                "target_spm": target,
                "provisional": target != first,
                "duration_s": segments_duration_s(segs),
                "segments": segs,
            })
    return out
