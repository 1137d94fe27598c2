"""Turning the beat clock into audio: the tick bank and the block renderer.

``TickRenderer.fill(out)`` writes the next ``len(out)`` frames in place. It is the body of
the live audio callback and of offline rendering alike, so it follows the real-time rules:
everything is allocated in ``__init__``; per block it only zeroes, slices, adds and counts.
A tick that straddles a block boundary continues in the next block, whatever the block
sizes. Every tick that sounds is logged (start sample, accent, channel) into preallocated
arrays that another thread drains with :meth:`TickRenderer.drain_log`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from numpy.typing import NDArray

from metronome.clicks import ACCENT_GAIN_DB, make_cue, make_tick
from metronome.plans import Timeline
from metronome.schedule import BeatClock, Channel
from metronome.units import ParameterError, db_to_gain

CHANNELS: tuple[Channel, ...] = ("both", "left", "right")
LOG_CAPACITY = 1 << 16  # ticks kept between drains: > 4 h at 240 spm


@dataclass(frozen=True)
class TickBank:
    """Pre-rendered ticks, float32, C-contiguous, shape (n, n_channels), level applied.

    ``waves[accent][channel]``: ``accent`` is 0/1 and ``channel`` an index into ``CHANNELS``.
    """

    waves: tuple[tuple[NDArray[np.float32], ...], ...]
    n_channels: int

    @classmethod
    def build(
        cls,
        normal: NDArray[np.float32],
        accented: NDArray[np.float32],
        *,
        n_channels: int,
        volume_db: float = -6.0,
    ) -> "TickBank":
        """Place mono ticks on the output channels at ``volume_db`` (accents +4 dB)."""
        if n_channels < 1:
            raise ParameterError(f"need at least one output channel, got {n_channels}")
        if volume_db > 0:
            raise ParameterError(f"volume {volume_db:g} dB would clip; use 0 dB (full scale) or less")
        rows = []
        for mono, gain in ((normal, db_to_gain(volume_db)), (accented, db_to_gain(min(volume_db + ACCENT_GAIN_DB, 0.0)))):
            row = []
            for channel in CHANNELS:
                w = np.zeros((mono.shape[0], n_channels), dtype=np.float32)
                if channel == "both" or n_channels == 1:
                    w[:, :] = (mono * gain)[:, None]
                else:
                    w[:, 0 if channel == "left" else 1] = mono * gain
                row.append(np.ascontiguousarray(w))
            rows.append(tuple(row))
        return cls(tuple(rows), n_channels)

    @classmethod
    def synthesized(cls, sound: str, sample_rate: int, *, n_channels: int, volume_db: float = -6.0) -> "TickBank":
        return cls.build(
            make_tick(sound, sample_rate),
            make_tick(sound, sample_rate, accent=True),
            n_channels=n_channels,
            volume_db=volume_db,
        )

    @property
    def max_length(self) -> int:
        return max(int(w.shape[0]) for row in self.waves for w in row)


@dataclass(frozen=True, slots=True)
class TickRecord:
    """A tick that sounded, as logged by the renderer."""

    start_sample: int
    accent: bool
    channel: Channel
    spm: float
    segment_index: int
    index: int  # the clock's beat number (silent beats included)


def cue_events(timeline: Timeline, sample_rate: int) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
    """Where the sounding state changes: (start samples, kinds) with kind 1 = ticks start
    (rising chime), 0 = ticks stop (falling chime)."""
    starts, kinds = [], []
    entries = timeline.entries
    for prev, entry in zip(entries, entries[1:]):
        if prev.segment.sounding != entry.segment.sounding:
            starts.append(int(round(entry.start_s * sample_rate)))
            kinds.append(1 if entry.segment.sounding else 0)
    return np.array(starts, dtype=np.int64), np.array(kinds, dtype=np.int8)


def cue_waves(sample_rate: int, n_channels: int, volume_db: float) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(falling, rising) chimes as (n, channels) float32 at ``volume_db``."""
    gain = db_to_gain(volume_db)
    return tuple(  # type: ignore[return-value]
        np.ascontiguousarray(np.repeat((make_cue(sample_rate, rising=r) * gain)[:, None], n_channels, axis=1))
        for r in (False, True)
    )


