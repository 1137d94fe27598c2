"""The streaming footfall detector and its offline twin (the same code over the whole file).

Detection delay: a footfall is reported when ``PickParams.peak_window_s`` (30 ms) of audio
after the frame where its low-band level starts to rise has been processed: at most 41 ms
after the true contact in the benchmark, medians 16-33 ms (``detection_delay_s`` = 32 ms
nominal), plus however long the caller waits to pass the block in. Each report carries
``decided_at_s``, the stream time of the last sample the decision needed.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stepdetect import features
from stepdetect import lowband
from stepdetect.lowband import LowBandParams, LowBandState
from stepdetect.peaks import BEAT_NEAR_S, Pick, PickerState, PickParams, Trace, band_weights, pick_footfalls, tick_near
from stepdetect.rejected import Rejected
from stepdetect.tracker import AUDIO_PARAMS, Decision, StepTracker
from stepdetect.tracker_lock import STOP_NEIGHBOUR_TOLERANCE
from stepdetect.validate import ParameterError, validate_audio, validate_events

HISTORY_S = 0.25  # feature frames kept between blocks (>= look-back + look-ahead)
ARBITRATION_S = 4.0  # the paths are compared on the evidence of their footfalls over this long ...
SWITCH_MARGIN_STEPS = 3  # ... and the other path is reported once it has this much more
SWITCH_RATIO = 1.5  # ... and this many times as much
PROVISIONAL_EVIDENCE = 0.3  # evidence of a footfall accepted off the rhythm ...
CLOSENESS_FLOOR = 0.3  # ... on it: its tracker's closeness to the prediction, at least this (a gust
# onset 90 ms off a step that a loose rhythm accepts is weak evidence: many of them must not outweigh
# the other path's footfalls on time) ...
TICK_EVIDENCE = 0.5  # ... times this when it does not fit what the runner does with the known ticks:
# on a tick while the runner is off the beat (a path locked on leaking ticks hears them all), off the
# ticks while in sync (either path's last footfall found most of its recent ones on ticks: a crunch
# or scuff after the step). Halved on the ticks in sync too, a runner's footfalls on the beat lost to
# the thump path's crunches 60-120 ms after them (dev metronome-on crunchy ice phone 0.78 -> 0.87)
AGREE_FRACTION = 0.8  # the bands path hands over to the thump path when this share of the thump
AGREE_EVIDENCE = 0.8  # path's footfalls are the bands path's too and its evidence is this close:
# where the thump is heard it is the most precise path and the hardest to fool
AGREE_HEARD_FRACTION = 0.85  # ... and the thump path heard this share of the bands path's evidence
HEARD_S = 2.0  # ... over this long (one that misses a soft foot's steps agrees with all it hears; a
# miss a while ago, the thump path hearing every step since, does not hold the hand-back up)
HEARD_TOLERANCE_S = 0.05  # a bands footfall this close to one of the thump path's is a step it heard
# (a scuff or double hit the bands path dated apart is not a step the thump path missed)
AGREE_MIN_STEPS = 4
AGREE_MIN_SALIENCE = 0.65  # ... and its tracker finds at least this share of what it hears on the rhythm
# (thuds off the rhythm in the thump band -- a bag, a knock, a crunch -- are not the precise path)
# ... and the bands path's tracker was not following the beat of music at its last footfall
# (Pick.music): a kick drum is a thump, at another tempo and metronome-exact, so while music plays
# the thump path agreeing with the bands path is no sign it is the cleaner one (dev music synthetic
# phone / HFP 16 kHz 0.81 / 0.90 -> 0.85 / 0.94: the thump path took over and lost the steps next to
# the kicks). The flag comes with the bands footfall, so the choice stays the same for any block size.
# ... and not while the bands path's last footfall on its rhythm is a sound both paths took under
# AGREE_OWN_MIN_CLOSENESS to their predictions (the thump path's evidence for it that low): one sound
# neither rhythm puts there (a 240 spm runner's crunch 30-40 ms before the next contact, which the
# bands path then takes at its prediction) is no sign the thump path is the cleaner one (dev treadmill
# crunchy ice HFP 16 kHz 0.837 -> 0.857, its cadence 2.17 -> 0.28 spm off: the thump path reported the
# crunches for the 2 s of dwell). A sound only the bands rhythm misplaces is: the bands path locked on
# breaths takes a step far from its prediction that the thump path takes on its own rhythm
# (tests/test_stepdetect_multiband.py, ..._is_no_evidence). 0.5 as split_max_closeness; at 0.7 (bands
# closeness alone) stop dirt & rocks HFP 16 kHz 0.917 -> 0.899 (session 17).
AGREE_OWN_MIN_CLOSENESS = 0.5
AGREE_TOLERANCE_S = 0.025
TAKEOVER_HEARD_FRACTION = 0.3  # the thump path takes over from the bands path on evidence only if
# the bands path heard this share of the thump path's footfalls too: alone in the quiet (the runner
# stopped), the thump band carries a Bluetooth path's noise-gate/AGC onsets and breath; under earbud
# music it locks on the kicks, at another tempo, metronome-exact (closeness ~1, more evidence than
# real steps; dev music shower clipped 0.31 with the bands path's linear strength, 0.82 with this)
THUMP_HEEL_MIN_REL = 0.3  # the thump path's tracker dates a footfall at a soft heel this strong (x the toe)
# ... and, after a stop, takes an isolated candidate (no candidate a step period before it) as a
# provisional footfall only when this loud (x reference): breath thumps while standing are not
THUMP_STOP_MIN_REL = 0.8
# ... and "a step period before it" means within this x the lost period (0.5, the hint's tolerance,
# took a standing headset's breath burst -- a soft onset, a louder one 0.25-0.3 s later -- for a step
# after a step: dev stop dirt & rocks HFP 16 / 8 kHz and synthetic HFP 8 kHz, one standing false footfall
# fewer each, nothing else moves; see benchmarks/FOOTFALL_PASSES.md, session 11)
THUMP_STOP_NEIGHBOUR_TOLERANCE = STOP_NEIGHBOUR_TOLERANCE  # the bands path's value (tracker_lock)
# Before it has found the rhythm, the thump path's tracker takes no footfall sooner than
# min_period_s after its last one, however much louder (``free_override`` False), and a candidate
# it rejects within merge_s of its last footfall is not reported even while its rhythm salience is
# low: the thump band hears a crunchy step's louder low crunches 60-220 ms after its contact, parts
# of that footfall (dev quiet-road crunchy ice full, 1.3 and 1.6 s: two false footfalls).
THUMP_FREE_OVERRIDE = False
FIRST_MIN_EVIDENCE = 0.8  # the first choice needs this much evidence (about three footfalls, or one on a rhythm)
# Before either path is chosen (no switch yet, neither with FIRST_MIN_EVIDENCE) the thump path reports
# what its tracker rejects (its salience is still low); the bands path's footfall more than
# AGREE_TOLERANCE_S after such a reject, at AFTER_REJECT_MIN_CONFIDENCE (the picker's full
# confidence: 10 dB over its floor and as strong as its footfalls so far), is a step of its own, not
# that reject again within MERGE_ACROSS_S: a walker's first steps through an 8 kHz headset, a faint
# sound 52 ms before the second step reported and the step lost (dev 56 -> 55, walk dirt & rocks HFP
# 8 kHz passes; without the confidence bound a 0.5 x bands onset 63 ms after a reject and a crunch 98
# ms after one came out too: walk synthetic HFP 8 kHz -0.024, treadmill crunchy ice phone / HFP 8 kHz
# -0.005; session 18, treadwalk)
AFTER_UNDECIDED_REJECT = True
AFTER_REJECT_MIN_CONFIDENCE = 1.0
THUMP_MIN_SALIENCE = 0.5  # below this rhythm salience the thump path's tracker does not filter its footfalls
# ... and so the thump path takes over from the bands path on evidence only from there: a thump band
# whose tracker leaves most of what it hears off the rhythm hears a crunchy step's later crunches or
# a headset's gated breath, and would report them (dev ramp crunchy ice HFP 8 kHz 0.88 -> 0.93)
TAKEOVER_MIN_SALIENCE = THUMP_MIN_SALIENCE
# Its rejects are reported below THUMP_MIN_SALIENCE, except a candidate it refused as a beat of music
# at another tempo (an exact grid of earlier candidates, stepdetect.tracker_beat): the kick drum is a
# thump, and where the kicks outnumber the steps the salience stays low (dev music dirt & rocks HFP 16 kHz: a kick the thump path's tracker
# knew for a beat was reported at 2.4 s, 0.906 -> 0.914). True reports them as before.
REPORT_THUMP_BEATS = False
FIRST_UNSURE_EVIDENCE = 2.0  # the first choice goes to a bands path with this much evidence, even if
# less than the thump path's, while the thump path's tracker finds less than THUMP_MIN_SALIENCE of
# what it hears on its rhythm (crunches and double hits after the steps, off the ticks of a metronome
# the runner is in sync with, outweigh the bands path's footfalls on the ticks; dev metronome-on
# crunchy ice full 0.75 -> 0.83); with less the salience has not settled yet
# A bands footfall the thump path did not hear, HEARD_TOLERANCE_S to LATE_PART_MAX_S (at most
# LATE_PART_MAX_PERIODS of the thump path's period) after a bands footfall the thump path heard too,
# is a later part of that step -- a crunchy step's crunches 100-220 ms after its contact, which the
# bands path takes (often on a loose rhythm of its own) and the thump path merges into the step --
# and counts LATE_PART_EVIDENCE for the bands path (the mirror of EARLY_SOUND): its count of a
# step's parts must not outweigh the thump path hearing the steps once each. So does one taken off
# its rhythm or at its edge (evidence under EARLY_SOUND_MAX_EVIDENCE) as long after any thump-path
# footfall; one close to its own prediction is its rhythm, not such a part (earbud music: a thump
# path locked on kicks 50-200 ms before the steps; without the cap dev music shower full 0.98 -> 0.44).
# Dev 74 -> 74, none newly failing, mean F1 up (metronome-off crunchy ice full 0.844 -> 0.876, phone
# 0.804 -> 0.901, in-ear 0.921 -> 0.944, synthetic HFP 16 kHz 0.876 -> 0.895; metronome-off crunchy
# ice HFP 8 kHz 0.956 -> 0.945, music crunchy ice in-ear 0.920 -> 0.911); see FOOTFALL_PASSES.md.
LATE_PART_MAX_S = 0.25
LATE_PART_MAX_PERIODS = 0.6
LATE_PART_EVIDENCE = 0.0
LATE_PART = True
MIN_DWELL_S = 2.0  # a path is reported at least this long
# Both paths hear the same feet: while the thump path is reported, a footfall the bands path takes
# on its rhythm (closeness at least FILL_CLOSENESS) where the thump path's tracker predicts its next
# step (from FILL_EARLY before to FILL_LATE after that prediction, x its period) and nothing was
# reported for a while (FILL_SPACING x the period) is a step the thump path missed -- a soft heel
# under a treadmill's hum, a shoe that does not thump -- and is reported (dev 108 -> 104
# conditions failing a bar: 5 pass, 1 fails; mean F1 up on every mic path)
FILL_CLOSENESS = 0.5
FILL_EARLY = 0.05  # (a footfall the other path dates well before the prediction may be heard by this path yet)
# ... and the early bound is at least FILL_EARLY_MIN_S: at a fast cadence 0.05 x the period is under the
# steps' own jitter (dev quiet road dirt & rocks in-ear: one foot's soft steps taken by the bands path
# 15 ms before the prediction, 13 ms allowed; dev 66 -> 65, none newly failing)
FILL_EARLY_MIN_S = 0.02
FILL_LATE = 0.15
FILL_SPACING = 0.7
# ... and a step the thump path missed right after one it missed (one foot soft for a few steps,
# a treadmill's hum over a soft patch): its tracker bridges unheard steps without moving its
# anchor, so the next one is a whole period after its prediction (FILL_BRIDGE: this many more; 2 or
# 3 score the same on dev); after a fill it is a period after the filled step, and a thump footfall
# up to MERGE_ACROSS_S after a fill (that step's later crunch, not reported) does not move it (dev:
# no condition flips, mean F1 full, HFP 16 kHz, in-ear, clipped +0.001; treadmill dirt & rocks
# HFP 16 kHz 0.925 -> 0.947)
FILL_BRIDGE = 1
# ... and (HEARD_FILL), whatever the thump path's tracker predicts (locked or not), a footfall the bands path takes on
# its rhythm (closeness at least FILL_CLOSENESS) where the thump path heard a candidate too (within
# AGREE_TOLERANCE_S) that its tracker rejected off its rhythm and did not report: both paths heard
# the same onset and one of them finds it on the runner's rhythm (a thump tracker that lost its
# lock or locked on kicks, a step the runner took early or late; dev 74 -> 73, metronome-off crunchy
# ice in-ear 0.944 -> 0.967 passes, music synthetic HFP 8 kHz 0.779 -> 0.804, 12 up, 1 down; see
# FOOTFALL_PASSES.md, session 13). A thump candidate decided after the bands footfall comes too late
# (a report is final). No spacing after the last report is asked (review: a bands path locked on
# twice the step rate could have a sound half a step after each step filled): the fills this rule
# makes on dev come 0.5-0.55 of the thump tracker's period after the last report, where such a
# sound would be, and a spacing of 0.6 periods took them back (dev 2 items -0.012, no double-time
# lock seen on either split; FOOTFALL_PASSES.md, session 13's review).
HEARD_FILL = True
# BANDS_REJECTED_FILL, the other way round: while the bands path is reported, a footfall the locked
# thump path's tracker takes on its rhythm (closeness at least BANDS_REJECTED_CLOSENESS) where the
# bands path's tracker rejected a candidate too (within AGREE_TOLERANCE_S; the picker hands its
# rejections over in decision order, only one decided before the thump footfall counts) while it
# found less than BANDS_REJECTED_SALIENCE of what it hears on its rhythm (a weak stretch: unlocked,
# or locked on kicks or crunches), BANDS_REJECTED_SPACING thump periods after the last footfall
# reported (the next step: not a sound between steps, nor the first sound after a stop). Without the
# weak-stretch and spacing guards the thump path's kicks and crunches come through (music shower
# HFP 16 kHz -0.05, ~20 items down); with them dev 72 -> 70, 16 up, 4 down (FOOTFALL_PASSES.md,
# session 13, fill2).
BANDS_REJECTED_FILL = True
BANDS_REJECTED_CLOSENESS = FILL_CLOSENESS
BANDS_REJECTED_SPACING = (0.8, 1.5)
BANDS_REJECTED_SALIENCE = 0.5
# ... and when the bands tracker decides that rejection after the thump footfall (it waits for the
# candidates after it), up to LATE_REJECTION_MAX_S later, the footfall is reported then, if it came
# LATE_SPACING thump periods after the last footfall reported (the next step due; the reject-before
# rule's wider BANDS_REJECTED_SPACING let through, when the rejection came late, a standing sound, a
# gust's onset and a walk's early scuff on a thump lock 5 % fast): a stride-locked bands path's
# skipped steps on a ramp (dev ramp crunchy ice HFP 8 kHz 0.929 -> 0.941, cadence 1.79 -> 1.32 spm;
# mean F1 HFP 8 kHz +0.002, 6 items up, 1 down by 0.002; session 18, treadwalk)
LATE_BANDS_REJECTION = True
LATE_REJECTION_MAX_S = 0.025
LATE_SPACING = (0.95, 1.15)
# ... never later than REPORT_MAX_LATENCY_S after the footfall (the report budget after contact), and
# never before a footfall reported since (the reports stay in time order)
REPORT_MAX_LATENCY_S = 0.050
# After such a fill the reported bands path's own footfall on its rhythm (closeness at least
# BANDS_REJECTED_CLOSENESS) more than AGREE_TOLERANCE_S later is still reported, even within
# MERGE_ACROSS_S: the thump path may have taken a sound just before the step (a kick, the step's
# early part, 35-120 ms before it on dev), and then the step itself was lost too. The fill stays
# reported (a report is final), so two reports 35-120 ms apart are expected there; downstream,
# cadence.drop_extra_events drops the extra one from the feet and the cadence. Nothing the thump
# candidate carries (level, confidence, closeness, spacing) told those fills from good ones on dev.
# Dev 70 -> 69, none newly failing (music synthetic phone passes, walk dirt & rocks HFP 16 / 8 kHz
# +0.015; music crunchy ice phone / clipped -0.01: a crunch's later part 80 ms after a good fill;
# FOOTFALL_PASSES.md, session 14, fill).
AFTER_FILL_OWN = True
# While the thump path's tracker finds little on a rhythm, the onsets it rejects are reported too
# (THUMP_MIN_SALIENCE); one so reported is a footfall like the others: a thump-path footfall within
# its tracker's merge_s after it, at most LATER_PART_MAX_DB louder, is that footfall's later part
# (a crunch 110 ms after a faint contact) and is not reported again; a footfall much louder than a
# faint onset just before it (a breath, the headset's gate: 17-20 dB on dev) still is (dev 98 -> 97
# failing a bar: treadmill dirt & rocks HFP 16 kHz passes; metronome-off dirt & rocks HFP 16 kHz
# 0.918 -> 0.907 loses a step 111 ms after a reported onset 6 dB softer)
LATER_PART_MAX_DB = 14.0
# In sync with the ticks, the runner's foot comes down on them: a candidate either path's tracker
# rejects off its rhythm is still a footfall when it starts on a known tick while that path's
# footfalls land on the ticks (Pick.in_sync, Pick.sync_tick) -- a step the runner took early or
# late together with its tick (a stumble, a change of tempo), which the rhythm alone rejects (dev
# metronome-on dirt & rocks: a step 0.57 of a period after the last, on its tick, was lost on every
# mic path). One from the bands path only while the thump path is in sync too: at the start, a
# bands path that hears the ticks of a metronome the runner is off reads as in sync (dev
# metronome-off crunchy ice HFP 16 kHz 0.83 -> 0.80 and four more down without that). Such a
# footfall is no evidence for its path, and a footfall within the tracker's merge_s after one
# reported is that step (its toe, the same onset through another band) and is not reported. Dev
# 90 -> 88 failing a bar (metronome-on dirt & rocks full and HFP 16 kHz pass), none newly failing.
REPORT_SYNC_TICKS = True
# Before either path could be chosen, a footfall on a known tick is not reported (the metronome
# often starts before the run: its first ticks are no steps) -- unless its path's footfall before it
# started on the tick right before (no known tick between them, at most TICKS_IN_A_ROW_MAX_S apart),
# at most TICK_ROW_AFTER_S after it, and nothing was reported since that one
# (AGREE_TOLERANCE_S): a runner on the beat from the first step steps on one tick after another,
# while a path hearing the ticks of a metronome the runner is off has the runner's steps between
# them, reported by itself or by the other path; a footfall 15-30 ms after a tick (inside the tick
# window) is as likely a step just after the tick of a metronome a little off the beat (the bundled
# sample metronome_offbeat: a step 27 ms after a tick, then the next tick reported instead of the
# step 52 ms after it; dev the same with 15 or 20 ms; asked of this footfall too, metronome-on
# shower phone 0.966 -> 0.955) (dev: metronome-on
# shower full, phone, clipped +0.011-0.012, dirt & rocks clipped 0.957 -> 0.979, synthetic phone,
# HFP 16 kHz, HFP 8 kHz +0.007; metronome-off unchanged; without "nothing reported since",
# metronome-off crunchy ice HFP 16 kHz and synthetic HFP 16 kHz -0.02: two ticks before the first
# steps)
TICKS_IN_A_ROW_MAX_S = 1.0
TICK_ROW_AFTER_S = 0.015
# The same row judged on what was reported, at any time: with both paths' last footfalls in sync
# (Pick.in_sync), a footfall on the known tick right after the one the last footfall reported
# started on (as _on_the_next_tick judges, nothing reported since) is the runner's next step on
# the beat and is reported whichever path heard it -- the reported path may not hear it (dev
# metronome-on shower HFP 16 kHz: the thump path reported the steps on two ticks in a row, not the
# third, which the bands path heard on its tick while its own footfall before was off the ticks).
# Dev 70 -> 69 failing a bar (that item passes), none newly failing; 17 metronome-on items move,
# none down in F1 (crunchy ice phone 0.928 -> 0.948, dirt & rocks full 0.957 -> 0.979); where both
# paths heard the step the one that decided first is now reported (crunchy ice in-ear: the same
# steps, cadence 0.80 -> 1.44 spm off, failing on F1 before and after). Both paths in sync: a
# path hearing the ticks of a metronome the runner is off reads as in sync, the other does not.
TICK_ROW_REPORTED = True
# The same row judged with the sync of the path that heard the footfall, not both paths': the
# footfall's path reads as in sync (Pick.in_sync) and hears a tick for every step (as BETWEEN_TICKS
# asks: ON_BEAT_MIN of its last ON_BEAT_FOOTFALLS tracked footfalls within peaks.BEAT_NEAR_S of a
# known tick), and the footfall is on the tick right after the one the last footfall reported
# started on (_on_the_next_tick, nothing reported since). Such a footfall is reported, also one the
# bands path's tracker rejected off its rhythm (REPORT_SYNC_TICKS asks the thump path to be in sync
# for those): where the thump band hears a crunch 60-120 ms after each step the thump path does not
# read as in sync, nor after a short stride it rejects 15 ms before its tick (outside its tick
# window), and the bands path's step on its tick was lost (dev metronome-on crunchy ice full /
# clipped 18.075 s, dirt & rocks full 13.240 s). A path hearing the ticks of a metronome the runner
# is off has the runner's steps reported between its ticks, so the reported row breaks there. Dev 56
# -> 56, three metronome-on items up, none down, the steady scene unchanged (FOOTFALL_PASSES.md,
# session 18, metroclicks; judged on the path's own last footfall on a tick instead of the reported
# row: metronome-off synthetic HFP 16 kHz newly failing, steady synthetic down).
TICK_ROW_OWN = True
# A sound 30-90 ms before a step on its tick, taken on the rhythm and reported, makes the bands
# tracker merge the step into it as its toe (Pick.toe_on_tick: merged, on a known tick, in sync,
# the step before off the ticks). That candidate is reported when the last footfall reported started
# off the ticks, more than TOE_MIN_BEFORE_S before this tick (a runner on the beat starts some steps
# 10-30 ms before their ticks: then the tick after the step is no step; 0 ms: metronome-on shower
# phone and clipped -0.01) and more than AGREE_TOLERANCE_S before this candidate, and the one
# reported before it started on the tick right before this one (a runner on the beat: a path hearing
# the ticks of a metronome the runner is off reports the steps between the ticks). No evidence for
# its path (as REPORT_SYNC_TICKS); the sound stays reported (a report is final). Dev 66 -> 65
# (metronome-on shower HFP 8 kHz passes), none newly failing (FOOTFALL_PASSES.md, session 14, metro2).
TOE_ON_TICK = True
TOE_MIN_BEFORE_S = 0.03
# A runner with a tick for every step steps on the ticks, never between them: while both paths hear
# the runner on the beat (each with at least ON_BEAT_MIN of its last ON_BEAT_FOOTFALLS tracked
# footfalls within peaks.BEAT_NEAR_S of a known tick, either side: a runner on the beat steps up to
# 20 ms from a tick, the tick window reaches only 10 ms before it), a footfall at least
# BETWEEN_TICKS_FRACTION of the tick interval from both ticks around it is not reported: a crunch
# or splash half a step after a step (dev metronome-on crunchy ice: 180-220 ms after the step, taken
# on a bands rhythm that drifted to it). Only the report: its path's evidence and tracker are as
# before. Not Pick.in_sync (half of the recent footfalls on ticks): with a tick every other step
# (one per stride) the other foot's steps are between the ticks (tests/test_cli_session.py). Both
# paths: at the start of a metronome the runner is off, a path hearing the ticks reads as in sync
# while the other hears the steps between them (with either path in sync, dev metronome-off
# synthetic HFP 16 kHz 0.895 -> 0.840, shower clipped newly failing). Dev 63 -> 61, none newly
# failing (FOOTFALL_PASSES.md, session 15, metro).
BETWEEN_TICKS = True
BETWEEN_TICKS_FRACTION = 0.3
ON_BEAT_FOOTFALLS = 4
ON_BEAT_MIN = 3
# Before a path was first chosen, a path hearing the runner off the beat -- none of its last
# ON_BEAT_FOOTFALLS tracked footfalls within peaks.BEAT_NEAR_S of a known tick (OFF_BEAT_MAX_NEAR: at
# most this many), and the other path heard one of them too, within AGREE_TOLERANCE_S (OFF_BEAT_SHARED:
# a step both paths hear, not a low thud or crunch only one hears) -- means the evidence is not
# weighed as in sync (TICK_EVIDENCE), whatever the other path's Pick.in_sync says. At the start of a
# metronome the runner is off, a path hearing the ticks reads as in sync; weighed so, its footfalls
# on the ticks counted in full and the other path's steps off them half, and the first choice went
# to the ticks (dev metronome-off synthetic HFP 16 kHz: the bands path reported the ticks 1.94-3.75 s,
# 0.895 -> 0.990 with the rule). A runner on the beat steps within 20 ms of the ticks, so a path
# hearing the steps has some near one (dev metronome-on crunchy ice: the thump path's steps 11-15 ms
# before their ticks, outside the tick window, so not Pick.in_sync: with both paths' in_sync asked
# instead, crunchy ice full and phone -0.05). Only the first choice (OFF_BEAT_FIRST): a path hearing
# only thuds 60-110 ms after steps on the beat reads the same (tests/test_stepdetect_metronome.py,
# ..._outweigh_thuds_after_them, seed 7: F1 0.81 at any time, bar 0.93); without OFF_BEAT_SHARED dev
# metronome-off crunchy ice full and clipped lose a footfall each. Dev 61 -> 60, none newly failing
# (FOOTFALL_PASSES.md, session 16, metroff).
OFF_BEAT_HEARD = True
OFF_BEAT_MAX_NEAR = 0
OFF_BEAT_SHARED = True
OFF_BEAT_FIRST = True
# Off the beat, a candidate the bands path's tick tests took for a known tick alone (Pick.tick_alone;
# every one, or only where its tracker predicted a step: peaks.TICK_ALONE_DUE_ONLY, now False) may hide
# the step under the tick, which the thump band heard: a thump-path candidate from
# HEARD_UNDER_TICK_BEFORE_S before that tick to HEARD_UNDER_TICK_AFTER_S after it, at least
# HEARD_UNDER_TICK_APART_S from it (a tick leaking into the thump band starts at the tick), that the
# thump path did not report (off its rhythm, or not the reported path), is reported, whichever
# of the two was decided first; no evidence for the thump path, its tracker unchanged. The steps of a
# runner off the beat drift through the ticks; where one lands 15-35 ms from a tick the beep takes the
# bands candidate, dated at the tick, and the tick tests reject it, while the thump band hears the foot
# (dev metronome-off shower HFP 8 kHz 6.053 s, 17.5 ms before its tick; crunchy ice HFP 16 kHz 12.656 s,
# 26.6 ms after). Due only: dev 59 -> 58, none newly failing, no other item moved; every tick-alone
# candidate (the setting since the merge): see peaks.TICK_ALONE_DUE_ONLY (FOOTFALL_PASSES.md, session
# 17, metro). HEARD_UNDER_TICK_APART_S: 5 ms lost metronome-off shower HFP 8 kHz and crunchy ice in-ear
# a step each; 0 ms reported a leak 2.3 ms after its tick on shower HFP 16 kHz and lost the step 62 ms
# later; 15 ms as 10.
HEARD_UNDER_TICK = True
HEARD_UNDER_TICK_BEFORE_S = BEAT_NEAR_S
HEARD_UNDER_TICK_AFTER_S = 0.040  # as far as peaks.STEP_UNDER_TICK_S reaches after a tick
HEARD_UNDER_TICK_APART_S = 0.010
HEARD_UNDER_TICK_KEEP_S = 0.25  # the candidates of either side are kept this long for the other's
MERGE_ACROSS_S = 0.15  # after a switch, a footfall this close to the last one reported is the same
# A thump-path footfall taken late on its rhythm (after its tracker's prediction), more than
# AGREE_TOLERANCE_S and at most LATER_CRUNCH_S after a footfall the bands path took on its rhythm,
# closer to that path's prediction, is reported at the bands path's onset: a crunchy or gravelly
# step's first contact is faint in 30-250 Hz and the thump band picks one of its louder later
# crunches (60-150 ms on); the bands path heard the contact (dev quiet-road crunchy ice phone
# 0.93 -> 0.98). Only the reported time moves: both trackers and the arbitration are unchanged.
LATER_CRUNCH_S = 0.15
# A footfall the bands path dated EARLY_SOUND_MIN_S to EARLY_SOUND_MAX_S (at most
# EARLY_SOUND_MAX_PERIODS of the thump path's period) before a step the thump path's tracker took
# on its rhythm, no footfall of the thump path itself, and taken by the bands path off its rhythm
# or at its edge (evidence under EARLY_SOUND_MAX_EVIDENCE and under that step's), is a sound before
# the step -- a breath through a headset's noise gate, a scuff -- that the bands path took for the
# footfall (the step merged into it): it counts EARLY_SOUND_EVIDENCE for the bands path, in the
# evidence sums and in the share of it the thump path heard (the hand-over on agreement). A bands
# footfall close to its own prediction is that path's rhythm, not such a sound (earbud music: the
# thump path locked on kicks 50-200 ms after the steps; with no cap on the evidence, dev music
# shower phone 0.957 -> 0.462); nor is one more than a third of a period early (at 240 spm, 0.2 s
# reaches the step before: dev treadmill crunchy ice HFP 16 kHz went over to a thump path hearing
# crunches and reported a confident cadence 21 spm off). Dev 83 -> 83, walk synthetic HFP 8 kHz
# 0.776 -> 0.806 (the thump path takes over at 9.5 s), nothing else moved.
EARLY_SOUND_MIN_S = HEARD_TOLERANCE_S
EARLY_SOUND_MAX_S = 0.2
EARLY_SOUND_MAX_PERIODS = 1 / 3  # ... and at most this share of the thump path's period (not the step before)
EARLY_SOUND_EVIDENCE = 0.0
EARLY_SOUND_MAX_EVIDENCE = 0.5
EARLY_SOUND = True


class SampleHistory:
    """The newest ``keep`` samples of a stream and each new block after them, as one array:
    :meth:`append` returns the kept samples followed by the block and then keeps the newest. The
    same samples as concatenating and keeping a copy of the newest, without copying the kept ones
    for every block: they move to the front of a preallocated array only when it fills up."""

    def __init__(self, keep: int) -> None:
        self._keep = max(1, keep)
        self._buf = np.empty(4 * self._keep)
        self._start = self._end = 0

    def append(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The kept samples then ``x`` (a view, valid until the next call; ``x`` itself when
        nothing is kept and it is longer than the array: a whole file is not copied)."""
        kept = self._buf[self._start:self._end]
        if kept.size + x.size > self._buf.size:  # a long block
            out = np.concatenate((kept, x)) if kept.size else x
            tail = out[-self._keep:]
            self._buf[: tail.size] = tail
            self._start, self._end = 0, tail.size
            return out
        if self._end + x.size > self._buf.size:
            self._buf[: kept.size] = kept
            self._start, self._end = 0, kept.size
        end = self._end + x.size
        self._buf[self._end:end] = x
        out = self._buf[self._start:end]
        self._start, self._end = max(self._start, end - self._keep), end
        return out


