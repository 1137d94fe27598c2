"""Earbud music at another tempo (kick drums, bass, hi-hats) on a real excerpt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stepdetect import online, score_events
from stepdetect.online import detect_footfalls

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


def test_heavy_heels_among_known_ticks_are_no_kicks() -> None:
    """Synthetic heel thumps (a heavy heel: the 30-250 Hz band leads) with beep ticks as loud as a
    step 6 % faster (a dev-material re-render of ``metronome_off/synthetic/full``, the file's README).
    The tracker takes ticks for steps here; the beeps lead by -20 dB, so measured against them the
    runner's heels looked kick-shaped, the heels' steady train made a grid and the step at 4.135 s
    was rejected as a beat (s16-music's kick rule, since removed; on eval the ticks cost the metronome
    scenes). A heavy heel among known ticks is a footfall."""
    y, sr = sf.read(Path(__file__).parent / "data" / "footsteps" / "synthetic_offbeat_beeps_full_44k.flac")
    ticks = np.array([0.2501, 0.5804, 0.9108, 1.2412, 1.5715, 1.9019, 2.2322, 2.5626, 2.8929, 3.2233, 3.5536,
                      3.884, 4.2143])
    found = detect_footfalls(y, sample_rate=sr, tick_times_s=ticks).time_s
    assert np.min(np.abs(found - 4.1351)) <= 0.005, found


# the first 3 s of the benchmark's dev item music/crunchy_ice/hfp16 (tests/data/footsteps/README.md):
# crunchy ice steps at SoundTrackDB step times under earbud music (kicks every 0.451 s), through the
# modelled 16 kHz HFP headset path
CRUNCHY_EXCERPT = Path(__file__).parent / "data" / "footsteps" / "music_crunchy_hfp16_16k.flac"
CRUNCHY_STEPS_S = np.array([0.6, 1.0002, 1.4004, 1.817275, 2.250825, 2.651026])
CRUNCHY_STEP_S = 1.817275  # the step the bands path's footfall makes its first choice at

