"""Regenerate the small GPX/TCX fixtures in this folder: python tests/data/activities/make_fixtures.py

Each run has a known make-up (strides/min as the devices write it):
  60 s warm running at 84/85 strides/min alternating (168/170 spm, mean 169 spm), 1 point/s;
  one spike at 100 strides/min (200 spm, an outlier); 10 s walking at 55 strides/min (110 spm);
  5 s standing (same position: speed 0, cadence 0); 30 s running at 84/85 again.
So: 90 running points at mean 169.0 spm, 1 outlier, 10 walking, 5 stopped, 106 points.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
T0 = datetime(2026, 3, 1, 7, 0, 0, tzinfo=timezone.utc)
LAT0, LON0 = 51.5, -0.1
RUN_M_S, WALK_M_S = 3.0, 1.4
M_PER_DEG_LAT = 111_195.0  # at the earth's mean radius


def points() -> list[tuple[datetime, float, float, float, float]]:
    """(time, lat, lon, cadence strides/min, speed m/s) for the run described above."""
    plan = ([(84 + (i % 2), RUN_M_S) for i in range(60)] + [(100, RUN_M_S)]
            + [(55, WALK_M_S)] * 10 + [(0, 0.0)] * 5 + [(84 + (i % 2), RUN_M_S) for i in range(30)])
    out, north_m = [], 0.0
    for k, (cad, speed) in enumerate(plan):
        north_m += speed if k else 0.0
        out.append((T0 + timedelta(seconds=k), LAT0 + north_m / M_PER_DEG_LAT, LON0, float(cad), speed))
    return out


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def gpx(kind: str | None, *, spm: bool = False) -> str:
    typ = f"<type>{kind}</type>" if kind else ""
    pts = "".join(
        f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>10.0</ele><time>{iso(t)}</time><extensions>'
        f"<gpxtpx:TrackPointExtension><gpxtpx:hr>140</gpxtpx:hr><gpxtpx:cad>{cad * 2 if spm else cad:g}</gpxtpx:cad>"
        f"</gpxtpx:TrackPointExtension></extensions></trkpt>\n"
        for t, lat, lon, cad, _ in points()
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="cadence-fixture" '
            'xmlns="http://www.topografix.com/GPX/1/1" '
            'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
            f"<trk><name>fixture</name>{typ}<trkseg>\n{pts}</trkseg></trk></gpx>\n")


def tcx(sport: str) -> str:
    pts, dist = [], 0.0
    for k, (t, lat, lon, cad, speed) in enumerate(points()):
        dist += speed if k else 0.0
        pts.append(
            f"<Trackpoint><Time>{iso(t)}</Time><Position><LatitudeDegrees>{lat:.7f}</LatitudeDegrees>"
            f"<LongitudeDegrees>{lon:.7f}</LongitudeDegrees></Position><DistanceMeters>{dist:.1f}</DistanceMeters>"
            f"<Extensions><ns3:TPX><ns3:Speed>{speed:.2f}</ns3:Speed><ns3:RunCadence>{cad:g}</ns3:RunCadence>"
            f"</ns3:TPX></Extensions></Trackpoint>\n"
        )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase '
            'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
            'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">\n'
            f'<Activities><Activity Sport="{sport}"><Id>{iso(T0)}</Id><Lap StartTime="{iso(T0)}">'
            f"<TotalTimeSeconds>105</TotalTimeSeconds><Track>\n{''.join(pts)}</Track></Lap></Activity>"
            "</Activities></TrainingCenterDatabase>\n")


def main() -> None:
    files = {
        "run_garmin.gpx": gpx("running"),
        "run_spm_untyped.gpx": gpx(None, spm=True),
        "ride.gpx": gpx("cycling"),
        "run.tcx": tcx("Running"),
        "bike.tcx": tcx("Biking"),
    }
    files["truncated.gpx"] = files["run_garmin.gpx"][:1500]
    files["truncated.tcx"] = files["run.tcx"][:2000]
    files["bad_cadence.gpx"] = files["run_garmin.gpx"].replace("<gpxtpx:cad>85</gpxtpx:cad>", "<gpxtpx:cad>fast</gpxtpx:cad>", 1)
    files["no_cadence.gpx"] = re.sub(r"<gpxtpx:cad>[^<]*</gpxtpx:cad>", "", files["run_garmin.gpx"])
    files["not_gpx.gpx"] = '<?xml version="1.0"?>\n<html><body>404 Not Found</body></html>\n'
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
