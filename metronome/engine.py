"""Live playback: a sounddevice OutputStream driven by the tick renderer.

The only module of ``metronome`` that imports sounddevice, and it does so lazily, so that
the rest of the package works where PortAudio is missing. The callback calls
``TickRenderer.fill`` on ``outdata`` in place and counts status flags; it never prints,
logs, locks or allocates beyond numpy views. The main thread reads the counters.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
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
    """Counters written by the callback, read by the main thread."""

    blocks: int = 0
    frames: int = 0
    underflows: int = 0
    overflows: int = 0
    priming: int = 0
    min_block: int = 1 << 30
    max_block: int = 0
    first_dac_time_s: float | None = None  # stream time when sample 0 reaches the DAC
    callback_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "blocks": self.blocks,
            "frames": self.frames,
            "output_underflows": self.underflows,
            "input_overflows": self.overflows,
            "min_block_size": self.min_block if self.blocks else 0,
            "max_block_size": self.max_block,
        }


class Player:
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
        self.renderer = renderer
        self.sample_rate = sample_rate
        self.device = device
        self.latency = latency
        self.block_size = block_size
        self.n_frames = n_frames
        self.stats = StreamStats()
        self.finished = threading.Event()
        self.stream_latency_s: float | None = None
        self._stream: Any = None

    def _callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        stats = self.stats
        if status:
            if status.output_underflow:
                stats.underflows += 1
            if status.priming_output:
                stats.priming += 1
        if stats.blocks == 0:
            stats.first_dac_time_s = time.outputBufferDacTime
        stats.blocks += 1
        stats.frames += frames
        if frames < stats.min_block:
            stats.min_block = frames
        if frames > stats.max_block:
            stats.max_block = frames
        self.renderer.fill(outdata)
        limit = self.n_frames
        if limit is not None and self.renderer.position >= limit:
            over = self.renderer.position - limit
            if over:
                outdata[frames - over :] = 0.0
            raise self._callback_stop

    def start(self) -> None:
        sd = import_sounddevice()
        self._callback_stop = sd.CallbackStop
        self._stream = sd.OutputStream(
            samplerate=self.sample_rate,
            blocksize=self.block_size,
            device=self.device,
            channels=self.renderer.n_channels,
            dtype="float32",
            latency=self.latency,
            callback=self._callback,
            finished_callback=self.finished.set,
        )
        self.stream_latency_s = float(self._stream.latency)
        self._stream.start()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
        self.finished.set()

    def run(self, on_status: Callable[["Player"], None] | None = None, interval_s: float = 0.25) -> None:
        """Start, call ``on_status`` every ``interval_s`` until finished; always stops the stream.

        KeyboardInterrupt (Ctrl-C) ends playback cleanly and is re-raised for the caller.
        """
        self.start()
        try:
            while not self.finished.wait(interval_s):
                if on_status is not None:
                    on_status(self)
        finally:
            self.stop()

    @property
    def elapsed_s(self) -> float:
        return self.renderer.position / self.sample_rate
