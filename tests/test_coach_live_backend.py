"""The audio callbacks without hardware (STYLE.md §5): :class:`coach.live_backend.LiveBackend`'s and
:class:`metronome.engine.Player`'s callbacks called directly with preallocated blocks of varying
size, fake status flags and stream times, and an input ring the consumer lets overflow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from coach.duplex import DuplexCore, InputRing
from coach.live_backend import SETTLE_S, LiveBackend
from metronome.engine import Player
from metronome.settings import build_renderer, settings_from_options

RATE = 48000
SPM = 180.0  # one tick every 1/3 s = 16000 frames
TICK_PERIOD = 16000


@dataclass
class FakeStatus:
    """What sounddevice passes as ``status`` (CallbackFlags): true when a flag is set."""

    output_underflow: bool = False
    input_overflow: bool = False

    def __bool__(self) -> bool:
        return self.output_underflow or self.input_overflow


@dataclass
class FakeTime:
    inputBufferAdcTime: float = 0.0  # noqa: N815 - PortAudio's names
    outputBufferDacTime: float = 0.0  # noqa: N815
    currentTime: float = 0.0  # noqa: N815


def _renderer(n_channels: int = 2):  # type: ignore[no-untyped-def]
    settings = settings_from_options(
        spm=SPM, duration_s=None, plan="steady", baseline_spm=None, warmup_s=None, cooldown_s=None,
        every_other_step=False, sound="click", accent_every=0, alternate_ears=False, volume_db=-6.0, force=False)
    return build_renderer(settings, RATE, n_channels)


def _backend(*, n_frames: int | None = None, lead_in_frames: int = 0) -> LiveBackend:
    return LiveBackend(DuplexCore(_renderer(), 1, RATE), device=(None, None), n_frames=n_frames,
                       lead_in_frames=lead_in_frames)


def _call(backend: LiveBackend, frames: int, status: FakeStatus | None = None, *, t_s: float = 0.0,
          mic: float = 0.0) -> np.ndarray:
    indata = np.full((frames, 1), mic, dtype=np.float32)
    outdata = np.full((frames, 2), 9.0, dtype=np.float32)  # garbage: the callback must overwrite all of it
    backend._callback(indata, outdata, frames, FakeTime(t_s + 0.010, t_s + 0.090, t_s), status or FakeStatus())
    return outdata


def test_status_flags_become_counters_startup_apart_from_the_session() -> None:
    """Underflows in the lead-in are stream start-up; after it has run clean for SETTLE_S they are
    session xruns; input overflows are counted; the first callback's stream times are kept."""
    lead_in = 4800
    backend = _backend(lead_in_frames=lead_in)
    stats = backend.core.stats
    sizes = [256, 1024, 77, 512, 2048, 1]  # any block size works, and they vary
    frames_done = 0
    for k, size in enumerate(sizes):  # inside the lead-in: start-up underflows
        _call(backend, size, FakeStatus(output_underflow=k % 2 == 0), t_s=frames_done / RATE)
        frames_done += size
    assert stats.startup_underflows == 3 and stats.output_underflows == 0
    np.testing.assert_allclose([stats.first_adc_time_s, stats.first_dac_time_s], [0.010, 0.090], atol=1e-12)
    while frames_done < lead_in + round(SETTLE_S * RATE):  # clean blocks: start-up is over
        _call(backend, 1000)
        frames_done += 1000
    _call(backend, 333, FakeStatus(output_underflow=True))
    _call(backend, 333, FakeStatus(input_overflow=True))
    _call(backend, 333, FakeStatus(output_underflow=True, input_overflow=True))
    assert (stats.startup_underflows, stats.output_underflows, stats.input_overflows) == (3, 2, 2)
    assert stats.first_underflow_frame == frames_done
    assert stats.blocks == len(sizes) + (frames_done - sum(sizes)) // 1000 + 3
    assert (stats.min_block, stats.max_block) == (1, 2048)


