"""What the live display shows while a session runs, updated at each control step.

The session's consumer fills :class:`LiveFigures`; the display (``cli.display``) only reads it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from coach.control import ControlStep
from metronome.plans import Timeline
from stepdetect.drift import asynchronies_ms

RECENT_ASYNCHRONIES = 40  # footfalls the "in sync" share is taken over


@dataclass
class LiveFigures:
    """What the live display shows (updated by the session's consumer)."""

    time_s: float = 0.0
    tempo_spm: float | None = None  # None while the baseline is measured in a silent warm-up
    cadence_spm: float | None = None
    last_asynchrony_ms: float | None = None
    recent_asynchrony_ms: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_ASYNCHRONIES))
    in_sync_pct: float | None = None
    segment_label: str = ""
    segment_sounding: bool = True
    segment_left_s: float | None = 0.0  # None: the segment runs until the session is stopped
    controller_state: str = ""
    n_steps: int = 0
    muted: bool = False
    stream_note: str = ""  # e.g. the audio stream is being reopened (set by the consumer loop)

    def show_control(self, step: ControlStep, timeline: Timeline, *, tempo_known: bool, controller_state: str,
                     n_steps: int, muted: bool) -> None:
        """The control step's outcome: tempo (None while it is a warm-up placeholder), cadence, segment."""
        entry = timeline.entries[step.entry_index]
        self.time_s = step.time_s
        self.tempo_spm = step.tempo_spm if tempo_known else None
        self.cadence_spm = step.cadence_spm
        self.segment_label = entry.segment.label or timeline.plan.name
        self.segment_sounding = entry.segment.sounding
        open_ended = timeline.duration_s is None and step.entry_index == len(timeline.entries) - 1
        self.segment_left_s = None if open_ended else max(entry.end_s - step.time_s, 0.0)
        self.controller_state = controller_state
        self.n_steps = n_steps
        self.muted = muted

    def show_asynchrony(self, steps_s: NDArray[np.float64], beats_s: NDArray[np.float64], *, every_other_step: bool,
                        tolerance_ms: float) -> None:
        """The latest footfalls (in sounding intervals) against the latest heard beats."""
        a, _ = asynchronies_ms(steps_s, beats_s, every_other_step=every_other_step)
        valid = a[np.isfinite(a)]
        if valid.size:
            self.last_asynchrony_ms = float(valid[-1])
            self.recent_asynchrony_ms.extend(valid[-2:].tolist())
            recent = np.array(self.recent_asynchrony_ms)
            self.in_sync_pct = 100.0 * float(np.mean(np.abs(recent) <= tolerance_ms))
