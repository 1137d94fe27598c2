"""Reading accelerometer CSVs: Oxford, phyphox and named-column layouts, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stepdetect.accel_io import STANDARD_GRAVITY_M_S2, read_accel_csv, read_oxford_ground_truth
from stepdetect.validate import ParameterError

FIXTURES = Path(__file__).resolve().parent / "data" / "accel"
# all fixtures hold the same 5 s excerpt (tests/data/accel/make_fixtures.py)
EXCERPT_N_SAMPLES = 501
EXCERPT_ORIGIN_NS = 376184715063


@pytest.fixture(scope="module")
def excerpt():
    return read_accel_csv(FIXTURES / "oxford_excerpt.csv")


def test_oxford_excerpt_layout(excerpt) -> None:
    assert excerpt.fmt == "oxford"
    assert excerpt.xyz.shape == (EXCERPT_N_SAMPLES, 3)
    assert excerpt.time_s[0] == 0.0
    assert excerpt.time_origin_ns == EXCERPT_ORIGIN_NS
    # second row of the file: 376194710427 ns, x,y,z = -0.4201824,5.804742,8.301894
    np.testing.assert_allclose(excerpt.time_s[1], 9.995364e-3, atol=1e-12)
    np.testing.assert_allclose(excerpt.xyz[1], [-0.4201824, 5.804742, 8.301894], atol=1e-9)
    assert np.all(np.diff(excerpt.time_s) > 0)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("phyphox_with_g_comma.csv", "phyphox"),
        ("phyphox_with_g_tab.csv", "phyphox"),
        ("generic_ms_g.csv", "generic"),
        ("generic_unitless_ns.csv", "generic"),
    ],
)
def test_other_layouts_give_the_same_samples(excerpt, name: str, fmt: str) -> None:
    rec = read_accel_csv(FIXTURES / name)
    assert rec.fmt == fmt
    assert rec.time_s[0] == 0.0
    # ms with 3 decimals -> 1 us; g with 7 decimals -> ~1e-6 m/s^2
    np.testing.assert_allclose(rec.time_s, excerpt.time_s, atol=1e-6)
    np.testing.assert_allclose(rec.xyz, excerpt.xyz, atol=1e-5 * STANDARD_GRAVITY_M_S2)


def test_phyphox_linear_acceleration_semicolon_decimal_comma(excerpt) -> None:
    rec = read_accel_csv(FIXTURES / "phyphox_linear_semicolon.csv")
    assert rec.fmt == "phyphox"
    np.testing.assert_allclose(rec.time_s, excerpt.time_s, atol=1e-9)
    # the fixture is the excerpt minus its mean vector (gravity removed)
    np.testing.assert_allclose(rec.xyz, excerpt.xyz - excerpt.xyz.mean(axis=0), atol=1e-6)


def test_unitless_ns_keeps_the_origin() -> None:
    assert read_accel_csv(FIXTURES / "generic_unitless_ns.csv").time_origin_ns == EXCERPT_ORIGIN_NS


@pytest.mark.parametrize(
    ("header", "scale_s"),
    [("time_s", 1.0), ("Timestamp (ms)", 1e-3), ("t (ns)", 1e-9), ("timestamp", 1e-3), ("seconds_elapsed", 1.0), ("time [us]", 1e-6)],
)
def test_time_units_from_header_or_median_step(tmp_path: Path, header: str, scale_s: float) -> None:
    # 50 Hz: 0.02 s per sample, written in the header's unit ("timestamp" alone: 20 -> ms)
    rows = [f"{header},ax,ay,az"] + [f"{k * 0.02 / scale_s:.9g},0,0,9.81" for k in range(20)]
    path = tmp_path / "a.csv"
    path.write_text("\n".join(rows))
    rec = read_accel_csv(path)
    np.testing.assert_allclose(rec.time_s, np.arange(20) * 0.02, atol=1e-9)
    np.testing.assert_allclose(rec.xyz[:, 2], 9.81)


def test_oxford_ground_truth_matches_published_step_counts(shared_data: Path) -> None:
    data = shared_data / "oxford-step" / "optimisation"
    published = {}
    for line in (data / "stats.csv").read_text().splitlines()[1:]:
        cells = [c.strip() for c in line.split(",")]
        published[cells[0]] = int(cells[6])
    recordings = sorted(p for p in (data / "data").iterdir() if p.is_dir())
    assert len(recordings) == 12
    for rec_dir in recordings:
        origin_ns = int((rec_dir / "accelerometer.csv").read_text(encoding="ascii")[:40].split(",")[0])
        steps_s = read_oxford_ground_truth(rec_dir / "stepcounter.csv", time_origin_ns=origin_ns)
        assert steps_s.size == published[rec_dir.name], rec_dir.name
        assert np.all(np.diff(steps_s) > 0)
        # on the accelerometer's axis: the walk starts after the first sample, within a minute
        assert 0 < steps_s[0] < 60, rec_dir.name


def test_oxford_real_recording_reads_every_row(shared_data: Path) -> None:
    path = shared_data / "oxford-step" / "optimisation" / "data" / "Samsung_Carmelo_Hard_Armband_1" / "accelerometer.csv"
    rec = read_accel_csv(path)
    n_lines = len(path.read_text().splitlines())
    assert rec.fmt == "oxford"
    assert rec.xyz.shape == (n_lines, 3)
    # irregular ~220 Hz stream lasting 154 s (data README: 153 s)
    np.testing.assert_allclose(rec.time_s[-1], 154.09, atol=0.01)
    np.testing.assert_allclose(np.median(np.linalg.norm(rec.xyz, axis=1)), 9.8, atol=0.5)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("time_s,x,y,z\n" + "0.0,1,2,3\n" * 3, "only 3 samples"),
        ("time_s,x,y,z\n" + "".join(f"{k * 0.01},1,2,oops\n" for k in range(12)), "non-numeric acceleration value 'oops'"),
        ("time_s,x,y,z\n" + "".join(f"{(k * 7) % 12 * 0.01},1,2,3\n" for k in range(12)), "not sorted"),
        ("time_s,x,y\n" + "".join(f"{k * 0.01},1,2\n" for k in range(12)), "no z acceleration column"),
        ("foo,x,y,z\n" + "".join(f"{k},1,2,3\n" for k in range(12)), "no time column"),
        ("time_s,x,y,z\n" + "".join(f"{k * 0.01},1,2\n" for k in range(12)), "has 3 columns, expected 4"),
        ("".join(f"{k},1,2\n" for k in range(12)), "headerless file must have 5 columns"),
        ("time (h),x,y,z\n" + "".join(f"{k},1,2,3\n" for k in range(12)), "unknown time unit 'h'"),
        ("time_s,x,y,z\n" + "0,1,2,3\n" * 12, "same time"),
        ("time_s,x,y,z\n" + "".join(f"{k * 0.01},1,nan,3\n" for k in range(12)), "NaN or infinite"),
    ],
)
def test_bad_files_raise_one_line_parameter_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ParameterError, match=match) as info:
        read_accel_csv(path)
    assert "\n" not in str(info.value)


def test_missing_file_raises_parameter_error(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="cannot read accelerometer file"):
        read_accel_csv(tmp_path / "nope.csv")


def test_bad_ground_truth_raises(tmp_path: Path) -> None:
    path = tmp_path / "stepcounter.csv"
    path.write_text("1,0,1\n2,1\n")
    with pytest.raises(ParameterError, match="timestamp_ns,foot1,foot2"):
        read_oxford_ground_truth(path, time_origin_ns=0)


def test_acceleration_columns_are_picked_by_name_among_others(tmp_path: Path) -> None:
    header = "time_s,gyro_x,gyro_y,gyro_z,accel_z_g,accel_y_g,accel_x_g,Absolute acceleration"
    rows = [header] + [f"{k * 0.01:.2f},9,9,9,1.0,0.5,0.25,7" for k in range(12)]
    path = tmp_path / "imu.csv"
    path.write_text("\n".join(rows))
    rec = read_accel_csv(path)
    assert rec.fmt == "generic"
    np.testing.assert_allclose(rec.xyz, np.tile([0.25, 0.5, 1.0], (12, 1)) * STANDARD_GRAVITY_M_S2)
