"""Live playback: a sounddevice OutputStream driven by the tick renderer.

The only module of ``metronome`` that imports sounddevice, and it does so lazily, so that
the rest of the package works where PortAudio is missing. The callback calls
``TickRenderer.fill`` on ``outdata`` in place and counts status flags; it never prints,
logs, locks or allocates beyond numpy views. The main thread reads the counters.
"""

from __future__ import annotations

import gc
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np  # imported before any stream starts (sounddevice issue #487)

from metronome.render import TickRenderer
from metronome.stream import StreamStats, sound_server_rate


class AudioUnavailableError(RuntimeError):
    """PortAudio (or sounddevice) cannot be loaded on this machine, or no device answers."""


class StreamError(AudioUnavailableError):
    """A stream could not be opened or started (one line: device, rate, what to try)."""


COMMON_RATES = (48000, 44100)
STALL_S = 3.0  # a running stream that delivers no audio for this long has failed
FIRST_BLOCK_TIMEOUT_S = 5.0  # ... and one that has not delivered its first block after this long


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
    """The device list as sounddevice prints it; an error when there is no device at all
    (no sound server, no sound card), instead of an empty list."""
    sd = import_sounddevice()
    devices = sd.query_devices()
    if len(devices) == 0:
        raise AudioUnavailableError(NO_DEVICES)
    return str(devices)


NO_DEVICES = ("no audio devices: PortAudio found no sound card and no sound server (start PulseAudio or "
              "PipeWire, e.g. 'pulseaudio --start', or check 'aplay -l')")


SERVER_DEVICE_NAMES = ("default", "pulse", "pipewire", "sysdefault")


def candidate_sample_rates(in_index: int | None, in_info: dict[str, Any], out_index: int | None,
                           out_info: dict[str, Any], requested: int | None = None) -> list[int]:
    """Rates to try for a duplex stream, best first, each accepted by both devices.

    ``requested`` (--sample-rate) is the only candidate when given: an error names the devices
    and what to try if PortAudio rejects it. Otherwise: the sound server's rate (for its ALSA
    plugin devices), the devices' default rates, then 48000 and 44100 Hz.
    """
    sd = import_sounddevice()
    names = {str(in_info.get("name", "")), str(out_info.get("name", ""))}
    order: list[int] = []
    if requested is not None:
        order.append(int(requested))
    else:
        if names & set(SERVER_DEVICE_NAMES):
            server = sound_server_rate()
            if server:
                order.append(server)
        for info in (out_info, in_info):
            rate = int(info.get("default_samplerate") or 0)
            if rate:
                order.append(rate)
        order.extend(COMMON_RATES)
    accepted: list[int] = []
    reasons: list[str] = []
    for rate in dict.fromkeys(order):
        try:
            sd.check_input_settings(device=in_index, channels=1, dtype="float32", samplerate=rate)
            sd.check_output_settings(device=out_index, channels=1, dtype="float32", samplerate=rate)
        except (ValueError, sd.PortAudioError) as exc:
            reasons.append(f"{rate} Hz: {' '.join(str(exc).split())}")
            continue
        accepted.append(rate)
    if not accepted:
        device = describe_devices(in_info, out_info)
        if requested is not None:
            raise StreamError(f"{device} does not accept --sample-rate {requested} ({reasons[0]}); try "
                              f"--sample-rate {int(out_info.get('default_samplerate') or 48000)} or leave it out")
        raise StreamError(f"{device} accepts none of {', '.join(reasons)}; pick another device (cadence devices)")
    return accepted


def describe_devices(in_info: dict[str, Any], out_info: dict[str, Any]) -> str:
    """'device X' or 'input X / output Y' for messages."""
    in_name, out_name = in_info.get("name", "?"), out_info.get("name", "?")
    return f"device '{out_name}'" if in_name == out_name else f"input '{in_name}' / output '{out_name}'"


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
        if device is None and len(sd.query_devices()) == 0:
            raise AudioUnavailableError(NO_DEVICES) from None
        raise AudioUnavailableError(
            f"no {kind} device {device!r}: {exc} (see 'cadence devices')" if device is not None
            else f"no default {kind} device: {exc} (see 'cadence devices')"
        ) from None
    if info.get(f"max_{kind}_channels", 0) < 1:
        raise AudioUnavailableError(f"device {device!r} has no {kind} channels (see 'cadence devices')")
    index = info.get("index") if device is not None else None
    return index, dict(info)