@dataclass(frozen=True)
class Footfalls:
    """Footfalls found by one call, in time order (all arrays have the same length)."""

    time_s: NDArray[np.float64]  # contact instant, s from the stream start
    confidence: NDArray[np.float64]  # 0-1
    peak_db: NDArray[np.float64]  # peak level of the footfall's dominant band, dB (relative)
    decided_at_s: NDArray[np.float64]  # stream time of the last sample the decision needed
    rhythmic: NDArray[np.bool_]  # accepted on the tracked rhythm (not provisionally)
    period_s: NDArray[np.float64]  # the step period its tracker followed (NaN: not on a rhythm)

    def __len__(self) -> int:
        return int(self.time_s.size)

    @classmethod
    def empty(cls) -> "Footfalls":
        z = np.zeros(0)
        return cls(z, z, z, z, np.zeros(0, dtype=bool), z)

    @classmethod
    def concat(cls, parts: list["Footfalls"]) -> "Footfalls":
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                     ("time_s", "confidence", "peak_db", "decided_at_s", "rhythmic", "period_s")))


def _heard_at(times: Sequence[float], t: float, tolerance_s: float) -> tuple[int, bool]:
    """Where ``t`` falls among the sorted ``times`` (the first index not more than ``tolerance_s``
    before it) and whether the time there is within ``tolerance_s`` of ``t`` (the other path heard it)."""
    k = bisect.bisect_left(times, t - tolerance_s)
    return k, k < len(times) and times[k] <= t + tolerance_s


