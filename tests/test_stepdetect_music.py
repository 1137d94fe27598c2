"""Earbud music at another tempo (kick drums, bass, hi-hats) on a real excerpt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stepdetect import online, score_events
from stepdetect.online import StepDetector, detect_footfalls
from stepdetect.peaks import PickParams

# the first 6.6 s of the benchmark's dev item music/dirt_rocks/hfp16 (tests/data/footsteps/README.md):
# dirt & rocks steps at SoundTrackDB step times, kicks every 0.460 s from 0.137 s, through the
# modelled 16 kHz HFP headset path
EXCERPT = Path(__file__).parent / "data" / "footsteps" / "music_dirt_hfp16_16k.flac"
STEPS_S = np.array([0.6, 1.0002, 1.2837, 1.7339, 2.1008, 2.4676, 2.8345, 3.2013, 3.5682, 3.935, 4.3019,
                    4.6687, 5.0189, 5.4191, 5.7359, 6.1861, 6.4863])
KICK_S = 0.1374 + 5 * 0.46  # 2.437 s, 30 ms before a step the bands path hears


def test_a_kick_the_thump_tracker_knows_for_a_beat_is_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thump path is reported at the start (it has the most evidence), and the kicks at
    another tempo outnumber what its tracker finds on its rhythm, so that tracker's rejects are
    reported (``THUMP_MIN_SALIENCE``). By 2.4 s it has followed the kicks' exact grid: that kick
    is a beat of the music, not a footfall, and is not reported."""
    y, sr = sf.read(EXCERPT)
    y = y[: 3 * sr]  # the first 3 s
    found = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(found - KICK_S)) > 0.01, found
    assert score_events(STEPS_S[STEPS_S < 3.0], found).n_matched >= 5
    monkeypatch.setattr(online, "REPORT_THUMP_BEATS", True)  # without the rule it is reported
    found = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(found - KICK_S)) <= 0.005, found


def test_a_kick_shaped_onset_on_the_kicks_grid_is_no_step() -> None:
    """Through the headset the hi-hats are gone and a kick is a 30-250 Hz jump far above its jumps
    higher up, where the dirt & rocks steps jump across the bands. The kick at 6.121 s (0.1374 +
    13 x 0.46) comes 65 ms before the step at 6.186 s, near enough to the bands tracker's
    prediction to be taken on the rhythm, and the step is then merged into it. Kick-shaped onsets
    at 1.98, 2.44 and 5.20 s (beats 4, 5 and 11) made a grid of their own (``stepdetect.kicks``),
    and the kick lands on its place: it is a beat, and the step after it is the footfall. 20 ms
    blocks give the same."""
    y, sr = sf.read(EXCERPT)
    kick_s, step_s = 0.1374 + 13 * 0.46, 6.1861
    found = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(found - kick_s)) > 0.02, found
    assert np.min(np.abs(found - step_s)) <= 0.005, found
    assert score_events(STEPS_S, found).n_matched >= 14
    det, block = StepDetector(sample_rate=sr), int(0.02 * sr)
    streamed = [t for i in range(0, y.size, block) for t in det.process_block(y[i:i + block]).time_s]
    np.testing.assert_allclose(streamed, found, atol=1e-12, rtol=0)
    without = detect_footfalls(y, sample_rate=sr, params=PickParams(kick=None)).time_s
    assert np.min(np.abs(without - kick_s)) <= 0.005, without  # without the rule: the kick, not the step
    assert np.min(np.abs(without - step_s)) > 0.025, without


