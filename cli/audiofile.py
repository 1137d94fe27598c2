"""Read an audio file (WAV/FLAC/OGG, any rate, any channel count) for analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from stepdetect.validate import ParameterError


def read_audio(path: str | Path) -> tuple[NDArray[np.float64], int]:
    """Load a whole audio file.

    Parameters
    ----------
    path : str or Path
        Any format libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, ...).

    Returns
    -------
    y : ndarray, shape (n_samples,) or (n_samples, channels), float64 in -1..1
    sample_rate : int, Hz

    Raises
    ------
    ParameterError
        One-line message when the file is missing, unreadable, not audio or empty.
    """
    import soundfile as sf

    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"{p}: no such file")
    try:
        y, sample_rate = sf.read(str(p), dtype="float64", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:  # soundfile's error for non-audio
        detail = " ".join(str(exc).split())
        raise ParameterError(f"{p}: not a readable audio file ({detail})") from None
    if y.shape[0] == 0:
        raise ParameterError(f"{p}: the audio file is empty (0 samples)")
    if not np.all(np.isfinite(y)):
        raise ParameterError(f"{p}: the audio contains NaN or infinite samples")
    return y, int(sample_rate)
