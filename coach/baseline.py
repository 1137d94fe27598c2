"""Easy-pace cadence baseline of runs: pure computation, no files (the target band and
progression are in ``coach.progression``, the program in ``coach.program``).

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

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

MIN_RUNNING_SPM = 140.0
MAX_RUNNING_SPM = 240.0
MIN_BASELINE_SPM = 120.0  # a running baseline below this is strides/min or walking
OUTLIER_MAD_K = 3.0
OUTLIER_FLOOR_SPM = 6.0
MAX_STRIDE_S = 2.0  # two steps slower than 60 spm: standing, not running
MIN_RELIABLE_RECORDS = 30
MIN_STEADY_RECORDS = 8  # fewer steady running step intervals than this (~3 s) from step times: not a run
MIN_RELIABLE_DURATION_S = 120.0
RUN_SPREAD_WARN_SPM = 8.0

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


# Long only by its docstring (the inputs and the filter rules a caller needs); the body is ~40
# lines: classify the records, drop outliers, summarise.
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
    notes: list[str] = []
    rec = _classify(spm, speed, min_running_spm, notes)
    if not np.any(rec.running):
        what = "no cadence records" if not np.any(rec.has_cad) else "no running records"
        raise BaselineError(
            f"{source or 'run'}: {what} ({int(rec.has_cad.sum())} with cadence, {int(rec.moving.sum())} moving, "
            f"{int(rec.walking.sum())} below {min_running_spm:g} spm, {int(rec.too_fast.sum())} above "
            f"{MAX_RUNNING_SPM:g} spm)"
        )
    outlier = rec.running & _outliers(spm, rec.running)
    kept = rec.running & ~outlier
    kept_vals = spm[kept]
    kept_duration_s = _kept_duration_s(t, kept)
    uncertain = int(kept.sum()) < MIN_RELIABLE_RECORDS or kept_duration_s < MIN_RELIABLE_DURATION_S
    if uncertain:
        notes.append(
            f"uncertain: only {int(kept.sum())} records / {kept_duration_s:.0f} s of running kept "
            f"(want >= {MIN_RELIABLE_RECORDS} and >= {MIN_RELIABLE_DURATION_S:.0f} s)"
        )
    moving_vals = spm[rec.moving]
    return RunBaseline(
        source=source,
        sport=sport,
        baseline_spm=float(np.mean(kept_vals)),
        median_spm=float(np.median(kept_vals)),
        moving_mean_spm=float(np.mean(moving_vals)),
        moving_median_spm=float(np.median(moving_vals)),
        n_records=int(n),
        n_no_cadence=int((~rec.has_cad).sum()),
        n_stopped=int(rec.stopped.sum()),
        n_walking=int(rec.walking.sum()),
        n_outliers=int(outlier.sum() + rec.too_fast.sum()),
        n_kept=int(kept.sum()),
        duration_s=float(np.nanmax(t) - np.nanmin(t)) if np.any(np.isfinite(t)) else 0.0,
        kept_duration_s=kept_duration_s,
        started_at=started_at,
        uncertain=bool(uncertain),
        notes=notes,
    )


@dataclass(frozen=True)
class _Records:
    """Which of a run's records (boolean masks) have a cadence, move, are stopped, walking,
    running, or faster than any running."""

    has_cad: NDArray[np.bool_]
    moving: NDArray[np.bool_]
    stopped: NDArray[np.bool_]
    walking: NDArray[np.bool_]
    running: NDArray[np.bool_]
    too_fast: NDArray[np.bool_]


def _classify(spm: NDArray[np.float64], speed: NDArray[np.float64], min_running_spm: float,
              notes: list[str]) -> _Records:
    """Steps 1 and 2 of the method: moving records (speed > 0 where the source knows speed),
    walking below ``min_running_spm``. A note goes to ``notes`` when speed is 0 throughout."""
    has_cad = np.isfinite(spm)
    if np.any(np.isfinite(speed) & (speed > 0)):
        moving = np.isfinite(speed) & (speed > 0)
    else:
        moving = np.ones(spm.size, dtype=bool)
        if np.any(np.isfinite(speed)):
            notes.append("speed is 0 throughout (treadmill without speed?): pauses not detected from speed")
    moving_rec = has_cad & moving
    walking = moving_rec & (spm < min_running_spm)
    return _Records(has_cad=has_cad, moving=moving_rec, stopped=has_cad & ~moving, walking=walking,
                    running=moving_rec & ~walking & (spm <= MAX_RUNNING_SPM),
                    too_fast=moving_rec & (spm > MAX_RUNNING_SPM))


def _outliers(spm: NDArray[np.float64], running: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Step 3: records further than max(3 x 1.4826 x MAD, 6 spm) from the running median."""
    med = float(np.median(spm[running]))
    mad = float(np.median(np.abs(spm[running] - med)))
    half_width = max(OUTLIER_MAD_K * 1.4826 * mad, OUTLIER_FLOOR_SPM)
    out: NDArray[np.bool_] = np.abs(spm - med) > half_width
    return out


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


