"""``scipy.signal.sosfilt`` over the rows of a 2-D array with carried memories, without its
per-call validation: the live detector filters a few samples hundreds of times a second.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal


def _kernel_works() -> bool:
    """Whether scipy's compiled second-order-section loop is there with the signature we call."""
    if _sos_kernel is None:
        return False
    try:
        x, zi = np.ones((2, 3)), np.zeros((2, 1, 2))
        _sos_kernel(np.array([[1.0, 0.0, 0.0, 1.0, -0.5, 0.0]]), x, zi)
        return bool(np.allclose(x, [[1.0, 1.5, 1.75]] * 2) and np.allclose(zi[:, 0, 0], 0.875))
    except Exception:  # noqa: BLE001 - any failure: use the public function
        return False


try:  # the loop inside scipy.signal.sosfilt, without its per-call checks (~100 us a call)
    from scipy.signal._sosfilt import _sosfilt as _sos_kernel
except ImportError:  # pragma: no cover - depends on the scipy build
    _sos_kernel = None
_USE_KERNEL = _kernel_works()


def sosfilt_rows(sos: NDArray[np.float64], x: NDArray[np.float64],
                 zi: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``scipy.signal.sosfilt`` along the last axis of each row of ``x`` (2-D) from memories
    ``zi`` of shape ``(rows, sections, 2)``; returns the output and the new memories (the
    inputs are not modified). Same numbers as ``sosfilt``, without its validation cost per call
    (the live detector calls this hundreds of times a second on a few samples)."""
    if _USE_KERNEL:
        y = np.array(x, dtype=np.float64, order="C")
        z = np.array(zi, dtype=np.float64, order="C")
        _sos_kernel(sos, y, z)
        return y, z
    y, z = signal.sosfilt(sos, x, axis=-1, zi=np.transpose(zi, (1, 0, 2)))
    return y, np.ascontiguousarray(np.transpose(z, (1, 0, 2)))
