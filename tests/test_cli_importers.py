"""Importers on the real Garmin FIT files (vs an independent fitdecode decode and the figures
in shared/data/README.md) and on the GPX/TCX fixtures in tests/data/activities."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from coach.baseline import run_baseline
from coach.importers import ActivityError, read_activity

FIXTURES = Path(__file__).resolve().parent / "data" / "activities"
FIT = Path(__file__).resolve().parent / "data" / "fit"

# Reference means/medians from shared/data/README.md section 3 (fitdecode 0.11.0, speed > 0).
README_FIGURES = {
    "activity-small-fenix2-run.fit": (2808, 162.19, 166.0),
    "garmin-fenix-5-run.fit": (18, 173.89, 179.5),
    "sample_mulitple_header.fit": (517, 167.04, 167.0),
}


def _direct_decode(path: Path) -> tuple[list[float], list[float], list]:
    """spm and speed of every record with a cadence, and the running sessions, decoded here
    independently of coach.importers."""
    import fitdecode

    spm, speed, times, running = [], [], [], []
    with fitdecode.FitReader(str(path)) as reader:
        for frame in reader:
            if not isinstance(frame, fitdecode.FitDataMessage):
                continue
            if frame.name == "session" and frame.get_value("sport") == "running":
                start = frame.get_value("start_time")
                running.append((start, start + timedelta(seconds=frame.get_value("total_elapsed_time"))))
            if frame.name != "record" or frame.get_value("cadence", fallback=None) is None:
                continue
            frac = frame.get_value("fractional_cadence", fallback=None) or 0.0
            spm.append(2 * (frame.get_value("cadence") + frac))
            v = frame.get_value("enhanced_speed", fallback=None)
            speed.append(frame.get_value("speed", fallback=None) if v is None else v)
            times.append(frame.get_value("timestamp"))
    return spm, speed, [times, running]


@pytest.mark.parametrize("name", sorted(README_FIGURES))
def test_fit_matches_direct_decode_and_readme(real_data: Path, name: str) -> None:
    path = real_data / "fit" / name
    act = read_activity(path)
    run = run_baseline(act.cadence_spm, time_s=act.time_s, speed_m_s=act.speed_m_s, source=act.source)
    spm, speed, (times, running) = _direct_decode(path)
    if name == "sample_mulitple_header.fit":  # running leg only
        keep = [any(lo <= t <= hi for lo, hi in running) for t in times]
    else:
        keep = [True] * len(spm)
    moving = [s for s, v, k in zip(spm, speed, keep) if k and v is not None and v > 0]
    n_ref, mean_ref, median_ref = README_FIGURES[name]
    assert len(moving) == n_ref
    assert run.n_records - run.n_no_cadence - run.n_stopped == n_ref
    np.testing.assert_allclose(run.moving_mean_spm, np.mean(moving), rtol=0, atol=1e-9)
    np.testing.assert_allclose(run.moving_median_spm, np.median(moving), rtol=0, atol=1e-9)
    np.testing.assert_allclose(run.moving_mean_spm, mean_ref, atol=0.005)
    np.testing.assert_allclose(run.moving_median_spm, median_ref, atol=1e-9)
    # The filtered baseline drops walking and outliers: it sits at or above the moving mean and
    # within a few spm of the median of the run.
    assert run.moving_mean_spm - 0.5 <= run.baseline_spm <= run.moving_median_spm + 3.0


def test_fit_multisport_keeps_only_the_run(real_data: Path) -> None:
    # Without the sport filter, swim strokes and bike rpm give the README's meaningless 121.00.
    spm, speed, _ = _direct_decode(real_data / "fit" / "sample_mulitple_header.fit")
    all_moving = [s for s, v in zip(spm, speed) if v is not None and v > 0]
    assert len(all_moving) == 903
    np.testing.assert_allclose(np.mean(all_moving), 121.00, atol=0.005)
    act = read_activity(real_data / "fit" / "sample_mulitple_header.fit")
    assert act.sport == "running"
    assert len(act.time_s) == 517
    assert any("4 chained FIT files" in n for n in act.notes)  # all four headers are read
    assert any("swimming" in n and "cycling" in n for n in act.notes)
    # The run leg lasts 2850.7 s; the whole file 9491 s.
    assert 2840 <= act.time_s[-1] <= 2851
    np.testing.assert_allclose(act.session_avg_spm, 2 * (83 + 0.515625), atol=1e-9)
    assert act.started_at is not None and act.started_at.isoformat().startswith("2018-05-27T09:23:41")


def test_fit_wrong_sport_is_one_line_error(real_data: Path, tmp_path: Path) -> None:
    """The real fenix 2 run with its session's sport byte set to cycling (2) and the file CRC
    recomputed: a valid FIT file of a ride."""
    import fitdecode
    from fitdecode.utils import compute_crc

    src = real_data / "fit" / "activity-small-fenix2-run.fit"
    data = bytearray(src.read_bytes())
    offset = None
    with fitdecode.FitReader(str(src), keep_raw_chunks=True) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "session":
                offset = frame.chunk.offset + 1  # after the record header byte
                for fd in frame.def_mesg.field_defs:
                    if fd.name == "sport":
                        break
                    offset += fd.size
    assert offset is not None and data[offset] == 1  # running
    data[offset] = 2
    data[-2:] = compute_crc(data[:-2]).to_bytes(2, "little")
    ride = tmp_path / "ride.fit"
    ride.write_bytes(bytes(data))
    with pytest.raises(ActivityError, match=r"^ride\.fit: not a run \(sport: cycling\)$"):
        read_activity(ride)


@pytest.mark.parametrize(
    ("cut", "message"),
    [(0.5, "truncated FIT file|corrupt FIT file"), (0.999, "truncated FIT file|corrupt FIT file"),
     (10 / 121839, "not a FIT file|truncated")],
)
def test_fit_truncated_is_one_line_error(real_data: Path, tmp_path: Path, cut: float, message: str) -> None:
    data = (real_data / "fit" / "activity-small-fenix2-run.fit").read_bytes()
    bad = tmp_path / "cut.fit"
    bad.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ActivityError, match=message) as info:
        read_activity(bad)
    assert "\n" not in str(info.value)


def test_fit_corrupt_byte_is_crc_error(real_data: Path, tmp_path: Path) -> None:
    data = bytearray((real_data / "fit" / "activity-small-fenix2-run.fit").read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "flip.fit"
    bad.write_bytes(bytes(data))
    with pytest.raises(ActivityError, match="cut|CRC|malformed|truncated"):
        read_activity(bad)


def test_not_a_fit_file(tmp_path: Path) -> None:
    bad = tmp_path / "notes.fit"
    bad.write_text("this is not a FIT file at all, just some text\n")
    with pytest.raises(ActivityError, match="notes.fit: not a FIT file"):
        read_activity(bad)


@pytest.mark.parametrize("name", ["run_garmin.gpx", "run.tcx", "run_spm_untyped.gpx"])
def test_gpx_tcx_fixture_runs(name: str) -> None:
    act = read_activity(FIXTURES / name)
    assert act.sport == "running"
    assert len(act.time_s) == 106
    run = run_baseline(act.cadence_spm, time_s=act.time_s, speed_m_s=act.speed_m_s, source=act.source)
    # make_fixtures.py: 90 running points alternating 168/170 spm, 1 spike at 200, 10 walking
    # at 110, 5 standing.
    np.testing.assert_allclose(run.baseline_spm, 169.0, atol=1e-9)
    assert (run.n_kept, run.n_outliers, run.n_walking, run.n_stopped) == (90, 1, 10, 5)
    expected_moving = (90 * 169.0 + 200.0 + 10 * 110.0) / 101
    np.testing.assert_allclose(run.moving_mean_spm, expected_moving, atol=1e-9)
    if name == "run_garmin.gpx":  # speed from positions (7-decimal lat): 3 m/s running
        np.testing.assert_allclose(act.speed_m_s[5:60], 3.0, rtol=5e-3)  # 1e-7 deg = 1.1 cm
    if name == "run_spm_untyped.gpx":
        assert any("steps/min" in n for n in act.notes) and any("assumed running" in n for n in act.notes)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ride.gpx", r"ride\.gpx: not a run \(track type: cycling\)"),
        ("bike.tcx", r"bike\.tcx: not a run \(sport: Biking\)"),
        ("truncated.gpx", r"truncated\.gpx: not valid GPX \(truncated or malformed XML"),
        ("truncated.tcx", r"truncated\.tcx: not valid TCX \(truncated or malformed XML"),
        ("bad_cadence.gpx", r"bad_cadence\.gpx: cadence 'fast' is not a number"),
        ("no_cadence.gpx", r"no_cadence\.gpx: the run has no cadence"),
        ("not_gpx.gpx", r"not_gpx\.gpx: not a GPX file \(root element <html>\)"),
    ],
)
def test_bad_activity_files(name: str, message: str) -> None:
    with pytest.raises(ActivityError, match=message) as info:
        read_activity(FIXTURES / name)
    assert "\n" not in str(info.value)


def test_empty_and_missing_and_unknown(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tcx"
    empty.write_bytes(b"")
    with pytest.raises(ActivityError, match="empty.tcx: file is empty"):
        read_activity(empty)
    with pytest.raises(ActivityError, match="no such file"):
        read_activity(tmp_path / "missing.gpx")
    with pytest.raises(ActivityError, match="not an activity file"):
        read_activity(tmp_path / "run.kml")


def test_fit_records_are_strides_doubled(real_data: Path) -> None:
    """fenix 5 has fractional cadence; every spm must be 2 x (cadence + fraction) -> never odd
    halves, and the first record stands (cadence 0, speed 0)."""
    act = read_activity(real_data / "fit" / "garmin-fenix-5-run.fit")
    assert act.cadence_spm[0] == 0.0 and act.speed_m_s[0] == 0.0
    frac = act.cadence_spm / 2 - np.floor(act.cadence_spm / 2)
    assert np.all(np.isclose(frac * 128, np.round(frac * 128), atol=1e-6))
    assert not math.isnan(act.session_avg_spm or math.nan)


def _make_relative_time():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_relative_time", FIT / "make_relative_time.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["garmin-fenix-5-run.fit", "sample_mulitple_header.fit"])
def test_fit_on_the_power_on_clock_reads_like_the_dated_original(name: str) -> None:
    """A device whose clock was never set writes date_times below 0x10000000 (seconds since
    power-on; fitdecode gives ints). The fixture is the real file with its times shifted
    (tests/data/fit/make_relative_time.py, which must reproduce it byte for byte)."""
    import fitdecode

    maker = _make_relative_time()
    relative = FIT / maker.target_name(name)
    assert maker.relative_time_copy((FIT / name).read_bytes()) == relative.read_bytes()
    with fitdecode.FitReader(str(relative), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        starts = [f.get_value("start_time") for f in reader
                  if isinstance(f, fitdecode.FitDataMessage) and f.name == "session"]
    assert starts and all(isinstance(s, int) and 1000 <= s < 0x10000000 for s in starts)

    dated, act = read_activity(FIT / name), read_activity(relative)
    assert act.started_at is None and dated.started_at is not None
    assert any("seconds since the device powered on" in n for n in act.notes)
    np.testing.assert_array_equal(act.time_s, dated.time_s)
    np.testing.assert_array_equal(act.cadence_spm, dated.cadence_spm)
    np.testing.assert_array_equal(act.speed_m_s, dated.speed_m_s)
    assert act.session_avg_spm == dated.session_avg_spm
    if name == "sample_mulitple_header.fit":  # the run leg picked by its relative session window
        assert len(act.time_s) == 517 and any("swimming" in n for n in act.notes)