# --- runs from files -------------------------------------------------------------------------


def run_from_steps(step_times_s: ArrayLike, *, source: str, fmt: str,
                   min_running_spm: float) -> tuple[RunBaseline, dict[str, Any]]:
    """One run's baseline from its footfall times; ``{"format": fmt}`` goes with it (the
    figures the report adds per run)."""
    time_s, spm = cadence_from_step_times(step_times_s)
    if spm.size == 0:
        raise BaselineError(f"{source}: fewer than 3 steps detected, no cadence")
    run = run_baseline(spm, time_s=time_s, source=source, min_running_spm=min_running_spm)
    # e.g. a tone or machine noise: "steps" with no steady rhythm, or a blip of one in a minute
    if run.n_outliers > run.n_kept or run.n_kept < MIN_STEADY_RECORDS:
        raise BaselineError(
            f"{source}: the detected steps have no steady running rhythm ({run.n_kept} cadence records in a steady "
            f"band, {run.n_outliers} outliers); is this a recording of a run?"
        )
    return run, {"format": fmt}


def measure_source(path: Path, *, accel: bool, min_running_spm: float) -> tuple[RunBaseline, dict[str, Any]]:
    """One run's baseline from a file: an accelerometer CSV (``accel``, or a .csv name), a
    FIT/GPX/TCX activity, else a recording; with the per-run figures the report adds
    (``format``, and the watch's ``session_avg_spm`` for activities)."""
    from coach.importers import is_activity_path, read_activity

    if not path.exists():
        raise BaselineError(f"{path}: no such file")
    if accel or path.suffix.lower() == ".csv":
        from coach.analysis import accel_step_times
        from stepdetect.accel_io import read_accel_csv

        rec = read_accel_csv(path)
        steps_s, _ = accel_step_times(rec.time_s, rec.xyz)
        return run_from_steps(steps_s, source=path.name, fmt="accel", min_running_spm=min_running_spm)
    if is_activity_path(path):
        act = read_activity(path)
        run = run_baseline(act.cadence_spm, time_s=act.time_s, speed_m_s=act.speed_m_s, source=act.source,
                           sport=act.sport, min_running_spm=min_running_spm,
                           started_at=act.started_at.isoformat() if act.started_at else None)
        extra = {"format": act.fmt, "session_avg_spm": act.session_avg_spm}
        run.notes.extend(act.notes)
        return run, extra
    return run_from_steps(audio_step_times_s(path), source=path.name, fmt="audio", min_running_spm=min_running_spm)


def audio_step_times_s(path: Path) -> list[float]:
    """Footfall times of a recording, found as ``cadence analyze`` finds them."""
    from coach.analysis import analyze_path

    return [float(step["time_s"]) for step in analyze_path(path, accel=False)["steps"]]
