"""FIT activity files -> running cadence records (:class:`coach.activity.Activity`).

Only the running part is returned: the records whose timestamp lies in a running ``session``
(multisport files chain several FIT files; all are read). FIT ``cadence`` is strides/min (one
foot): spm = 2 × (cadence + fractional_cadence).

FIT times. A FIT ``date_time`` below ``FIT_SYSTEM_TIME_BELOW`` (0x10000000) is not a date but
seconds since the device powered on (a device whose clock was never set); fitdecode leaves those
as an int. Such a run is read on its own relative clock: ``started_at`` is None and a note says
that the date is unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.activity import Activity, ActivityError, aware_utc

FIT_SYSTEM_TIME_BELOW = 0x10000000  # FIT date_time values below this are seconds since power-on
_ALL_DATES = (datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc))
_ALL_POWER_ON = (0.0, float(FIT_SYSTEM_TIME_BELOW))


def _fit_messages(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], int]:
    """Decode all records and sessions of every chained FIT file (CRC checked)."""
    try:
        import fitdecode
    except ImportError:  # pragma: no cover - fitdecode is a core dependency
        raise ActivityError("reading FIT files needs fitdecode: pip install fitdecode") from None
    records: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    sports: list[str] = []
    n_headers = 0
    try:
        with fitdecode.FitReader(
            str(path), check_crc=fitdecode.CrcCheck.RAISE, error_handling=fitdecode.ErrorHandling.RAISE
        ) as reader:
            for frame in reader:
                if isinstance(frame, fitdecode.FitHeader):
                    n_headers += 1
                elif isinstance(frame, fitdecode.FitDataMessage):
                    if frame.name == "record":
                        records.append({f.name: f.value for f in frame.fields})
                    elif frame.name == "session":
                        sessions.append({f.name: f.value for f in frame.fields})
                    elif frame.name == "sport":
                        sport = frame.get_value("sport", fallback=None)
                        if sport is not None:
                            sports.append(str(sport))
    except fitdecode.FitEOFError:
        raise ActivityError(f"{path.name}: truncated FIT file (ends inside a message)") from None
    except fitdecode.FitCRCError:
        raise ActivityError(f"{path.name}: corrupt FIT file (CRC mismatch)") from None
    except fitdecode.FitHeaderError as exc:
        raise ActivityError(f"{path.name}: not a FIT file ({_first_line(exc)})") from None
    except (fitdecode.FitError, KeyError, IndexError, TypeError, ValueError, OverflowError) as exc:
        raise ActivityError(f"{path.name}: malformed FIT file ({_first_line(exc)})") from None
    return records, sessions, sports, n_headers


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160] or type(exc).__name__


def fit_record_spm(record: dict[str, Any]) -> float:
    """spm of one decoded FIT record: 2 × (cadence + fractional_cadence); NaN without cadence."""
    cad = record.get("cadence")
    if cad is None:
        return math.nan
    return _strides_to_spm(cad, record.get("fractional_cadence"))


def _strides_to_spm(cadence: Any, fractional_cadence: Any) -> float:
    """FIT cadence (strides/min, one foot) and its fraction -> steps/min (both feet)."""
    return 2.0 * (float(cadence) + (float(fractional_cadence) if fractional_cadence else 0.0))


def _fit_speed(record: dict[str, Any]) -> float:
    speed = record.get("enhanced_speed")
    if speed is None:
        speed = record.get("speed")
    return math.nan if speed is None else float(speed)


def _fit_time(value: Any) -> datetime | float | None:
    """A decoded FIT date_time: an aware UTC datetime, or seconds since the device powered on
    (a float) for values below 0x10000000, which fitdecode leaves as int; None if neither."""
    if isinstance(value, datetime):
        return aware_utc(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < FIT_SYSTEM_TIME_BELOW:
        return float(value)
    return None


@dataclass
class _Windows:
    """The running sessions' (start, end) in each of the two FIT clocks."""

    dated: list[tuple[datetime, datetime]] = field(default_factory=list)
    power_on: list[tuple[float, float]] = field(default_factory=list)  # seconds since power-on

    def holds(self, ts: datetime | float) -> bool:
        if isinstance(ts, datetime):
            return any(lo <= ts <= hi for lo, hi in self.dated)
        return any(lo <= ts <= hi for lo, hi in self.power_on)


