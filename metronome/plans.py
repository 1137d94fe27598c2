"""Tempo plans: what cadence the metronome asks for, and when it is silent.

A plan is a list of segments, each with a duration, a start and end cadence (equal for a
constant tempo, different for a linear ramp) and whether ticks sound. Plans are written in
steps per minute; whether a tick falls on every step or every other step is a rendering
choice, not part of the plan. Plans come from built-in presets or small TOML files::

    description = "Two tempo steps, then intervals"
    repeat_from = 3                 # after one pass, cycle from segment 3 (1-based) on;
                                    # `repeat = true` cycles the whole plan; default: the
                                    # last segment holds until the session ends
    [[segment]]
    label = "settle"
    duration = "3m"                 # 90s, 2m, 1m30s, 1h or seconds
    spm = "baseline"                # a number, "target", "baseline", "target-3%", "baseline+4"
    [[segment]]
    duration = "5m"
    from_spm = "baseline"           # a linear ramp
    to_spm = "target"
    [[segment]]
    label = "strides"
    times = 4                       # a group, repeated
    segments = [ { label = "on", duration = "20s", spm = "target" },
                 { label = "easy", duration = "2m", spm = "baseline", sound = false } ]

Presets (``PRESETS``) are TOML files in ``metronome/presets``.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from metronome.units import ParameterError, check_spm, parse_duration_s

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_TARGET_RATIO = 1.07
UNLIMITED_HORIZON_S = 24 * 3600.0
MAX_PLAN_SEGMENTS = 10_000  # segments of one pass of a plan, `times` groups expanded
MAX_TIMELINE_ENTRIES = 100_000  # segments laid out on a session's time axis (repeats included)

PRESETS = ("steady", "intervals", "itb", "strides", "ramp")

_TEMPO_RE = re.compile(r"^(target|baseline)\s*(?:([+-])\s*(\d+(?:\.\d+)?)\s*(%?))?$")


@dataclass(frozen=True)
class Segment:
    """One stretch of a plan, with absolute cadences in steps per minute."""

    label: str
    duration_s: float
    start_spm: float
    end_spm: float
    sounding: bool = True

    def spm_at(self, offset_s: float) -> float:
        """Cadence ``offset_s`` seconds into the segment (linear between start and end)."""
        if self.start_spm == self.end_spm:
            return self.start_spm
        frac = min(max(offset_s / self.duration_s, 0.0), 1.0)
        return self.start_spm + (self.end_spm - self.start_spm) * frac


@dataclass(frozen=True)
class Plan:
    """A resolved plan: segments with absolute cadences.

    ``repeat_from`` is the 0-based index of the first segment of the cycle that repeats
    after the first pass; ``None`` means the last segment holds.
    """

    name: str
    segments: tuple[Segment, ...]
    repeat_from: int | None = None
    description: str = ""

    def segment(self, index: int) -> Segment:
        """The ``index``-th segment in play order (cycling, or holding the last one)."""
        n = len(self.segments)
        if index < n:
            return self.segments[index]
        if self.repeat_from is None:
            return self.segments[-1]
        cycle = n - self.repeat_from
        return self.segments[self.repeat_from + (index - n) % cycle]

    @property
    def pass_duration_s(self) -> float:
        return sum(s.duration_s for s in self.segments)


@dataclass(frozen=True)
class TimedSegment:
    """A segment placed on the session's time axis."""

    index: int
    start_s: float
    end_s: float
    segment: Segment

    def spm_at(self, time_s: float) -> float:
        return self.segment.spm_at(time_s - self.start_s)


