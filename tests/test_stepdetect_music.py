"""Earbud music at another tempo (kick drums, bass, hi-hats) on a real excerpt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stepdetect import online, score_events
from stepdetect.online import detect_footfalls

# the first 3 s of the benchmark's dev item music/dirt_rocks/hfp16 (tests/data/footsteps/README.md):
# dirt & rocks steps at SoundTrackDB step times, kicks every 0.460 s from 0.137 s, through the
# modelled 16 kHz HFP headset path
STEPS_S = np.array([0.6, 1.0002, 1.2837, 1.7339, 2.1008, 2.4676, 2.8345])
KICK_S = 0.1374 + 5 * 0.46  # 2.437 s, 30 ms before a step the bands path hears


def test_a_kick_the_thump_tracker_knows_for_a_beat_is_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thump path is reported at the start (it has the most evidence), and the kicks at
    another tempo outnumber what its tracker finds on its rhythm, so that tracker's rejects are
    reported (``THUMP_MIN_SALIENCE``). By 2.4 s it has followed the kicks' exact grid: that kick
    is a beat of the music, not a footfall, and is not reported."""
    y, sr = sf.read(Path(__file__).parent / "data" / "footsteps" / "music_dirt_hfp16_16k.flac")
    found = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(found - KICK_S)) > 0.01, found
    assert score_events(STEPS_S, found).n_matched >= 5
    monkeypatch.setattr(online, "REPORT_THUMP_BEATS", True)  # without the rule it is reported
    found = detect_footfalls(y, sample_rate=sr).time_s
    assert np.min(np.abs(found - KICK_S)) <= 0.005, found
