"""stepdetect.features: block-size invariance and what the low band keeps and drops."""

from __future__ import annotations

import numpy as np
import pytest

from stepdetect import features, sosfilt

FIELDS = ("level_db", "floor_db", "background_db", "flux_db", "high_db")


def _run_blocks(y: np.ndarray, sample_rate: int, sizes: list[int]) -> features.Frames:
    state = features.new_state(sample_rate)
    parts = []
    pos = 0
    for size in sizes:
        frames, state = features.footfall_features(y[pos : pos + size], state=state)
        parts.append(frames)
        pos += size
    frames, state = features.footfall_features(y[pos:], state=state)
    parts.append(frames)
    return features.Frames(0, *(np.concatenate([getattr(p, f) for p in parts])
                                for f in FIELDS))


@pytest.mark.parametrize("sample_rate", [8000, 16000, 44100, 48000, 96000])
def test_frames_do_not_depend_on_block_size(sample_rate: int, rng: np.random.Generator) -> None:
    y = rng.standard_normal(int(0.7 * sample_rate)) * 0.1
    whole, _ = features.footfall_features(y, state=features.new_state(sample_rate))
    sizes = list(rng.integers(1, 700, 60)) + [1, 1, 3, 4096]
    blocks = _run_blocks(y, sample_rate, sizes)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(blocks, name), getattr(whole, name), err_msg=name)
    assert whole.level_db.size == y.size // features.hop_size(sample_rate)


@pytest.mark.parametrize("sample_rate", [8000, 22050, 48000, 96000])
def test_frame_period_is_about_one_ms(sample_rate: int) -> None:
    assert 0.0009 <= features.frame_period_s(sample_rate) <= 0.00105


def _level_of_tone(freq_hz: float, sample_rate: int = 48000) -> float:
    t = np.arange(int(0.5 * sample_rate)) / sample_rate
    y = 0.5 * np.sin(2 * np.pi * freq_hz * t)
    frames, _ = features.footfall_features(y, state=features.new_state(sample_rate))
    return float(np.median(frames.level_db[300:]))


def test_low_band_keeps_thumps_and_rejects_ticks_and_dc() -> None:
    thump = _level_of_tone(90.0)
    assert _level_of_tone(1000.0) < thump - 35.0  # tick energy (> 800 Hz)
    assert _level_of_tone(3000.0) < thump - 45.0
    dc, _ = features.footfall_features(np.full(24000, 0.3), state=features.new_state(48000))
    assert float(np.max(dc.level_db[300:])) < thump - 60.0


def test_envelope_is_nearly_ripple_free_in_the_thump_band() -> None:
    for freq_hz in (50.0, 80.0, 150.0):
        t = np.arange(24000) / 48000
        frames, _ = features.footfall_features(0.5 * np.sin(2 * np.pi * freq_hz * t), state=features.new_state(48000))
        steady = frames.level_db[300:]
        assert np.ptp(steady) < 2.5, (freq_hz, np.ptp(steady))  # a plain |x|^2 envelope swings > 10 dB


def test_multichannel_is_mixed_down() -> None:
    y = np.stack([np.ones(10), np.zeros(10), np.full(10, 2.0)], axis=1)
    np.testing.assert_allclose(features.to_mono(y), np.ones(10))


def test_sample_rate_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        features.new_state(1000)


ALL_FIELDS = FIELDS + ("bands_level_db", "bands_db", "odf_db", "top_z")