@dataclass(frozen=True)
class _Run:
    """The kept records on one clock."""

    started_at: datetime | None  # None: seconds since power-on, date unknown
    time_s: NDArray[np.float64]
    cadence_spm: NDArray[np.float64]
    speed_m_s: NDArray[np.float64]


def read_fit(path: str | Path) -> Activity:
    """The running records of a FIT file (all running sessions of a multisport chain)."""
    path = Path(path)
    records, sessions, sports, n_headers = _fit_messages(path)
    notes: list[str] = []
    if n_headers > 1:
        notes.append(f"{n_headers} chained FIT files")
    windows, avg_spm = _running_windows(sessions, sports, path, notes)
    run = _records_on_one_clock(records, windows, path, notes)
    if np.all(np.isnan(run.cadence_spm)):
        raise ActivityError(f"{path.name}: the run has no cadence (no footpod or wrist cadence recorded)")
    return Activity(
        source=path.name,
        fmt="fit",
        sport="running",
        started_at=run.started_at,
        time_s=run.time_s,
        cadence_spm=run.cadence_spm,
        speed_m_s=run.speed_m_s,
        session_avg_spm=float(np.mean(avg_spm)) if avg_spm else None,
        notes=notes,
    )


def _running_windows(sessions: list[dict[str, Any]], sports: list[str], path: Path,
                     notes: list[str]) -> tuple[_Windows, list[float]]:
    """Where the run is (every record unless other sports' sessions must be left out) and the
    device's own average cadence of each running session (spm)."""
    windows = _Windows()
    avg_spm: list[float] = []
    other: list[str] = []
    for s in sessions:
        sport = str(s.get("sport"))
        start = _fit_time(s.get("start_time"))
        elapsed = s.get("total_elapsed_time")
        if sport != "running":
            other.append(sport)
            continue
        if start is None or elapsed is None:
            raise ActivityError(f"{path.name}: running session without start time or duration")
        if isinstance(start, datetime):
            windows.dated.append((start, start + timedelta(seconds=float(elapsed))))
        else:
            windows.power_on.append((start, start + float(elapsed)))
        cad = s.get("avg_running_cadence")
        if cad is None:
            cad = s.get("avg_cadence")
        if cad is not None:
            avg_spm.append(_strides_to_spm(cad, s.get("avg_fractional_cadence")))
    if not sessions:
        if not (sports and all(sp == "running" for sp in sports)):
            raise ActivityError(f"{path.name}: FIT file has no session, so its sport is unknown (truncated?)")
        notes.append("no session message; sport message says running: all records used")
    elif not (windows.dated or windows.power_on):
        raise ActivityError(f"{path.name}: not a run (sport: {', '.join(sorted(set(other))) or 'unknown'})")
    if other:
        notes.append(f"skipped non-running sessions: {', '.join(other)}")
        return windows, avg_spm
    # Only running sessions: every record is the run. (Session windows can end a second
    # before the last record: total_elapsed_time is not rounded up to the record clock.)
    return _Windows([_ALL_DATES], [_ALL_POWER_ON]), avg_spm


def _records_on_one_clock(records: list[dict[str, Any]], windows: _Windows, path: Path,
                          notes: list[str]) -> _Run:
    """The records in the running windows, on one clock: when the device's clock was set
    mid-run, the larger part (dated or since power-on; dated on a tie)."""
    dated: list[tuple[datetime, float, float]] = []
    power_on: list[tuple[float, float, float]] = []
    for r in records:
        ts = _fit_time(r.get("timestamp"))
        if ts is None or not windows.holds(ts):
            continue
        if isinstance(ts, datetime):
            dated.append((ts, fit_record_spm(r), _fit_speed(r)))
        else:
            power_on.append((ts, fit_record_spm(r), _fit_speed(r)))
    if not (dated or power_on):
        raise ActivityError(f"{path.name}: no records in the running session")
    if dated and power_on:
        notes.append(f"{min(len(power_on), len(dated))} records on the other clock (dated vs since "
                     "power-on) left out")
    if len(power_on) > len(dated):
        notes.append("times are seconds since the device powered on (its clock was not set): run date unknown")
        t0_s = power_on[0][0]
        return _Run(None, np.array([t - t0_s for t, _, _ in power_on]),
                    np.array([spm for _, spm, _ in power_on]), np.array([v for _, _, v in power_on]))
    t0 = dated[0][0]
    return _Run(t0, np.array([(t - t0).total_seconds() for t, _, _ in dated]),
                np.array([spm for _, spm, _ in dated]), np.array([v for _, _, v in dated]))
