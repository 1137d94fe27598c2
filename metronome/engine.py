"""Live playback: a sounddevice OutputStream driven by the tick renderer.

The only module of ``metronome`` that imports sounddevice, and it does so lazily, so that
the rest of the package works where PortAudio is missing.
"""

from __future__ import annotations

from typing import Any


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