class Timeline:
    """A plan laid out on the session's time axis, with optional warm-up and cool-down.

    Warm-up and cool-down are silent stretches at the baseline cadence (the runner runs
    easy; detection, where there is any, keeps measuring). The cool-down takes the last
    ``cooldown_s`` of ``duration_s``. Without a duration, the plan is laid out over 24 h.

    With ``ramp_s``, the plan's cadences are approached gradually: at ``t`` seconds after the
    warm-up, a plan cadence ``p`` plays as ``baseline + (p - baseline) * min(t / ramp_s, 1)``,
    so "target" ramps linearly from the baseline to the target over ``ramp_s`` while
    "baseline" stays put.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        duration_s: float | None = None,
        warmup_s: float = 0.0,
        cooldown_s: float = 0.0,
        baseline_spm: float | None = None,
        ramp_s: float = 0.0,
    ) -> None:
        if (warmup_s or cooldown_s or ramp_s) and baseline_spm is None:
            raise ParameterError("warm-up, cool-down and ramps need a baseline cadence")
        if ramp_s < 0:
            raise ParameterError(f"ramp must be >= 0 s, got {ramp_s:g}")
        if cooldown_s and duration_s is None:
            raise ParameterError("a cool-down needs a session duration")
        horizon_s = duration_s if duration_s is not None else UNLIMITED_HORIZON_S
        if warmup_s + cooldown_s >= horizon_s:
            raise ParameterError(
                f"warm-up ({warmup_s:g} s) and cool-down ({cooldown_s:g} s) leave no time in a {horizon_s:g} s session"
            )
        self.plan = plan
        self.duration_s = duration_s
        self.baseline_spm = baseline_spm
        self.ramp_s = ramp_s
        self.ramp_start_s = warmup_s
        entries: list[TimedSegment] = []

        def add(seg: Segment, start_s: float, end_s: float) -> None:
            entries.append(TimedSegment(len(entries), start_s, end_s, seg))

        t = 0.0
        if warmup_s:
            add(Segment("warm-up", warmup_s, baseline_spm, baseline_spm, False), 0.0, warmup_s)  # type: ignore[arg-type]
            t = warmup_s
        main_end_s = horizon_s - cooldown_s
        i = 0
        while t < main_end_s:
            seg = plan.segment(i)
            end_s = t + seg.duration_s
            if i >= len(plan.segments) - 1 and plan.repeat_from is None:
                end_s = main_end_s  # the last segment holds
            if end_s > main_end_s:
                end_s = main_end_s
                seg = replace(seg, duration_s=end_s - t) if seg.start_spm == seg.end_spm else seg
            add(seg, t, end_s)
            t = end_s
            i += 1
            if len(entries) > MAX_TIMELINE_ENTRIES:
                over = f"{duration_s / 3600:.4g} h" if duration_s is not None else "24 h (no --duration given)"
                raise ParameterError(
                    f"plan {plan.name} repeats into more than {MAX_TIMELINE_ENTRIES:,} segments over {over}; "
                    "make its segments longer or the session shorter"
                )
        if cooldown_s:
            add(Segment("cool-down", cooldown_s, baseline_spm, baseline_spm, False), main_end_s, horizon_s)  # type: ignore[arg-type]
        self.entries: tuple[TimedSegment, ...] = tuple(entries)

    def locate(self, time_s: float, hint: int = 0) -> int:
        """Index of the entry containing ``time_s``, searching forward from ``hint``.

        Times past the end belong to the last entry; times before 0 to the first.
        """
        i = hint if 0 <= hint < len(self.entries) else 0
        if time_s < self.entries[i].start_s:
            i = 0
        last = len(self.entries) - 1
        while i < last and time_s >= self.entries[i].end_s:
            i += 1
        return i

    def entry_spm_at(self, index: int, time_s: float) -> float:
        """Cadence at ``time_s`` within entry ``index``, with the ramp applied."""
        spm = self.entries[index].spm_at(time_s)
        if self.ramp_s and self.baseline_spm is not None:
            progress = min(max((time_s - self.ramp_start_s) / self.ramp_s, 0.0), 1.0)
            spm = self.baseline_spm + (spm - self.baseline_spm) * progress
        return spm

    def spm_at(self, time_s: float) -> float:
        return self.entry_spm_at(self.locate(time_s), time_s)

    def describe(self) -> list[dict[str, Any]]:
        """The entries as plain dicts (for JSON)."""
        return [
            {
                "label": e.segment.label,
                "start_s": e.start_s,
                "end_s": e.end_s,
                "start_spm": self.entry_spm_at(e.index, e.start_s),
                "end_spm": self.entry_spm_at(e.index, e.end_s),
                "sounding": e.segment.sounding,
            }
            for e in self.entries
        ]


def default_baseline_spm(target_spm: float) -> float:
    """The baseline a target implies when none is given: target / 1.07, to 0.1 spm."""
    return round(target_spm / DEFAULT_TARGET_RATIO, 1)


def _resolve_tempo(value: Any, *, target_spm: float, baseline_spm: float, force: bool, where: str) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{where}: cadence must be a number or 'target'/'baseline', got {value!r}")
    if isinstance(value, (int, float)):
        spm = float(value)
    elif isinstance(value, str):
        match = _TEMPO_RE.match(value.strip().lower())
        if match is None:
            raise ParameterError(
                f"{where}: cannot read cadence {value!r}; use a number of steps/min, 'target', 'baseline', "
                "'target-5%' or 'baseline+4'"
            )
        ref, sign, amount, pct = match.groups()
        spm = target_spm if ref == "target" else baseline_spm
        if sign:
            delta = float(amount) * (spm / 100.0 if pct else 1.0)
            spm = spm + delta if sign == "+" else spm - delta
    else:
        raise ParameterError(f"{where}: cadence must be a number or text, got {value!r}")
    return check_spm(spm, force=force, what=f"{where}: cadence")


def _parse_segment(raw: Any, *, where: str, **tempo: Any) -> list[Segment]:
    if not isinstance(raw, dict):
        raise ParameterError(f"{where}: expected a table with duration and spm")
    known = {"label", "duration", "spm", "from_spm", "to_spm", "sound", "times", "segments"}
    unknown = set(raw) - known
    if unknown:
        raise ParameterError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    label = str(raw.get("label", ""))
    if "times" in raw or "segments" in raw:
        times = raw.get("times", 1)
        inner = raw.get("segments")
        if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 1000:
            raise ParameterError(f"{where}: times must be a whole number from 1 to 1000")
        if not isinstance(inner, list) or not inner:
            raise ParameterError(f"{where}: a group needs a non-empty 'segments' list")
        once: list[Segment] = []
        for j, sub in enumerate(inner):
            once.extend(_parse_segment(sub, where=f"{where}.{j + 1}", **tempo))
        if times * len(once) > MAX_PLAN_SEGMENTS:
            raise ParameterError(f"{where}: {times} x {len(once)} segments is more than a plan may hold "
                                 f"({MAX_PLAN_SEGMENTS:,} segments in one pass); use fewer repetitions")
        out: list[Segment] = []
        for k in range(times):
            suffix = f" {k + 1}/{times}" if times > 1 else ""
            out.extend(replace(s, label=(s.label or label) + suffix) for s in once)
        return out
    if "duration" not in raw:
        raise ParameterError(f"{where}: missing 'duration'")
    try:
        duration_s = parse_duration_s(raw["duration"])
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None
    sound = raw.get("sound", True)
    if not isinstance(sound, bool):
        raise ParameterError(f"{where}: 'sound' must be true or false")
    if "spm" in raw:
        if "from_spm" in raw or "to_spm" in raw:
            raise ParameterError(f"{where}: give either spm or from_spm/to_spm, not both")
        start = end = _resolve_tempo(raw["spm"], where=where, **tempo)
    elif "from_spm" in raw and "to_spm" in raw:
        start = _resolve_tempo(raw["from_spm"], where=where, **tempo)
        end = _resolve_tempo(raw["to_spm"], where=where, **tempo)
    else:
        raise ParameterError(f"{where}: give spm, or from_spm and to_spm")
    return [Segment(label, duration_s, start, end, sound)]


def parse_plan(
    text: str, *, name: str, target_spm: float, baseline_spm: float | None = None, force: bool = False
) -> Plan:
    """Parse a TOML plan. Cadence expressions resolve against target and baseline (spm).

    Every resolved cadence must lie in 60-240 spm unless ``force``.
    """
    tempo = {
        "target_spm": target_spm,
        "baseline_spm": baseline_spm if baseline_spm is not None else default_baseline_spm(target_spm),
        "force": force,
    }
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"plan {name}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ParameterError(f"plan {name}: nested too deeply to be a plan") from None
    unknown = set(doc) - {"description", "repeat", "repeat_from", "segment", "name"}
    if unknown:
        raise ParameterError(f"plan {name}: unknown key(s) {', '.join(sorted(unknown))}")
    raw_segments = doc.get("segment")
    if not isinstance(raw_segments, list) or not raw_segments:
        raise ParameterError(f"plan {name}: no [[segment]] entries")
    segments: list[Segment] = []
    first_expanded: list[int] = []  # index in `segments` where each raw entry starts
    for i, raw in enumerate(raw_segments):
        first_expanded.append(len(segments))
        segments.extend(_parse_segment(raw, where=f"plan {name}, segment {i + 1}", **tempo))
        if len(segments) > MAX_PLAN_SEGMENTS:
            raise ParameterError(f"plan {name}: more than {MAX_PLAN_SEGMENTS:,} segments in one pass")
    if not any(s.sounding for s in segments):
        raise ParameterError(f"plan {name}: no segment sounds")
    repeat_from: int | None = 0 if doc.get("repeat") is True else None
    if "repeat_from" in doc:
        rf = doc["repeat_from"]
        if not isinstance(rf, int) or isinstance(rf, bool) or not 1 <= rf <= len(raw_segments):
            raise ParameterError(f"plan {name}: repeat_from must be a segment number from 1 to {len(raw_segments)}")
        repeat_from = first_expanded[rf - 1]
    return Plan(
        name=str(doc.get("name", name)),
        segments=tuple(segments),
        repeat_from=repeat_from,
        description=str(doc.get("description", "")),
    )


def preset_text(name: str) -> str:
    """The TOML source of a built-in preset."""
    if name not in PRESETS:
        raise ParameterError(f"unknown plan {name!r}; presets are {', '.join(PRESETS)}, or give a .toml file")
    return resources.files("metronome.presets").joinpath(f"{name}.toml").read_text(encoding="utf-8")


def load_plan(spec: str, *, target_spm: float, baseline_spm: float | None = None, force: bool = False) -> Plan:
    """A preset by name, or a TOML file by path."""
    if spec in PRESETS:
        return parse_plan(preset_text(spec), name=spec, target_spm=target_spm, baseline_spm=baseline_spm, force=force)
    path = Path(spec)
    if path.suffix.lower() != ".toml" and not path.exists():
        raise ParameterError(f"unknown plan {spec!r}; presets are {', '.join(PRESETS)}, or give a .toml file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read plan file {spec}: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_plan(text, name=path.stem, target_spm=target_spm, baseline_spm=baseline_spm, force=force)


# --- writing plans ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentGroup:
    """Segments played ``times`` times in a row (a ``times`` group in a TOML plan)."""

    label: str
    times: int
    segments: tuple[Segment, ...]


def plan_toml(items: Sequence[Segment | SegmentGroup], *, description: str = "", comment: str = "",
              name: str = "", repeat_from: int | None = None) -> str:
    """A TOML plan that ``parse_plan``/``load_plan`` read back as the same plan (absolute
    cadences in spm; a group's segments get its labels numbered as the parser numbers them).
    ``comment`` becomes a first ``#`` line; ``repeat_from`` is the 0-based index of the item
    the cycle starts from (``Plan.repeat_from`` for a plan without groups)."""
    lines = [f"# {comment}"] if comment else []
    if name:
        lines.append("name = " + _toml_value(name))
    if description:
        lines.append("description = " + _toml_value(description))
    if repeat_from is not None:
        lines.append(f"repeat_from = {repeat_from + 1}")
    lines.append("")
    for item in items:
        lines.append("[[segment]]")
        if isinstance(item, SegmentGroup):
            inner = ", ".join("{ " + ", ".join(f"{k} = {v}" for k, v in _toml_fields(s).items()) + " }"
                              for s in item.segments)
            lines += [f"label = {_toml_value(item.label)}", f"times = {item.times}", f"segments = [ {inner} ]"]
        else:
            lines += [f"{k} = {v}" for k, v in _toml_fields(item).items()]
        lines.append("")
    return "\n".join(lines)


def _toml_value(v: str | float | bool) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        short = f"{v:g}"
        return short if float(short) == v else repr(float(v))  # repr: the shortest exact form
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


def _toml_duration(seconds: float) -> str:
    if seconds != round(seconds):
        return _toml_value(seconds)  # a bare number of seconds
    m, s = divmod(int(round(seconds)), 60)
    return _toml_value(f"{m}m{s}s" if m and s else (f"{m}m" if m else f"{s}s"))


def _toml_fields(seg: Segment) -> dict[str, str]:
    tempo = ({"spm": _toml_value(seg.start_spm)} if seg.start_spm == seg.end_spm
             else {"from_spm": _toml_value(seg.start_spm), "to_spm": _toml_value(seg.end_spm)})
    return {"label": _toml_value(seg.label), "duration": _toml_duration(seg.duration_s), **tempo,
            "sound": _toml_value(seg.sounding)}
