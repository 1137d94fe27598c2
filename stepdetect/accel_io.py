"""Read 3-axis accelerometer CSV exports into one time base (seconds from the first sample).

Three layouts are understood:

``oxford``
    The Oxford Step Counter data set (``../shared/data/oxford-step/``): no header, one row per
    sample, ``timestamp_ns,accuracy,x,y,z`` with x, y, z in m/s² (gravity included).
``phyphox``
    The phyphox app's export of "Acceleration with g" or "Linear Acceleration":
    ``"Time (s)","Acceleration x (m/s^2)",...`` (or ``"Linear Acceleration x (m/s^2)"``), comma,
    tab or semicolon separated (the semicolon export uses a decimal comma).
``generic``
    Any CSV with a header naming a time column (``time_s``, ``timestamp_ms``, ``t (ns)``, ...)
    and x, y, z columns (``x``, ``acc_x``, ``ax``, ``accel x (g)``, ...). Time units come from the
    header; without one they are guessed from the median time step (see :func:`_time_scale_to_s`).
    Columns labelled in g are converted to m/s².

Errors are :class:`stepdetect.validate.ParameterError` with a one-line message.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from stepdetect.validate import ParameterError

STANDARD_GRAVITY_M_S2 = 9.80665
MIN_N_SAMPLES = 10  # the fewest samples of an accelerometer stream (reader, detector, analysis)

AccelFormat = Literal["oxford", "phyphox", "generic"]

_UNIT_TO_S = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_TIME_NAMES = ("time", "timestamp", "t", "ts", "seconds")  # "seconds_elapsed": Sensor Logger app
_PHYPHOX_AXIS = re.compile(r"^(linear )?acceleration ([xyz]) \(m/s\^2\)$")
_UNIT_IN_NAME = re.compile(r"[\(\[]([^\)\]]*)[\)\]]")


@dataclass(frozen=True)
class AccelRecording:
    """A 3-axis accelerometer stream on a time axis in seconds.

    Attributes
    ----------
    time_s : ndarray, float64, shape (N,)
        Sample times in seconds, non-decreasing, ``time_s[0] == 0``.
    xyz : ndarray, float64, shape (N, 3)
        Acceleration along the device axes, in m/s².
    fmt : {"oxford", "phyphox", "generic"}
        Layout the file was read as.
    time_origin_ns : int
        Time of the first sample on the file's own clock, in nanoseconds (rounded). Lets other
        files on the same clock (e.g. Oxford ``stepcounter.csv``) be put on ``time_s``.
    """

    time_s: NDArray[np.float64]
    xyz: NDArray[np.float64]
    fmt: AccelFormat
    time_origin_ns: int


def read_accel_csv(path: str | Path) -> AccelRecording:
    """Read an accelerometer CSV (Oxford, phyphox or generic named columns).

    Parameters
    ----------
    path : str or Path
        CSV file.

    Returns
    -------
    AccelRecording
        Times in seconds from the first sample, acceleration in m/s².

    Raises
    ------
    ParameterError
        If the file is missing, empty, has no recognisable columns, non-numeric values, fewer
        than ``MIN_N_SAMPLES`` rows, or time going backwards.
    """
    path = Path(path)
    rows, delimiter = _csv_rows(path)
    first = [cell.strip() for cell in rows[0]]
    layout = _layout(first, path, delimiter)
    body = rows[1:] if layout.has_header else rows
    time_num, xyz = _columns(body, layout, path)
    time_scale_s = layout.time_scale_s
    if time_scale_s is None:
        time_scale_s = _time_scale_to_s(np.diff(time_num.astype(np.float64)), path)
    time_s, origin_ns = _time_axis(time_num, time_scale_s, path)
    return AccelRecording(time_s=time_s, xyz=xyz, fmt=layout.fmt, time_origin_ns=origin_ns)


@dataclass(frozen=True)
class _Layout:
    """Where a CSV keeps what: the columns, their units and the number format."""

    fmt: AccelFormat
    time_col: int
    axis_cols: list[int]
    time_scale_s: float | None  # None: guess from the median time step
    axis_scale: NDArray[np.float64]  # to m/s²
    has_header: bool
    decimal_comma: bool


def _csv_rows(path: Path) -> tuple[list[list[str]], str]:
    """The non-empty, non-comment rows of a CSV file and its delimiter."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read accelerometer file {path}: {exc}") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ParameterError(f"accelerometer file {path} is empty")
    delimiter = _sniff_delimiter(lines[0])
    return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)), delimiter


def _layout(first: list[str], path: Path, delimiter: str) -> _Layout:
    """The layout from the first row: a header (phyphox, generic) or Oxford's headerless rows."""
    if not all(_is_number(cell) for cell in first):
        fmt, time_col, axis_cols, time_scale_s, axis_scale = _parse_header(first, path)
        return _Layout(fmt, time_col, axis_cols, time_scale_s, axis_scale, True, delimiter == ";")
    if len(first) != 5:
        raise ParameterError(
            f"{path}: headerless file must have 5 columns (timestamp_ns,accuracy,x,y,z, the "
            f"Oxford layout), got {len(first)}"
        )
    return _Layout("oxford", 0, [2, 3, 4], 1e-9, np.ones(3), False, False)