class TickRenderer:
    """Renders ticks from a :class:`BeatClock` into output blocks.

    Parameters
    ----------
    clock : BeatClock
    bank : TickBank
        Its channel count fixes the width of the blocks ``fill`` accepts.
    """

    def __init__(self, clock: BeatClock, bank: TickBank) -> None:
        self.clock = clock
        self.bank = bank
        self.n_channels = bank.n_channels
        #: Sample index of the next frame ``fill`` writes (the stream's sample counter).
        self.position = 0
        #: Written by a controller: while True, beats pass silently (read once per block).
        self.muted = False
        # Cues (chimes at interval changes): (start samples, kinds, waves), swapped whole.
        self._cues: tuple[NDArray[np.int64], NDArray[np.int8], tuple[NDArray[np.float32], ...]] | None = None
        self._cue_index = 0
        self._cue_active: NDArray[np.float32] | None = None
        self._cue_offset = 0
        self._active: NDArray[np.float32] | None = None
        self._active_offset = 0
        # Tick log: a ring written here, read by drain_log; counters only grow.
        self._log_start = np.zeros(LOG_CAPACITY, dtype=np.int64)
        self._log_accent = np.zeros(LOG_CAPACITY, dtype=np.bool_)
        self._log_channel = np.zeros(LOG_CAPACITY, dtype=np.int8)
        self._log_spm = np.zeros(LOG_CAPACITY, dtype=np.float64)
        self._log_segment = np.zeros(LOG_CAPACITY, dtype=np.int32)
        self._log_index = np.zeros(LOG_CAPACITY, dtype=np.int64)
        self.ticks_written = 0
        self._ticks_read = 0
        self.ticks_lost = 0
        self._channel_index = {c: i for i, c in enumerate(CHANNELS)}

    def set_cues(self, starts: NDArray[np.int64], kinds: NDArray[np.int8],
                 waves: tuple[NDArray[np.float32], NDArray[np.float32]]) -> None:
        """Play ``waves[kind]`` at each start sample (call before streaming, or swap whole)."""
        index = int(np.searchsorted(starts, self.position))
        self._cue_index = index
        self._cues = (starts, kinds, waves)

    def fill(self, out: NDArray[np.float32]) -> None:
        """Write the next ``out.shape[0]`` frames into ``out`` (frames, channels), in place."""
        frames = out.shape[0]
        out.fill(0.0)
        start = self.position
        end = start + frames
        active = self._active
        if active is not None:
            offset = self._active_offset
            n = min(frames, active.shape[0] - offset)
            out[:n] += active[offset : offset + n]
            if offset + n >= active.shape[0]:
                self._active = None
            else:
                self._active_offset = offset + n
        clock = self.clock
        muted = self.muted
        while clock.next_start_sample < end:
            if clock.next_sounding and not muted:
                at = clock.next_start_sample - start
                wave = self.bank.waves[clock.next_accent][self._channel_index[clock.next_channel]]
                if at < 0:  # a beat scheduled before this block (only if the clock started in the past)
                    at = 0
                n = min(frames - at, wave.shape[0])
                out[at : at + n] += wave[:n]
                if n < wave.shape[0]:  # continues in the next block (cutting any older tick)
                    self._active = wave
                    self._active_offset = n
                self._log(clock)
            clock.advance()
        if self._cues is not None:
            self._fill_cues(out, start, end)
        self.position = end

    def _fill_cues(self, out: NDArray[np.float32], start: int, end: int) -> None:
        frames = end - start
        active = self._cue_active
        if active is not None:
            offset = self._cue_offset
            n = min(frames, active.shape[0] - offset)
            out[:n] += active[offset : offset + n]
            self._cue_active = None if offset + n >= active.shape[0] else active
            self._cue_offset = offset + n
        starts, kinds, waves = self._cues  # type: ignore[misc]
        i = self._cue_index
        while i < starts.shape[0] and starts[i] < end:
            at = max(int(starts[i]) - start, 0)
            wave = waves[kinds[i]]
            n = min(frames - at, wave.shape[0])
            out[at : at + n] += wave[:n]
            if n < wave.shape[0]:
                self._cue_active = wave
                self._cue_offset = n
            i += 1
        self._cue_index = i

    def _log(self, clock: BeatClock) -> None:
        i = self.ticks_written % LOG_CAPACITY
        if self.ticks_written - self._ticks_read >= LOG_CAPACITY:
            self.ticks_lost += 1  # the reader fell behind; never block the audio thread
        self._log_start[i] = clock.next_start_sample
        self._log_accent[i] = clock.next_accent
        self._log_channel[i] = self._channel_index[clock.next_channel]
        self._log_spm[i] = clock.next_spm
        self._log_segment[i] = clock.next_segment_index
        self._log_index[i] = clock.next_index
        self.ticks_written += 1

    def drain_log(self) -> list[TickRecord]:
        """Ticks that sounded since the last call (called from a non-audio thread)."""
        written = self.ticks_written
        first = max(self._ticks_read, written - LOG_CAPACITY)
        out = []
        for k in range(first, written):
            i = k % LOG_CAPACITY
            out.append(
                TickRecord(
                    int(self._log_start[i]),
                    bool(self._log_accent[i]),
                    CHANNELS[int(self._log_channel[i])],
                    float(self._log_spm[i]),
                    int(self._log_segment[i]),
                    int(self._log_index[i]),
                )
            )
        self._ticks_read = written
        return out


def render_blocks(renderer: TickRenderer, n_frames: int, block_size: int = 65536) -> Iterable[NDArray[np.float32]]:
    """Render ``n_frames`` frames in blocks (the last may be shorter). Yields a reused buffer."""
    buf = np.zeros((block_size, renderer.n_channels), dtype=np.float32)
    done = 0
    while done < n_frames:
        n = min(block_size, n_frames - done)
        view = buf[:n]
        renderer.fill(view)
        done += n
        yield view


def render_array(renderer: TickRenderer, n_frames: int, block_size: int = 65536) -> NDArray[np.float32]:
    """Render ``n_frames`` frames into one new array (frames, channels)."""
    out = np.empty((n_frames, renderer.n_channels), dtype=np.float32)
    done = 0
    for block in render_blocks(renderer, n_frames, block_size):
        out[done : done + block.shape[0]] = block
        done += block.shape[0]
    return out
