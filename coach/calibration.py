"""Calibrated output delays per device pair: the figures and where they are kept.

A session needs the time a tick is *heard*. When the microphone hears the ticks the session
measures that itself; otherwise it takes the stream's nominal loop latency (what PortAudio
reports) plus a **headphone offset**: the delay PortAudio cannot see (Bluetooth codecs,
sound servers that report more or less than they do). ``cadence calibrate`` measures that
offset and stores it here, per "output device | input device" pair and sample rate (a
device's buffering, hence its delay, depends on the rate):

* loopback: the loop latency measured from ticks the microphone hears, minus the nominal
  latency of the same stream (:func:`loopback_latency_ms`);
* tap: the median time from each tick, as the stream puts it out (tick sample + nominal
  latency), to the user's tap on the beat (:func:`tap_offset_ms`).

Either way ``heard time = tick sample + nominal loop latency + headphone_offset_ms``.

The file is JSON in ``platformdirs.user_data_dir("cadence")`` (``CADENCE_CALIBRATION``
overrides the path), written atomically; each pair and rate keeps its last few calibrations.
Files of version 1 (keyed by device pair only) are migrated when read: each calibration goes to
the rate it recorded (``cadence calibrate`` always recorded it); one without a rate is kept
under its old key but never applied, since the rate it holds for is unknown.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from coach.jsonfile import write_json_atomic

FILE_NAME = "calibration.json"
FORMAT_VERSION = 2  # 1: keyed by device pair; 2: by device pair and sample rate
HISTORY_LENGTH = 10  # calibrations kept per device pair and rate
KEY_SEPARATOR = " | "

MIN_LOOPBACK_TICKS = 8
MAX_LOOPBACK_SPREAD_MS = 5.0  # p90 - p10 of the per-tick latencies
MIN_TAPS = 8
MIN_TAP_FRACTION = 0.6  # of the taps within reach of a tick, this many must agree
MAX_TAP_SPREAD_MS = 150.0  # p90 - p10 of the kept taps; beyond that the taps do not follow the beat


class CalibrationError(ValueError):
    """A calibration that cannot be trusted, or a calibration file that cannot be used."""


class LoopMovedError(CalibrationError):
    """Enough ticks heard, too spread to be one loop latency, and in two stable groups: the loop
    moved while it was measured (a sound server re-buffering) with too few ticks after the move.
    Measuring again can help; ticks scattered every way (an unreliable microphone) raise a plain
    :class:`CalibrationError`."""


# A headphone offset (extra output delay: Bluetooth ~100-300 ms) outside this is not a latency.
# It is measured against the latency PortAudio reports, which can exceed the real loop (PortAudio
# reports 170.7 ms for PulseAudio's 'pulse' device whose loop measures 61 ms: offset -110 ms).
HEADPHONE_OFFSET_MIN_MS = -1000.0
HEADPHONE_OFFSET_MAX_MS = 1000.0


# ---------------------------------------------------------------------------------- figures
@dataclass(frozen=True)
class LoopbackResult:
    """Output-to-input latency measured from ticks the microphone heard."""

    loop_latency_ms: float  # median over the ticks
    spread_ms: float  # p90 - p10
    n_ticks: int


@dataclass(frozen=True)
class TapResult:
    """Where the user's taps land relative to the ticks as the stream put them out."""

    offset_ms: float  # median tap - tick, positive = the tap comes after the tick left the stream
    spread_ms: float  # p90 - p10 of the kept taps
    n_taps: int  # kept
    n_rejected: int  # taps more than a quarter beat from the median (stray or double taps)


def _spread_ms(values_ms: np.ndarray) -> float:
    return float(np.percentile(values_ms, 90) - np.percentile(values_ms, 10))


def _in_two_stable_groups(values_ms: np.ndarray, tolerance_ms: float) -> bool:
    """Whether the measurements split, at their widest gap in value, into two groups of at least
    two that are each stable within ``tolerance_ms`` (a loop that moved, not scattered ticks)."""
    ordered = np.sort(values_ms)
    if ordered.size < 4:
        return False
    cut = int(np.argmax(np.diff(ordered))) + 1
    low, high = ordered[:cut], ordered[cut:]
    return bool(min(low.size, high.size) >= 2 and low[-1] - low[0] <= tolerance_ms
                and high[-1] - high[0] <= tolerance_ms)