def test_heavy_heels_among_known_ticks_are_no_kicks() -> None:
    """Synthetic heel thumps (a heavy heel: the 30-250 Hz band leads) with beep ticks as loud as a
    step 6 % faster (a dev-material re-render of ``metronome_off/synthetic/full``, the file's README).
    The tracker takes ticks for steps here; the beeps lead by -20 dB, so measured against them the
    runner's heels looked kick-shaped, the heels' steady train made a grid and the step at 4.135 s
    was rejected as a beat (s16-music's rule; on eval the ticks cost the metronome scenes). The
    steps' lead is learned from footfalls off the known ticks only: the rule changes nothing."""
    y, sr = sf.read(Path(__file__).parent / "data" / "footsteps" / "synthetic_offbeat_beeps_full_44k.flac")
    ticks = np.array([0.2501, 0.5804, 0.9108, 1.2412, 1.5715, 1.9019, 2.2322, 2.5626, 2.8929, 3.2233, 3.5536,
                      3.884, 4.2143])
    found = detect_footfalls(y, sample_rate=sr, tick_times_s=ticks).time_s
    without = detect_footfalls(y, sample_rate=sr, tick_times_s=ticks, params=PickParams(kick=None)).time_s
    np.testing.assert_array_equal(found, without)
    assert np.min(np.abs(found - 4.1351)) <= 0.005, found


# the first 3 s of the benchmark's dev item music/crunchy_ice/hfp16 (tests/data/footsteps/README.md):
# crunchy ice steps at SoundTrackDB step times under earbud music (kicks every 0.451 s), through the
# modelled 16 kHz HFP headset path
CRUNCHY_EXCERPT = Path(__file__).parent / "data" / "footsteps" / "music_crunchy_hfp16_16k.flac"
CRUNCHY_STEPS_S = np.array([0.6, 1.0002, 1.4004, 1.817275, 2.250825, 2.651026])
CRUNCHY_STEP_S = 1.817275  # the step the bands path's footfall makes its first choice at


def test_the_footfall_that_makes_the_first_choice_is_reported_after_a_kick() -> None:
    """Before either path is chosen the thump path's footfalls are reported as they come; at 1.674 s
    it takes a kick (143 ms before a step). The bands path, which heard the step before with the thump
    path (1.40 s), takes the step at 1.805 s on its rhythm (closeness 0.97), and that footfall makes
    the first choice of the bands path: it is reported although it falls within ``MERGE_ACROSS_S`` of
    the kick (``FIRST_CHOICE_OWN``); without the rule it was lost. 20 ms blocks report the same."""
    y, sr = sf.read(CRUNCHY_EXCERPT)
    found = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(found - CRUNCHY_STEP_S)) <= 0.025, found
    assert score_events(CRUNCHY_STEPS_S, found, tolerance_s=0.025).recall == 1.0
    det, block = StepDetector(sample_rate=sr), sr // 50
    streamed = [t for i in range(0, y.size, block) for t in det.process_block(y[i:i + block]).time_s]
    np.testing.assert_allclose(streamed, found, atol=1e-12, rtol=0)


def test_without_the_first_choice_rule_that_step_is_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same excerpt with ``FIRST_CHOICE_OWN`` off: the step at 1.817 s is not reported (the rule's
    reason to be)."""
    monkeypatch.setattr(online, "FIRST_CHOICE_OWN", False)
    y, sr = sf.read(CRUNCHY_EXCERPT)
    found = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(found - CRUNCHY_STEP_S)) > 0.025, found


def test_a_thump_reject_soon_after_a_step_both_paths_heard_is_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before either path is chosen the thump path reports what its unlocked tracker rejects. At
    1.519 s it rejects a soft sound (a kick, 215 ms before the step at 1.734 s) 0.21 s after its
    footfall at 1.305 s, a step the bands path heard too (1.283 s): sooner than the shortest step
    interval (0.9 x 0.25 s) and not much louder, so a later part of that footfall, not reported
    (``UNDECIDED_REJECT_SPACING``); without the rule it was. 20 ms blocks report the same."""
    y, sr = sf.read(EXCERPT)
    y = y[: 3 * sr]
    sound_s = 1.519
    found = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(found - sound_s)) > 0.05, found
    assert score_events(STEPS_S[STEPS_S < 3.0], found).n_matched >= 5
    det, block = StepDetector(sample_rate=sr), sr // 50
    streamed = [t for i in range(0, y.size, block) for t in det.process_block(y[i:i + block]).time_s]
    np.testing.assert_allclose(streamed, found, atol=1e-12, rtol=0)
    monkeypatch.setattr(online, "UNDECIDED_REJECT_SPACING", False)
    without = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(without - sound_s)) <= 0.005, without
