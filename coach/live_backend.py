"""The live backend: a sounddevice duplex stream driving :class:`coach.duplex.DuplexCore`.

It watches its own stream: a stream that fails in its lead-in ends the run (the caller may try
another rate); one that fails later is reopened with the sample clock continuing (the gap is
recorded); one whose PortAudio thread spins after an underrun is restarted.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from coach.duplex import DuplexCore
from metronome.engine import StreamRunner


RECOVER_S = 15.0  # after a mid-session stream failure, keep trying to reopen it this long ($CADENCE_RECONNECT_S)
RECOVER_FIRST_S = 0.05  # the first reopen comes this soon (a runner loses the least; most reopens work at once) ...
RECOVER_EVERY_S = 0.5  # ... the next ones this far apart
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
        self.reconnecting_since: float | None = None  # monotonic time the stream was lost, while reopening
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
        self._stop_at_end(outdata, frames, self.core.position)

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
        self._start_up_again(at_frame)
        stream.start()
        self.gaps.append({"at_s": round(at_frame / self.core.sample_rate, 3),
                          "gap_s": round(time.monotonic() - stopping, 3), "restart": True,
                          "reason": f"PortAudio's thread used {load_pct:.0f} % of a core (busy-polling after an "
                                    "underrun): stream restarted"})

    def _start_up_again(self, at_frame: int) -> None:
        """Before a restarted or reopened stream starts (its primed first callbacks may run inside
        the start call): its start-up, from ``at_frame``, is not a session xrun (a server re-tunes
        its buffers for a new stream), and the wait before its first callback is the outage, which
        the gaps list, not this machine failing to run the audio thread."""
        stats = self.core.stats
        stats.startup_until_frame = at_frame + stats.settle_frames
        stats.startup_limit_frame = at_frame + round(STARTUP_LIMIT_S * self.core.sample_rate)
        stats.last_callback_time_s = None

    def _reopen(self, consume: Callable[[], bool], poll_s: float) -> bool:
        """Try to reopen the failed stream for ``recover_s``; True once it runs again."""
        reason = self.failure
        lost_at = time.monotonic()
        at_frame = self.core.stats.frames
        first_wait_s = RECOVER_FIRST_S
        if self.gaps and not self.gaps[-1].get("restart") and self._outage is not None and self._outage[1] == at_frame:
            # the stream reopened before died again without a block: the same outage goes on (and
            # its next reopen comes RECOVER_EVERY_S later, not at once again)
            lost_at = self._outage[0]
            reason = self.gaps.pop()["reason"]
            first_wait_s = RECOVER_EVERY_S
        self._outage = (lost_at, at_frame)
        self.reconnecting_since = lost_at
        try:
            return self._retry(consume, reason, lost_at, at_frame, first_wait_s)
        finally:
            self.reconnecting_since = None

    def outage_note(self) -> str:
        """While the stream is being reopened, what the live display says ("" otherwise)."""
        if self.reconnecting_since is None:
            return ""
        lost_s = time.monotonic() - self.reconnecting_since
        return f"audio stream lost {lost_s:.0f} s ago: reconnecting (for up to {self.recover_s:g} s)"

    def _retry(self, consume: Callable[[], bool], reason: str | None, lost_at: float, at_frame: int,
               first_wait_s: float) -> bool:
        """Reopen after ``first_wait_s``, then every :data:`RECOVER_EVERY_S`, until ``recover_s``
        after ``lost_at``."""
        error = ""
        wait_s = first_wait_s
        while time.monotonic() - lost_at < self.recover_s:
            time.sleep(wait_s)
            wait_s = RECOVER_EVERY_S
            if consume() is False:  # the user stopped the session meanwhile
                self.stopped = True
                return False
            self._start_up_again(at_frame)  # the new stream's own start-up is not a session xrun
            try:
                self.start()
            except Exception as exc:  # noqa: BLE001 - StreamError or a PortAudio error: try again
                error = f" ({exc})"
                continue
            rate = self.core.sample_rate
            self.gaps.append({"at_s": round(at_frame / rate, 3), "gap_s": round(time.monotonic() - lost_at, 3),
                              "reason": reason})
            return True
        self.failure = f"{reason}; it could not be reopened within {self.recover_s:g} s{error}"
        return False
