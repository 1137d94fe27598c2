"""The 6-8 week cadence program: two ~20 min sessions a week (intervals, strides, drills) at a
target that moves up only when the history shows the runner holds it; each session as a plan
for ``cadence run --plan``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Sequence

from coach.progression import TARGET_HIGH_RATIO, next_target_spm
from metronome.plans import Segment, SegmentGroup, plan_toml

SESSION_KINDS = ("intervals", "strides", "drills")
SESSIONS_PER_WEEK = 2
SESSION_DAY_OFFSETS = (1, 4)  # Tuesday and Friday when the plan starts on a Monday
WEEKS_PER_TARGET = 3  # hold a target ~3 weeks before the plan proposes the next
WARM_UP_S = 300.0
COOL_DOWN_S = 300.0

PlanItem = Segment | SegmentGroup


def _seg(label: str, duration_s: float, spm: float, sound: bool = True) -> Segment:
    return Segment(label, float(duration_s), float(spm), float(spm), sound)


def session_segments(kind: str, *, baseline_spm: float, target_spm: float) -> list[PlanItem]:
    """The segments of one ~20 min cadence session (warm-up and cool-down included).

    Parameters
    ----------
    kind : {"intervals", "strides", "drills"}
    baseline_spm, target_spm : float
        Easy-pace baseline and the session's target, steps per minute.

    Returns
    -------
    list of Segment or SegmentGroup
        In order, constant cadences; nothing asks for more than +10 % over baseline.
    """
    cap = math.floor(baseline_spm * TARGET_HIGH_RATIO)
    target = min(float(target_spm), cap)
    easy = float(round(baseline_spm))
    warm = _seg("warm-up (easy, no ticks)", WARM_UP_S, easy, sound=False)
    cool = _seg("cool-down (easy, no ticks)", COOL_DOWN_S, easy, sound=False)
    main: list[PlanItem]
    if kind == "intervals":  # 1 min at target, then 3 x (2 min on, 1 min off): 10 min
        main = [
            _seg("settle at target", 60.0, target),
            SegmentGroup("interval", 3, (_seg("on", 120.0, target), _seg("off (hold it)", 60.0, target, sound=False))),
        ]
    elif kind == "strides":  # 4 x (20 s quick strides, 2 min easy), then 40 s at target: 10 min
        stride = float(min(round(target * 1.02), cap))
        main = [
            SegmentGroup("stride", 4, (_seg("stride", 20.0, stride), _seg("easy jog", 120.0, easy, sound=False))),
            _seg("settle at target", 40.0, target),
        ]
    elif kind == "drills":  # 6 x (30 s quick-feet drill on the tick, 1 min easy), 1 min on: 10 min
        main = [
            SegmentGroup("drill", 6, (_seg("quick feet / A-skips", 30.0, target), _seg("easy", 60.0, easy, sound=False))),
            _seg("run at target", 60.0, target),
        ]
    else:
        raise ValueError(f"unknown session kind {kind!r}; kinds are {', '.join(SESSION_KINDS)}")
    return [warm, *main, cool]


def segments_duration_s(items: Sequence[PlanItem]) -> float:
    """How long the segments play, groups repeated."""
    total = 0.0
    for item in items:
        if isinstance(item, SegmentGroup):
            total += item.times * segments_duration_s(item.segments)
        else:
            total += item.duration_s
    return total


def segment_dict(item: PlanItem) -> dict[str, Any]:
    """A program segment in the JSON of ``cadence plan --json``: ``label``, ``duration_s``,
    ``spm``, ``sound``; a group as ``label``, ``times``, ``segments``."""
    if isinstance(item, SegmentGroup):
        return {"label": item.label, "times": item.times, "segments": [segment_dict(s) for s in item.segments]}
    return {"label": item.label, "duration_s": item.duration_s, "spm": item.start_spm, "sound": item.sounding}


@dataclass
class ProgramSession:
    """One session of the program. ``provisional``: its target is a proposal (taken only when
    ``cadence target`` confirms the runner holds the one before). ``file``: where its plan was
    written, if it was."""

    week: int
    n: int
    date: date
    kind: str
    target_spm: float
    provisional: bool
    segments: list[PlanItem]
    file: str | None = None

    @property
    def duration_s(self) -> float:
        return segments_duration_s(self.segments)

    @property
    def file_stem(self) -> str:
        return f"week{self.week}-{self.n:02d}-{self.kind}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON layout of a session in ``cadence plan --json``."""
        out = {"week": self.week, "n": self.n, "date": self.date.isoformat(), "kind": self.kind,
               "target_spm": self.target_spm, "provisional": self.provisional, "duration_s": self.duration_s,
               "segments": [segment_dict(s) for s in self.segments]}
        if self.file is not None:
            out["file"] = self.file
        return out

    def plan_toml(self, *, baseline_spm: float) -> str:
        """The session as a plan file that ``metronome.plans.load_plan`` parses (absolute spm)."""
        return plan_toml(
            self.segments,
            description=f"Week {self.week} {self.kind}: target {self.target_spm:g} spm",
            comment=f"cadence plan: week {self.week}, session {self.n} ({self.date.isoformat()}), "
                    f"baseline {baseline_spm:.1f} spm",
        )


def build_program(
    baseline_spm: float,
    *,
    weeks: int,
    start: date,
    current_target_spm: float | None = None,
    holds: bool = False,
) -> list[ProgramSession]:
    """A 6-8 week program of two ~20 min cadence sessions a week.

    The first target is ``next_target_spm(baseline, current, holds)`` (the history decides
    whether it moves). Later targets are *proposals*: +2.5 % of baseline every
    ``WEEKS_PER_TARGET`` weeks, to be taken only when ``cadence target`` confirms the runner
    holds the current one; never above +10 %. Blocks cycle intervals -> strides -> drills.

    Parameters
    ----------
    start : datetime.date
        Monday (or any day) the program starts.
    """
    if not 6 <= weeks <= 8:
        raise ValueError(f"a program lasts 6-8 weeks, got {weeks}")
    first = next_target_spm(baseline_spm, current_target_spm, holds)
    out = []
    target = first
    for week in range(1, weeks + 1):
        if week > 1 and (week - 1) % WEEKS_PER_TARGET == 0:
            target = next_target_spm(baseline_spm, target, holds=True)
        for k in range(SESSIONS_PER_WEEK):
            n = (week - 1) * SESSIONS_PER_WEEK + k + 1
            kind = SESSION_KINDS[(n - 1) % len(SESSION_KINDS)]
            out.append(ProgramSession(
                week=week, n=n, date=start + timedelta(days=7 * (week - 1) + SESSION_DAY_OFFSETS[k]), kind=kind,
                target_spm=target, provisional=target != first,
                segments=session_segments(kind, baseline_spm=baseline_spm, target_spm=target),
            ))
    return out