def _last_stable_run(values_ms: np.ndarray, tolerance_ms: float) -> np.ndarray:
    """The longest run of consecutive measurements, ending last, that stay within ``tolerance_ms``
    of the run's first value (after a loop jump, the measurements that describe the loop now)."""
    start = values_ms.size - 1
    while start > 0 and abs(values_ms[start - 1] - values_ms[-1]) <= tolerance_ms:
        start -= 1
    return values_ms[start:]


def loopback_latency_ms(
    latencies_s: ArrayLike,
    *,
    min_ticks: int = MIN_LOOPBACK_TICKS,
    max_spread_ms: float = MAX_LOOPBACK_SPREAD_MS,
) -> LoopbackResult:
    """The loop latency from per-tick measurements (tick found in the input - tick rendered).

    Parameters
    ----------
    latencies_s : 1-D array_like of float, seconds
        One measurement per tick the microphone heard.
    min_ticks : int
        Fewer measurements than this are rejected.
    max_spread_ms : float
        A spread (p90 - p10) above this is rejected: the microphone heard the ticks
        unreliably (too quiet, echo, a sound server re-timing the stream).

    Returns
    -------
    LoopbackResult

    Raises
    ------
    CalibrationError
        Too few measurements, or too spread (:class:`LoopMovedError` when the spread is a move
        between two stable loops).
    """
    values_ms = 1000.0 * np.asarray(latencies_s, dtype=np.float64).ravel()
    values_ms = values_ms[np.isfinite(values_ms)]
    if values_ms.size < min_ticks:
        raise CalibrationError(
            f"the microphone heard {values_ms.size} ticks, {min_ticks} are needed: turn the volume up, hold the "
            "headphones to the microphone, or use --mode tap (Bluetooth headphones)"
        )
    spread = _spread_ms(values_ms)
    if spread > max_spread_ms:
        # A sound-server xrun mid-run moves the whole loop by a period: if the last stretch of
        # ticks is stable on its own, that is the loop the device has now.
        stable = _last_stable_run(values_ms, max_spread_ms)
        if stable.size >= min_ticks:
            values_ms, spread = stable, _spread_ms(stable)
    if spread > max_spread_ms:
        error = LoopMovedError if _in_two_stable_groups(values_ms, max_spread_ms) else CalibrationError
        raise error(
            f"the ticks arrived {spread:.1f} ms apart from one another (p90 - p10 over {values_ms.size} ticks; "
            f"at most {max_spread_ms:g} ms is trusted): a quieter room, a louder tick or a fixed --latency may help"
        )
    return LoopbackResult(round(float(np.median(values_ms)), 3), round(spread, 3), int(values_ms.size))


def _offsets_from_ticks(taps: NDArray[np.float64], ticks: NDArray[np.float64]
                        ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each tap's time from the tick it belongs to (from a quarter beat before that tick to three
    quarters after it), and that quarter beat, seconds; taps out of every tick's reach are left out."""
    periods = np.diff(ticks)
    quarter = np.concatenate([periods, periods[-1:]]) / 4.0  # per tick: a quarter of the beat that follows it
    k = np.searchsorted(ticks - quarter, taps, side="right") - 1  # last tick at most a quarter beat after the tap
    reach = k >= 0
    k = np.maximum(k, 0)
    offsets = taps - ticks[k]  # >= -quarter of tick k; < 3 quarters unless after the last tick
    reach &= offsets < 3 * quarter[k]
    return offsets[reach], quarter[k][reach]


