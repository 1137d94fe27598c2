"""The session's audio engine: ticks out, microphone in, one sample clock.

``DuplexCore.process`` is the real-time work per block: render ticks into ``outdata`` in place
and copy ``indata`` into a preallocated single-producer/single-consumer ring. Both backends
call it: ``coach.live_backend.LiveBackend`` from a sounddevice duplex stream's callback, ``FileBackend`` from a
loop over a recording (faster than real time with ``realtime=False``). Detection runs in the
consumer (the session), never in the callback. The live backend is :mod:`coach.live_backend`.

Time base: the stream's sample counter. Input sample ``i`` and output sample ``i`` belong to
the same callback; a tick rendered at output sample ``s`` is heard on the input's time axis
at ``s + loop_latency`` samples.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from metronome.stream import StreamStats
from metronome.render import TickRenderer

RING_S = 20.0  # seconds of input the ring holds before the consumer must have read it


class InputRing:
    """Preallocated ring of input frames; the callback writes, one consumer reads.

    The writer never blocks and never waits: if the consumer falls more than the ring's
    capacity behind, the oldest frames are overwritten and the consumer is told how many it
    lost (it then substitutes silence so the time axis stays intact).
    """

    def __init__(self, capacity_frames: int, n_channels: int) -> None:
        self.capacity = int(capacity_frames)
        self.n_channels = int(n_channels)
        self._buf = np.zeros((self.capacity, self.n_channels), dtype=np.float32)
        self.written = 0  # frames ever written (monotonic; only the writer changes it)
        self._read = 0  # frames ever consumed (only the reader changes it)
        self.lost_frames = 0

    def write(self, block: NDArray[np.float32]) -> None:
        """Copy ``block`` (frames, channels) in; real-time safe (slices and copies only)."""
        n = block.shape[0]
        start = self.written % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start : start + first] = block[:first]
        if first < n:
            self._buf[: n - first] = block[first:n]
        self.written += n

    def read(self) -> tuple[int, NDArray[np.float32]]:
        """Everything written since the last read: (first sample index, frames copy).

        Frames that were overwritten before they could be read come back as zeros and are
        counted in ``lost_frames``.
        """
        written = self.written
        start = self._read
        n = written - start
        if n <= 0:
            return start, np.zeros((0, self.n_channels), dtype=np.float32)
        out = np.empty((n, self.n_channels), dtype=np.float32)
        idx = (start + np.arange(n)) % self.capacity
        out[:] = self._buf[idx]
        # Anything older than `written_now - capacity` may have been overwritten meanwhile.
        oldest_valid = self.written - self.capacity
        if oldest_valid > start:
            bad = min(oldest_valid - start, n)
            out[:bad] = 0.0
            self.lost_frames += bad
        self._read = written
        return start, out


class DuplexCore:
    """The per-block real-time work, shared by both backends."""

    def __init__(self, renderer: TickRenderer, n_input_channels: int, sample_rate: int) -> None:
        self.renderer = renderer
        self.sample_rate = sample_rate
        self.ring = InputRing(int(RING_S * sample_rate), n_input_channels)
        self.stats = StreamStats()
        #: Simulation only (None live): called with (indata, outdata) after the ticks are
        #: rendered and before the input is stored, e.g. to let the "mic" hear the ticks.
        self.input_hook: Callable[[NDArray[np.float32], NDArray[np.float32]], None] | None = None

    def process(self, indata: NDArray[np.float32], outdata: NDArray[np.float32], frames: int) -> None:
        self.stats.count_block(frames)
        self.renderer.fill(outdata)
        if self.input_hook is not None:
            self.input_hook(indata, outdata)
        self.ring.write(indata)

    @property
    def position(self) -> int:
        return self.renderer.position


class FileBackend:
    """A recording stands in for the microphone; ticks go to an optional monitor file.

    Parameters
    ----------
    core : DuplexCore
    source : an open soundfile.SoundFile (the "microphone")
    block_size : frames per simulated callback
    realtime : pace blocks at the audio rate (for watching the live display)
    monitor : an open soundfile.SoundFile for the mix of input and ticks, or None
    bleed_gain : if > 0, ticks are mixed into the input at this gain after
        ``bleed_delay_frames`` (an earbud mic hearing the headphones)
    bleed_delay_frames : the delay, or a schedule ``[(from_input_frame, delay_frames), ...]``
        (the first from frame 0): the loop latency stepping mid-run, as after a sound-server
        re-buffering (for testing that each beat is heard at the latency in force then)
    n_frames : stop after this many frames (None: the end of the recording)
    """

    def __init__(
        self,
        core: DuplexCore,
        source: Any,
        *,
        block_size: int = 1024,
        realtime: bool = False,
        monitor: Any = None,
        bleed_gain: float = 0.0,
        bleed_delay_frames: int | list[tuple[int, int]] = 0,
        n_frames: int | None = None,
    ) -> None:
        self.core = core
        self.source = source
        self.block_size = block_size
        self.realtime = realtime
        self.monitor = monitor
        self.bleed_gain = bleed_gain
        schedule = [(0, bleed_delay_frames)] if isinstance(bleed_delay_frames, int) else sorted(bleed_delay_frames)
        if not schedule or schedule[0][0] != 0 or any(d < 0 for _, d in schedule):
            raise ValueError("a bleed delay schedule starts at frame 0 and has delays >= 0")
        self._delay_from = np.array([f for f, _ in schedule], dtype=np.int64)
        self._delay_frames = np.array([d for _, d in schedule], dtype=np.int64)
        self.bleed_delay_frames = int(self._delay_frames[0])
        self._bleed_position = 0  # input frames mixed so far
        self.n_frames = n_frames
        self.stream_latency_s = (0.0, 0.0)
        n_in = core.ring.n_channels
        self._in = np.zeros((block_size, n_in), dtype=np.float32)
        self._out = np.zeros((block_size, core.renderer.n_channels), dtype=np.float32)
        self._bleed_history = np.zeros(int(self._delay_frames.max()), dtype=np.float32)  # output not yet heard
        if bleed_gain > 0:
            core.input_hook = self._bleed

    def nominal_loop_latency_s(self) -> float:
        return self.bleed_delay_frames / self.core.sample_rate

    def run(self, consume: Callable[[], bool]) -> None:
        """Feed the whole recording through the core, calling ``consume()`` after each block."""
        sr = self.core.sample_rate
        started = time.perf_counter()
        done = 0
        while self.n_frames is None or done < self.n_frames:
            want = self.block_size if self.n_frames is None else min(self.block_size, self.n_frames - done)
            got = self.source.read(want, dtype="float32", always_2d=True, out=self._in[:want])
            n = got.shape[0]
            if n == 0:
                break
            indata = self._in[:n]
            outdata = self._out[:n]
            self.core.process(indata, outdata, n)
            if self.monitor is not None:
                mix = outdata + indata.mean(axis=1, keepdims=True)
                self.monitor.write(np.clip(mix, -1.0, 1.0))
            done += n
            if not consume():
                break
            if self.realtime:
                ahead_s = done / sr - (time.perf_counter() - started)
                if ahead_s > 0:
                    time.sleep(ahead_s)
        consume()

    def _bleed(self, indata: NDArray[np.float32], outdata: NDArray[np.float32]) -> None:
        """The "mic" hears the ticks the delay in force (at each input frame) after they were rendered."""
        keep = self._bleed_history.size
        fifo = np.concatenate([self._bleed_history, outdata.mean(axis=1)])  # output frames [p - keep, p + n)
        n = indata.shape[0]
        frames = self._bleed_position + np.arange(n)
        delay = self._delay_frames[np.searchsorted(self._delay_from, frames, side="right") - 1]
        indata += self.bleed_gain * fifo[keep - delay + np.arange(n), None]
        self._bleed_history = fifo[n:]
        self._bleed_position += n
