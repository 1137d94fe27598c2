"""Test helpers that read audio the way a measuring instrument would (no project code)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def find_tick_onsets(
    x: NDArray[np.floating], *, threshold: float = 0.05, quiet: float = 1e-3, min_quiet_samples: int = 32
) -> NDArray[np.int64]:
    """First sample of each tick: the first |x| > threshold after at least
    ``min_quiet_samples`` samples below ``quiet``. ``x`` is mono or (frames, channels)."""
    level = np.abs(np.asarray(x, dtype=np.float64))
    if level.ndim == 2:
        level = level.max(axis=1)
    n = np.arange(level.size)
    last_not_quiet = np.maximum.accumulate(np.where(level < quiet, -1, n))
    quiet_before = np.empty(level.size, dtype=np.int64)  # quiet samples just before each index
    quiet_before[0] = min_quiet_samples  # the start of the signal counts as after silence
    quiet_before[1:] = n[:-1] - last_not_quiet[:-1]
    return np.flatnonzero((level > threshold) & (quiet_before >= min_quiet_samples)).astype(np.int64)


def restart_pulse(sink: str, *, kill: bool = True, start: bool = True, rate: int = 48000) -> None:
    """Kill the PulseAudio server the tests use and/or start it again as `.ci/with-pulse` sets it
    up (the null sink ``sink`` at ``rate`` as default sink, its monitor as default source), so
    that later tests find it as before. The server is found through $XDG_RUNTIME_DIR."""
    import os
    import subprocess
    import time

    if kill:
        subprocess.run(["pulseaudio", "--kill"], capture_output=True)
        for _ in range(50):
            if subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
                break
            time.sleep(0.1)
    if not start:
        return
    log = os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "pulse.log")
    # the null sink is loaded before the server accepts clients: a client never sees it without it
    subprocess.run(["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "--disallow-exit=yes", "--disable-shm=yes",
                    "-n", f"--load=module-null-sink sink_name={sink} rate={rate} channels=2 "
                    "sink_properties=device.description=Cadence-null", "--load=module-native-protocol-unix",
                    "--load=module-always-sink", f"--log-target=file:{log}"], capture_output=True)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("PulseAudio did not come back")
    subprocess.run(["pactl", "set-default-sink", sink], check=True)
    subprocess.run(["pactl", "set-default-source", f"{sink}.monitor"], check=True)
