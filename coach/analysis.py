"""Footfalls, cadence and asymmetry of a recording (audio or accelerometer): the one analysis
behind ``cadence analyze`` and ``cadence baseline --from``."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypedDict

import numpy as np
from numpy.typing import NDArray

from stepdetect import cadence as cad
from stepdetect.online import Footfalls, StepDetector
from stepdetect.validate import ParameterError

if TYPE_CHECKING:  # imported where used: accelerometer analysis is optional, audio reading heavy
    from coach.audio_io import AudioInfo
    from stepdetect.accel import AccelSteps

#: progress(frames done, frames in all)
Progress = Callable[[int, int], None]


class Rhythm(TypedDict):
    """What the audio detector says of the step rhythm (:func:`detect_in_file`)."""

    rhythmic: NDArray[np.bool_]  # per footfall: accepted on the tracked rhythm
    salience: float  # share of all onset strength heard on the rhythm
    clarity: float  # the onsets' pulse clarity at the typical step (stepdetect.tracker_state.pulse_clarity)
    tracked_step_s: float  # the step period the rhythm tracker followed (stepdetect.cadence.tracked_step_s)
    bands: list[dict[str, Any]]  # the bands the footfalls come from, with their weights

CADENCE_WINDOW_S = 6.0
CADENCE_HOP_S = 1.0
LOW_CONFIDENCE = 0.5  # a footfall below this confidence is flagged
MIN_SAMPLE_RATE_HZ = 4000  # what StepDetector takes
MAX_SAMPLE_RATE_HZ = 384000


def _num(x: float | None, ndigits: int) -> float | None:
    """JSON-safe rounded number (NaN -> null)."""
    return None if x is None or not math.isfinite(x) else round(float(x), ndigits)


def analyze_steps(
    step_times_s: NDArray[np.float64],
    confidence: NDArray[np.float64] | None,
    *,
    duration_s: float,
    first_foot: cad.Foot = "L",
    rhythm: Rhythm | None = None,
) -> dict[str, Any]:
    """The report (JSON-ready dict) for detected step times.

    ``rhythm`` (audio): the detector's ``rhythmic`` flags per footfall, its ``salience`` and
    ``bands``; without a steady rhythm (texture: gravel shuffle, rustle, no steady steps) the
    cadence is not confident and ``cadence_spm`` is null, as with too few steps.
    """
    feet = cad.assign_feet(step_times_s, first_foot=first_foot)
    centres_s, spm = cad.cadence_track(step_times_s, window_s=CADENCE_WINDOW_S, hop_s=CADENCE_HOP_S)
    asym = cad.step_asymmetry(step_times_s, feet)
    gaps = cad.find_gaps(step_times_s)
    overall = cad.cadence_spm(step_times_s)
    warnings: list[str] = []
    confident = math.isfinite(overall)
    # the rhythm is judged whenever there are steps enough for a cadence, even where no interval
    # counted as a step (texture): the report says why there is no cadence
    if rhythm is not None and step_times_s.size >= cad.MIN_STEPS_FOR_CADENCE and not cad.rhythm_is_steady(
            step_times_s, rhythm["rhythmic"], rhythm["clarity"], tracked_step_s=rhythm["tracked_step_s"], spm=overall):
        confident = False
        overall = float("nan")
        spm = np.full_like(spm, np.nan)
        warnings.append("no steady step rhythm (texture or irregular sounds, not steps): no confident cadence")
    n = int(step_times_s.size)
    warnings.extend(_step_warnings(n, gaps, confidence))
    return {
        "steps": _steps_json(step_times_s, feet, confidence),
        "n_steps": n,
        "cadence_spm": _num(overall, 2),
        "duration_s": round(float(duration_s), 3),
        "cadence_track": [
            {"time_s": round(float(c), 2), "spm": _num(s, 2)} for c, s in zip(centres_s, spm)
        ],
        "cadence_window_s": CADENCE_WINDOW_S,
        "asymmetry": {
            "left_to_right_ms": _num(asym.left_to_right_ms, 1),
            "right_to_left_ms": _num(asym.right_to_left_ms, 1),
            "symmetry_index_pct": _num(asym.symmetry_index_pct, 2),
            "n_left_to_right": asym.n_left_to_right,
            "n_right_to_left": asym.n_right_to_left,
        },
        "feet_from": f"alternation; the first step is taken as {first_foot}",
        "gaps": [{"start_s": round(g.start_s, 3), "end_s": round(g.end_s, 3), "n_missing": g.n_missing} for g in gaps],
        "low_confidence": bool(warnings),
        "warnings": warnings,
        "cadence_confident": bool(confident),
        **(_rhythm_json(rhythm) if rhythm is not None else {}),
    }


def _step_warnings(n: int, gaps: list[cad.Gap], confidence: NDArray[np.float64] | None) -> list[str]:
    """What makes the figures of ``n`` steps uncertain: too few, gaps, low confidence."""
    warnings: list[str] = []
    if n == 0:
        warnings.append("no steps found")
    elif n < cad.MIN_CONFIDENT_STEPS:
        warnings.append(f"only {n} steps: cadence and asymmetry are uncertain")
    if gaps:
        missing = sum(g.n_missing for g in gaps)
        warnings.append(f"{len(gaps)} gap(s), about {missing} step(s) missing (not filled in)")
    if confidence is not None and confidence.size:
        n_low = int(np.sum(confidence < LOW_CONFIDENCE))
        if n_low > 0.25 * confidence.size:
            warnings.append(f"{n_low} of {confidence.size} footfalls have low confidence (< {LOW_CONFIDENCE})")
    return warnings


def _steps_json(step_times_s: NDArray[np.float64], feet: list[cad.Foot | None],
                confidence: NDArray[np.float64] | None) -> list[dict[str, Any]]:
    steps = []
    for i, t in enumerate(step_times_s):
        step: dict[str, Any] = {"time_s": round(float(t), 4), "foot": feet[i]}
        if confidence is not None:
            step["confidence"] = round(float(confidence[i]), 3)
            step["low_confidence"] = bool(confidence[i] < LOW_CONFIDENCE)
        steps.append(step)
    return steps


def _rhythm_json(rhythm: Rhythm) -> dict[str, Any]:
    return {"bands": rhythm["bands"], "rhythm_salience": round(float(rhythm["salience"]), 3),
            "rhythm_clarity": _num(rhythm["clarity"], 2), "tracked_step_s": _num(rhythm["tracked_step_s"], 4),
            "rhythmic_fraction": round(float(np.mean(rhythm["rhythmic"])) if len(rhythm["rhythmic"]) else 0.0, 3)}


def read_tick_times(path: Path) -> NDArray[np.float64]:
    """Tick times (s) from ``cadence render --json`` output (``{"beats": [{"time_s"}]}``), a
    samples/ ground-truth JSON (``{"ticks_s": [...]}``), or text with one time in seconds per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path}: cannot read the tick list ({exc})") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise ParameterError(f"{path}: not a tick list (JSON nested too deeply)") from None
    except ValueError:
        try:
            times = [float(line) for line in text.split() if line.strip()]
        except ValueError:
            raise ParameterError(f"{path}: not a tick list (JSON with 'beats' or 'ticks_s', or one time per line)") from None
    else:
        try:
            if isinstance(data, dict) and isinstance(data.get("beats"), list):
                times = [float(b["time_s"]) for b in data["beats"]]
            elif isinstance(data, dict) and isinstance(data.get("ticks_s"), list):
                times = [float(t) for t in data["ticks_s"]]
            elif isinstance(data, list):
                times = [float(t) for t in data]
            else:
                raise ParameterError(f"{path}: JSON without 'beats' or 'ticks_s'")
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ParameterError):
                raise
            raise ParameterError(f"{path}: not a tick list: 'beats' must hold objects with a number 'time_s', "
                                 "'ticks_s' (or a top-level list) numbers of seconds") from None
    arr = np.sort(np.asarray(times, dtype=np.float64))
    if arr.size and (not np.all(np.isfinite(arr)) or arr[0] < 0):
        raise ParameterError(f"{path}: tick times must be finite seconds >= 0")
    return arr


