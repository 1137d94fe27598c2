"""A live session keeps the garbage collector off the audio callback's back (no sound device needed).

The callback is Python: it runs only with the GIL, and a full garbage collection holds the GIL
for as long as it walks the heap (43 ms mid-session on the loaded 2-core test machine, 133 ms at a
session's end, against 70-90 ms of slack in the output buffer at ``--latency 0.1``). ``drive``
collects once and freezes the heap before a live stream starts, so a collection during the stream
walks only what the session made since.
"""

from __future__ import annotations

import gc
import time
from typing import Callable

import numpy as np

from coach.drive import RunHooks, drive
from coach.duplex import DuplexCore
from coach.live_backend import LiveBackend
from coach.run import tick_template
from coach.session import Session, SessionSettings
from metronome.engine import heap_frozen
from metronome.settings import build_renderer, settings_from_options

RATE = 48000


def _full_collection_s() -> float:
    """The shortest of three full collections (a loaded machine may preempt any one of them)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        gc.collect()
        best = min(best, time.perf_counter() - start)
    return best


class StreamlessBackend(LiveBackend):
    """A live backend whose ``run`` opens no stream: it measures the collector while it would run."""

    frozen = 0
    collection_s = float("nan")

    def run(self, consume: Callable[[], bool], poll_s: float = 0.05) -> None:  # type: ignore[override]
        self.frozen = gc.get_freeze_count()
        self.collection_s = _full_collection_s()
        consume()


def test_a_live_stream_runs_with_the_heap_frozen_and_full_collections_short() -> None:
    ballast = [[k] for k in range(300_000)]  # a heap a full collection takes tens of ms to walk
    settings = settings_from_options(
        spm=170.0, duration_s=10.0, plan="steady", baseline_spm=None, warmup_s=None, cooldown_s=None,
        every_other_step=False, sound="click", accent_every=0, alternate_ears=False, volume_db=-6.0, force=False)
    renderer = build_renderer(settings, RATE, 2)
    core = DuplexCore(renderer, 1, RATE)
    backend = StreamlessBackend(core, device=(None, None), n_frames=10 * RATE)
    session = Session(SessionSettings(metronome=settings, kind="live"), core, nominal_loop_latency_s=0.0,
                      tick_template=tick_template(settings, renderer, RATE))
    unfrozen_s = _full_collection_s()
    assert gc.get_freeze_count() == 0

    drive(session, backend, RunHooks(), total_s=10.0)

    assert backend.frozen >= len(ballast), backend.frozen  # the heap from before the stream, ballast and all
    assert backend.collection_s < 0.25 * unfrozen_s, (backend.collection_s, unfrozen_s)
    assert gc.get_freeze_count() == 0  # given back to the collector afterwards
    del ballast


def test_heap_frozen_only_when_active_and_always_undone() -> None:
    with heap_frozen(False):
        assert gc.get_freeze_count() == 0
    try:
        with heap_frozen():
            assert gc.get_freeze_count() > 0
            raise KeyError("the stream failed")
    except KeyError:
        pass
    assert gc.get_freeze_count() == 0
    assert np.isfinite(_full_collection_s())
