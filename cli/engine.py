"""The session's audio engine: ticks out, microphone in, one sample clock.

``DuplexCore.process`` is the real-time work per block: render ticks into ``outdata`` in place
and copy ``indata`` into a preallocated single-producer/single-consumer ring. Both backends
call it: ``LiveBackend`` from a sounddevice duplex stream's callback, ``FileBackend`` from a
loop over a recording (faster than real time with ``realtime=False``). Detection runs in the
consumer (the session), never in the callback.

Time base: the stream's sample counter. Input sample ``i`` and output sample ``i`` belong to
the same callback; a tick rendered at output sample ``s`` is heard on the input's time axis
at ``s + loop_latency`` samples.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

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


@dataclass
class EngineStats:
    """Counters written by the real-time side, read by the main thread."""

    blocks: int = 0
    frames: int = 0
    output_underflows: int = 0
    input_overflows: int = 0
    min_block: int = 1 << 30
    max_block: int = 0
    first_adc_time_s: float | None = None
    first_dac_time_s: float | None = None
    first_callback_time_s: float | None = None
    first_underflow_frame: int | None = None  # stream position of the first output underflow
    startup_underflows: int = 0  # during the lead-in before the first tick (stream start-up)

    def as_dict(self, lost_frames: int = 0) -> dict[str, Any]:
        return {
            "blocks": self.blocks,
            "frames": self.frames,
            "output_underflows": self.output_underflows,
            "input_overflows": self.input_overflows,
            "dropped_input_frames": lost_frames,
            "min_block_size": self.min_block if self.blocks else 0,
            "max_block_size": self.max_block,
            "first_underflow_frame": self.first_underflow_frame,
            "startup_underflows": self.startup_underflows,
        }


class DuplexCore:
    """The per-block real-time work, shared by both backends."""

    def __init__(self, renderer: TickRenderer, n_input_channels: int, sample_rate: int) -> None:
        self.renderer = renderer
        self.sample_rate = sample_rate
        self.ring = InputRing(int(RING_S * sample_rate), n_input_channels)
        self.stats = EngineStats()
        #: Simulation only (None live): called with (indata, outdata) after the ticks are
        #: rendered and before the input is stored, e.g. to let the "mic" hear the ticks.
        self.input_hook: Callable[[NDArray[np.float32], NDArray[np.float32]], None] | None = None

    def process(self, indata: NDArray[np.float32], outdata: NDArray[np.float32], frames: int) -> None:
        stats = self.stats
        stats.blocks += 1
        stats.frames += frames
        if frames < stats.min_block:
            stats.min_block = frames
        if frames > stats.max_block:
            stats.max_block = frames
        self.renderer.fill(outdata)
        if self.input_hook is not None:
            self.input_hook(indata, outdata)
        self.ring.write(indata)

    @property
    def position(self) -> int:
        return self.renderer.position


class LiveBackend:
    """A sounddevice duplex stream (input and output may be different devices).

    Parameters
    ----------
    core : DuplexCore
    device : (input, output) device indices (None: the defaults)
    lead_in_frames : frames before the first tick; output underflows there are stream
        start-up (PulseAudio re-tuning a sink another client plays on) and are counted apart
    latency : 'low' | 'high' | seconds
    block_size : frames per callback (0: PortAudio chooses)
    n_frames : stop after this many frames (None: until ``stop``)
    """

    def __init__(
        self,
        core: DuplexCore,
        *,
        device: tuple[int | None, int | None],
        latency: str | float = "high",
        block_size: int = 0,
        n_frames: int | None = None,
        lead_in_frames: int = 0,
    ) -> None:
        self.core = core
        self.device = device
        self.lead_in_frames = lead_in_frames
        self.latency = latency
        self.block_size = block_size
        self.n_frames = n_frames
        self.finished = threading.Event()
        self.stream_latency_s: tuple[float, float] | None = None
        self._stream: Any = None

    def _callback(self, indata: NDArray[np.float32], outdata: NDArray[np.float32], frames: int, time_info: Any,
                  status: Any) -> None:
        stats = self.core.stats
        if status:
            if status.output_underflow:
                if stats.frames < self.lead_in_frames:
                    stats.startup_underflows += 1
                else:
                    stats.output_underflows += 1
                    if stats.first_underflow_frame is None:
                        stats.first_underflow_frame = stats.frames
            if status.input_overflow:
                stats.input_overflows += 1
        if stats.blocks == 0:
            stats.first_adc_time_s = time_info.inputBufferAdcTime
            stats.first_dac_time_s = time_info.outputBufferDacTime
            stats.first_callback_time_s = time_info.currentTime
        self.core.process(indata, outdata, frames)
        limit = self.n_frames
        if limit is not None and self.core.position >= limit:
            raise self._callback_stop

    def start(self) -> None:
        from metronome.engine import import_sounddevice

        sd = import_sounddevice()
        self._callback_stop = sd.CallbackStop
        self._stream = sd.Stream(
            samplerate=self.core.sample_rate,
            blocksize=self.block_size,
            device=self.device,
            channels=(self.core.ring.n_channels, self.core.renderer.n_channels),
            dtype="float32",
            latency=self.latency,
            callback=self._callback,
            finished_callback=self.finished.set,
            prime_output_buffers_using_stream_callback=True,
        )
        in_latency, out_latency = self._stream.latency
        self.stream_latency_s = (float(in_latency), float(out_latency))
        self._stream.start()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
        self.finished.set()

    def nominal_loop_latency_s(self) -> float | None:
        """Output-to-input delay from the stream's DAC/ADC timestamps (None before the first block).

        Some host APIs (ALSA through PulseAudio, for one) report timestamps that cannot be
        right (a round trip under 1 ms); then the stream's reported input + output latency is
        used instead.
        """
        s = self.core.stats
        if s.first_dac_time_s is None or s.first_adc_time_s is None:
            return None
        round_trip_s = s.first_dac_time_s - s.first_adc_time_s
        if round_trip_s < 0.001 and self.stream_latency_s is not None:
            return sum(self.stream_latency_s)
        return round_trip_s

    def run(self, consume: Callable[[], bool], poll_s: float = 0.05) -> None:
        """Start; call ``consume()`` every ``poll_s`` until it returns False or the stream ends."""
        self.start()
        try:
            while not self.finished.wait(poll_s):
                if not consume():
                    break
            consume()
        finally:
            self.stop()


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
        bleed_delay_frames: int = 0,
        n_frames: int | None = None,
    ) -> None:
        self.core = core
        self.source = source
        self.block_size = block_size
        self.realtime = realtime
        self.monitor = monitor
        self.bleed_gain = bleed_gain
        self.bleed_delay_frames = bleed_delay_frames
        self.n_frames = n_frames
        self.stream_latency_s = (0.0, 0.0)
        n_in = core.ring.n_channels
        self._in = np.zeros((block_size, n_in), dtype=np.float32)
        self._out = np.zeros((block_size, core.renderer.n_channels), dtype=np.float32)
        self._bleed_history = np.zeros(bleed_delay_frames, dtype=np.float32)  # output not yet heard
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
        """The "mic" hears the ticks ``bleed_delay_frames`` after they were rendered."""
        fifo = np.concatenate([self._bleed_history, outdata.mean(axis=1)])
        n = indata.shape[0]
        indata += self.bleed_gain * fifo[:n, None]
        self._bleed_history = fifo[n:]