def tap_offset_ms(
    tap_times_s: ArrayLike,
    tick_times_s: ArrayLike,
    *,
    min_taps: int = MIN_TAPS,
    max_spread_ms: float = MAX_TAP_SPREAD_MS,
) -> TapResult:
    """The median signed time from each tick to the tap that goes with it.

    Each tap belongs to the tick it follows: the one from which it lies between a quarter
    beat before and three quarters of a beat after (a headphone delay is positive and can be
    longer than a quarter beat, e.g. 250 ms at 120 ticks/min; people tap a little early).
    Taps more than a quarter beat from the median of all taps are rejected as stray.

    Parameters
    ----------
    tap_times_s : 1-D array_like of float, seconds
        When the taps were detected, on the same time axis as ``tick_times_s``.
    tick_times_s : 1-D array_like of float, seconds, sorted, at least 2
        When each tick left the stream (tick sample + nominal loop latency).
    min_taps : int
        Fewer kept taps than this are rejected.
    max_spread_ms : float
        Kept taps spread wider (p90 - p10) than this do not follow the beat.

    Returns
    -------
    TapResult

    Raises
    ------
    CalibrationError
        Too few taps, or taps that do not follow the beat.
    """
    ticks = np.asarray(tick_times_s, dtype=np.float64).ravel()
    taps = np.sort(np.asarray(tap_times_s, dtype=np.float64).ravel())
    if ticks.size < 2 or np.any(np.diff(ticks) <= 0):
        raise CalibrationError("need at least two ticks in increasing time order (seconds)")
    if taps.size < min_taps:
        raise CalibrationError(
            f"{taps.size} taps were heard, {min_taps} are needed: tap the phone or the microphone firmly on "
            "every tick (or step in place on a hard floor)"
        )
    offsets, quarter_k = _offsets_from_ticks(taps, ticks)
    if offsets.size < min_taps:
        raise CalibrationError(
            f"only {offsets.size} taps fell while the ticks played, {min_taps} are needed"
        )
    centre = float(np.median(offsets))
    keep = np.abs(offsets - centre) <= quarter_k
    kept_ms = 1000.0 * offsets[keep]
    if kept_ms.size < min_taps or kept_ms.size < MIN_TAP_FRACTION * offsets.size:
        raise CalibrationError(
            f"the taps do not follow the beat: {kept_ms.size} of {offsets.size} agree within a quarter beat; "
            "tap once on every tick you hear, steadily"
        )
    spread = _spread_ms(kept_ms)
    if spread > max_spread_ms:
        raise CalibrationError(
            f"the taps do not follow the beat: they spread over {spread:.0f} ms (p90 - p10; at most "
            f"{max_spread_ms:g} ms); tap once on every tick you hear, steadily"
        )
    return TapResult(round(float(np.median(kept_ms)), 3), round(spread, 3), int(kept_ms.size),
                     int(offsets.size - kept_ms.size))


# ---------------------------------------------------------------------------------- storage
def calibration_path() -> Path:
    """``$CADENCE_CALIBRATION``, else ``calibration.json`` in the user's cadence data directory."""
    override = os.environ.get("CADENCE_CALIBRATION")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("cadence")) / FILE_NAME


def device_key(output_name: str, input_name: str, sample_rate: int | None = None) -> str:
    """The key of a device pair at a sample rate: ``"output name | input name | 48000 Hz"``
    (without a rate: the version-1 key of the pair)."""
    pair = f"{output_name.strip()}{KEY_SEPARATOR}{input_name.strip()}"
    return pair if sample_rate is None else f"{pair}{KEY_SEPARATOR}{int(sample_rate)} Hz"


def _migrate(doc: dict[str, Any]) -> dict[str, Any]:
    """A version-1 document (keyed by pair) -> version 2 (keyed by pair and rate), in memory."""
    if doc.get("version", 1) >= 2:
        return doc
    devices: dict[str, Any] = {}
    for key, entry in doc["devices"].items():
        if not isinstance(entry, dict) or "output_device" not in entry or "input_device" not in entry:
            devices[key] = entry
            continue
        history = [h for h in entry.get("history") or [] if isinstance(h, dict)]
        by_rate: dict[int, list[dict[str, Any]]] = {}
        unknown = []
        for record in history:
            rate = record.get("sample_rate")
            if isinstance(rate, (int, float)) and rate > 0:
                by_rate.setdefault(int(rate), []).append(record)
            else:
                unknown.append(record)
        for rate, records in by_rate.items():
            last = records[-1]
            devices[device_key(entry["output_device"], entry["input_device"], rate)] = {
                "output_device": entry["output_device"], "input_device": entry["input_device"],
                "sample_rate": rate, "headphone_offset_ms": last["headphone_offset_ms"],
                "method": last.get("method"), "at": last.get("at"), "history": records,
            }
        if unknown or not history:  # kept (nothing is lost) but never applied: the rate is unknown
            devices[key] = {**entry, "history": unknown, "sample_rate": None}
    return {**doc, "version": FORMAT_VERSION, "devices": devices}


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"version": FORMAT_VERSION, "devices": {}}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise CalibrationError(f"calibration file {path} is nested too deeply to be a calibration; "
                               "delete it and calibrate again") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationError(
            f"calibration file {path} cannot be read ({' '.join(str(exc).split())}); delete it and calibrate again"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("devices"), dict):
        raise CalibrationError(f"calibration file {path} is not a cadence calibration; delete it and calibrate again")
    return _migrate(doc)