def _columns(body: list[list[str]], layout: _Layout, path: Path) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """The raw time column (int64 where it is whole numbers, else float64) and x, y, z in m/s²."""
    n_cols = max([layout.time_col, *layout.axis_cols]) + 1
    if len(body) < MIN_N_SAMPLES:
        raise ParameterError(f"{path}: only {len(body)} samples, need at least {MIN_N_SAMPLES}")
    for i, row in enumerate(body):
        if len(row) < n_cols:
            raise ParameterError(f"{path}: row {i + 1 + layout.has_header} has {len(row)} columns, expected {n_cols}")
    time_raw = [row[layout.time_col].strip() for row in body]
    axes_raw = [[row[c].strip() for c in layout.axis_cols] for row in body]
    if layout.decimal_comma:
        time_raw = [v.replace(",", ".") for v in time_raw]
        axes_raw = [[v.replace(",", ".") for v in r] for r in axes_raw]
    time_num = _to_numbers(time_raw, path, "time")
    xyz = _to_numbers(axes_raw, path, "acceleration").astype(np.float64) * layout.axis_scale
    if not np.all(np.isfinite(xyz)):
        raise ParameterError(f"{path}: acceleration contains NaN or infinite values")
    return time_num, xyz


def _time_axis(time_num: NDArray[Any], time_scale_s: float, path: Path) -> tuple[NDArray[np.float64], int]:
    """Seconds from the first sample, checked sorted and spanning time, and the first sample's
    time on the file's clock in ns."""
    if time_num.dtype.kind == "i":  # check order and span before subtracting: int64 differences can wrap
        if np.any(time_num[1:] < time_num[:-1]):
            bad = int(np.argmax(time_num[1:] < time_num[:-1])) + 1
            raise ParameterError(f"{path}: time is not sorted (goes backwards at sample {bad})")
        span = int(time_num[-1]) - int(time_num[0])
        if span > np.iinfo(np.int64).max:
            raise ParameterError(
                f"{path}: the timestamps span {span:.3g} time units, more than 292 years even in nanoseconds: "
                "the time column does not hold the times of one recording"
            )
    rel = time_num - time_num[0]  # exact for int64 ns timestamps
    time_s = rel.astype(np.float64) * time_scale_s
    if not np.all(np.isfinite(time_s)):
        raise ParameterError(f"{path}: time contains NaN or infinite values")
    steps = np.diff(time_s)
    if np.any(steps < 0):
        bad = int(np.argmax(steps < 0)) + 1
        raise ParameterError(f"{path}: time is not sorted (goes backwards at sample {bad})")
    if time_s[-1] <= 0:
        raise ParameterError(f"{path}: all samples have the same time")
    if time_num.dtype.kind == "i" and time_scale_s == 1e-9:
        origin_ns = int(time_num[0])
    else:
        origin_ns = int(round(float(time_num[0]) * time_scale_s * 1e9))
    return time_s, origin_ns