PLOT_MAX_S = 3600.0  # plot data for recordings up to an hour


def detect_in_file(path: Path, *, tick_times_s: NDArray[np.float64] | None = None,
                   progress: Progress | None = None) -> tuple[Footfalls, AudioInfo, Rhythm]:
    """Footfalls of an audio file, streamed block by block through the causal detector
    (:class:`StepDetector`): memory stays at a few blocks whatever the file's length.
    Returns (Footfalls, AudioInfo, rhythm): rhythm = the footfalls' ``rhythmic`` flags, the
    detector's ``salience`` and ``bands`` (for :func:`analyze_steps`). ``progress(done, total)``
    (frames) is called after each block, if given."""
    from coach.audio_io import audio_blocks

    info, blocks = audio_blocks(path)
    if not MIN_SAMPLE_RATE_HZ <= info.sample_rate <= MAX_SAMPLE_RATE_HZ:
        raise ParameterError(f"{path}: the file's sample rate, {info.sample_rate} Hz, is outside what the footfall "
                             f"detector takes ({MIN_SAMPLE_RATE_HZ}-{MAX_SAMPLE_RATE_HZ} Hz); resample the recording")
    detector = StepDetector(sample_rate=info.sample_rate)
    ticks = np.zeros(0) if tick_times_s is None else np.asarray(tick_times_s, dtype=np.float64)
    n_ticks_given = 0
    found = []
    done = 0
    for block in blocks:
        end_s = (done + block.shape[0]) / info.sample_rate
        upto = int(np.searchsorted(ticks, end_s + 1.0))  # ticks the detector may look at in this block
        if upto > n_ticks_given:
            detector.add_ticks(ticks[n_ticks_given:upto])
            n_ticks_given = upto
        found.append(detector.process_block(block))
        done += block.shape[0]
        if progress is not None:
            progress(done, info.n_frames)
    footfalls = Footfalls.concat(found)
    rhythm = detector_rhythm(detector, footfalls)
    return footfalls, dataclasses.replace(info, n_frames=done), rhythm  # the frames there were


