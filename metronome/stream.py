"""What a stream is, without opening one (no sounddevice here): the counters its callback keeps
(:class:`StreamStats`), the latency setting it is given, and the rate the sound server runs at."""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from metronome.units import ParameterError


@dataclass
class StreamStats:
    """Counters written by an audio callback, read by the main thread.

    ``count_block`` and ``count_status`` only compare, subtract and increment: real-time safe.
    """

    blocks: int = 0
    frames: int = 0
    output_underflows: int = 0
    input_overflows: int = 0
    startup_underflows: int = 0  # while the stream starts up (see ``count_status``)
    min_block: int = 1 << 30
    max_block: int = 0
    first_adc_time_s: float | None = None  # stream times of the first callback's buffers
    first_dac_time_s: float | None = None
    first_callback_time_s: float | None = None
    first_underflow_frame: int | None = None  # stream position of the first output underflow
    #: The longest wait between two callbacks after start-up (stream clock; a stream that primes its
    #: output through the callback waits up to seconds before it starts), and the stream position after it: a
    #: callback that comes later than the output buffer lasts is what makes an output underflow, so
    #: this says whether an underflow was this process not being run (the GIL, the scheduler, a
    #: stopped process) or the sound server's side (a normal gap: about one buffer period).
    max_callback_gap_s: float = 0.0
    max_callback_gap_frame: int = 0
    last_callback_time_s: float | None = None
    #: Start-up ends at the lead-in, or later while underflows continue, but never after
    #: ``startup_limit_frame``; ``settle_frames`` of clean blocks end it (set by the stream).
    startup_until_frame: int = 0
    startup_limit_frame: int = 0
    settle_frames: int = 0

    def count_block(self, frames: int) -> None:
        self.blocks += 1
        self.frames += frames
        if frames < self.min_block:
            self.min_block = frames
        if frames > self.max_block:
            self.max_block = frames

    def count_status(self, time_info: Any, status: Any, lead_in_frames: int = 0) -> None:
        """Call before ``count_block`` of the same callback.

        An output underflow is a stream start-up one (PulseAudio re-tuning its buffers for a new
        client) while the stream is in its lead-in, and after it only as long as the stream has
        not yet run ``settle_frames`` without an underflow, up to ``startup_limit_frame``
        at most. Every later underflow is a session xrun."""
        if status:
            if status.output_underflow:
                frames = self.frames
                if frames < max(lead_in_frames, self.startup_until_frame):
                    self.startup_underflows += 1
                    if frames + self.settle_frames <= self.startup_limit_frame:
                        self.startup_until_frame = max(self.startup_until_frame, frames + self.settle_frames)
                else:
                    self.output_underflows += 1
                    if self.first_underflow_frame is None:
                        self.first_underflow_frame = self.frames
            if status.input_overflow:
                self.input_overflows += 1
        now = time_info.currentTime
        last = self.last_callback_time_s
        if (last is not None and now - last > self.max_callback_gap_s
                and self.frames >= max(lead_in_frames, self.startup_until_frame)):
            self.max_callback_gap_s = now - last
            self.max_callback_gap_frame = self.frames
        self.last_callback_time_s = now
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
            "max_callback_gap_ms": round(1000 * self.max_callback_gap_s, 1),
            "max_callback_gap_frame": self.max_callback_gap_frame,
        }


def parse_latency(text: str | float) -> str | float:
    """PortAudio's suggested latency: 'low', 'high' or seconds (0 < s < 2) -> what sounddevice takes.

    Raises
    ------
    ParameterError
        Anything else (with a unit hint).
    """
    if not isinstance(text, str):
        text = str(text)
    if text in ("low", "high"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"--latency must be 'low', 'high' or seconds, got {text!r}") from None
    if not math.isfinite(value):
        raise ParameterError(f"--latency must be a finite number of seconds, got {text!r}")
    if not 0 < value < 2:
        raise ParameterError(f"--latency {value:g} s is out of range (0-2 seconds; did you pass milliseconds?)")
    return value


def sound_server_rate() -> int | None:
    """The sample rate the PulseAudio/PipeWire server's default sink runs at, if ``pactl`` tells.

    PortAudio's ALSA plugin devices ('default', 'pulse') report 44100 Hz whatever the server
    runs at, and a duplex stream at a rate the server resamples can stop after its first
    blocks; the server's own rate is the device's real default."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return None
    try:
        info = subprocess.run([pactl, "info"], capture_output=True, text=True, timeout=2).stdout
        sinks = subprocess.run([pactl, "list", "short", "sinks"], capture_output=True, text=True, timeout=2).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    default_sink = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                         if line.startswith("Default Sink:")), None)
    for line in sinks.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1] == default_sink:
            for field in fields:
                if field.endswith("Hz") and field[:-2].isdigit():
                    return int(field[:-2])
    return None
