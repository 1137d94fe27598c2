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

import os
import threading
import time
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from metronome.engine import StreamRunner
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


RECOVER_S = 15.0  # after a mid-session stream failure, keep trying to reopen it this long ($CADENCE_RECONNECT_S)
RECOVER_EVERY_S = 0.5
MAX_RESTARTS = 5  # a stream that keeps failing is a failed session
SETTLE_S = 0.5  # clean audio that ends a stream's start-up (see StreamStats.count_status)
WATCH_EVERY_S = 4.0  # how often the callback thread's CPU is read
SPIN_MIN_PCT = 2.0  # the callback thread spins above this % of a core (normal: 0.2-0.6 %) ...
SPIN_FACTOR = 4.0  # ... and above this many times the least it used in a window so far,
SPIN_MAX_PCT = 8.0  # ... or above this whatever its floor (a stream can start up spinning)
SPIN_WINDOWS = 2  # ... in this many windows in a row (one busy window, e.g. a stream's start-up, is no spin)
STARTUP_LIMIT_S = 1.5  # start-up ends this long after the lead-in (or a reopen) at the latest


def _thread_cpu_s(thread_id: int | None) -> float | None:
    """CPU seconds (user + system) of one of this process's threads, from /proc; None elsewhere."""
    if thread_id is None:
        return None
    try:
        with open(f"/proc/self/task/{thread_id}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _recover_s() -> float:
    try:
        return max(0.0, float(os.environ.get("CADENCE_RECONNECT_S", RECOVER_S)))
    except ValueError:
        return RECOVER_S


class LiveBackend(StreamRunner):
    """A sounddevice duplex stream (input and output may be different devices).

    Parameters
    ----------
    core : DuplexCore
    device : (input, output) device indices (None: the defaults)
    latency : 'low' | 'high' | seconds
    block_size : frames per callback (0: PortAudio passes its host buffers through; see StreamRunner)
    n_frames : stop after this many frames (None: until ``stop``)
    lead_in_frames : frames before the first tick; output underflows there are stream
        start-up (PulseAudio re-tuning a sink another client plays on) and are counted apart
    label : the devices and rate, for messages
    restart_on_spin : restart the stream when PortAudio's thread spins (see ``_watch``); a
        restart moves the loop latency, so a short measurement (calibration) turns it off

    A stream that fails during its lead-in (before any tick) ends ``run`` with ``failure`` set
    and ``failed_at_startup`` True: the caller may try another sample rate. One that fails
    later (a sound server restarted, a device unplugged) is reopened, for up to
    :data:`RECOVER_S`: the sample clock continues where it stopped and the gap (wall-clock
    time without audio) is recorded in ``gaps``; if it cannot be reopened, ``failure`` says why.
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
        label: str = "the audio device",
        restart_on_spin: bool = True,
    ) -> None:
        super().__init__(latency=latency, block_size=block_size, n_frames=n_frames)
        self.core = core
        self.device = device
        self.lead_in_frames = lead_in_frames
        self.label = label
        self.gaps: list[dict[str, Any]] = []
        self.rates_tried: list[int] = []  # the sample rates tried before this stream (set by the session runner)
        self.recover_s = _recover_s()
        self._outage: tuple[float, int] | None = None  # (monotonic time, frame) the last outage began
        self.restart_on_spin = restart_on_spin  # see _watch
        self.callback_thread_id: int | None = None  # native id of the thread running the callback
        self._watch_at = 0.0
        self._watch_cpu_s: float | None = None
        self._spin_windows = 0  # windows in a row the callback thread spun
        self.callback_cpu_floor_pct: float | None = None  # the least CPU % the callback thread used in a window
        rate = core.sample_rate
        core.stats.settle_frames = round(SETTLE_S * rate)
        core.stats.startup_limit_frame = lead_in_frames + round(STARTUP_LIMIT_S * rate)

    def _callback(self, indata: NDArray[np.float32], outdata: NDArray[np.float32], frames: int, time_info: Any,
                  status: Any) -> None:
        if self.callback_thread_id is None:
            self.callback_thread_id = threading.get_native_id()
        self.core.stats.count_status(time_info, status, self.lead_in_frames)
        self.core.process(indata, outdata, frames)
        limit = self.n_frames
        if limit is not None and self.core.position >= limit:
            self._reached_end()
            raise self._callback_stop

    def _frames_done(self) -> int:
        return self.core.stats.frames

    def _open(self, sd: Any) -> Any:
        return sd.Stream(
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

    @property
    def failed_at_startup(self) -> bool:
        """The stream failed before its lead-in was over and before any tick sounded."""
        return (self.failure is not None and not any(not g.get("restart") for g in self.gaps)
                and self.core.stats.frames < self.lead_in_frames
                and self.core.renderer.ticks_written == 0)

    @property
    def stream_latency_s(self) -> tuple[float, float] | None:
        """(input, output) latency the stream reports, seconds."""
        if self.stream_latency is None:
            return None
        in_latency, out_latency = self.stream_latency
        return float(in_latency), float(out_latency)

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
        latency = self.stream_latency_s
        if round_trip_s < 0.001 and latency is not None:
            return sum(latency)
        return round_trip_s

    def run(self, consume: Callable[[], bool], poll_s: float = 0.05) -> None:  # type: ignore[override]
        """Start; call ``consume()`` every ``poll_s`` until it returns False or the stream ends,
        then once more for what arrived last. A stream that fails mid-session is reopened
        (see the class notes)."""
        try:
            super().run(consume, poll_s)
            while (self.failure is not None and not self.failed_at_startup
                   and sum(not g.get("restart") for g in self.gaps) < MAX_RESTARTS):
                if not self._reopen(consume, poll_s):
                    break
                try:
                    self._poll(consume, poll_s)
                finally:
                    self.stop()
        finally:
            consume()

    def _watch(self) -> None:
        """Restart the stream if PortAudio's thread spins after an underflow.

        Through ALSA (PulseAudio's and PipeWire's ALSA plugin) a duplex stream whose output ran
        dry comes back with its playback buffer nearly empty, and PortAudio's ALSA host API then
        polls without pause (thousands of poll()/getpid() calls a second for ~47 callbacks):
        its thread goes from < 1 % to 25-75 % of a core and stays there, whatever the block size
        or latency (profiled with perf and strace; see the README); or it creeps up by a few %
        a minute. Stopping and starting the stream refills the buffer and ends it. Measured
        from /proc (Linux only): the callback thread's CPU over the last :data:`WATCH_EVERY_S`,
        against :data:`SPIN_MIN_PCT` and :data:`SPIN_FACTOR` times its own floor (at most
        :data:`SPIN_MAX_PCT`). (The underrun is not always flagged
        to the callback: a process stopped for 0.5 s gets the spin with no output_underflow.)"""
        now = time.monotonic()
        if not self.restart_on_spin or now - self._watch_at < WATCH_EVERY_S:
            return
        cpu_s = _thread_cpu_s(self.callback_thread_id)
        previous, span = self._watch_cpu_s, now - self._watch_at
        self._watch_at, self._watch_cpu_s = now, cpu_s
        stats = self.core.stats
        if cpu_s is None or previous is None:
            return
        load_pct = 100.0 * (cpu_s - previous) / span
        floor = self.callback_cpu_floor_pct
        self.callback_cpu_floor_pct = load_pct if floor is None else min(floor, load_pct)
        if self._stream is None or load_pct < max(SPIN_MIN_PCT, min(SPIN_MAX_PCT, SPIN_FACTOR * (floor or 0.0))):
            self._spin_windows = 0
            return
        self._spin_windows += 1
        if self._spin_windows < SPIN_WINDOWS:  # a spin persists; a busy window (stream start-up) passes
            return
        self._spin_windows = 0
        at_frame = stats.frames
        stream = self._stream
        stopping = time.monotonic()
        stream.stop()
        self.finished.clear()  # the stop called finished_callback: this is no end
        self.callback_thread_id = None  # the new start runs a new thread
        self._watch_cpu_s = None
        stream.start()
        stats.startup_until_frame = at_frame + stats.settle_frames
        stats.startup_limit_frame = at_frame + round(STARTUP_LIMIT_S * self.core.sample_rate)
        self.gaps.append({"at_s": round(at_frame / self.core.sample_rate, 3),
                          "gap_s": round(time.monotonic() - stopping, 3), "restart": True,
                          "reason": f"PortAudio's thread used {load_pct:.0f} % of a core (busy-polling after an "
                                    "underrun): stream restarted"})

    def _reopen(self, consume: Callable[[], bool], poll_s: float) -> bool:
        """Try to reopen the failed stream for ``recover_s``; True once it runs again."""
        reason = self.failure
        error = ""
        lost_at = time.monotonic()
        at_frame = self.core.stats.frames
        if self.gaps and not self.gaps[-1].get("restart") and self._outage is not None and self._outage[1] == at_frame:
            # the stream reopened before died again without a block: the same outage goes on
            lost_at = self._outage[0]
            reason = self.gaps.pop()["reason"]
        self._outage = (lost_at, at_frame)
        while time.monotonic() - lost_at < self.recover_s:
            time.sleep(RECOVER_EVERY_S)
            if consume() is False:  # the user stopped the session meanwhile
                self.stopped = True
                return False
            try:
                self.start()
            except Exception as exc:  # noqa: BLE001 - StreamError or a PortAudio error: try again
                error = f" ({exc})"
                continue
            stats = self.core.stats
            rate = self.core.sample_rate
            # the new stream's own start-up (a fresh server re-tunes its buffers) is not a session xrun
            stats.startup_until_frame = at_frame + stats.settle_frames
            stats.startup_limit_frame = at_frame + round(STARTUP_LIMIT_S * rate)
            self.gaps.append({"at_s": round(at_frame / rate, 3), "gap_s": round(time.monotonic() - lost_at, 3),
                              "reason": reason})
            return True
        self.failure = f"{reason}; it could not be reopened within {self.recover_s:g} s{error}"
        return False


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
