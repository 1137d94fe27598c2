"""Activity files (FIT, GPX, TCX) -> running cadence records in steps per minute.

Only the running part of an activity is returned: for FIT, the records whose timestamp lies in a
running ``session`` (multisport files chain several FIT files; all are read); for TCX, the
``Activity`` elements with ``Sport="Running"``; for GPX, tracks whose ``<type>`` is a running
type (a GPX without a type is assumed to be a run, and says so in ``notes``).

Units. FIT ``cadence`` is strides/min (one foot): spm = 2 × (cadence + fractional_cadence). TCX
``RunCadence`` is strides/min by schema. GPX ``cad`` (Garmin TrackPointExtension) is strides/min
from Garmin and Strava exports; a few phone apps write steps/min there, so GPX/TCX cadences whose
median over moving points is above ``SPM_NOT_STRIDES_ABOVE`` (120) are read as steps/min.

FIT times. A FIT ``date_time`` below ``FIT_SYSTEM_TIME_BELOW`` (0x10000000) is not a date but
seconds since the device powered on (a device whose clock was never set); fitdecode leaves those
as an int. Such a run is read on its own relative clock: ``started_at`` is None and a note says
that the date is unknown.

Every failure (unreadable, truncated, malformed, wrong sport, no cadence) raises
``ActivityError`` (a ``ValueError``) with a one-line message that names the file.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ACTIVITY_SUFFIXES = (".fit", ".gpx", ".tcx")
SPM_NOT_STRIDES_ABOVE = 120.0
RUNNING_TYPES = {"running", "run", "trail_running", "treadmill_running", "street_running", "track_running",
                 "indoor_running", "virtual_running", "9"}  # "9": Strava's code for Run
EARTH_RADIUS_M = 6371008.8
FIT_SYSTEM_TIME_BELOW = 0x10000000  # FIT date_time values below this are seconds since power-on


class ActivityError(ValueError):
    """An activity file that cannot give a running cadence."""


@dataclass(frozen=True)
class Activity:
    """The running records of one activity file.

    Attributes
    ----------
    source : str
        File name.
    fmt : {"fit", "gpx", "tcx"}
    sport : str
        Sport of the part kept (always a running sport).
    started_at : datetime or None
        UTC time of the first running record; None when the file has no dates (a FIT file on
        the device's power-on clock).
    time_s : ndarray, float64, shape (n,)
        Record times in seconds from ``started_at``.
    cadence_spm : ndarray, float64, shape (n,)
        Cadence in steps per minute; NaN where the record has none.
    speed_m_s : ndarray, float64, shape (n,)
        Speed in m/s; NaN where unknown.
    session_avg_spm : float or None
        The device's own session average (FIT only), for comparison.
    notes : list of str
        What was skipped or assumed.
    """

    source: str
    fmt: str
    sport: str
    started_at: datetime | None
    time_s: NDArray[np.float64]
    cadence_spm: NDArray[np.float64]
    speed_m_s: NDArray[np.float64]
    session_avg_spm: float | None = None
    notes: list[str] = field(default_factory=list)


def is_activity_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in ACTIVITY_SUFFIXES


def read_activity(path: str | Path) -> Activity:
    """Read the running part of a FIT, GPX or TCX file (by extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ACTIVITY_SUFFIXES:
        raise ActivityError(f"{path.name}: not an activity file (want .fit, .gpx or .tcx)")
    if not path.is_file():
        raise ActivityError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ActivityError(f"{path.name}: file is empty")
    if suffix == ".fit":
        return read_fit(path)
    return read_gpx(path) if suffix == ".gpx" else read_tcx(path)


# --- FIT -------------------------------------------------------------------------------------


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
    frac = record.get("fractional_cadence")
    return 2.0 * (float(cad) + (float(frac) if frac is not None else 0.0))


def _fit_speed(record: dict[str, Any]) -> float:
    speed = record.get("enhanced_speed")
    if speed is None:
        speed = record.get("speed")
    return math.nan if speed is None else float(speed)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=timezone.utc)


def _fit_time(value: Any) -> datetime | float | None:
    """A decoded FIT date_time: an aware UTC datetime, or seconds since the device powered on
    (a float) for values below 0x10000000, which fitdecode leaves as int; None if neither."""
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < FIT_SYSTEM_TIME_BELOW:
        return float(value)
    return None


def read_fit(path: str | Path) -> Activity:
    """The running records of a FIT file (all running sessions of a multisport chain)."""
    path = Path(path)
    records, sessions, sports, n_headers = _fit_messages(path)
    notes: list[str] = []
    if n_headers > 1:
        notes.append(f"{n_headers} chained FIT files")
    # a window is (start, end) in one clock: datetimes, or seconds since power-on
    windows: list[tuple[Any, Any]] = []
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
        end = start + (timedelta(seconds=float(elapsed)) if isinstance(start, datetime) else float(elapsed))
        windows.append((start, end))
        cad = s.get("avg_running_cadence")
        if cad is None:
            cad = s.get("avg_cadence")
        if cad is not None:
            avg_spm.append(2.0 * (float(cad) + float(s.get("avg_fractional_cadence") or 0.0)))
    if not sessions:
        if sports and all(sp == "running" for sp in sports):
            notes.append("no session message; sport message says running: all records used")
            windows = [(datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc))]
        else:
            raise ActivityError(f"{path.name}: FIT file has no session, so its sport is unknown (truncated?)")
    if not windows:
        raise ActivityError(f"{path.name}: not a run (sport: {', '.join(sorted(set(other))) or 'unknown'})")
    if other:
        notes.append(f"skipped non-running sessions: {', '.join(other)}")
    else:
        # Only running sessions: every record is the run. (Session windows can end a second
        # before the last record: total_elapsed_time is not rounded up to the record clock.)
        windows = [(datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc)),
                   (0.0, float(FIT_SYSTEM_TIME_BELOW))]
    kept = []
    for r in records:
        ts = _fit_time(r.get("timestamp"))
        if ts is not None and any(type(lo) is type(ts) and lo <= ts <= hi for lo, hi in windows):
            kept.append((ts, fit_record_spm(r), _fit_speed(r)))
    if not kept:
        raise ActivityError(f"{path.name}: no records in the running session")
    relative = [k for k in kept if not isinstance(k[0], datetime)]
    if relative:
        if len(relative) < len(kept):  # the clock was set mid-run: keep the larger part
            on_dates = [k for k in kept if isinstance(k[0], datetime)]
            notes.append(f"{min(len(relative), len(on_dates))} records on the other clock (dated vs since "
                         "power-on) left out")
            kept = relative if len(relative) > len(on_dates) else on_dates
        if not isinstance(kept[0][0], datetime):
            notes.append("times are seconds since the device powered on (its clock was not set): run date unknown")
    if all(math.isnan(k[1]) for k in kept):
        raise ActivityError(f"{path.name}: the run has no cadence (no footpod or wrist cadence recorded)")
    t0 = kept[0][0]
    dated = isinstance(t0, datetime)
    return Activity(
        source=path.name,
        fmt="fit",
        sport="running",
        started_at=t0 if dated else None,
        time_s=np.array([(k[0] - t0).total_seconds() if dated else k[0] - t0 for k in kept]),
        cadence_spm=np.array([k[1] for k in kept]),
        speed_m_s=np.array([k[2] for k in kept]),
        session_avg_spm=float(np.mean(avg_spm)) if avg_spm else None,
        notes=notes,
    )