def detector_rhythm(detector: StepDetector, footfalls: Footfalls) -> Rhythm:
    """What ``detector`` says of the rhythm of the ``footfalls`` it reported (for :func:`analyze_steps`)."""
    # at the step, not at a stride spanning a missed step (a soft foot's steps missed every few
    # steps carry the median half-stride to ~1.3 x the step, where nothing recurs)
    clarity = detector.rhythm_clarity(cad.typical_step_s(np.sort(footfalls.time_s), skip_missed=True))
    return {"rhythmic": footfalls.rhythmic, "salience": detector.rhythm_salience, "clarity": clarity,
            "tracked_step_s": cad.tracked_step_s(footfalls.period_s[footfalls.rhythmic],
                                                footfalls.time_s[footfalls.rhythmic]),
            "bands": detector.bands}


ACCEL_GAP_S = 5.0  # a pause in accelerometer samples longer than this splits the recording
ACCEL_MIN_STRETCH_S = 2.0  # stretches shorter than this are too short to hold steps


def accel_step_times(time_s: NDArray[np.float64], xyz: NDArray[np.float64], *,
                     max_gap_s: float = ACCEL_GAP_S) -> tuple[NDArray[np.float64], AccelSteps]:
    """Step times of an accelerometer recording, and the :class:`stepdetect.accel.AccelSteps` of
    its longest stretch (what the front end chose). Each stretch between pauses longer than
    ``max_gap_s`` (a logger off for a day) is detected on its own, so memory and time follow
    the samples, not the span of the clock."""
    from stepdetect.accel import accel_steps
    from stepdetect.accel_io import MIN_N_SAMPLES

    breaks = np.flatnonzero(np.diff(time_s) > max_gap_s) + 1
    if breaks.size == 0:
        found = accel_steps(time_s, xyz)
        return np.asarray(found.time_s, dtype=np.float64), found
    edges = [0, *breaks.tolist(), int(time_s.size)]
    stretches = [(a, b) for a, b in zip(edges[:-1], edges[1:])
                 if b - a >= MIN_N_SAMPLES and time_s[b - 1] - time_s[a] >= ACCEL_MIN_STRETCH_S]
    if not stretches:
        raise ParameterError(f"no stretch of accelerometer data between pauses of more than {max_gap_s:g} s is "
                             f"{ACCEL_MIN_STRETCH_S:g} s long")
    parts = [accel_steps(time_s[a:b], xyz[a:b]) for a, b in stretches]
    longest = max(range(len(parts)), key=lambda k: stretches[k][1] - stretches[k][0])
    return np.concatenate([np.asarray(p.time_s, dtype=np.float64) for p in parts]), parts[longest]