def test_the_longest_wait_between_callbacks_is_kept_with_where_it_ended() -> None:
    """A callback that comes late (this process not run: the GIL, the scheduler, SIGSTOP) is what
    runs the output dry; the stats keep the longest wait between callbacks on the stream clock and
    the stream position after it, so a report with underflows says whose side they were on. The
    wait before a primed stream starts (seconds, inside its lead-in) is start-up, not counted."""
    backend = _backend(lead_in_frames=2048)
    stats = backend.core.stats
    t_s = 0.0
    for size, wait_s in ((1024, 0.0), (1024, 1.5), (2048, 0.021), (2048, 0.043), (512, 0.130), (2048, 0.011), (1, 0.040)):
        t_s += wait_s
        _call(backend, size, t_s=t_s)
    assert stats.max_callback_gap_s == pytest.approx(0.130, abs=1e-9)
    assert stats.max_callback_gap_frame == 1024 + 1024 + 2048 + 2048  # the frames done before the late callback
    d = stats.as_dict()
    assert d["max_callback_gap_ms"] == 130.0 and d["max_callback_gap_frame"] == 6144


def test_output_is_always_filled_whatever_the_block_size() -> None:
    """Every frame of ``outdata`` is written: ticks where the clock says, digital silence elsewhere."""
    backend = _backend()
    blocks = [_call(backend, size) for size in (1, 999, 4096, 7, 30000)]
    out = np.concatenate(blocks)
    assert not np.any(out == 9.0)
    sounding = np.flatnonzero(np.abs(out[:, 0]) > 1e-3)
    assert sounding.size and sounding[0] < 64  # the first tick at frame 0
    assert np.all(out[2000:TICK_PERIOD - 10] == 0.0)  # silence between ticks
    assert np.any(np.abs(out[TICK_PERIOD : TICK_PERIOD + 500, 0]) > 1e-3)  # the second tick on its frame


def test_an_overflowing_input_ring_drops_the_oldest_frames_and_keeps_the_time_axis() -> None:
    """The consumer falls behind by more than the ring holds: the callback never blocks, the lost
    frames come back as zeros and are counted, the frames still in the ring are intact and the
    sample index of what is read stays on the stream's clock."""
    backend = _backend()
    ring = backend.core.ring
    ring_frames = ring.capacity
    backend.core.ring = ring = InputRing(48000, 1)  # 1 s, to overflow quickly
    values = []
    written = 0
    while written < 2 * ring.capacity + 5000:  # 2.1 s of input, nothing read
        size = 700 if written % 3 else 1301
        _call(backend, size, mic=float(written))  # each block's frames carry the block's first index
        values.append((written, size))
        written += size
    start, frames = ring.read()
    assert start == 0 and frames.shape == (written, 1)
    lost = written - ring.capacity
    assert ring.lost_frames == lost
    assert np.all(frames[:lost] == 0.0)
    for first, size in values:  # what was kept is what the callback wrote, at its own index
        if first >= lost:
            assert np.all(frames[first : first + size, 0] == np.float32(first))
    _call(backend, 100, mic=5.0)
    start, frames = ring.read()
    assert start == written and np.all(frames == 5.0) and ring.lost_frames == lost
    assert ring_frames == round(20.0 * RATE)  # the real ring holds 20 s


@pytest.mark.parametrize("block_size", [1000, 4096])
def test_live_backend_zeroes_the_frames_past_the_end_like_player(block_size: int) -> None:
    """The block that crosses ``n_frames`` is cut there (the tick that would go on is silenced),
    the backend is completed and the callback stops the stream; Player does the same."""
    n_frames = 2 * TICK_PERIOD + 300  # the third tick starts 300 frames before the end
    live = _backend(n_frames=n_frames)
    player = Player(_renderer(), sample_rate=RATE, n_frames=n_frames)
    outputs = {}
    for name, backend in (("live", live), ("player", player)):
        blocks = []
        done = 0
        with pytest.raises(StopIteration):  # the stop exception before a stream exists (CallbackStop live)
            while True:
                out = np.full((block_size, 2), 9.0, dtype=np.float32)
                blocks.append(out)
                done += block_size
                if isinstance(backend, LiveBackend):
                    backend._callback(np.zeros((block_size, 1), dtype=np.float32), out, block_size, FakeTime(),
                                      FakeStatus())
                else:
                    backend._callback(out, block_size, FakeTime(), FakeStatus())
        assert backend.completed
        out = np.concatenate(blocks)
        assert done >= n_frames and out.shape[0] == done
        assert np.any(np.abs(out[n_frames - 300 : n_frames, 0]) > 1e-3)  # the tick plays up to the end ...
        assert np.all(out[n_frames:] == 0.0)  # ... and not a frame beyond it
        outputs[name] = out
    np.testing.assert_array_equal(outputs["live"], outputs["player"])