# --- GPX and TCX (xml.etree) ------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _descendants(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el.iter() if _local(c.tag) == name]


def _first_text(el: ET.Element, *names: str) -> str | None:
    for c in el.iter():
        if c is not el and _local(c.tag) in names and c.text and c.text.strip():
            return c.text.strip()
    return None


def _parse_xml(path: Path, kind: str) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ActivityError(f"{path.name}: not valid {kind} (truncated or malformed XML: {exc})") from None
    except OSError as exc:
        raise ActivityError(f"cannot read {path}: {exc.strerror or exc}") from None


def _parse_time(text: str | None, path: Path) -> datetime:
    if text is None:
        raise ActivityError(f"{path.name}: track point without a time")
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ActivityError(f"{path.name}: bad time {text!r}") from None
    return _aware(ts).astimezone(timezone.utc)


def _number(text: str | None, path: Path, what: str) -> float:
    if text is None:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise ActivityError(f"{path.name}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ActivityError(f"{path.name}: {what} {text!r} is not finite")
    return value


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(a, 1.0)))


def _speed_from_positions(times: list[datetime], lat: NDArray, lon: NDArray) -> NDArray[np.float64]:
    """Speed of each point from the segment before it (the first point: the one after)."""
    n = len(times)
    speed = np.full(n, np.nan)
    for i in range(1, n):
        dt = (times[i] - times[i - 1]).total_seconds()
        if dt > 0 and np.isfinite(lat[i]) and np.isfinite(lat[i - 1]):
            speed[i] = _haversine_m(lat[i - 1], lon[i - 1], lat[i], lon[i]) / dt
    if n > 1:
        speed[0] = speed[1]
    return speed


def _to_spm(raw_cad: NDArray[np.float64], speed: NDArray[np.float64], notes: list[str]) -> NDArray[np.float64]:
    moving = np.isfinite(raw_cad) & (~np.isfinite(speed) | (speed > 0)) & (raw_cad > 0)
    if np.any(moving) and float(np.median(raw_cad[moving])) > SPM_NOT_STRIDES_ABOVE:
        notes.append(f"cadence median above {SPM_NOT_STRIDES_ABOVE:g}: read as steps/min, not strides/min")
        return raw_cad.copy()
    return 2.0 * raw_cad


