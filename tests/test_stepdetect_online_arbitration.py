"""StepDetector's path arbitration on given footfalls of the two paths (thump / bands).

The footfalls are fed straight to the arbitration in half-second blocks, as ``process_block``
hands them over, so the scenes are exact: which path hears what, and when.
"""

from __future__ import annotations

import numpy as np
import pytest

from stepdetect import online
from stepdetect.online import StepDetector
from stepdetect.peaks import Pick

RUN_S = np.arange(0.5, 8.0, 0.35)  # a runner at 171 spm for 7.5 s, heard by the bands path only
BLOCK_S = 0.5
DECIDED_AFTER_S = 0.03


def _reported(thump_s: np.ndarray, bands_s: np.ndarray, bands_rhythmic: np.ndarray,
              bands_closeness: np.ndarray | None = None, thump_db: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Times reported over 17 s of blocks, and the path reported at the end (the bands path's
    footfalls on its rhythm at its prediction unless ``bands_closeness`` says how near; the thump
    path's all at -20 dB unless ``thump_db`` says how loud)."""
    if bands_closeness is None:
        bands_closeness = np.ones(bands_s.size)
    if thump_db is None:
        thump_db = np.full(thump_s.size, -20.0)
    det = StepDetector(sample_rate=16000)
    out: list[float] = []
    for a in np.arange(0.0, 17.0, BLOCK_S):
        def due(t: float) -> bool:
            return a <= t + DECIDED_AFTER_S < a + BLOCK_S
        low = [Pick(float(t), 0.9, float(db), float(t) + DECIDED_AFTER_S, True) for t, db in zip(thump_s, thump_db) if due(t)]
        multi = [Pick(float(t), 0.9, -20.0, float(t) + DECIDED_AFTER_S, bool(r), closeness=float(c) if r else 0.0)
                 for t, r, c in zip(bands_s, bands_rhythmic, bands_closeness) if due(t)]
        out += [p.time_s for p, _ in det._arbitrate(low, multi)]
    return np.array(out), det.path


def test_after_a_stop_the_thump_band_alone_does_not_take_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner stops at 8 s; from 12 s the thump band carries regular onsets nobody else hears
    (a Bluetooth path's noise gate / AGC pumping in the quiet, every 0.42 s): nothing after the
    stop is reported, and the bands path stays the reported one."""
    pump_s = np.arange(12.0, 16.5, 0.42)
    found, path = _reported(pump_s, RUN_S, np.ones(RUN_S.size, bool))
    assert np.sum(found > RUN_S[-1] + 0.1) == 0, found
    assert np.sum(np.abs(found[:, None] - RUN_S[None, :]).min(axis=0) <= 1e-9) >= RUN_S.size - 1
    assert path == "bands"
    monkeypatch.setattr(online, "TAKEOVER_HEARD_FRACTION", 0.0)  # without the rule the pumping is reported
    found, path = _reported(pump_s, RUN_S, np.ones(RUN_S.size, bool))
    assert np.sum(found > RUN_S[-1] + 0.1) >= 4, found
    assert path == "thump"


def test_after_a_stop_steps_the_bands_path_partly_hears_go_to_the_thump_path() -> None:
    """The runner starts again at 12 s with soft steps: the thump path hears each (every 0.35 s),
    the bands path only every third, off its rhythm. The bands path has gone quiet, but it heard a
    third of the thump path's footfalls: the thump path takes over and reports the steps."""
    soft_s = np.arange(12.0, 16.5, 0.35)
    bands_s = np.concatenate([RUN_S, soft_s[::3]])
    rhythmic = np.concatenate([np.ones(RUN_S.size, bool), np.zeros(soft_s[::3].size, bool)])
    found, path = _reported(soft_s, bands_s, rhythmic)
    after = found[found > RUN_S[-1] + 0.1]
    assert path == "thump"
    assert after.size >= soft_s.size - 4, after  # the first few go while the evidence builds up
    assert np.all(np.abs(after[:, None] - soft_s[None, :]).min(axis=1) <= 1e-9)


def test_the_first_footfalls_are_reported_before_a_path_is_chosen() -> None:
    """A runner heard by the bands path only, its first three footfalls off the rhythm (the
    tracker has not locked yet): before either path has the evidence to be chosen, what either
    hears is reported, so the first footfalls of a session are not lost to the choice."""
    rhythmic = np.arange(RUN_S.size) >= 3
    found, path = _reported(np.zeros(0), RUN_S, rhythmic)
    assert path == "bands"
    np.testing.assert_allclose(found, RUN_S)


def test_before_a_path_is_chosen_a_footfall_both_hear_is_reported_once() -> None:
    """Both paths hear the first footfalls, the thump path 4 ms before the bands path: one report each."""
    rhythmic = np.arange(RUN_S.size) >= 3
    found, _ = _reported(RUN_S[:3] - 0.004, RUN_S, rhythmic)
    assert found.size == RUN_S.size, found
    assert np.all(np.abs(found[:, None] - RUN_S[None, :]).min(axis=1) <= 0.005)


def test_footfalls_far_from_the_rhythm_count_less_for_their_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gusts in the bands: the bands path's tracker takes two of every three footfalls from a gust
    onset 90 ms off the step (near enough to its rhythm to be accepted, far from its prediction),
    the thump path hears every step on time. The footfalls count by how near their prediction they
    fell: the thump path takes over and reports the steps."""
    steps_s = np.arange(0.5, 16.5, 0.35)
    off = np.arange(steps_s.size) % 3 != 0
    bands_s = steps_s + np.where(off, 0.09, 0.0)
    closeness = np.where(off, 0.06, 0.95)  # the tracker's Gaussian: 90 ms is 2.3 sd at this period
    found, path = _reported(steps_s, bands_s, np.ones(steps_s.size, bool), closeness)
    assert path == "thump"
    late = found[found > 8.0]
    assert np.all(np.abs(late[:, None] - steps_s[None, :]).min(axis=1) <= 1e-9), late
    monkeypatch.setattr(online, "CLOSENESS_FLOOR", 1.0)  # every footfall on the rhythm counts 1: no switch
    found, path = _reported(steps_s, bands_s, np.ones(steps_s.size, bool), closeness)
    assert path == "bands"


def test_the_bands_path_does_not_hand_over_to_a_thump_path_that_misses_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths hear a runner for 16 s; the thump path misses every sixth step (a soft foot, a
    shoe that does not thump) and agrees with the bands path on all it hears. The bands path hears
    more than it: it stays the reported one and every step is reported."""
    steps_s = np.arange(0.5, 16.5, 0.35)
    thump_s = steps_s[np.arange(steps_s.size) % 6 != 5]
    found, path = _reported(thump_s, steps_s, np.ones(steps_s.size, bool))
    assert path == "bands"
    assert np.sum(np.abs(found[:, None] - steps_s[None, :]).min(axis=0) <= 1e-9) >= steps_s.size - 1, found
    monkeypatch.setattr(online, "AGREE_HEARD_FRACTION", 0.0)  # without the rule the thump path takes over
    monkeypatch.setattr(online, "FILL_CLOSENESS", np.inf)  # ... and, the bands path filling none of its gaps,
    found, path = _reported(thump_s, steps_s, np.ones(steps_s.size, bool))  # misses steps
    assert path == "thump"
    assert np.sum(np.abs(found[:, None] - steps_s[None, :]).min(axis=0) <= 1e-9) <= steps_s.size - 4, found


def test_a_step_the_reported_path_misses_comes_from_the_other_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths hear a runner for 16 s; the thump path, reported once it agrees with the bands
    path, misses every eighth step (a soft heel under a treadmill's hum). The bands path takes each
    of those on its rhythm where the thump path's tracker predicts a step: every step is
    reported, each once."""
    steps_s = np.arange(0.5, 16.5, 0.35)
    thump_s = steps_s[np.arange(steps_s.size) % 8 != 7]
    found, path = _reported(thump_s, steps_s, np.ones(steps_s.size, bool))
    assert path == "thump"
    np.testing.assert_allclose(found, steps_s)
    monkeypatch.setattr(online, "FILL_CLOSENESS", np.inf)  # without the rule the thump path's gaps stay
    found, path = _reported(thump_s, steps_s, np.ones(steps_s.size, bool))
    assert path == "thump"
    missed = steps_s[np.abs(steps_s[:, None] - found[None, :]).min(axis=1) > 1e-9]
    assert missed.size >= 4 and np.all(np.isin(np.round(missed, 6), np.round(steps_s[7::8], 6))), missed


def test_steps_the_reported_path_misses_in_a_row_come_from_the_other_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths hear a runner for 16 s; the thump path, reported once it agrees with the bands
    path, misses two steps in a row twice (a soft patch under a treadmill's hum), and once it
    misses a step but takes that step's louder crunch 90 ms later on its rhythm, then misses the
    next. The bands path takes each missed step on its rhythm: every step is reported, each once
    (without bridging, the step after a filled one is lost: the thump path's tracker predicted
    only the first, or predicts from the crunch)."""
    steps_s = np.arange(0.5, 16.5, 0.35)
    i = np.arange(steps_s.size)
    missed_twice = np.isin(i, [14, 15, 34, 35])
    crunch = i == 24
    thump_s = np.sort(np.concatenate([steps_s[~missed_twice & ~crunch & (i != 25)], steps_s[crunch] + 0.09]))
    found, path = _reported(thump_s, steps_s, np.ones(steps_s.size, bool))
    assert path == "thump"
    np.testing.assert_allclose(found, steps_s)
    monkeypatch.setattr(online, "FILL_BRIDGE", 0)  # without the rule: the thump path's next prediction only
    found, path = _reported(thump_s, steps_s, np.ones(steps_s.size, bool))
    assert path == "thump"
    assert np.all(np.abs(found[:, None] - steps_s[None, :]).min(axis=1) <= 1e-9), found
    missed = steps_s[np.abs(steps_s[:, None] - found[None, :]).min(axis=1) > 1e-9]
    np.testing.assert_allclose(missed, steps_s[[15, 25]])


def test_the_thump_path_locked_on_music_kicks_does_not_take_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """Earbud music from 3 s: the thump band hears only its kick drum, metronome-exact at another
    tempo (every 0.466 s: each kick at its tracker's prediction), the bands path the runner's
    steps every 0.4 s, which wander about its predictions (closeness 0.35 / 0.65). The kicks
    outweigh the steps in evidence, but the bands path hears few of them: it stays the reported
    one and only steps are reported."""
    steps_s = np.arange(0.5, 16.5, 0.4)
    kicks_s = np.arange(3.0, 16.5, 0.466)
    closeness = np.where(np.arange(steps_s.size) % 2, 0.35, 0.65)
    found, path = _reported(kicks_s, steps_s, np.ones(steps_s.size, bool), closeness)
    assert path == "bands"
    assert np.all(np.abs(found[:, None] - steps_s[None, :]).min(axis=1) <= 1e-9), found
    monkeypatch.setattr(online, "TAKEOVER_HEARD_FRACTION", 0.0)  # without the rule the kicks are reported
    found, path = _reported(kicks_s, steps_s, np.ones(steps_s.size, bool), closeness)
    assert path == "thump"
    assert np.sum(np.abs(found[:, None] - kicks_s[None, :]).min(axis=1) <= 1e-9) >= 10, found


def test_a_thump_path_whose_tracker_leaves_most_off_the_rhythm_does_not_take_over(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Crunchy ice through a headset: the thump band hears each step on time and, 170 ms after it,
    the step's louder low crunch, which its tracker rejects (off the rhythm: it then finds under
    half of what it hears on the rhythm); the bands path hears the steps wandering about its
    predictions (closeness 0.3, little evidence). The thump path has more evidence, but a thump
    path that does not filter what it hears does not take over: once the bands path is chosen
    (before, what either hears is reported) only steps are reported."""
    steps_s = np.arange(0.5, 16.5, 0.35)
    thump_s = np.sort(np.concatenate([steps_s, steps_s + 0.17]))
    thump_db = np.where(np.isin(thump_s, steps_s), -20.0, -19.0)
    closeness = np.full(steps_s.size, 0.3)
    found, path = _reported(thump_s, steps_s, np.ones(steps_s.size, bool), closeness, thump_db)
    assert path == "bands"
    later = found[found > 4.0]
    assert later.size >= np.sum(steps_s > 4.0) - 1, later
    assert np.all(np.abs(later[:, None] - steps_s[None, :]).min(axis=1) <= 1e-9), later
    monkeypatch.setattr(online, "TAKEOVER_MIN_SALIENCE", 0.0)  # without the rule the crunches are reported
    found, path = _reported(thump_s, steps_s, np.ones(steps_s.size, bool), closeness, thump_db)
    assert path == "thump"
    later = found[found > 4.0]
    assert np.sum(np.abs(later[:, None] - (steps_s + 0.17)[None, :]).min(axis=1) <= 1e-9) >= 10, later


def test_a_late_crunch_in_the_thump_band_is_reported_at_the_contact_the_bands_path_heard(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Crunchy ice: both paths hear a runner's steps on time (the thump path is reported), but at
    two steps (5.4 s, 9.6 s) the first contact is faint below 250 Hz and the thump band picks the
    step's louder crunch 90 ms later, after its rhythm's prediction; the bands path heard the
    contact on its rhythm. Those footfalls are reported at the contact, once each."""
    steps_s = np.arange(0.5, 16.5, 0.35)
    crunch = np.isin(np.arange(steps_s.size), [14, 26])
    thump_s = steps_s + np.where(crunch, 0.09, 0.0)
    found, path = _reported(thump_s, steps_s, np.ones(steps_s.size, bool), np.full(steps_s.size, 0.95))
    assert path == "thump"
    assert found.size == steps_s.size, found
    assert np.all(np.abs(found[:, None] - steps_s[None, :]).min(axis=1) <= 1e-9), found
    monkeypatch.setattr(online, "LATER_CRUNCH_S", 0.0)  # without the rule: reported at the crunch
    monkeypatch.setattr(online, "FILL_CLOSENESS", np.inf)  # (the bands path filling no gap either)
    found, _ = _reported(thump_s, steps_s, np.ones(steps_s.size, bool), np.full(steps_s.size, 0.95))
    late = np.abs(found[:, None] - steps_s[None, :]).min(axis=1) > 0.08
    assert np.sum(late) == 2, found


def _reported_thump(thump: list[tuple[float, float]]) -> np.ndarray:
    """Times reported of thump-path footfalls ``(time s, peak dB)`` alone, in half-second blocks."""
    det = StepDetector(sample_rate=16000)
    out: list[float] = []
    for a in np.arange(0.0, 6.0, BLOCK_S):
        low = [Pick(t, 0.9, db, t + DECIDED_AFTER_S, True) for t, db in thump if a <= t + DECIDED_AFTER_S < a + BLOCK_S]
        out += [p.time_s for p, _ in det._arbitrate(low, [])]
    return np.array(out)


def test_before_the_rhythm_a_louder_crunch_after_a_thump_is_part_of_that_footfall(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Crunchy ice heard by the thump path alone: each of the first steps (every 0.43 s) is
    followed 130 ms later by a crunch 8 dB louder below 250 Hz. Before a rhythm is found the thump
    path's tracker takes none of them as a footfall and none is reported (its salience is still 0,
    at which what it rejects is otherwise reported); a rejected knock 200 ms after a step, outside
    the footfall's 150 ms, still is."""
    steps_s = np.arange(0.5, 5.0, 0.43)
    crunches = [(float(t) + 0.13, -12.0) for t in steps_s[:3]]
    found = _reported_thump(sorted([(float(t), -20.0) for t in steps_s] + crunches))
    assert np.all(np.abs(found[:, None] - steps_s[None, :]).min(axis=1) <= 1e-9), found
    assert found.size >= steps_s.size - 1, found
    monkeypatch.setattr(online, "THUMP_FREE_OVERRIDE", True)  # without the rule the crunches are footfalls
    found = _reported_thump(sorted([(float(t), -20.0) for t in steps_s] + crunches))
    assert np.sum(np.abs(found[:, None] - steps_s[None, :]).min(axis=1) > 0.1) >= 2, found
    monkeypatch.setattr(online, "THUMP_FREE_OVERRIDE", False)
    knock = [(float(steps_s[1]) + 0.2, -20.0)]
    found = _reported_thump(sorted([(float(t), -20.0) for t in steps_s[:3]] + knock))
    assert np.any(np.abs(found - knock[0][0]) <= 1e-9), found


def test_a_louder_thump_right_after_a_reported_faint_onset_is_its_later_part(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thump path alone, before its tracker has found the rhythm (every onset it rejects is
    reported then): the runner's second footfall (0.93 s) has a faint contact, 15 dB under the
    steps, which the tracker rejects, and a crunch 110 ms later, 7 dB louder than the contact,
    which it takes as a provisional step. One footfall, reported once, at its contact. A faint
    breath 100 ms before the fourth step (17 dB under it) does not hide that step."""
    steps_s = np.arange(0.5, 5.0, 0.43)
    events = [(float(t), -20.0) for t in steps_s if abs(t - 0.93) > 0.01]
    events += [(0.93, -35.0), (1.04, -28.0), (1.69, -37.0)]
    found = _reported_thump(sorted(events))
    assert np.any(np.abs(found - 0.93) <= 1e-9) and not np.any(np.abs(found - 1.04) <= 1e-9), found
    assert np.any(np.abs(found - 1.79) <= 1e-9), found
    assert np.sum(np.abs(found[:, None] - steps_s[None, :]).min(axis=1) <= 1e-9) >= steps_s.size - 1, found
    monkeypatch.setattr(online, "LATER_PART_MAX_DB", -np.inf)  # without the rule: the crunch is a second footfall
    found = _reported_thump(sorted(events))
    assert np.any(np.abs(found - 0.93) <= 1e-9) and np.any(np.abs(found - 1.04) <= 1e-9), found


def test_while_the_bands_path_hears_music_it_does_not_hand_over_on_agreement() -> None:
    """Both paths hear a runner for 16 s and agree on every footfall, the thump path's tracker
    finding all it hears on the rhythm: normally the bands path hands over to the thump path
    (where the thump is heard it is the most precise path). With earbud music the bands path's
    tracker follows a beat grid from 2 s (``Pick.music``): the kick drum is a thump at another
    tempo, so the thump path agreeing is no sign it is the cleaner one -- the bands path stays
    the reported one, and every step is reported once either way."""
    steps_s = np.arange(0.5, 16.5, 0.35)
    for music_from_s, reported in ((np.inf, "thump"), (2.0, "bands")):
        det = StepDetector(sample_rate=16000)
        out: list[float] = []
        for a in np.arange(0.0, 17.0, BLOCK_S):
            due = [float(t) for t in steps_s if a <= t + DECIDED_AFTER_S < a + BLOCK_S]
            low = [Pick(t, 0.9, -20.0, t + DECIDED_AFTER_S, True) for t in due]
            multi = [Pick(t, 0.9, -20.0, t + DECIDED_AFTER_S, True, closeness=1.0, music=t >= music_from_s)
                     for t in due]
            out += [p.time_s for p, _ in det._arbitrate(low, multi)]
        assert det.path == reported, music_from_s
        np.testing.assert_allclose(out, steps_s)


def test_a_steps_later_crunches_the_bands_path_takes_do_not_outweigh_the_thump_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths hear every step; the bands path also takes each crunchy step's crunch 180 ms
    after it (counted off its rhythm, or on a loose one), which the thump path merges into the
    step. That crunch is a later part of a step both heard and counts nothing for the bands path
    (``LATE_PART_*``): the thump path stays reported and the crunches are not reported once it is
    chosen; counting them, the bands path wins on them and reports every crunch."""
    crunch = RUN_S + 0.18
    bands = np.concatenate([RUN_S, crunch])
    order = np.argsort(bands)
    for crunch_rhythmic in (False, True):
        rhythmic = np.concatenate([np.ones(RUN_S.size, bool), np.full(RUN_S.size, crunch_rhythmic)])[order]
        closeness = np.concatenate([np.ones(RUN_S.size), np.full(RUN_S.size, 0.8)])[order]

        def crunches(out: np.ndarray) -> np.ndarray:
            return out[np.min(np.abs(out[:, None] - crunch[None, :]), axis=1) < 0.01]

        out, path = _reported(RUN_S, bands[order], rhythmic, closeness)
        assert path == "thump"
        assert not np.any(crunches(out) > 4.0)
        assert np.all(np.min(np.abs(RUN_S[:, None] - out[None, :]), axis=1) < 0.01)  # every step
        with monkeypatch.context() as m:
            m.setattr(online, "LATE_PART", False)
            out, path = _reported(RUN_S, bands[order], rhythmic, closeness)
        assert path == "bands" and crunches(out).size == crunch.size


def test_a_sound_off_the_bands_rhythm_just_after_a_thump_footfall_counts_nothing() -> None:
    """A bands footfall off its rhythm 180 ms after a step only the thump path heard is that
    step's later part and counts nothing for the bands path; one close to the bands path's own
    prediction (its rhythm: under earbud music the thump path may follow kicks before the steps)
    and one 300 ms after a thump footfall still count."""
    det = StepDetector(sample_rate=16000)
    det._recent["thump"].extend([(1.0, 1.0), (1.35, 1.0), (1.70, 1.0)])
    det._recent["bands"].extend([(1.18, online.PROVISIONAL_EVIDENCE)])
    assert det._evidence("bands") == 0.0
    det._recent["bands"].clear()
    det._recent["bands"].extend([(1.18, 0.95), (1.65, online.PROVISIONAL_EVIDENCE)])
    assert det._evidence("bands") == pytest.approx(0.95 + online.PROVISIONAL_EVIDENCE)


def test_a_step_the_thump_path_heard_and_rejected_comes_from_the_bands_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths hear a runner for 16 s; the thump path is reported. One step comes 0.1 s late (a
    stumble): the thump path's tracker takes it and rejects the next step, 0.25 s after it, off its
    rhythm -- away from its prediction, outside the gap fill's window. The bands path takes that step
    on its rhythm (closeness 0.6): it is reported, from the bands path, once. Without the rule, or
    with the bands path's footfall far from its own prediction (closeness 0.4), it is lost."""
    steps_s = np.arange(0.5, 16.5, 0.35)
    steps_s[20] += 0.1
    rhythmic = np.ones(steps_s.size, bool)
    closeness = np.ones(steps_s.size)
    closeness[21] = 0.6
    found, path = _reported(steps_s, steps_s, rhythmic, closeness)
    assert path == "thump"
    np.testing.assert_allclose(found, steps_s)
    closeness[21] = 0.4
    found, _ = _reported(steps_s, steps_s, rhythmic, closeness)
    np.testing.assert_allclose(found, np.delete(steps_s, 21))
    closeness[21] = 0.6
    monkeypatch.setattr(online, "HEARD_FILL", False)  # without the rule
    found, _ = _reported(steps_s, steps_s, rhythmic, closeness)
    np.testing.assert_allclose(found, np.delete(steps_s, 21))