class StepDetector:
    """Causal footfall detector: feed blocks of any size, get each footfall ~30 ms after it.

    Parameters
    ----------
    sample_rate : int, 4000-384000
        Hz.
    params : PickParams, optional
        Picker thresholds; the defaults are the evaluated ones.
    trace : callable, optional
        Called with (crossing s, onset s or NaN, fate) for every candidate of the multi-band path
        (``peaks.FATES``): what became of it, for error analysis (``bench_footfall.py --fates``).

    Notes
    -----
    Per block the work is bounded by the block length plus a fixed history of
    ``HISTORY_S`` of feature frames; all filter state is carried, so
    ``process_block`` over any split of a signal returns exactly the footfalls of one call
    over the whole signal.
    """

    def __init__(self, *, sample_rate: int, params: PickParams | None = None,
                 low_params: LowBandParams | None = None, trace: Trace | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self._trace = trace
        self.params = params or PickParams()
        self.low_params = low_params or LowBandParams()
        self.frame_s = features.frame_period_s(self.sample_rate)
        self._history_frames = int(np.ceil(HISTORY_S / self.frame_s))
        self.reset()

    @property
    def detection_delay_s(self) -> float:
        """Audio needed after the rise of a footfall before it is reported, in seconds."""
        return self.params.peak_window_s + 2 * self.frame_s

    def reset(self) -> None:
        """Forget everything: the next block starts a new stream at time 0."""
        self._features = features.new_state(self.sample_rate)
        self._picker = PickerState(tracker=StepTracker(self.params.tracker), trace=self._trace)
        self._low = LowBandState()
        self._low.peak_levels_db = type(self._low.peak_levels_db)(maxlen=self.low_params.n_reference)
        # the rhythm of the thump path's footfalls (its candidates are clean enough to date a
        # footfall at a soft heel the tracker first rejected); its strengths are always
        # 10 ** (peak dB / 30), so it keeps the audio set's tuning whatever the bands path's is
        self._low_tracker = StepTracker(dataclasses.replace(AUDIO_PARAMS, heel_min_rel=THUMP_HEEL_MIN_REL,
                                                            stop_min_rel=THUMP_STOP_MIN_REL,
                                                            stop_neighbour_tolerance=THUMP_STOP_NEIGHBOUR_TOLERANCE,
                                                            free_override=THUMP_FREE_OVERRIDE))
        self._active = "thump"  # which path is reported
        self._recent: dict[str, deque] = {"thump": deque(), "bands": deque()}  # tracked footfalls, last ARBITRATION_S
        # (time, evidence, reach) of the thump path's footfalls on its rhythm, as long (EARLY_SOUND_*)
        self._thump_on_rhythm: deque = deque()
        self._last_out_s = -np.inf
        self._last_switch_s = -np.inf  # no path chosen yet: the first choice waits for no dwell
        self._low_tracker_last = 0.0
        self._in_sync = {"thump": False, "bands": False}  # each path's last footfall: the runner in sync with the ticks?
        self._last_out_path = "thump"
        self._last_out_fill = False  # the last footfall reported was the thump path's BANDS_REJECTED fill
        self._sync_out_s = -np.inf  # the last footfall reported as a step on a tick in sync (REPORT_SYNC_TICKS)
        # per path: (known tick, time) of its last footfall if that started on a tick, else None
        # ... and "out": of the last footfall reported, whichever path's (TICK_ROW_REPORTED)
        self._last_on_tick: dict[str, tuple[float, float] | None] = {"thump": None, "bands": None, "out": None}
        # per path: each of its last ON_BEAT_FOOTFALLS tracked footfalls, its time and whether it started
        # near a known tick (BETWEEN_TICKS, OFF_BEAT_HEARD)
        self._near_beat: dict[str, deque[tuple[float, bool]]] = {
            n: deque(maxlen=ON_BEAT_FOOTFALLS) for n in ("thump", "bands")}
        # the known ticks the bands path took a candidate on for the tick alone (its time, the tick) and
        # the thump path's candidates not reported, the last HEARD_UNDER_TICK_KEEP_S (HEARD_UNDER_TICK)
        self._ticks_alone: deque[tuple[float, float]] = deque()
        self._thump_unreported: deque[tuple[float, Pick]] = deque()
        # a thump footfall on its rhythm a bands rejection decided just after it may fill (LATE_BANDS_REJECTION)
        self._pending_fill: tuple[Pick, float, float, float | None] | None = None  # (pick, report at, closeness, tick)
        self._before_out_on_tick: tuple[float, float] | None = None  # "out" of the footfall reported before the last
        self._last_out_rejected_db: float | None = None  # peak dB of the last footfall reported if the thump path's tracker rejected it
        self._bands_music = False  # the bands path's tracker followed the beat of music at its last footfall
        self._last_bands_rhythmic: tuple[float, float] | None = None  # (time, closeness) of the bands path's last footfall on its rhythm
        # per path, the candidates its tracker rejected and that were not reported, last ARBITRATION_S
        self._rejected = {"thump": Rejected(ARBITRATION_S), "bands": Rejected(ARBITRATION_S)}
        self._present = features.bands_present(self.sample_rate)
        self._hist = features.FrameHistory(4 * self._history_frames)
        self._raw = SampleHistory(int(HISTORY_S * self.sample_rate))
        self._ticks_s = np.zeros(0)

    @property
    def path(self) -> str:
        """The path being reported: ``"thump"`` (30-250 Hz alone) or ``"bands"`` (all bands, weighted)."""
        return self._active

    @property
    def bands(self) -> list[dict]:
        """The bands the reported footfalls come from and their current weights."""
        if self._active == "thump":
            return [{"band": features.BAND_NAMES[0], "weight": 1.0}]
        w = band_weights(self._picker, self._present)
        return [{"band": name, "weight": round(float(w[b]), 3)}
                for b, name in enumerate(features.BAND_NAMES) if self._present[b]]

    @property
    def rhythm_salience(self) -> float:
        """Share of the candidates' strength that fell on the tracked rhythm (see StepTracker)."""
        return self._tracker().rhythm_salience

    def rhythm_clarity(self, period_s: float) -> float:
        """How much more the candidates' onset strength recurs at ``period_s`` than at any lag
        (the reported path's tracker; :func:`stepdetect.tracker_state.pulse_clarity`)."""
        return self._tracker().rhythm_clarity(period_s)

    def _tracker(self) -> StepTracker:
        """The reported path's rhythm tracker."""
        return self._low_tracker if self._active == "thump" else self._picker.tracker

    def _arbitrate(self, low: list[Pick], multi: list[Pick],
                   rejections: list[tuple[float, float, float]] | None = None) -> list[tuple[Pick, bool]]:
        """Both paths' footfalls in decision order; report the active path's.

        Each footfall its path's rhythm tracker accepts is evidence for that path (on the
        rhythm its tracker's closeness to the prediction, at least ``CLOSENESS_FLOOR``;
        ``PROVISIONAL_EVIDENCE`` off it; ``TICK_EVIDENCE`` x that on a known tick while the runner is
        off the beat, or off the ticks while in sync; before the first choice not in sync while a path
        hears none of its last footfalls near a tick and the other path heard one of them too,
        ``OFF_BEAT_HEARD``). Until
        either path has ``FIRST_MIN_EVIDENCE`` both are reported (a footfall both hear once, and
        the other path's not on a known tick: the first footfalls of a session are not lost to
        the choice); until a path was chosen the one with more evidence is reported; later the
        other path takes over once it has clearly more over the last ``ARBITRATION_S`` (after
        ``MIN_DWELL_S``), and the bands path hands over to the thump path when the thump path hears the same
        footfalls (``AGREE_FRACTION``), heard most of the bands path's lately
        (``AGREE_HEARD_FRACTION``) and its tracker finds most of what it hears on the rhythm
        (``AGREE_MIN_SALIENCE``), unless the bands path hears music (its kick drum is a thump) or its
        last footfall on its rhythm is a sound both paths took far from their predictions
        (``AGREE_OWN_MIN_CLOSENESS``).
        The thump path takes over on evidence only if the bands path
        heard some of its footfalls (``TAKEOVER_HEARD_FRACTION``) and its tracker finds at least
        ``TAKEOVER_MIN_SALIENCE`` of what it hears on its rhythm; the first choice goes to
        the bands path with ``FIRST_UNSURE_EVIDENCE``, even if less than the thump path's, while
        the thump path's tracker finds less than ``THUMP_MIN_SALIENCE`` of what it hears on its
        rhythm. A thump-path candidate its tracker merges into the
        footfall before (the toe or scuff after the heel) or rejects (off the rhythm) is not
        reported (rejected ones are while that tracker's rhythm salience is below
        ``THUMP_MIN_SALIENCE``): the multi-band path leaves those out too. The footfall that triggers a switch
        is still reported, whichever path it came from, and so is the bands path's footfall on its
        rhythm where the reported thump path's tracker predicted a step it did not hear (``FILL_*``)
        or heard a candidate it rejected (``HEARD_FILL``), the thump path's footfall on its rhythm at a
        candidate the reported bands path's tracker rejected in a weak stretch (``BANDS_REJECTED_*``;
        a rejection decided just after that footfall reports it then, ``LATE_BANDS_REJECTION``)
        and the bands path's own footfall on its rhythm just after such a fill (``AFTER_FILL_OWN``) or,
        before either path is chosen, the bands path's footfall just after a thump-path reject
        reported (``AFTER_UNDECIDED_REJECT``),
        and a footfall either tracker rejected off its rhythm on a known tick while the runner is
        in sync (``REPORT_SYNC_TICKS``), and, in sync (both paths, or the footfall's own path on the beat
        by itself: ``TICK_ROW_OWN``), a footfall on the tick right after the last one reported
        (``TICK_ROW_REPORTED``) and the bands path's candidate on a tick merged as the toe of a
        sound just before it (``TOE_ON_TICK``); while both paths hear the runner on the beat, a footfall
        between the ticks is not
        (``BETWEEN_TICKS``). Off the beat, a thump-path candidate not reported
        under a known tick the bands path took for the tick alone (``peaks.TICK_ALONE_DUE_ONLY``: where
        a step was due, or at any tick) is reported (``HEARD_UNDER_TICK``)."""
        events = sorted([(p.decided_at_s, 0, p) for p in low] + [(p.decided_at_s, 1, p) for p in multi],
                        key=lambda e: (e[0], e[1]))
        rejected = deque(sorted(rejections or [], key=lambda r: r[1]))  # the bands tracker's, by decision time
        out: list[tuple[Pick, bool]] = []
        for now_s, which, pick in events:
            self._take_bands_rejections(rejected, now_s, out)
            name = "thump" if which == 0 else "bands"
            if pick.tick_alone:  # not a footfall (peaks.Pick.tick_alone)
                self._heard_under_tick_alone(pick, out)
                continue
            if which == 0:
                d = self._low_tracker.push(max(pick.time_s, self._low_tracker_last), 10.0 ** (pick.peak_db / 30.0))
                self._low_tracker_last = max(pick.time_s, self._low_tracker_last)
                if d.is_step and d.time_s < pick.time_s:  # dated at its soft heel
                    pick = dataclasses.replace(pick, time_s=d.time_s)
                if d.rhythmic:
                    pick = dataclasses.replace(pick, period_s=d.period_s)
                report_s = self._first_contact_s(pick.time_s, d)
                rhythmic, counted, closeness = d.rhythmic, d.is_step, d.closeness
                # what its tracker rejects is not reported, unless that tracker finds little of
                # what the thump path hears on a rhythm (a buzz, a clicking machine: then the
                # picker's own tests decide, and the irregular result reads as no running rhythm)
                reportable = counted or (d.kind == "rejected" and not (d.beat and not REPORT_THUMP_BEATS)
                                         and self._low_tracker.rhythm_salience < THUMP_MIN_SALIENCE
                                         and pick.time_s - self._low_tracker.last_step_s >= self._low_tracker.params.merge_s)
                sync_tick = (REPORT_SYNC_TICKS and d.kind == "rejected" and pick.on_tick and pick.in_sync
                             and pick.time_s - max(self._low_tracker.last_step_s, self._last_out_s)
                             >= self._low_tracker.params.merge_s)
                reportable = reportable or sync_tick
                if (self._last_out_rejected_db is not None and self._last_out_path == "thump"
                        and pick.time_s - self._last_out_s < self._low_tracker.params.merge_s
                        and pick.peak_db <= self._last_out_rejected_db + LATER_PART_MAX_DB):
                    reportable = False  # a later part of the footfall just reported (see LATER_PART_MAX_DB)
                rejected_out = pick.peak_db if d.kind == "rejected" and reportable else None
                if d.kind == "rejected" and not reportable:
                    self._rejected["thump"].add(pick.time_s, self._low_tracker.rhythm_salience)
            else:
                rhythmic, counted, closeness = pick.rhythmic, not pick.sync_tick, pick.closeness
                sync_tick = pick.sync_tick
                reportable = not sync_tick or (REPORT_SYNC_TICKS and self._in_sync["thump"] and pick.time_s
                                                - self._last_out_s >= self._picker.tracker.params.merge_s)
                # at its contact (PickParams.thump_dating_jump_db) if that keeps the reports in order
                report_s = pick.contact_s if pick.contact_s > self._last_out_s else pick.time_s
                rejected_out = None
                self._bands_music = pick.music
                if rhythmic:
                    self._last_bands_rhythmic = (pick.time_s, closeness)
            self._in_sync[name] = pick.in_sync
            tick_s = self._tick_of(pick, name)
            next_tick = self._on_the_next_tick(name, tick_s)
            if pick.toe_on_tick:
                reportable = self._toe_on_tick(pick.time_s, tick_s)
            if pick.step_after_tick:  # the step after a tick reported in its place (peaks.STEP_AFTER_TICK_S)
                reportable = pick.time_s > self._last_out_s
            if reportable and not pick.on_tick and self._drop_between_ticks(pick.time_s):
                reportable = False
            if counted:
                in_sync = self._runner_in_sync()
                base = max(closeness, CLOSENESS_FLOOR) if rhythmic else PROVISIONAL_EVIDENCE
                evidence = base * (TICK_EVIDENCE if pick.on_tick != in_sync else 1.0)
                self._recent[name].append((pick.time_s, evidence))
                if name == "thump" and rhythmic:
                    reach_s = min(EARLY_SOUND_MAX_S, EARLY_SOUND_MAX_PERIODS * self._low_tracker.period_s)
                    self._thump_on_rhythm.append((pick.time_s, evidence, reach_s))
                self._last_on_tick[name] = None if tick_s is None else (tick_s, pick.time_s)
                self._near_beat[name].append((pick.time_s, self._near_a_tick(pick.time_s)))
            for q in (*self._recent.values(), self._thump_on_rhythm):
                while q and q[0][0] < now_s - ARBITRATION_S:
                    q.popleft()
            for store in self._rejected.values():
                store.prune(now_s)
            before = self._active
            other = "bands" if before == "thump" else "thump"
            ours, theirs = (self._evidence(n) for n in (before, other))
            first = self._last_switch_s == -np.inf
            dwelt = now_s - self._last_switch_s >= MIN_DWELL_S
            if ((first and theirs >= FIRST_MIN_EVIDENCE and (theirs > ours or (
                    other == "bands" and theirs >= FIRST_UNSURE_EVIDENCE
                    and self._low_tracker.rhythm_salience < THUMP_MIN_SALIENCE)))
                    or (dwelt and theirs >= max(ours + SWITCH_MARGIN_STEPS, SWITCH_RATIO * ours)
                        and (other == "bands" or (self._share_heard("thump", "bands") >= TAKEOVER_HEARD_FRACTION
                                                  and self._low_tracker.rhythm_salience >= TAKEOVER_MIN_SALIENCE)))
                    or (before == "bands" and (first or dwelt) and theirs >= AGREE_EVIDENCE * ours
                        and not self._bands_music
                        and not self._agreed_off_both_rhythms()
                        and self._low_tracker.rhythm_salience >= AGREE_MIN_SALIENCE
                        and self._thump_agrees(AGREE_FRACTION) and self._thump_hears(now_s) >= AGREE_HEARD_FRACTION)):
                self._active, self._last_switch_s = other, now_s
            # before either path could be chosen, the other path's footfalls too (not on a known tick)
            undecided = (first and self._active == before and max(ours, theirs) < FIRST_MIN_EVIDENCE
                         and (not pick.on_tick or next_tick))
            # in sync, a footfall on the tick right after the last one reported, whichever path heard it
            row_out = (TICK_ROW_REPORTED and pick.on_tick and self._on_the_next_tick("out", tick_s)
                       and (all(self._in_sync.values()) or (TICK_ROW_OWN and self._on_the_beat_by_itself(name, pick))))
            if (TICK_ROW_OWN and row_out and sync_tick and name == "bands" and not reportable and not pick.toe_on_tick
                    and pick.time_s - self._last_out_s >= self._picker.tracker.params.merge_s):
                reportable = True  # REPORT_SYNC_TICKS's spacing
            fills = (name == "bands" and rhythmic and reportable and not first
                     and (self._fills_gap(pick.time_s, closeness) or self._fills_heard(pick.time_s, closeness)))
            fills = fills or (name == "thump" and rhythmic and counted and not first
                              and self._fills_bands_rejected(pick.time_s, closeness))
            if (LATE_BANDS_REJECTION and name == "thump" and rhythmic and counted and reportable and not first
                    and not fills and self._active == "bands" and self._may_fill_bands_rejected(pick.time_s, closeness)
                    and self._next_step_due(pick.time_s)):
                self._pending_fill = (pick, report_s, closeness, tick_s)
            n_out = len(out)
            if ((undecided or fills or row_out or pick.step_after_tick or name in (self._active, before))
                    and reportable
                    and self._may_report(pick.time_s, name, lambda: self._own_after_fill(
                        name, rhythmic, closeness, pick.time_s)
                        or self._after_undecided_reject(name, pick.time_s, pick.confidence))):
                self._emit(out, pick if report_s == pick.time_s else dataclasses.replace(pick, time_s=report_s),
                           rhythmic, name, tick_s, fill=fills and name == "thump",  # (a thump fill needs the bands path reported)
                           rejected_db=rejected_out, sync_tick=sync_tick, time_s=pick.time_s)
                if self._pending_fill is not None and self._pending_fill[0] is pick:
                    self._pending_fill = None  # reported now: no fill to wait for
            if (HEARD_UNDER_TICK and name == "thump" and len(out) == n_out and self._ticks_s.size
                    and d.kind != "merged"  # a step's toe is that step, not one under a tick
                    and not (d.kind == "rejected" and d.beat)):
                self._heard_under_tick_alone(pick, out)
        self._take_bands_rejections(rejected, np.inf, out)
        return out

    def _undecided(self) -> bool:
        """Whether no path has been chosen yet and neither has ``FIRST_MIN_EVIDENCE``."""
        return (self._last_switch_s == -np.inf
                and max(self._evidence("thump"), self._evidence("bands")) < FIRST_MIN_EVIDENCE)

    def _after_undecided_reject(self, name: str, time_s: float, confidence: float) -> bool:
        """Whether path ``name``'s footfall at ``time_s`` (at the picker's ``confidence``) is the bands
        path's step after a candidate the thump path's tracker rejected, reported before either path
        was chosen (``AFTER_UNDECIDED_REJECT``), not that candidate again."""
        return (AFTER_UNDECIDED_REJECT and name == "bands" and self._undecided()
                and self._last_out_path == "thump" and self._last_out_rejected_db is not None
                and time_s - self._last_out_s > AGREE_TOLERANCE_S and confidence >= AFTER_REJECT_MIN_CONFIDENCE)

    def _emit(self, out: list[tuple[Pick, bool]], pick: Pick, rhythmic: bool, name: str, tick_s: float | None, *,
              fill: bool = False, rejected_db: float | None = None, sync_tick: bool = False,
              time_s: float | None = None) -> None:
        """Report ``pick`` (``rhythmic``: on its tracker's rhythm) of path ``name`` that started on the
        known tick ``tick_s`` (or None); ``time_s``: its own time if it is reported at another."""
        time_s = pick.time_s if time_s is None else time_s
        out.append((pick, rhythmic))
        self._last_out_s, self._last_out_path = time_s, name
        self._last_out_fill = fill
        self._last_out_rejected_db = rejected_db
        self._before_out_on_tick = self._last_on_tick["out"]
        self._last_on_tick["out"] = None if tick_s is None else (tick_s, time_s)
        if sync_tick:
            self._sync_out_s = time_s

    def _may_report(self, time_s: float, name: str, across: Callable[[], bool] | None = None) -> bool:
        """Whether a footfall of path ``name`` at ``time_s`` comes after the last one reported and is not
        that footfall again: ``MERGE_ACROSS_S`` after the other path's (unless ``across``, asked only
        then, says it is another step all the same: the bands path's own step after the thump path's
        fill, ``AFTER_FILL_OWN``, or its step after a thump-path reject reported before either path was
        chosen, ``AFTER_UNDECIDED_REJECT``),
        the thump tracker's merge_s after a step on a tick reported in sync."""
        return (time_s > self._last_out_s and time_s - self._sync_out_s >= self._low_tracker.params.merge_s
                and (name == self._last_out_path or time_s >= self._last_out_s + MERGE_ACROSS_S
                     or (across is not None and across())))

    def _heard_under_tick_alone(self, pick: Pick, out: list[tuple[Pick, bool]]) -> None:
        """``HEARD_UNDER_TICK``: ``pick`` is either the bands path's candidate taken for a known tick alone
        (``Pick.tick_alone``) or a thump-path candidate not reported; the thump-path candidate under a tick
        the bands path took for the tick alone, the other of the two kept from the last
        ``HEARD_UNDER_TICK_KEEP_S``, is reported. What finds no partner is kept for the other's."""
        if not HEARD_UNDER_TICK:
            return
        for q in (self._ticks_alone, self._thump_unreported):
            while q and q[0][0] < pick.time_s - HEARD_UNDER_TICK_KEEP_S:
                q.popleft()
        if pick.tick_alone:
            tick_s = self._tick_of(pick, "bands")
            if tick_s is None:
                return
            thump = next((q for t, q in self._thump_unreported if self._under_tick(t, tick_s)), None)
            if thump is None:
                self._ticks_alone.append((pick.time_s, tick_s))
        else:
            thump = pick if any(self._under_tick(pick.time_s, t) for _, t in self._ticks_alone) else None
            if thump is None:
                self._thump_unreported.append((pick.time_s, pick))
        if thump is not None and self._may_report(thump.time_s, "thump"):
            if pick.decided_at_s > thump.decided_at_s:  # decided with the bands path's candidate
                thump = dataclasses.replace(thump, decided_at_s=pick.decided_at_s)
            self._emit(out, thump, False, "thump", self._tick_of(thump, "thump"), rejected_db=thump.peak_db)

    @staticmethod
    def _under_tick(time_s: float, tick_s: float) -> bool:
        """Whether a thump-path candidate at ``time_s`` may be a step under the known tick ``tick_s``
        (``HEARD_UNDER_TICK_*``), not the tick leaking into the thump band."""
        return (-HEARD_UNDER_TICK_BEFORE_S <= time_s - tick_s <= HEARD_UNDER_TICK_AFTER_S
                and abs(time_s - tick_s) >= HEARD_UNDER_TICK_APART_S)

    def _take_bands_rejections(self, rejected: deque[tuple[float, float, float]], now_s: float,
                               out: list[tuple[Pick, bool]]) -> None:
        """Keep the bands path's rejections handed over by its picker (time, decided at, its
        tracker's salience) decided before ``now_s``, in decision order, for ``BANDS_REJECTED_FILL``;
        one decided just after the thump footfall it fills reports that footfall then
        (``LATE_BANDS_REJECTION``)."""
        while rejected and rejected[0][1] < now_s:
            t, decided_s, salience = rejected.popleft()
            self._rejected["bands"].add(t, salience)
            if self._pending_fill is None:
                continue
            pick, report_s, closeness, tick_s = self._pending_fill
            if decided_s - pick.decided_at_s > LATE_REJECTION_MAX_S:
                self._pending_fill = None
            elif (abs(t - pick.time_s) <= AGREE_TOLERANCE_S and salience < BANDS_REJECTED_SALIENCE
                  and decided_s - pick.time_s <= REPORT_MAX_LATENCY_S and report_s > self._last_out_s
                  and self._may_fill_bands_rejected(pick.time_s, closeness) and self._may_report(pick.time_s, "thump")
                  and self._next_step_due(pick.time_s)):
                self._pending_fill = None
                self._emit(out, dataclasses.replace(pick, time_s=report_s, decided_at_s=decided_s), True, "thump",
                           tick_s, fill=True, time_s=pick.time_s)

    def _next_step_due(self, time_s: float) -> bool:
        """Whether a thump footfall at ``time_s`` comes ``LATE_SPACING`` thump periods after the last
        footfall reported: the next step due (``LATE_BANDS_REJECTION``)."""
        return LATE_SPACING[0] <= (time_s - self._last_out_s) / self._low_tracker.period_s <= LATE_SPACING[1]

    def _evidence(self, name: str) -> float:
        """Path ``name``'s evidence over the last ``ARBITRATION_S``."""
        return float(sum(e for _, e in self._weighed(name)))

    def _weighed(self, name: str) -> list[tuple[float, float]]:
        """Path ``name``'s recent footfalls with their evidence, a bands footfall that was a sound
        before a step the thump path took on its rhythm counted as ``EARLY_SOUND_EVIDENCE``
        (``EARLY_SOUND_*``), one that was a later part of a step both paths heard as
        ``LATE_PART_EVIDENCE`` (``LATE_PART_*``)."""
        recent: list[tuple[float, float]] = list(self._recent[name])
        if name == "thump":
            return recent
        thump_times = [t for t, _ in self._recent["thump"]]
        if LATE_PART:
            recent = self._late_parts_weighed(recent, thump_times)
        if not EARLY_SOUND or not self._thump_on_rhythm:
            return recent
        steps = list(self._thump_on_rhythm)
        step_times = [t for t, _, _ in steps]
        out = []
        for t, e in recent:
            k = bisect.bisect_right(step_times, t + EARLY_SOUND_MIN_S)
            early = (k < len(steps) and step_times[k] - t <= steps[k][2]
                     and e < min(steps[k][1], EARLY_SOUND_MAX_EVIDENCE))
            if early:
                early = not _heard_at(thump_times, t, HEARD_TOLERANCE_S)[1]
            out.append((t, min(e, EARLY_SOUND_EVIDENCE) if early else e))
        return out

    def _late_parts_weighed(self, recent: list[tuple[float, float]],
                            thump_times: list[float]) -> list[tuple[float, float]]:
        """The bands path's recent footfalls, one the thump path did not hear that comes
        ``HEARD_TOLERANCE_S`` to ``LATE_PART_MAX_S`` (at most ``LATE_PART_MAX_PERIODS`` of the thump
        path's period) after a bands footfall the thump path heard -- or, when itself off its
        rhythm or at its edge (evidence under ``EARLY_SOUND_MAX_EVIDENCE``), after any footfall of
        the thump path -- counted as ``LATE_PART_EVIDENCE``. ``thump_times``: the thump path's."""
        if not thump_times:
            return recent
        period_s = self._low_tracker.period_s
        reach_s = LATE_PART_MAX_S if np.isnan(period_s) else min(LATE_PART_MAX_S, LATE_PART_MAX_PERIODS * period_s)
        out = []
        last_shared = -np.inf
        for t, e in recent:
            j, heard = _heard_at(thump_times, t, HEARD_TOLERANCE_S)
            if heard:  # by both paths
                last_shared = t
            elif (HEARD_TOLERANCE_S < t - last_shared <= reach_s
                  or (e < EARLY_SOUND_MAX_EVIDENCE and j > 0
                      and HEARD_TOLERANCE_S < t - thump_times[j - 1] <= reach_s)):
                e = min(e, LATE_PART_EVIDENCE)
            out.append((t, e))
        return out

    def _tick_of(self, pick: Pick, name: str) -> float | None:
        """The known tick path ``name``'s footfall ``pick`` started on (its picker's tick window), or None."""
        if not pick.on_tick:
            return None
        params = self.low_params if name == "thump" else self.params
        return tick_near(self._ticks_s, pick.time_s, before_s=params.tick_before_s, after_s=params.tick_after_s)

    def _drop_between_ticks(self, time_s: float) -> bool:
        """Whether a footfall at ``time_s`` off the ticks is no step of a runner on the beat
        (``BETWEEN_TICKS``): both paths hear the runner on the beat and it is at least
        ``BETWEEN_TICKS_FRACTION`` of the tick interval from the last tick before it and from the
        next one that interval predicts. Only ticks before it are read: a live session knows a tick
        only once it has played it (the loop latency ahead, not a beat), and a stream must decide as
        a whole file told every tick does."""
        ticks = self._ticks_s
        if not BETWEEN_TICKS or not all(self._hears_a_tick_every_step(n) for n in ("thump", "bands")):
            return False
        j = int(np.searchsorted(ticks, time_s))
        if j < 2:
            return False
        before_s = float(ticks[j - 1])
        interval_s = before_s - float(ticks[j - 2])
        return min(time_s - before_s, before_s + interval_s - time_s) >= BETWEEN_TICKS_FRACTION * interval_s

    def _runner_in_sync(self) -> bool:
        """Whether the runner reads as in sync with the known ticks, for weighing a footfall's evidence
        (``TICK_EVIDENCE``): either path's last footfall in sync (``Pick.in_sync``), unless, before a path
        was first chosen, a path hears the runner off the beat (``OFF_BEAT_HEARD``)."""
        return any(self._in_sync.values()) and not (
            OFF_BEAT_HEARD and (self._last_switch_s == -np.inf or not OFF_BEAT_FIRST)
            and any(self._hears_off_the_beat(n) for n in ("thump", "bands")))

    def _hears_off_the_beat(self, name: str) -> bool:
        """Whether path ``name`` hears the runner off the beat (``OFF_BEAT_HEARD``): at most
        ``OFF_BEAT_MAX_NEAR`` of its last ``ON_BEAT_FOOTFALLS`` tracked footfalls near a known tick, and
        the other path heard one of them too (within ``AGREE_TOLERANCE_S``)."""
        beats = self._near_beat[name]
        if len(beats) < ON_BEAT_FOOTFALLS or sum(near for _, near in beats) > OFF_BEAT_MAX_NEAR:
            return False
        if not OFF_BEAT_SHARED:
            return True
        other = [t for t, _ in self._recent["bands" if name == "thump" else "thump"]]
        return any(abs(t - u) <= AGREE_TOLERANCE_S for t, _ in beats for u in other)

    def _on_the_beat_by_itself(self, name: str, pick: Pick) -> bool:
        """Whether path ``name``, whose footfall ``pick`` is, hears the runner on the beat by itself
        (``TICK_ROW_OWN``): it reads as in sync and hears a tick for every step."""
        return pick.in_sync and self._hears_a_tick_every_step(name)

    def _hears_a_tick_every_step(self, name: str) -> bool:
        """Whether path ``name`` hears the runner on the beat, a tick for every step: at least
        ``ON_BEAT_MIN`` of its last ``ON_BEAT_FOOTFALLS`` tracked footfalls within ``BEAT_NEAR_S`` of a
        known tick (``BETWEEN_TICKS``)."""
        beats = self._near_beat[name]
        return len(beats) == ON_BEAT_FOOTFALLS and sum(near for _, near in beats) >= ON_BEAT_MIN

    def _near_a_tick(self, time_s: float) -> bool:
        """Whether a footfall at ``time_s`` started within ``BEAT_NEAR_S`` of a known tick, either side
        (noted when it is decided: a stream told its ticks a few at a time drops the old ones)."""
        return tick_near(self._ticks_s, time_s, before_s=BEAT_NEAR_S, after_s=BEAT_NEAR_S) is not None

    def _toe_on_tick(self, time_s: float, tick_s: float | None) -> bool:
        """Whether a bands footfall at ``time_s`` on the known tick ``tick_s`` that its tracker
        merged into the step before as its toe is reported (``TOE_ON_TICK``): the last footfall
        reported started off the ticks, more than ``TOE_MIN_BEFORE_S`` before this tick and more than
        ``AGREE_TOLERANCE_S`` before this one, and the one reported before it on the tick right before."""
        if not TOE_ON_TICK or tick_s is None or self._last_on_tick["out"] is not None:
            return False
        return (tick_s - self._last_out_s > TOE_MIN_BEFORE_S and time_s - self._last_out_s > AGREE_TOLERANCE_S
                and self._tick_after(self._before_out_on_tick, tick_s))

    def _tick_after(self, last: tuple[float, float] | None, tick_s: float) -> bool:
        """Whether the known tick ``tick_s`` is the one right after the tick of ``last`` (that tick, the
        footfall's time: at most ``TICK_ROW_AFTER_S`` after it), at most ``TICKS_IN_A_ROW_MAX_S`` later."""
        if last is None:
            return False
        last_tick_s, last_time_s = last
        if not 0.0 < tick_s - last_tick_s <= TICKS_IN_A_ROW_MAX_S or last_time_s - last_tick_s > TICK_ROW_AFTER_S:
            return False
        j = int(np.searchsorted(self._ticks_s, tick_s))
        return j > 0 and bool(self._ticks_s[j - 1] == last_tick_s)

    def _on_the_next_tick(self, name: str, tick_s: float | None) -> bool:
        """Whether a footfall of path ``name`` on the known tick ``tick_s`` is on the tick right after
        the one its path's last footfall (``name`` "out": the last footfall reported) started on (that
        one on its tick), nothing reported since that footfall (``TICKS_IN_A_ROW_MAX_S``, ``TICK_ROW_AFTER_S``). The tick before is at most
        that old: still known in a stream."""
        last = self._last_on_tick[name]
        if tick_s is None or last is None or self._last_out_s > last[1] + AGREE_TOLERANCE_S:
            return False
        return self._tick_after(last, tick_s)

    def _first_contact_s(self, time_s: float, d: Decision) -> float:
        """When to report a thump-path footfall at ``time_s`` its tracker decided ``d``: at the
        bands path's last footfall on its rhythm when this one is a later crunch of that step
        (taken after its own prediction, ``AGREE_TOLERANCE_S`` to ``LATER_CRUNCH_S`` after the bands
        one, which fell closer to its prediction, and nothing reported since); else ``time_s``."""
        last = self._last_bands_rhythmic
        if last is None or not d.rhythmic or time_s <= d.predicted_s:
            return time_s
        bands_s, bands_closeness = last
        if (AGREE_TOLERANCE_S < time_s - bands_s <= LATER_CRUNCH_S and bands_closeness > d.closeness
                and bands_s > self._last_out_s):
            return bands_s
        return time_s

    def _fills_gap(self, time_s: float, closeness: float) -> bool:
        """Whether the bands path's footfall at ``time_s``, taken on its rhythm at ``closeness``, is
        a step the reported thump path's tracker predicted there and did not hear (``FILL_*``):
        at its next prediction or, bridging up to ``FILL_BRIDGE`` more unheard steps, a whole
        number of periods after it; after a filled step also a period or more after that step
        (the thump path's footfall up to ``MERGE_ACROSS_S`` after it, a later crunch of it, moves
        the thump path's predictions back to the fill). Only that way round: the thump path's
        tracker judges its footfalls here, in decision order, while the bands path's has judged
        the whole block by now (a stream of short blocks and one call over the file would differ)."""
        tracker = self._low_tracker
        if self._active != "thump" or closeness < FILL_CLOSENESS or not tracker.locked:
            return False
        period = tracker.period_s
        if time_s - self._last_out_s < FILL_SPACING * period:
            return False
        offsets = [time_s - tracker.predicted_next_s]  # from the thump path's next prediction
        if FILL_BRIDGE and self._last_out_path == "bands":  # the last footfall reported was a fill
            offsets.append(time_s - self._last_out_s - period)
            behind = tracker.last_step_s - self._last_out_s
            if 0 < behind <= MERGE_ACROSS_S:
                offsets.append(offsets[0] + behind)
        for off in offsets:
            k = max(0, min(FILL_BRIDGE, round(off / period)))
            if -max(FILL_EARLY * period, FILL_EARLY_MIN_S) <= off - k * period <= FILL_LATE * period:
                return True
        return False

    def _fills_heard(self, time_s: float, closeness: float) -> bool:
        """Whether the bands path's footfall at ``time_s``, taken on its rhythm at ``closeness``, is
        a candidate the reported thump path heard too and its tracker rejected (``HEARD_FILL``)."""
        return (HEARD_FILL and self._active == "thump" and closeness >= FILL_CLOSENESS
                and self._rejected["thump"].heard(time_s, AGREE_TOLERANCE_S))

    def _fills_bands_rejected(self, time_s: float, closeness: float) -> bool:
        """Whether the thump path's footfall at ``time_s``, taken on its rhythm at ``closeness``, is a
        candidate the reported bands path's tracker rejected while it found little of what it hears on
        its rhythm, a period or so after the last footfall reported (``BANDS_REJECTED_*``)."""
        return (self._may_fill_bands_rejected(time_s, closeness)
                and self._rejected["bands"].heard(time_s, AGREE_TOLERANCE_S, max_salience=BANDS_REJECTED_SALIENCE))

    def _may_fill_bands_rejected(self, time_s: float, closeness: float) -> bool:
        """Whether the thump path's footfall at ``time_s``, on its rhythm at ``closeness``, would fill
        as :meth:`_fills_bands_rejected` says if the bands path's tracker rejected a candidate there."""
        return (BANDS_REJECTED_FILL and self._active == "bands" and closeness >= BANDS_REJECTED_CLOSENESS
                and self._low_tracker.locked
                and BANDS_REJECTED_SPACING[0] <= (time_s - self._last_out_s) / self._low_tracker.period_s
                <= BANDS_REJECTED_SPACING[1])

    def _own_after_fill(self, name: str, rhythmic: bool, closeness: float, time_s: float) -> bool:
        """Whether path ``name``'s footfall at ``time_s`` (on its rhythm: ``rhythmic`` at ``closeness``)
        is the reported bands path's own step after the thump path's fill just reported
        (``AFTER_FILL_OWN``), not that fill's onset again."""
        return (AFTER_FILL_OWN and self._last_out_fill and name == "bands" == self._active and rhythmic
                and closeness >= BANDS_REJECTED_CLOSENESS and time_s - self._last_out_s > AGREE_TOLERANCE_S)

    def _agreed_off_both_rhythms(self) -> bool:
        """Whether the bands path's last footfall on its rhythm came under ``AGREE_OWN_MIN_CLOSENESS``
        to its prediction and the thump path took the same sound (within ``AGREE_TOLERANCE_S``) with
        under that much evidence too: a sound neither rhythm puts there."""
        last = self._last_bands_rhythmic
        return (last is not None and last[1] < AGREE_OWN_MIN_CLOSENESS
                and any(abs(t - last[0]) <= AGREE_TOLERANCE_S and e < AGREE_OWN_MIN_CLOSENESS
                        for t, e in self._recent["thump"]))

    def _thump_agrees(self, fraction: float) -> bool:
        """Whether at least ``fraction`` of the thump path's recent footfalls are the bands path's too."""
        thump = self._recent["thump"]
        if len(thump) < AGREE_MIN_STEPS or not self._recent["bands"]:
            return False
        return self._share_heard("thump", "bands") >= fraction

    def _thump_hears(self, now_s: float) -> float:
        """The share of the bands path's evidence over the last ``HEARD_S`` the thump path heard too
        (``HEARD_TOLERANCE_S``)."""
        return self._share_heard("bands", "thump", weighted=True, tolerance_s=HEARD_TOLERANCE_S,
                                 since_s=now_s - HEARD_S)

    def _share_heard(self, path: str, by: str, *, weighted: bool = False,
                     tolerance_s: float = AGREE_TOLERANCE_S, since_s: float = -np.inf) -> float:
        """The share of ``path``'s recent footfalls that path ``by`` has too (within
        ``tolerance_s``); ``weighted``: of their evidence (a footfall off the rhythm or on a
        known tick, which the other path need not hear, counts less)."""
        ours = self._weighed(path) if weighted else self._recent[path]
        theirs = [t for t, _ in self._recent[by]]  # in time order
        heard = total = 0.0
        for t, e in ours:
            if t < since_s:
                continue
            w = e if weighted else 1.0
            heard += w * _heard_at(theirs, t, tolerance_s)[1]
            total += w
        return heard / total if total > 0 else 0.0

    def add_ticks(self, tick_times_s: NDArray[np.float64]) -> None:
        """Tell the detector when metronome ticks were (or will be) heard, in stream seconds.

        Ticks already older than the feature history are dropped (the ticks of a whole file,
        told at once, are all kept: a long run's first ticks are not lost to its last ones).
        """
        ticks = validate_events(np.sort(np.asarray(tick_times_s, dtype=np.float64)), name="tick times")
        horizon_s = (self._hist.first_frame) * self.frame_s - 1.0
        self._ticks_s = np.union1d(self._ticks_s[self._ticks_s >= horizon_s], ticks)

    def process_block(self, block: NDArray[np.floating]) -> Footfalls:
        """Feed the next block; return the footfalls decided in it.

        Parameters
        ----------
        block : ndarray, shape (n_samples,) or (n_samples, channels)
            Float audio (scaled to -1..1), any length including 0. Not modified.

        Returns
        -------
        Footfalls
            New footfalls, times in seconds from the start of the stream.
        """
        return self._process(validate_audio(block))

    def _process(self, block: NDArray[np.floating]) -> Footfalls:
        """:meth:`process_block` on a ``block`` already validated."""
        mono = features.to_mono(block)
        raw_first = self._features.n_frames * features.hop_size(self.sample_rate) + self._features.pending.size
        frames, self._features = features.footfall_features(mono, state=self._features)
        raw = self._raw.append(mono)
        raw_first -= raw.size - mono.size
        if frames.level_db.size == 0:
            return Footfalls.empty()
        hist = self._hist.append(frames)
        ticks = self._ticks_s if self._ticks_s.size else None
        multi = pick_footfalls(hist, frame_s=self.frame_s, params=self.params, state=self._picker,
                               present=self._present, tick_times_s=ticks, raw=raw, raw_first_sample=raw_first,
                               sample_rate=self.sample_rate)
        low = lowband.pick_footfalls(hist, frame_s=self.frame_s, params=self.low_params, state=self._low,
                                     tick_times_s=ticks)
        rejections, self._picker.rejections = self._picker.rejections, []
        picks = self._arbitrate(low, multi, rejections)
        self._hist.keep(self._history_frames)
        if not picks:
            return Footfalls.empty()
        return Footfalls(
            np.array([p.time_s for p, _ in picks]),
            np.array([p.confidence for p, _ in picks]),
            np.array([p.peak_db for p, _ in picks]),
            np.array([p.decided_at_s for p, _ in picks]),
            np.array([r for _, r in picks], dtype=bool),
            np.array([p.period_s for p, _ in picks]),
        )


def detect_footfalls(
    y: NDArray[np.floating],
    *,
    sample_rate: int,
    tick_times_s: NDArray[np.float64] | None = None,
    params: PickParams | None = None,
    detector: StepDetector | None = None,
) -> Footfalls:
    """Offline footfall detection: :class:`StepDetector` over the whole signal at once.

    Parameters
    ----------
    y : ndarray, shape (n_samples,) or (n_samples, channels)
        Float audio, any sample rate from 4 kHz.
    sample_rate : int
        Hz.
    tick_times_s : array_like or None
        When metronome ticks were heard (s from the start), if known.
    params : PickParams, optional
    detector : StepDetector, optional
        A fresh detector to run (to read its ``bands`` and ``rhythm_salience`` afterwards);
        ``sample_rate``, ``tick_times_s`` and ``params`` then apply as it was made.

    Returns
    -------
    Footfalls
    """
    y = validate_audio(y)
    if y.shape[0] == 0:
        raise ParameterError("audio is empty (0 samples)")
    if detector is None:
        detector = StepDetector(sample_rate=sample_rate, params=params)
        if tick_times_s is not None:
            detector.add_ticks(tick_times_s)
    return detector._process(y)
