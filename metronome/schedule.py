"""The beat clock: which sample each tick starts on.

Time is the stream's sample counter. The exact position of the next beat is kept as an
integer sample plus a fraction in [0, 1), so it carries no rounding error however long the
session runs; a tick starts on the nearest sample to that exact position (halves round up).

Each inter-beat interval is set when its beat starts, from the plan's cadence at that beat
(a ramp therefore sets each interval from the plan), or from a tempo override written by a
controller: a change takes effect at the next beat. During "off" segments the clock keeps
running; ticks are silent. Tick ``k`` marks step ``k * steps_per_tick``; even steps are the
left foot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Literal

from metronome.plans import Timeline
from metronome.units import ParameterError

Channel = Literal["both", "left", "right"]


@dataclass(frozen=True)
class Tick:
    """One beat of the clock (sounding or not)."""

    index: int  # beat number from 0, silent beats included
    start_sample: int  # first sample of the tick on the stream's counter
    exact_sample: float  # the exact (unrounded) beat position, in samples
    sample_rate: int
    spm: float  # the cadence in force at this beat (steps per minute)
    sounding: bool
    accent: bool
    channel: Channel
    foot: Literal["L", "R"]
    segment_index: int

    @property
    def time_s(self) -> float:
        """When the tick's first sample plays, in seconds from the stream's start."""
        return self.start_sample / self.sample_rate


def beat_foot(index: int, steps_per_tick: int) -> Literal["L", "R"]:
    """The foot beat ``index`` (silent beats included) marks: beat 0 the left foot, then
    alternating; with a tick every other step (``steps_per_tick`` 2) every tick marks the left."""
    return "L" if (index * steps_per_tick) % 2 == 0 else "R"


class BeatClock:
    """Walks the beats of a timeline at a sample rate.

    Parameters
    ----------
    timeline : Timeline
        The plan on the session's time axis.
    sample_rate : int > 0
        Hz.
    steps_per_tick : {1, 2}
        1 = a tick on every step; 2 = one tick per stride (every other step).
    accent_every : int >= 0
        Accent every n-th tick (0: no accents).
    alternate_ears : bool
        Put left-foot ticks in the left ear and right-foot ticks in the right ear.
    start_s : float >= 0
        Time of the first beat, seconds.
    """

    def __init__(
        self,
        timeline: Timeline,
        sample_rate: int,
        *,
        steps_per_tick: int = 1,
        accent_every: int = 0,
        alternate_ears: bool = False,
        start_s: float = 0.0,
    ) -> None:
        if steps_per_tick not in (1, 2):
            raise ParameterError(f"steps_per_tick must be 1 or 2, got {steps_per_tick}")
        if sample_rate <= 0:
            raise ParameterError(f"sample rate must be positive, got {sample_rate} Hz")
        if accent_every < 0:
            raise ParameterError(f"accent_every must be >= 0, got {accent_every}")
        self.timeline = timeline
        self.sample_rate = int(sample_rate)
        self.steps_per_tick = steps_per_tick
        self.accent_every = accent_every
        self.alternate_ears = alternate_ears
        #: Written by a controller (one float, or None); read at each beat.
        self.spm_override: float | None = None
        start = start_s * sample_rate
        self._whole = math.floor(start)
        self._frac = start - self._whole
        self._index = 0
        self._segment_hint = 0
        # State of the upcoming beat, read by the renderer without building objects.
        self.next_start_sample = 0
        self.next_sounding = False
        self.next_accent = False
        self.next_channel: Channel = "both"
        self.next_spm = 0.0
        self.next_segment_index = 0
        self._prepare()

    def _prepare(self) -> None:
        """Fill the ``next_*`` fields for the beat at the current exact position."""
        whole, frac = self._whole, self._frac
        self.next_start_sample = whole + 1 if frac >= 0.5 else whole
        time_s = (whole + frac) / self.sample_rate
        seg_i = self.timeline.locate(time_s, self._segment_hint)
        self._segment_hint = seg_i
        entry = self.timeline.entries[seg_i]
        override = self.spm_override
        self.next_spm = override if override is not None else self.timeline.entry_spm_at(seg_i, time_s)
        self.next_sounding = entry.segment.sounding
        self.next_segment_index = seg_i
        k = self._index
        self.next_accent = self.accent_every > 0 and k % self.accent_every == 0
        left_foot = beat_foot(k, self.steps_per_tick) == "L"
        self.next_channel = ("left" if left_foot else "right") if self.alternate_ears else "both"

    def advance(self) -> None:
        """Move to the following beat: interval = steps_per_tick * 60 / spm at this beat."""
        period = self.steps_per_tick * 60.0 * self.sample_rate / self.next_spm
        whole_period = math.floor(period)
        frac = self._frac + (period - whole_period)
        carry = math.floor(frac)
        self._whole += whole_period + carry
        self._frac = frac - carry
        self._index += 1
        self._prepare()

    @property
    def next_exact_sample(self) -> float:
        return self._whole + self._frac

    @property
    def next_index(self) -> int:
        return self._index

    def peek(self) -> Tick:
        """The upcoming beat as a :class:`Tick` (allocates: not for the audio callback)."""
        k = self._index
        return Tick(
            index=k,
            start_sample=self.next_start_sample,
            exact_sample=self.next_exact_sample,
            sample_rate=self.sample_rate,
            spm=self.next_spm,
            sounding=self.next_sounding,
            accent=self.next_accent,
            channel=self.next_channel,
            foot=beat_foot(k, self.steps_per_tick),
            segment_index=self.next_segment_index,
        )

    def ticks_until(self, end_sample: int) -> Iterator[Tick]:
        """Yield every beat whose first sample is before ``end_sample``, advancing the clock."""
        while self.next_start_sample < end_sample:
            tick = self.peek()
            self.advance()
            yield tick