@dataclass(frozen=True)
class DevicePair:
    """The input and output devices of a duplex stream, as PortAudio resolved them.

    ``*_index`` is None for the default device; ``*_info`` is sounddevice's device dict."""

    in_index: int | None
    in_info: dict[str, Any]
    out_index: int | None
    out_info: dict[str, Any]

    @property
    def input_name(self) -> str:
        return str(self.in_info["name"])

    @property
    def output_name(self) -> str:
        return str(self.out_info["name"])

    def describe(self) -> str:
        """'device X' or 'input X / output Y' for messages."""
        return describe_devices(self.in_info, self.out_info)

    def sample_rates(self, requested: int | None = None) -> list[int]:
        """Rates to try, best first (see :func:`candidate_sample_rates`)."""
        return candidate_sample_rates(self.in_index, self.in_info, self.out_index, self.out_info, requested)


def resolve_device_pair(device: str | int | None, input_device: str | int | None = None,
                        output_device: str | int | None = None) -> DevicePair:
    """The devices a duplex stream opens: ``input_device`` (else ``device``) for the microphone,
    ``output_device`` (else ``device``) for the headphones; None: the defaults.

    Raises
    ------
    AudioUnavailableError
        No such device, or no device at all.
    """
    in_index, in_info = resolve_device(input_device or device, "input")
    out_index, out_info = resolve_device(output_device or device, "output")
    return DevicePair(in_index, in_info, out_index, out_info)


@contextmanager
def heap_frozen(active: bool = True) -> Iterator[None]:
    """While a live stream runs, keep the cyclic garbage collector off the heap that existed before it.

    The audio callback is Python code: it runs only with the GIL, and a garbage collection holds
    the GIL from start to end. A full (generation-2) collection walks every container object the
    process holds -- ~75 000 after a session's imports, ~70 000 after ``cadence play``'s -- and
    Python's thresholds start one by themselves at every 11th generation-1 collection, one every
    ~15 s of a session: in the live test session 6 had run when the stream started, and the full
    collection came 62.5 s in, 50 ms after the 62 s stream ended (a little more allocation and it
    falls inside). Measured mid-session on the 2-core test machine under load: 43 ms (the callback
    waited 37.5 ms for the GIL); at a session's end, 133 ms; the output buffer at ``--latency
    0.1`` outlasts a late callback by 70-90 ms (an injected 70 ms stall passed, 90 ms underflowed).
    So: one full collection now, before the stream starts, then ``gc.freeze()`` moves everything
    into the permanent generation, which collections skip; objects made from here on are still
    collected (a full collection of them takes well under 1 ms). ``gc.unfreeze()`` afterwards
    returns the frozen objects to the collector, on every way out (an exception or a signal
    raised right after the freeze included). Not nested: the first exit unfreezes everything."""
    if not active:
        yield
        return
    try:
        gc.collect()
        gc.freeze()
        yield
    finally:
        gc.unfreeze()