def read_oxford_ground_truth(
    stepcounter_csv: str | Path, *, time_origin_ns: int, debounce: bool = False
) -> NDArray[np.float64]:
    """Read Oxford foot-switch ground truth as step times on the accelerometer's time axis.

    A step is a 0→1 transition in either foot column of ``stepcounter.csv``
    (``timestamp_ns,foot1,foot2``); the initial state is not a step.

    Parameters
    ----------
    stepcounter_csv : str or Path
        The recording's ``stepcounter.csv``.
    time_origin_ns : int
        Clock time of the accelerometer's first sample in ns
        (:attr:`AccelRecording.time_origin_ns`); it becomes 0 s.
    debounce : bool
        Drop switch bounces: a rising edge of one foot less than half that foot's median stride
        after its previous one (a foot cannot land twice within one step time). Some walks have
        them on one switch only (``Pixel_Jamie_Hard_Armband_1``: 13 edges 0.18-0.45 s after the
        last, stride 1.08 s), which inflates the count.

    Returns
    -------
    ndarray, float64, shape (n_steps,)
        Sorted step times in seconds (times before the origin are negative).
    """
    path = Path(stepcounter_csv)
    try:
        rows = [ln.split(",") for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as exc:
        raise ParameterError(f"cannot read ground-truth file {path}: {exc}") from None
    if not rows or any(len(r) != 3 for r in rows):
        raise ParameterError(f"{path}: expected rows of timestamp_ns,foot1,foot2")
    try:
        data = np.array(rows, dtype=np.int64)
    except ValueError:
        raise ParameterError(f"{path}: non-numeric value in ground truth") from None
    t_ns, feet = data[:, 0], data[:, 1:]
    if np.any(np.diff(t_ns) < 0):
        raise ParameterError(f"{path}: ground-truth time is not sorted")
    rising = (feet[1:] == 1) & (feet[:-1] == 0)
    if debounce:
        for k in range(feet.shape[1]):
            edges = np.flatnonzero(rising[:, k])
            if edges.size < 3:
                continue
            half_stride_ns = 0.5 * np.median(np.diff(t_ns[1:][edges]))
            last_ns = t_ns[1:][edges[0]]
            for e in edges[1:]:
                if t_ns[1 + e] - last_ns < half_stride_ns:
                    rising[e, k] = False
                else:
                    last_ns = t_ns[1 + e]
    rising_any = np.any(rising, axis=1)
    return (t_ns[1:][rising_any] - int(time_origin_ns)).astype(np.float64) * 1e-9


# --- helpers -------------------------------------------------------------------------------


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", "."))
    except ValueError:
        return False
    return True


def _to_numbers(values: list[str] | list[list[str]], path: Path, what: str) -> NDArray[Any]:
    """int64 where every value is a whole number (exact ns timestamps), else float64."""
    try:
        return np.array(values, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    try:
        return np.array(values, dtype=np.float64)
    except ValueError:
        flat = np.asarray(values, dtype=object).ravel()
        bad = next(v for v in flat if not _is_number(v))
        raise ParameterError(f"{path}: non-numeric {what} value {bad!r}") from None


def _split_name(name: str) -> tuple[str, str | None]:
    """``'Acceleration x (m/s^2)'`` -> (``'acceleration x'``, ``'m/s^2'``); also ``time_ms``."""
    low = name.strip().strip('"').lower()
    m = _UNIT_IN_NAME.search(low)
    unit = m.group(1).strip() if m else None
    base = _UNIT_IN_NAME.sub("", low).strip()
    if unit is None:
        suffix = re.search(r"[_ ](s|sec|ms|us|ns|g|ms2|mps2)$", base)
        if suffix:
            unit = suffix.group(1)
            base = base[: suffix.start()]
    return re.sub(r"[^a-z0-9]+", " ", base).strip(), unit


def _axis_of(base: str) -> str | None:
    tokens = base.split()
    if not tokens or any(t.startswith(("gyro", "mag", "rot", "orient", "grav")) for t in tokens):
        return None
    if tokens[-1] in ("x", "y", "z"):
        return tokens[-1]
    m = re.fullmatch(r"(a|acc|accel|acceleration|linacc|gf)([xyz])", "".join(tokens))
    return m.group(2) if m else None


def _parse_header(
    header: list[str], path: Path
) -> tuple[AccelFormat, int, list[int], float | None, NDArray[np.float64]]:
    names = [_split_name(h) for h in header]
    time_cols = [i for i, (base, _) in enumerate(names) if base.split()[:1] and base.split()[0] in _TIME_NAMES]
    if not time_cols:
        raise ParameterError(f"{path}: no time column in header {header} (expected e.g. time_s, timestamp_ms, 'Time (s)')")
    time_col = time_cols[0]
    axis_cols: list[int] = []
    for axis in ("x", "y", "z"):
        cands = [i for i, (base, _) in enumerate(names) if _axis_of(base) == axis]
        if not cands:
            raise ParameterError(f"{path}: no {axis} acceleration column in header {header}")
        with_acc = [i for i in cands if "acc" in names[i][0] or names[i][0].startswith("gf")]
        axis_cols.append((with_acc or cands)[0])

    time_unit = "s" if names[time_col][0] == "seconds elapsed" else names[time_col][1]
    if time_unit is None:
        time_scale_s = None
    elif time_unit in _UNIT_TO_S:
        time_scale_s = _UNIT_TO_S[time_unit]
    else:
        raise ParameterError(f"{path}: unknown time unit {time_unit!r} (use s, ms, us or ns)")

    scales = []
    for i in axis_cols:
        base, unit = names[i]
        is_g = unit in ("g", "gee") or base.startswith("gf")
        scales.append(STANDARD_GRAVITY_M_S2 if is_g else 1.0)
    is_phyphox = header[time_col].strip() == "Time (s)" and all(
        _PHYPHOX_AXIS.match(header[i].strip().lower()) for i in axis_cols
    )
    return ("phyphox" if is_phyphox else "generic"), time_col, axis_cols, time_scale_s, np.array(scales)


def _time_scale_to_s(time_steps: NDArray[np.float64], path: Path) -> float:
    """Guess the time unit from the median step, assuming a 2 Hz – 10 kHz sample rate.

    A median step below 0.5 is seconds, below 500 milliseconds, below 5e5 microseconds,
    otherwise nanoseconds.
    """
    median_step = float(np.median(time_steps))
    if not np.isfinite(median_step) or median_step <= 0:
        raise ParameterError(f"{path}: cannot infer the time unit (median time step {median_step!r})")
    if median_step < 0.5:
        return 1.0
    if median_step < 500:
        return 1e-3
    if median_step < 5e5:
        return 1e-6
    return 1e-9