def load_entry(output_name: str, input_name: str, sample_rate: int, *, path: Path | None = None
               ) -> dict[str, Any] | None:
    """The stored calibration of a device pair at a sample rate (offset, history), or None."""
    entry = _read(path or calibration_path())["devices"].get(device_key(output_name, input_name, sample_rate))
    return entry if isinstance(entry, dict) else None


def load_offset_ms(output_name: str, input_name: str, sample_rate: int, *, path: Path | None = None
                   ) -> float | None:
    """The latest headphone offset (ms) calibrated for this device pair at this rate, or None.

    Raises
    ------
    CalibrationError
        The calibration file exists but is not readable JSON of this format.
    """
    path = path or calibration_path()
    entry = load_entry(output_name, input_name, sample_rate, path=path)
    if entry is None or "headphone_offset_ms" not in entry:
        return None
    value = entry["headphone_offset_ms"]
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value)
            or not HEADPHONE_OFFSET_MIN_MS <= value <= HEADPHONE_OFFSET_MAX_MS):
        raise CalibrationError(
            f"calibration file {path}: headphone offset {json.dumps(value)[:40]} ms for {output_name} is not a "
            f"number from {HEADPHONE_OFFSET_MIN_MS:g} to {HEADPHONE_OFFSET_MAX_MS:g} ms; "
            "run 'cadence calibrate' again (or delete the file)"
        )
    return float(value)


def save(
    output_name: str,
    input_name: str,
    *,
    sample_rate: int,
    headphone_offset_ms: float,
    method: str,
    details: dict[str, Any] | None = None,
    path: Path | None = None,
    now: datetime | None = None,
) -> Path:
    """Store a calibration for a device pair at ``sample_rate`` (it becomes the offset of that pair
    at that rate); return the file.

    The file is replaced atomically (a reader never sees half of it); the pair keeps its
    last ``HISTORY_LENGTH`` calibrations, newest last.
    """
    if not np.isfinite(headphone_offset_ms):
        raise CalibrationError(f"headphone offset {headphone_offset_ms!r} ms is not a number")
    path = path or calibration_path()
    doc = _read(path)
    key = device_key(output_name, input_name, sample_rate)
    entry = doc["devices"].get(key)
    history = list(entry.get("history", [])) if isinstance(entry, dict) else []
    record = {
        "at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "method": method,
        "headphone_offset_ms": round(float(headphone_offset_ms), 3),
        **(details or {}),
        "sample_rate": int(sample_rate),
    }
    history = (history + [record])[-HISTORY_LENGTH:]
    doc["version"] = FORMAT_VERSION
    doc["devices"][key] = {
        "output_device": output_name,
        "input_device": input_name,
        "sample_rate": int(sample_rate),
        "headphone_offset_ms": record["headphone_offset_ms"],
        "method": method,
        "at": record["at"],
        "history": history,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, doc)
    except OSError as exc:
        raise CalibrationError(f"cannot write calibration file {path}: {exc.strerror or exc}") from None
    return path


def stored_headphone_offset_ms(
    device: str | None, input_device: str | None = None, output_device: str | None = None,
    sample_rate: int | None = None,
) -> float | None:
    """The calibrated offset for the devices a live session would open (same options as
    ``cadence run``: ``--device``, ``--input-device``, ``--output-device``, ``--sample-rate``,
    by default the rate the session opens first), or None.

    Resolves the devices through PortAudio (as the session does) to get their names.
    """
    from metronome.engine import resolve_device_pair

    pair = resolve_device_pair(device, input_device, output_device)
    # the rate the session opens first (for the sound server's devices: the server's rate, which
    # is what 'cadence calibrate' measured at, not the 44100 Hz PortAudio reports for them)
    rate = sample_rate or pair.sample_rates()[0]
    return load_offset_ms(pair.output_name, pair.input_name, rate)