@pytest.mark.parametrize("sample_rate", [8000, 44100])
def test_long_input_in_chunks_equals_short_blocks(sample_rate: int, rng: np.random.Generator) -> None:
    """An input longer than CHUNK_FRAMES goes through in chunks: the frames are the same as
    from 10 ms blocks, and each frame is computed once (no seam at a chunk boundary)."""
    n_frames = 2 * features.CHUNK_FRAMES + 123
    y = rng.standard_normal(n_frames * features.hop_size(sample_rate) + 7) * 0.05
    y[: y.size // 3] *= 0.01  # quiet, then loud: the floors move across a chunk seam
    whole, state = features.footfall_features(y, state=features.new_state(sample_rate))
    assert whole.level_db.size == n_frames and state.n_frames == n_frames and state.pending.size == 7
    block = int(0.01 * sample_rate)
    st, parts = features.new_state(sample_rate), []
    for pos in range(0, y.size, block):
        frames, st = features.footfall_features(y[pos : pos + block], state=st)
        parts.append(frames)
    for name in ALL_FIELDS:
        np.testing.assert_array_equal(np.concatenate([getattr(p, name) for p in parts]), getattr(whole, name),
                                      err_msg=name)


def test_section_filter_matches_scipy_sosfilt(monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    """sosfilt_rows (scipy's compiled loop when present, else the public sosfilt) gives
    scipy.signal.sosfilt's output and final memories, row by row, across a split."""
    from scipy import signal

    sos = signal.butter(4, [250.0, 700.0], btype="bandpass", fs=4000.0, output="sos")
    x = rng.standard_normal((3, 500))
    want, want_zi = signal.sosfilt(sos, x, axis=-1, zi=np.zeros((sos.shape[0], 3, 2)))
    for use_kernel in (True, False):
        monkeypatch.setattr(sosfilt, "_USE_KERNEL", use_kernel and sosfilt._kernel_works())
        zi = np.zeros((3, sos.shape[0], 2))
        a, zi = sosfilt.sosfilt_rows(sos, x[:, :123], zi)
        b, zi = sosfilt.sosfilt_rows(sos, x[:, 123:], zi)
        np.testing.assert_allclose(np.concatenate((a, b), axis=1), want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(zi, np.transpose(want_zi, (1, 0, 2)), rtol=1e-12, atol=1e-15)
    assert sosfilt._kernel_works()  # the fast path is the one in use with this scipy


def test_trailing_min_of_a_few_new_frames_equals_the_filter(rng: np.random.Generator) -> None:
    # the live path's shortcut (a full tail and a few new frames) and the filter over the whole
    # tail give the same minima, +inf (the warm-up) included
    from scipy import ndimage

    for _ in range(300):
        n_win = int(rng.integers(2, 80))
        n_tail = n_win - 1 if rng.random() < 0.8 else int(rng.integers(0, n_win - 1))
        ext = rng.standard_normal((features.N_BANDS, n_tail + int(rng.integers(1, n_win // 4 + 2))))
        ext[:, : int(rng.integers(0, 4))] = np.inf
        want = ndimage.minimum_filter1d(ext, size=n_win, axis=1, mode="nearest", origin=(n_win - 1) // 2)[:, n_tail:]
        np.testing.assert_array_equal(features._trailing_min(ext, n_win, n_tail), want)


def test_frame_history_equals_concatenating_and_trimming(rng: np.random.Generator) -> None:
    # the history the live detector keeps: the same frames as concatenating each block's frames
    # and keeping the newest, through blocks of any size (longer than its arrays: the first one,
    # with nothing kept, and one after others)
    y = rng.standard_normal(48000 * 3) * 0.1
    state = features.new_state(48000)
    history, keep = features.FrameHistory(40), 15
    kept = features.Frames.empty(0)
    pos = 0
    for size in [30000, *rng.integers(1, 700, 80), 40000, *rng.integers(1, 700, 40)]:
        frames, state = features.footfall_features(y[pos : pos + size], state=state)
        pos += size
        if frames.level_db.size == 0:
            continue
        got = history.append(frames)
        want = features.Frames.concat([kept, frames])
        assert got.first_frame == want.first_frame
        for f in features.FRAME_FIELDS:
            np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)
        history.keep(keep)
        drop = max(0, want.level_db.size - keep)
        kept = features.Frames(want.first_frame + drop, *(getattr(want, f)[drop:] for f in features.FRAME_FIELDS))
        assert history.first_frame == kept.first_frame


@pytest.mark.parametrize("sample_rate", [8000, 16000, 48000])
def test_pooled_rows_do_not_depend_on_what_the_scratch_held(sample_rate: int, rng: np.random.Generator) -> None:
    # the working memory is reused chunk after chunk: a row a rate lacks (8 kHz: the half-pools,
    # the upper mid band) must come out 0 whatever the last chunk left there
    design = features._Design.get(sample_rate)
    n_frames = 300
    xs = rng.standard_normal(n_frames * design.hop) * 0.1
    clean = features._scratch(n_frames, design)
    clean[:] = 0.0
    dirty = np.full_like(clean, np.nan)
    want_rows, want_pooled = features._pooled_rows(xs, n_frames, design, 0.05, clean)
    want_rows = want_rows.copy()
    got_rows, got_pooled = features._pooled_rows(xs, n_frames, design, 0.05, dirty)
    np.testing.assert_array_equal(got_rows, want_rows)
    np.testing.assert_array_equal(got_pooled, want_pooled)


@pytest.mark.parametrize("sample_rate", [8000, 48000])
def test_a_long_input_in_chunks_equals_short_blocks(sample_rate: int, rng: np.random.Generator) -> None:
    # a long input goes through in CHUNK_FRAMES chunks sharing one scratch: every field equals
    # the same audio fed in 0.5 s blocks (each with its own scratch)
    y = rng.standard_normal(int(2.3 * features.CHUNK_FRAMES * features.hop_size(sample_rate))) * 0.1
    whole, _ = features.footfall_features(y, state=features.new_state(sample_rate))
    state, parts, step = features.new_state(sample_rate), [], sample_rate // 2
    for pos in range(0, y.size, step):
        frames, state = features.footfall_features(y[pos : pos + step], state=state)
        parts.append(frames)
    blocks = features.Frames.concat(parts)
    for f in features.FRAME_FIELDS:
        np.testing.assert_array_equal(getattr(blocks, f), getattr(whole, f), err_msg=f)