class StreamRunner:
    """The life of a callback stream: start it, poll until it finishes, always stop it.

    Subclasses open the stream in ``_open(sd)`` with ``finished_callback=self.finished.set``,
    and end each callback with ``self._stop_at_end(outdata, frames, position)``, which zeroes
    what lies past ``n_frames`` and raises ``self._callback_stop`` once they are done. After
    ``run``: ``completed`` (the frames were played), ``stopped`` (the poll asked to stop) or
    ``failure`` (why the stream ended by itself).
    """

    def __init__(self, *, latency: str | float, block_size: int, n_frames: int | None) -> None:
        self.latency = latency  # PortAudio's suggested latency: 'low', 'high' or seconds
        #: Frames per callback; 0 (the default): PortAudio passes its host buffers through as they come.
        #: A fixed size makes PortAudio re-block between ALSA periods and the callback, which through the
        #: PulseAudio/PipeWire ALSA plugin moves a duplex stream's input/output alignment (its loop latency)
        #: by whole periods in the first seconds (measured: 5 of 12 loopback calibrations with 256-2048
        #: frames jumped 5-160 ms, 1 of 17 with 0; see the README).
        self.block_size = block_size
        self.n_frames = n_frames  # stop after this many frames (None: until stopped)
        self.finished = threading.Event()
        self.stream_latency: Any = None  # what the stream reports (seconds; a pair for duplex)
        self.completed = False
        self.stopped = False
        self.failure: str | None = None
        self.label = "the audio device"  # for messages: set by the owner ("device 'default' at 48000 Hz")
        self._stream: Any = None
        self._callback_stop: type[BaseException] = StopIteration

    def _open(self, sd: Any) -> Any:
        raise NotImplementedError

    def _frames_done(self) -> int:
        """Frames the callback has handled so far (for stall detection)."""
        raise NotImplementedError

    def _watch(self) -> None:
        """Called from the poll loop while the stream runs (subclasses: a watchdog)."""

    def _reached_end(self) -> None:
        """Called by the callback just before it raises ``_callback_stop`` (real-time safe)."""
        self.completed = True

    def _stop_at_end(self, outdata: np.ndarray, frames: int, position: int) -> None:
        """From the callback, after ``outdata`` was filled up to stream frame ``position``: once
        ``n_frames`` are done, zero the frames of the block past the end and stop the stream
        (real-time safe: a slice assignment)."""
        limit = self.n_frames
        if limit is not None and position >= limit:
            over = position - limit
            if over:
                outdata[frames - over :] = 0.0
            self._reached_end()
            raise self._callback_stop

    def start(self) -> None:
        sd = import_sounddevice()
        self._callback_stop = sd.CallbackStop
        self.finished.clear()
        self.failure = None
        try:
            self._stream = self._open(sd)
            self.stream_latency = self._stream.latency
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self.stop()
            raise StreamError(f"cannot open the audio stream on {self.label}: {' '.join(str(exc).split())} "
                              "(try another --sample-rate or --latency, or see 'cadence devices')") from None

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            except Exception:  # noqa: BLE001 - a stream whose server died may fail to stop; close it anyway
                pass
            try:
                stream.close()
            except Exception:  # noqa: BLE001
                pass
        self.finished.set()

    def run(self, poll: Callable[[], bool | None], poll_s: float) -> None:
        """Start; call ``poll()`` every ``poll_s`` until the stream finishes or ``poll`` returns
        False; always stop the stream. KeyboardInterrupt (Ctrl-C) stops it and propagates.

        A stream that finishes before its ``n_frames`` were played, or that delivers no audio
        for :data:`STALL_S` (:data:`FIRST_BLOCK_TIMEOUT_S` before the first block), has failed:
        ``failure`` says why."""
        self.start()
        try:
            self._poll(poll, poll_s)
        finally:
            self.stop()

    def _poll(self, poll: Callable[[], bool | None], poll_s: float) -> None:
        frames = self._frames_done()
        progress_at = time.monotonic()
        while not self.finished.wait(poll_s):
            if poll() is False:
                self.stopped = True
                return
            self._watch()
            now_frames = self._frames_done()
            now = time.monotonic()
            if now_frames != frames:
                frames, progress_at = now_frames, now
            elif now - progress_at > (STALL_S if frames else FIRST_BLOCK_TIMEOUT_S):
                self.failure = f"no audio from {self.label} for {now - progress_at:.0f} s"
                return
        if not self.completed and not self.stopped:
            self.failure = f"the audio stream on {self.label} stopped by itself (sound server gone or device error)"


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
        self.label = f"output device {device if device is not None else 'default'} at {sample_rate} Hz"

    def _frames_done(self) -> int:
        return self.stats.frames

    def _callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        self.stats.count_status(time, status)
        self.stats.count_block(frames)
        self.renderer.fill(outdata)
        self._stop_at_end(outdata, frames, self.renderer.position)

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