def _build(path: Path, fmt: str, sport: str, times: list[datetime], raw_cad: list[float], speed: NDArray,
           notes: list[str]) -> Activity:
    if not times:
        raise ActivityError(f"{path.name}: no track points in the run")
    order = np.argsort(np.array([t.timestamp() for t in times]), kind="stable")
    times = [times[i] for i in order]
    cad = np.array(raw_cad)[order]
    speed = np.asarray(speed, dtype=float)[order]
    if not np.any(np.isfinite(cad)):
        raise ActivityError(f"{path.name}: the run has no cadence values")
    t0 = times[0]
    return Activity(
        source=path.name,
        fmt=fmt,
        sport=sport,
        started_at=t0,
        time_s=np.array([(t - t0).total_seconds() for t in times]),
        cadence_spm=_to_spm(cad, speed, notes),
        speed_m_s=speed,
        notes=notes,
    )


def read_gpx(path: str | Path) -> Activity:
    """The running tracks of a GPX file with cadence extensions (``cad``, e.g. gpxtpx)."""
    path = Path(path)
    root = _parse_xml(path, "GPX")
    if _local(root.tag) != "gpx":
        raise ActivityError(f"{path.name}: not a GPX file (root element <{_local(root.tag)}>)")
    notes: list[str] = []
    tracks = _children(root, "trk")
    if not tracks:
        raise ActivityError(f"{path.name}: GPX has no track")
    kept_types: set[str] = set()
    other: set[str] = set()
    times: list[datetime] = []
    cads: list[float] = []
    speeds: list[float] = []
    for trk in tracks:
        type_el = _children(trk, "type")
        kind = (type_el[0].text or "").strip().lower() if type_el else ""
        if kind and kind not in RUNNING_TYPES:
            other.add(kind)
            continue
        if not kind:
            notes.append("track has no <type>: assumed running")
        kept_types.add(kind or "running")
        for seg in _children(trk, "trkseg"):
            pts = _children(seg, "trkpt")
            seg_times = [_parse_time(_first_text(p, "time"), path) for p in pts]
            lat = np.array([_number(p.get("lat"), path, "latitude") for p in pts])
            lon = np.array([_number(p.get("lon"), path, "longitude") for p in pts])
            ext_speed = np.array([_number(_first_text(p, "speed"), path, "speed") for p in pts])
            pos_speed = _speed_from_positions(seg_times, lat, lon)
            seg_speed = np.where(np.isfinite(ext_speed), ext_speed, pos_speed)
            times.extend(seg_times)
            cads.extend(_number(_first_text(p, "cad", "cadence", "RunCadence"), path, "cadence") for p in pts)
            speeds.extend(seg_speed.tolist())
    if not kept_types:
        raise ActivityError(f"{path.name}: not a run (track type: {', '.join(sorted(other))})")
    if other:
        notes.append(f"skipped non-running tracks: {', '.join(sorted(other))}")
    return _build(path, "gpx", sorted(kept_types)[0], times, cads, np.array(speeds), sorted(set(notes)))


def read_tcx(path: str | Path) -> Activity:
    """The ``Sport="Running"`` activities of a TCX file (cadence from ``RunCadence``)."""
    path = Path(path)
    root = _parse_xml(path, "TCX")
    if _local(root.tag) != "TrainingCenterDatabase":
        raise ActivityError(f"{path.name}: not a TCX file (root element <{_local(root.tag)}>)")
    activities = _descendants(root, "Activity")
    if not activities:
        raise ActivityError(f"{path.name}: TCX has no activity")
    notes: list[str] = []
    other: set[str] = set()
    times: list[datetime] = []
    cads: list[float] = []
    speeds: list[float] = []
    n_running = 0
    for act in activities:
        sport = (act.get("Sport") or "").strip()
        if sport.lower() != "running":
            other.add(sport or "unknown")
            continue
        n_running += 1
        for lap in _children(act, "Lap"):
            for track in _children(lap, "Track"):
                pts = _children(track, "Trackpoint")
                seg_times = [_parse_time(_first_text(p, "Time"), path) for p in pts]
                dist = np.array([_number(_first_text(p, "DistanceMeters"), path, "distance") for p in pts])
                ext_speed = np.array([_number(_first_text(p, "Speed"), path, "speed") for p in pts])
                dist_speed = np.full(len(pts), np.nan)
                for i in range(1, len(pts)):
                    dt = (seg_times[i] - seg_times[i - 1]).total_seconds()
                    if dt > 0 and np.isfinite(dist[i]) and np.isfinite(dist[i - 1]):
                        dist_speed[i] = max(dist[i] - dist[i - 1], 0.0) / dt
                if len(pts) > 1:
                    dist_speed[0] = dist_speed[1]
                times.extend(seg_times)
                speeds.extend(np.where(np.isfinite(ext_speed), ext_speed, dist_speed).tolist())
                for p in pts:
                    text = _first_text(p, "RunCadence")
                    if text is None:
                        cad_el = _children(p, "Cadence")
                        text = cad_el[0].text.strip() if cad_el and cad_el[0].text else None
                    cads.append(_number(text, path, "cadence"))
    if n_running == 0:
        raise ActivityError(f"{path.name}: not a run (sport: {', '.join(sorted(other))})")
    if other:
        notes.append(f"skipped non-running activities: {', '.join(sorted(other))}")
    return _build(path, "tcx", "running", times, cads, np.array(speeds), notes)
