"""Read an audio file (WAV/FLAC/OGG/MP3, any rate, any channel count) for analysis.

:func:`audio_blocks` streams a file in fixed-length blocks, so that memory does not grow
with the recording's length (a 3-hour file is read a few seconds at a time);
:func:`read_audio` loads a whole (short) file.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from numpy.typing import NDArray

from stepdetect.validate import ParameterError

BLOCK_S = 10.0  # seconds of audio per block when streaming


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, from its header."""

    path: Path
    sample_rate: int  # Hz
    n_frames: int
    n_channels: int

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.sample_rate


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence what C libraries print on file descriptor 2 (libmpg123 warns about every odd
    MP3 frame there); Python-level errors are still raised and reported in one line."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _open(path: str | Path) -> tuple[Any, AudioInfo]:
    """An open ``soundfile.SoundFile`` and its info, or a one-line :class:`ParameterError`."""
    import soundfile as sf

    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"{p}: is a directory, not an audio file")
    if not p.is_file():
        raise ParameterError(f"{p}: no such file")
    try:
        with quiet_stderr():
            f = sf.SoundFile(os.fsencode(p))  # bytes: any file name the OS allows, UTF-8 or not
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:  # soundfile's error for non-audio
        detail = " ".join(str(exc).split())
        raise ParameterError(f"{p}: not a readable audio file ({detail})") from None
    info = AudioInfo(p, int(f.samplerate), int(f.frames), int(f.channels))
    if info.n_frames == 0:
        f.close()
        raise ParameterError(f"{p}: the audio file is empty (0 samples)")
    return f, info


def audio_info(path: str | Path) -> AudioInfo:
    f, info = _open(path)
    f.close()
    return info


def audio_blocks(path: str | Path, *, block_s: float = BLOCK_S) -> tuple[AudioInfo, Iterator[NDArray[np.float64]]]:
    """Stream a file: its info, and an iterator over consecutive blocks of ``block_s`` seconds
    (the last may be shorter), each float64 in -1..1, shape (n,) for mono, else (n, channels).

    Memory is a few blocks, whatever the file's length. A block with NaN/Inf samples raises
    :class:`ParameterError` naming the file and the time.
    """
    f, info = _open(path)

    def blocks() -> Iterator[NDArray[np.float64]]:
        import soundfile as sf

        block_frames = max(1, int(min(block_s * info.sample_rate, info.n_frames)))
        start = 0
        mpeg = f.format in ("MP3", "MPEG")  # libmpg123 is the library that talks on stderr
        with f:
            while True:
                try:
                    with quiet_stderr() if mpeg else contextlib.nullcontext():
                        y = f.read(block_frames, dtype="float64", always_2d=False)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise ParameterError(f"{info.path}: cannot read audio at {start / info.sample_rate:.1f} s "
                                         f"({' '.join(str(exc).split())})") from None
                if y.shape[0] == 0:
                    return
                if not np.all(np.isfinite(y)):
                    bad = start + int(np.argmax(~np.isfinite(y).reshape(y.shape[0], -1).all(axis=1)))
                    raise ParameterError(f"{info.path}: the audio contains NaN or infinite samples "
                                         f"(first at {bad / info.sample_rate:.3f} s)")
                start += y.shape[0]
                yield y

    return info, blocks()


def read_audio(path: str | Path) -> tuple[NDArray[np.float64], int]:
    """Load a whole audio file (for short files; long ones: :func:`audio_blocks`).

    Parameters
    ----------
    path : str or Path
        Any format libsndfile reads (WAV, FLAC, OGG/Vorbis, MP3, AIFF, ...).

    Returns
    -------
    y : ndarray, shape (n_samples,) or (n_samples, channels), float64 in -1..1
    sample_rate : int, Hz

    Raises
    ------
    ParameterError
        One-line message when the file is missing, unreadable, not audio or empty.
    """
    info, blocks = audio_blocks(path, block_s=float("inf"))
    parts = list(blocks)  # one block, unless the header under-counted the frames
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)), info.sample_rate