def test_while_a_lost_stream_is_reopened_the_live_display_is_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream that died mid-session is reopened for recover_s: meanwhile ``outage_note`` says so
    (the panel shows it; session time stands still), and it is gone once the attempt ends."""
    import coach.live_backend as lb

    monkeypatch.setattr(lb, "RECOVER_EVERY_S", 0.05)
    backend = _backend()
    backend.recover_s = 0.3
    backend.failure = "the audio stream stopped by itself"

    def refuse() -> None:
        raise RuntimeError("no sound server")

    monkeypatch.setattr(backend, "start", refuse)
    notes: list[str] = []

    def consume() -> bool:
        notes.append(backend.outage_note())
        return True

    assert backend.outage_note() == ""
    assert backend._reopen(consume, 0.01) is False
    assert notes and all(n.startswith("audio stream lost ") and "reconnecting (for up to 0.3 s)" in n for n in notes)
    assert backend.outage_note() == ""
    assert backend.failure is not None and "could not be reopened within 0.3 s (no sound server)" in backend.failure


def test_a_reopened_stream_measures_its_callback_waits_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """The outage before a reopened stream's first callback (which a primed stream runs inside its
    start call) is listed in the gaps, not taken for this machine failing to run the audio thread;
    a late callback after the new stream's start-up is."""
    import coach.live_backend as lb

    monkeypatch.setattr(lb, "RECOVER_EVERY_S", 0.01)
    backend = _backend(lead_in_frames=1000)
    stats = backend.core.stats
    t_s = 0.0
    for _ in range(10):  # past the lead-in, callbacks 43 ms apart
        _call(backend, 2048, t_s=t_s)
        t_s += 2048 / RATE
    assert 0.04 < stats.max_callback_gap_s < 0.05
    backend.failure = "the audio stream stopped by itself"

    def start_primed() -> None:  # the new stream's first callback, 5 s after the old one's last
        _call(backend, 2048, t_s=t_s + 5.0)

    monkeypatch.setattr(backend, "start", start_primed)
    assert backend._reopen(lambda: True, 0.01) is True
    assert backend.gaps and backend.gaps[-1]["at_s"] == pytest.approx(10 * 2048 / RATE, abs=0.001)
    assert stats.max_callback_gap_s < 0.05  # the outage is not a callback wait
    t_s += 5.0
    while stats.frames < stats.startup_until_frame:  # the new stream's start-up, clean
        t_s += 2048 / RATE
        _call(backend, 2048, t_s=t_s)
    _call(backend, 2048, t_s=t_s + 0.120)  # then one late callback
    assert stats.max_callback_gap_s == pytest.approx(0.120, abs=1e-9)


def test_a_lost_stream_is_first_reopened_at_once_then_every_half_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first reopen comes RECOVER_FIRST_S after the loss is noticed (each 0.1 s of outage is
    ticks a runner does not hear and footfalls nobody counts); a sound server that refuses is then
    asked every RECOVER_EVERY_S, and so is one whose reopened stream dies again before a block
    (the same outage goes on: not hit every 50 ms for 15 s). The gap lists the whole outage."""
    import coach.live_backend as lb

    waits: list[float] = []
    monkeypatch.setattr(lb.time, "sleep", waits.append)
    backend = _backend()
    backend.failure = "the audio stream stopped by itself"
    attempts = iter([RuntimeError("busy"), RuntimeError("busy"), None])

    def start() -> None:
        error = next(attempts)
        if error is not None:
            raise error

    monkeypatch.setattr(backend, "start", start)
    assert backend._reopen(lambda: True, 0.01) is True
    assert waits == [0.05, 0.5, 0.5]
    assert len(backend.gaps) == 1 and backend.gaps[0]["reason"] == "the audio stream stopped by itself"
    waits.clear()
    for _ in range(2):  # the reopened stream dies twice more before its first block
        backend.failure = "the audio stream stopped by itself"
        attempts = iter([None])
        assert backend._reopen(lambda: True, 0.01) is True
    assert waits == [0.5, 0.5]
    assert len(backend.gaps) == 1  # one outage, still going on at its first frame
    _call(backend, 256)  # a block: the stream runs again
    backend.failure = "the audio stream stopped by itself"
    attempts = iter([None])
    waits.clear()
    assert backend._reopen(lambda: True, 0.01) is True
    assert waits == [0.05] and len(backend.gaps) == 2  # a new outage: reopened at once again
