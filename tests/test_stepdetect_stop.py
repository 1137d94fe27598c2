"""A runner's stop at a traffic light: what is heard while standing is not a footfall, and the
steps after it are found again."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stepdetect import score_events
from stepdetect.tracker import AUDIO_PARAMS, BANDS_PARAMS, track_events



@pytest.mark.parametrize("params", [AUDIO_PARAMS, BANDS_PARAMS], ids=["thump", "bands"])
def test_after_a_stop_the_breathing_is_not_a_rhythm(params, rng: np.random.Generator) -> None:
    """Running at 160 spm, a 10 s stop with a breath every 1.1 s (softer than the steps, loud
    enough to be provisional footfalls), running again. Once the stop has let the lock go, the
    breaths are a regular chain at 3 x the step period: locked on it, the restarted runner's
    steps fell off that rhythm (every third one on it) and two in three were rejected. A chain
    over 2.2 x the lost rhythm's period is not locked on: every step after the stop is found."""
    period = 60.0 / 160.0
    run = 0.5 + np.arange(28) * period + rng.normal(0.0, 0.006, 28)
    after = run[-1] + 10.5 + np.arange(28) * period + rng.normal(0.0, 0.006, 28)
    breaths = run[-1] + 1.0 + np.arange(9) * 1.1 + rng.normal(0.0, 0.02, 9)
    events = sorted([(t, rng.uniform(0.9, 1.1)) for t in np.concatenate((run, after))]
                    + [(t, rng.uniform(0.6, 0.8)) for t in breaths])
    t, s = (np.array(x) for x in zip(*events))

    out = track_events(t, s, params=params)
    restarted = out.time_s > after[0] - 0.1
    assert score_events(after, out.time_s[restarted], tolerance_s=0.001).recall == 1.0
    assert out.rhythmic[restarted].sum() >= after.size - 4  # on the rhythm from the 4th step
    without = track_events(t, s, params=dataclasses.replace(params, stop_max_period_ratio=None))
    lost = score_events(after, without.time_s[without.time_s > after[0] - 0.1], tolerance_s=0.001)
    assert lost.recall < 0.9, lost
