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


def _stepcounter(tmp_path: Path, feet: list[tuple[int, int]], period_ns: int = 97_500_000) -> Path:
    """An Oxford ``stepcounter.csv``: one row per ~0.1 s of (foot1, foot2) switch states."""
    path = tmp_path / "stepcounter.csv"
    origin_ns = 833841866513290
    path.write_text("".join(f"{origin_ns + k * period_ns},{a},{b}\n" for k, (a, b) in enumerate(feet)))
    return path


def _walk_switches(n_strides: int, *, bounce_at: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """Alternating feet, 10 rows (~1 s) per stride; each foot down 4 rows; the initial standing
    rows (1, 1) are not steps. A bounce: foot 1 lifts for one row right after landing."""
    rows = [(1, 1)] * 3 + [(0, 0)]
    for s in range(n_strides):
        stride = [(1, 0)] * 4 + [(0, 0)] + [(0, 1)] * 4 + [(0, 0)]
        if s in bounce_at:
            stride[1] = (0, 0)  # 1 -> 0 -> 1 within 0.2 s: one extra rising edge
        rows += stride
    return rows


def test_oxford_ground_truth_counts_rising_edges(tmp_path: Path) -> None:
    path = _stepcounter(tmp_path, _walk_switches(20))
    steps_s = read_oxford_ground_truth(path, time_origin_ns=833841866513290)
    assert steps_s.size == 40  # two steps per stride; the initial (1, 1) is no step
    np.testing.assert_allclose(steps_s[0], 4 * 0.0975)
    np.testing.assert_allclose(np.diff(steps_s), np.tile([5, 5], 20)[:39] * 0.0975)


def test_oxford_ground_truth_debounce_drops_switch_bounces(tmp_path: Path) -> None:
    path = _stepcounter(tmp_path, _walk_switches(20, bounce_at=(3, 7, 12)))
    raw_s = read_oxford_ground_truth(path, time_origin_ns=0)
    clean_s = read_oxford_ground_truth(path, time_origin_ns=0, debounce=True)
    assert raw_s.size == 43
    assert clean_s.size == 40
    assert set(np.round(clean_s, 6)) <= set(np.round(raw_s, 6))
    # without bounces the de-bounced truth is the raw one
    plain = _stepcounter(tmp_path, _walk_switches(20))
    np.testing.assert_array_equal(read_oxford_ground_truth(plain, time_origin_ns=0, debounce=True),
                                  read_oxford_ground_truth(plain, time_origin_ns=0))


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