@dataclass
class _Found:
    """The steps of one recording and what the report says of its source."""

    step_times_s: NDArray[np.float64]
    confidence: NDArray[np.float64] | None
    duration_s: float
    header: str  # the text summary's first line
    source_keys: dict[str, Any]  # the report's source-specific keys
    rhythm: Rhythm | None = None
    plot: dict[str, Any] = field(default_factory=lambda: {"curve_t_s": None, "curve": None, "floor": None})


def analyze_path(path: Path, *, accel: bool, ticks_path: Path | None = None, first_foot: cad.Foot = "L",
                 plot: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """The report ``cadence analyze --json`` prints for ``path`` (audio or accelerometer CSV).

    With ``plot``, the report's private ``_plot`` key holds what ``--plot`` draws."""
    if accel:
        found = _accel_found(path, plot=plot)
    else:
        found = _audio_found(path, ticks_path=ticks_path, plot=plot, progress=progress)
    report = analyze_steps(found.step_times_s, found.confidence, duration_s=found.duration_s, first_foot=first_foot,
                           rhythm=found.rhythm)
    report["source"] = "accelerometer" if accel else "audio"
    report.update(found.source_keys)
    report["_header"] = found.header
    if plot:
        report["_plot"] = found.plot
    return report


def _accel_found(path: Path, *, plot: bool) -> _Found:
    from stepdetect.accel_io import read_accel_csv

    rec = read_accel_csv(path)
    if rec.time_s.size == 0:
        raise ParameterError(f"{path}: no accelerometer samples")
    step_times_s, front = accel_step_times(rec.time_s, rec.xyz)
    duration_s = float(rec.time_s[-1] - rec.time_s[0])
    accel_keys = {
        "band_hz": [round(front.band_hz[0], 3), round(front.band_hz[1], 3)],
        "step_period_s": None if np.isnan(front.step_period_s) else round(front.step_period_s, 4),
        "gravity_in_data": front.has_gravity,
        "work_rate_hz": round(front.rate_hz, 2),
        "step_method": front.method,  # "tracker": the step-rhythm tracker shared with audio
        "rhythm_salience": None if np.isnan(front.rhythm_salience) else round(front.rhythm_salience, 3),
    }
    found = _Found(step_times_s, None, duration_s,
                   f"{path}: {duration_s:.1f} s of accelerometer data ({rec.fmt}, {rec.time_s.size} samples)",
                   {"accel": accel_keys})
    if plot:
        found.plot.update(signal_t_s=rec.time_s, signal_y=np.linalg.norm(rec.xyz, axis=1), signal_label="|acc|")
    return found


def _audio_found(path: Path, *, ticks_path: Path | None, plot: bool, progress: Progress | None) -> _Found:
    from coach.audio_io import audio_info

    if plot and audio_info(path).duration_s > PLOT_MAX_S:
        raise ParameterError(f"{path}: --plot draws recordings up to {PLOT_MAX_S / 60:.0f} min; "
                             "analyze the whole file without --plot (or plot a cut of it)")
    ticks_s = read_tick_times(ticks_path) if ticks_path is not None else None
    footfalls, info, rhythm = detect_in_file(path, tick_times_s=ticks_s, progress=progress)
    found = _Found(footfalls.time_s, footfalls.confidence, info.duration_s,
                   f"{path}: {info.duration_s:.1f} s, {info.sample_rate} Hz, {info.n_channels} channel(s)",
                   {"detection_delay_s": round(StepDetector(sample_rate=info.sample_rate).detection_delay_s, 4)},
                   rhythm)
    if plot:
        from coach.audio_io import read_audio
        from stepdetect.features import onset_curve, to_mono

        y, sample_rate = read_audio(path)
        mono = to_mono(y)
        step = max(1, mono.size // 20000)
        curve_t_s, curve, floor = onset_curve(y, sample_rate=sample_rate)
        found.plot.update(signal_t_s=np.arange(0, mono.size, step) / sample_rate, signal_y=mono[::step],
                          signal_label="audio", curve_t_s=curve_t_s, curve=curve, floor=floor)
    return found
