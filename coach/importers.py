"""Activity files (FIT, GPX, TCX) -> running cadence records in steps per minute
(:class:`coach.activity.Activity`): FIT in :mod:`coach.fit_file`, GPX and TCX here.

Only the running part of an activity is returned: for FIT, the records whose timestamp lies in a
running ``session``; for TCX, the ``Activity`` elements with ``Sport="Running"``; for GPX, tracks
whose ``<type>`` is a running type (a GPX without a type is assumed to be a run, and says so in
``notes``).

Units. FIT ``cadence`` is strides/min (one foot): spm = 2 × (cadence + fractional_cadence). TCX
``RunCadence`` is strides/min by schema. GPX ``cad`` (Garmin TrackPointExtension) is strides/min
from Garmin and Strava exports; a few phone apps write steps/min there, so GPX/TCX cadences whose
median over moving points is above ``SPM_NOT_STRIDES_ABOVE`` (120) are read as steps/min.

Every failure (unreadable, truncated, malformed, wrong sport, no cadence) raises
``ActivityError`` (a ``ValueError``) with a one-line message that names the file.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from coach.activity import Activity, ActivityError, aware_utc
from coach.fit_file import read_fit

__all__ = ["ACTIVITY_SUFFIXES", "Activity", "ActivityError", "is_activity_path", "read_activity", "read_fit",
           "read_gpx", "read_tcx"]

ACTIVITY_SUFFIXES = (".fit", ".gpx", ".tcx")
SPM_NOT_STRIDES_ABOVE = 120.0
RUNNING_TYPES = {"running", "run", "trail_running", "treadmill_running", "street_running", "track_running",
                 "indoor_running", "virtual_running", "9"}  # "9": Strava's code for Run
EARTH_RADIUS_M = 6371008.8


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
    return aware_utc(ts).astimezone(timezone.utc)


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


def _speed_from_positions(times: list[datetime], lat: NDArray[np.float64],
                          lon: NDArray[np.float64]) -> NDArray[np.float64]:
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
        spm: NDArray[np.float64] = raw_cad.copy()
    else:
        spm = 2.0 * raw_cad
    return spm


def _build(path: Path, fmt: str, sport: str, times: list[datetime], raw_cad: list[float], speed: NDArray[np.float64],
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
