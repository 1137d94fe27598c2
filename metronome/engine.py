"""Live playback: a sounddevice OutputStream driven by the tick renderer.

The only module of ``metronome`` that imports sounddevice, and it does so lazily, so that
the rest of the package works where PortAudio is missing. The callback calls
``TickRenderer.fill`` on ``outdata`` in place and counts status flags; it never prints,
logs, locks or allocates beyond numpy views. The main thread reads the counters.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np  # imported before any stream starts (sounddevice issue #487)

from metronome.render import TickRenderer


class AudioUnavailableError(RuntimeError):
    """PortAudio (or sounddevice) cannot be loaded on this machine."""


def import_sounddevice() -> Any:
    """Import sounddevice, or fail with one line naming what to install."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        raise AudioUnavailableError(
            "PortAudio library not found: install it (Debian/Ubuntu: apt-get install libportaudio2; "
            f"macOS: brew install portaudio) [{exc}]"
        ) from None
    except ImportError:
        raise AudioUnavailableError("the sounddevice package is missing: pip install sounddevice") from None
    return sounddevice


def query_devices() -> str:
    """The device list as sounddevice prints it."""
    sd = import_sounddevice()
    return str(sd.query_devices())


def resolve_device(device: str | int | None, kind: str) -> tuple[int | None, dict[str, Any]]:
    """Find a device by index or name substring; ``kind`` is 'input' or 'output'.

    Returns the device index (None for the default) and its info dict.
    """
    sd = import_sounddevice()
    spec: str | int | None = device
    if isinstance(device, str) and device.strip().isdigit():
        spec = int(device)
    try:
        info = sd.query_devices(spec, kind=kind)
    except (ValueError, sd.PortAudioError) as exc:
        raise AudioUnavailableError(
            f"no {kind} device {device!r}: {exc} (see 'cadence devices')" if device is not None
            else f"no default {kind} device: {exc} (see 'cadence devices')"
        ) from None
    if info.get(f"max_{kind}_channels", 0) < 1:
        raise AudioUnavailableError(f"device {device!r} has no {kind} channels (see 'cadence devices')")
    index = info.get("index") if device is not None else None
    return index, dict(info)


@dataclass
class StreamStats:
    """Counters written by an audio callback, read by the main thread.

    ``count_block`` and ``count_status`` only compare and increment: real-time safe.
    """

    blocks: int = 0
    frames: int = 0
    output_underflows: int = 0
    input_overflows: int = 0
    startup_underflows: int = 0  # during a lead-in before the first tick (stream start-up)
    min_block: int = 1 << 30
    max_block: int = 0
    first_adc_time_s: float | None = None  # stream times of the first callback's buffers
    first_dac_time_s: float | None = None
    first_callback_time_s: float | None = None
    first_underflow_frame: int | None = None  # stream position of the first output underflow

    def count_block(self, frames: int) -> None:
        self.blocks += 1
        self.frames += frames
        if frames < self.min_block:
            self.min_block = frames
        if frames > self.max_block:
            self.max_block = frames

    def count_status(self, time_info: Any, status: Any, lead_in_frames: int = 0) -> None:
        """Call before ``count_block`` of the same callback."""
        if status:
            if status.output_underflow:
                if self.frames < lead_in_frames:
                    self.startup_underflows += 1
                else:
                    self.output_underflows += 1
                    if self.first_underflow_frame is None:
                        self.first_underflow_frame = self.frames
            if status.input_overflow:
                self.input_overflows += 1
        if self.blocks == 0:
            self.first_adc_time_s = time_info.inputBufferAdcTime
            self.first_dac_time_s = time_info.outputBufferDacTime
            self.first_callback_time_s = time_info.currentTime

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


class StreamRunner:
    """The life of a callback stream: start it, poll until it finishes, always stop it.

    Subclasses open the stream in ``_open(sd)`` with ``finished_callback=self.finished.set``.
    """

    def __init__(self, *, latency: str | float, block_size: int, n_frames: int | None) -> None:
        self.latency = latency  # PortAudio's suggested latency: 'low', 'high' or seconds
        self.block_size = block_size  # frames per callback, 0: PortAudio chooses
        self.n_frames = n_frames  # stop after this many frames (None: until stopped)
        self.finished = threading.Event()
        self.stream_latency: Any = None  # what the stream reports (seconds; a pair for duplex)
        self._stream: Any = None
        self._callback_stop: type[BaseException] = StopIteration

    def _open(self, sd: Any) -> Any:
        raise NotImplementedError

    def start(self) -> None:
        sd = import_sounddevice()
        self._callback_stop = sd.CallbackStop
        self._stream = self._open(sd)
        self.stream_latency = self._stream.latency
        self._stream.start()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
        self.finished.set()

    def run(self, poll: Callable[[], bool | None], poll_s: float) -> None:
        """Start; call ``poll()`` every ``poll_s`` until the stream finishes or ``poll`` returns
        False; always stop the stream. KeyboardInterrupt (Ctrl-C) stops it and propagates."""
        self.start()
        try:
            while not self.finished.wait(poll_s):
                if poll() is False:
                    break
        finally:
            self.stop()


class Player(StreamRunner):
    """Plays a :class:`TickRenderer` live until ``stop()``, Ctrl-C or ``n_frames`` frames.

    Parameters
    ----------
    renderer : TickRenderer
    sample_rate : int
        Hz; must be the rate the renderer's clock and bank were built for.
    device : int | None
        Output device index (None: the default).
    latency : 'low' | 'high' | float
        PortAudio's suggested latency (seconds when a float).
    block_size : int >= 0
        Frames per callback; 0 lets PortAudio choose.
    n_frames : int | None
        Stop after this many frames (None: play until stopped).
    """

    def __init__(
        self,
        renderer: TickRenderer,
        *,
        sample_rate: int,
        device: int | None = None,
        latency: str | float = "high",
        block_size: int = 0,
        n_frames: int | None = None,
    ) -> None:
        super().__init__(latency=latency, block_size=block_size, n_frames=n_frames)
        self.renderer = renderer
        self.sample_rate = sample_rate
        self.device = device
        self.stats = StreamStats()

    def _callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        self.stats.count_status(time, status)
        self.stats.count_block(frames)
        self.renderer.fill(outdata)
        limit = self.n_frames
        if limit is not None and self.renderer.position >= limit:
            over = self.renderer.position - limit
            if over:
                outdata[frames - over :] = 0.0
            raise self._callback_stop

    def _open(self, sd: Any) -> Any:
        return sd.OutputStream(
            samplerate=self.sample_rate,
            blocksize=self.block_size,
            device=self.device,
            channels=self.renderer.n_channels,
            dtype="float32",
            latency=self.latency,
            callback=self._callback,
            finished_callback=self.finished.set,
        )

    def run(self, on_status: Callable[["Player"], None] | None = None, interval_s: float = 0.25) -> None:  # type: ignore[override]
        """Play, calling ``on_status(self)`` every ``interval_s`` until finished."""
        super().run(lambda: None if on_status is None else on_status(self), interval_s)

    @property
    def stream_latency_s(self) -> float | None:
        return None if self.stream_latency is None else float(self.stream_latency)

    @property
    def elapsed_s(self) -> float:
        return self.renderer.position / self.sample_rate
