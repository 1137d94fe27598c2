"""Closed loop: the session's tempo controller against a simulated runner who hears the metronome.

The "microphone" is a :class:`samples.runner.ReactiveRunner`: footfall audio synthesized block by
block while the real session engine (renderer, :class:`coach.duplex.DuplexCore`,
:class:`coach.duplex.FileBackend`, :class:`coach.session.Session` with its detector and controller)
plays and listens, faster than real time. A follower's cadence is the tempo it heard 3 s
earlier; a laggard keeps its own cadence. The controller only sees what the detector finds in
the audio.

Expected times come from the controller's parameters (``AdaptiveParams()``): a follower is
kept up from the start, so the tempo advances after ``settle_s`` at ``advance_spm_per_min``
and reaches the target ``settle_s + (target - baseline) / advance_spm_per_min`` after the start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from coach.run import simulated_session
from metronome.settings import settings_from_options
from coach.control import CADENCE_WINDOW_S, CONTROL_PERIOD_S, AdaptiveParams
from coach.session import Session, SessionSettings
from samples.runner import ReactiveRunner
from stepdetect import match_events

SAMPLE_RATE = 16000
BLOCK_SIZE = 1024  # frames per simulated callback (64 ms)
BASELINE_SPM = 160.0
TARGET_SPM = 172.0
FOLLOW_LAG_S = 3.0
PARAMS = AdaptiveParams()
CONTROL_STEP_S = CONTROL_PERIOD_S + BLOCK_SIZE / SAMPLE_RATE  # the controller runs at block ends
#: How far above "runner + tolerance" the tempo may go: the controller advances while the
#: *measured* cadence (10 s window, 6 ms jitter per step) is within tolerance, and that
#: measurement is good to about +-0.5 spm (the detector's cadence bar in bench_detect).
CADENCE_ERROR_SPM = 0.5


@dataclass
class ClosedLoop:
    session: Session
    runner: ReactiveRunner
    #: at each control step: (time_s, tempo_spm, controller state, cadence_spm the controller saw or nan)
    trace: list[tuple[float, float, str, float]]

    def tempo_spm(self) -> np.ndarray:
        return np.array([row[1] for row in self.trace])

    def times_s(self) -> np.ndarray:
        return np.array([row[0] for row in self.trace])

    def cadence_spm(self) -> np.ndarray:
        return np.array([row[3] for row in self.trace])

    def states(self, after_s: float = 0.0) -> list[str]:
        return [row[2] for row in self.trace if row[0] >= after_s]


def _run(duration_s: float, *, own_cadence_spm: float, follow: bool, adaptive: bool = True, ramp_s: float = 0.0,
         follow_until_s: float | None = None, seed: int = 1) -> ClosedLoop:
    """Run the whole session against a reactive runner; record the controller at each control step."""
    metronome = settings_from_options(
        spm=TARGET_SPM, duration_s=duration_s, plan="steady", baseline_spm=BASELINE_SPM, warmup_s=None,
        cooldown_s=None, every_other_step=False, sound="woodblock", accent_every=0, alternate_ears=False,
        volume_db=-6.0, force=False, ramp_s=ramp_s,
    )
    settings = SessionSettings(metronome=metronome, ramp_s=ramp_s, adaptive=PARAMS if adaptive else None)
    runner = ReactiveRunner(sample_rate=SAMPLE_RATE, duration_s=duration_s, cadence_spm=own_cadence_spm,
                            follow_lag_s=FOLLOW_LAG_S, follow_until_s=follow_until_s, seed=seed)
    session, backend = simulated_session(metronome, settings, runner, block_size=BLOCK_SIZE)
    if follow:
        clock = backend.core.renderer.clock
        runner.heard_spm = lambda: clock.next_spm
    trace: list[tuple[float, float, str, float]] = []

    def consume() -> bool:
        keep_going = session.consume()
        if len(session.tempo_trace) > len(trace):
            t, tempo = session.tempo_trace[-1]
            state = session.controller.state if session.controller is not None else ""
            cadence = session.live.cadence_spm
            trace.append((t, tempo, state, np.nan if cadence is None else cadence))
        return keep_going

    backend.run(consume)
    # The detector found the footfalls the runner made and nothing else (the controller saw
    # real measurements): one-to-one within 25 ms, away from the recording's last half second.
    true_s = np.array(runner.step_times_s)
    true_s = true_s[true_s < duration_s - 0.5]
    found_s = np.array(session.step_times_s)
    found_s = found_s[found_s < duration_s - 0.5]
    n_matched = len(match_events(true_s, found_s, tolerance_s=0.025))
    assert n_matched >= 0.99 * true_s.size
    assert n_matched >= 0.99 * found_s.size
    # Each footfall was reported after its contact, within the detector's decision time (about
    # 45 ms at most, stepdetect.online) plus one block of waiting for the consumer.
    reported_after_s = np.array(session.step_reported_at_s) - np.array(session.step_times_s)
    assert reported_after_s.size == len(session.step_times_s)
    assert np.all(reported_after_s > 0.0)
    assert np.all(reported_after_s <= 0.045 + BLOCK_SIZE / SAMPLE_RATE)
    assert session.core.ring.lost_frames == 0
    return ClosedLoop(session, runner, trace)


def _max_slope_spm_per_min(loop: ClosedLoop) -> tuple[float, float]:
    """Steepest rise and fall of the tempo between control steps, spm per minute."""
    slope = np.diff(loop.tempo_spm()) / np.diff(loop.times_s()) * 60.0
    return float(slope.max()), float(slope.min())


def test_follower_reaches_the_target_at_the_rate_limit_and_cadence_tracks_it() -> None:
    expected_s = PARAMS.settle_s + (TARGET_SPM - BASELINE_SPM) / PARAMS.advance_spm_per_min * 60.0  # 380 s
    loop = _run(expected_s + 60.0, own_cadence_spm=BASELINE_SPM, follow=True)
    tempo, times = loop.tempo_spm(), loop.times_s()
    reached = times[np.argmax(tempo >= TARGET_SPM - 1e-9)]
    assert tempo.max() == pytest.approx(TARGET_SPM, abs=1e-9)
    assert reached == pytest.approx(expected_s, abs=60.0)
    rise, fall = _max_slope_spm_per_min(loop)
    assert rise <= PARAMS.advance_spm_per_min * 1.01, "never faster than the rate limit"
    assert fall >= 0.0, "a follower never makes the tempo ease"
    assert loop.states()[-1] == "at-target"
    assert set(loop.states(after_s=PARAMS.settle_s + 5.0)) <= {"advancing", "at-target"}, "kept up throughout"
    # The cadence the session measured (and the controller saw) tracks the tempo: the follower is
    # 3 s behind and the 10 s window centred 5 s back, 0.27 spm at 2 spm/min, plus measurement error.
    lag_spm = PARAMS.advance_spm_per_min * (FOLLOW_LAG_S + CADENCE_WINDOW_S / 2) / 60.0
    measured = loop.cadence_spm()
    tracking = times >= CADENCE_WINDOW_S
    assert np.all(np.isfinite(measured[tracking]))
    np.testing.assert_allclose(measured[tracking], tempo[tracking], atol=lag_spm + CADENCE_ERROR_SPM)
    assert measured[-1] == pytest.approx(TARGET_SPM, abs=CADENCE_ERROR_SPM)


def test_laggard_caps_the_tempo_within_reach_of_the_runner() -> None:
    runner_spm = BASELINE_SPM - 1.0
    ceiling_spm = runner_spm + PARAMS.tolerance_spm + CADENCE_ERROR_SPM  # 162.5 < baseline + tolerance
    loop = _run(240.0, own_cadence_spm=runner_spm, follow=False)
    tempo = loop.tempo_spm()
    assert tempo.max() <= ceiling_spm
    assert tempo.min() >= BASELINE_SPM
    # Within the runner's reach (tempo - tolerance <= cadence) the tempo did advance, then stopped.
    assert tempo[-1] == pytest.approx(runner_spm + PARAMS.tolerance_spm, abs=CADENCE_ERROR_SPM)
    late = loop.states(after_s=150.0)
    assert "holding" in late
    assert late.count("advancing") / len(late) < 0.1, "no steady advance once the runner falls off"
    measured = loop.cadence_spm()[loop.times_s() >= CADENCE_WINDOW_S]
    np.testing.assert_allclose(measured, runner_spm, atol=CADENCE_ERROR_SPM)


def test_runner_who_stops_following_makes_the_tempo_hold_then_ease_back() -> None:
    runner_spm = BASELINE_SPM - 1.0
    give_up_s = 150.0
    loop = _run(330.0, own_cadence_spm=runner_spm, follow=True, follow_until_s=give_up_s)
    tempo, times = loop.tempo_spm(), loop.times_s()
    at_give_up = tempo[np.searchsorted(times, give_up_s)]
    assert at_give_up > runner_spm + PARAMS.tolerance_spm + 1.0, "the tempo had advanced beyond the runner's reach"
    after = [(row[0], row[2]) for row in loop.trace if row[0] >= give_up_s]
    first_hold_s = next((t for t, state in after if state == "holding"), None)
    first_ease_s = next((t for t, state in after if state == "easing"), None)
    assert first_hold_s is not None and first_ease_s is not None, "the controller held, then eased"
    # It holds first (the window needs a few seconds to see the drop), then eases after ease_after_s.
    assert first_hold_s - give_up_s < 10.0
    assert first_ease_s - first_hold_s == pytest.approx(PARAMS.ease_after_s, abs=1.0)
    held = tempo[(times >= first_hold_s) & (times < first_ease_s)]
    assert np.ptp(held) < 1e-9, "no change while holding"
    _, fall = _max_slope_spm_per_min(loop)
    assert fall >= -PARAMS.ease_spm_per_min * 1.01, "never eases faster than its rate"
    # Eased back to within the runner's reach, never below the baseline or the runner.
    assert tempo[-1] <= runner_spm + PARAMS.tolerance_spm + CADENCE_ERROR_SPM
    assert tempo[-1] < at_give_up - 1.0
    assert tempo.min() >= BASELINE_SPM


def test_fixed_two_minute_ramp_reaches_the_target_at_two_minutes() -> None:
    ramp_s = 120.0
    loop = _run(170.0, own_cadence_spm=BASELINE_SPM, follow=True, adaptive=False, ramp_s=ramp_s)
    ticks = loop.session.ticks
    tick_s = np.array([t.start_sample for t in ticks]) / SAMPLE_RATE
    tick_spm = np.array([t.spm for t in ticks])
    assert tick_spm[0] == pytest.approx(BASELINE_SPM, abs=1e-9)
    assert np.all(np.diff(tick_spm) >= 0)
    # Each interval is set from the plan at its beat: linear from baseline to target over ramp_s.
    expected = BASELINE_SPM + (TARGET_SPM - BASELINE_SPM) * np.minimum(tick_s / ramp_s, 1.0)
    np.testing.assert_allclose(tick_spm, expected, atol=1e-6)
    assert np.all(tick_spm[tick_s < ramp_s - 1.0] < TARGET_SPM - 0.05)
    assert tick_spm[tick_s >= ramp_s] == pytest.approx(TARGET_SPM, abs=1e-9)
    tempo, times = loop.tempo_spm(), loop.times_s()
    assert times[np.argmax(tempo >= TARGET_SPM - 1e-9)] == pytest.approx(ramp_s, abs=CONTROL_STEP_S)
    # The follower (3 s behind) is measured at the target 30 s later.
    assert loop.cadence_spm()[-1] == pytest.approx(TARGET_SPM, abs=CADENCE_ERROR_SPM)


def test_reactive_runner_audio_does_not_depend_on_the_read_sizes() -> None:
    """The simulated mic is one signal however the backend slices it (a runner who does not follow)."""
    duration_s = 20.0

    def read_all(sizes: list[int]) -> tuple[np.ndarray, ReactiveRunner]:
        runner = ReactiveRunner(sample_rate=SAMPLE_RATE, duration_s=duration_s, cadence_spm=170.0, seed=3)
        parts, k = [], 0
        while True:
            block = runner.read(sizes[k % len(sizes)], dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                return np.concatenate(parts)[:, 0], runner
            parts.append(block.copy())
            k += 1

    n_frames = int(duration_s * SAMPLE_RATE)
    whole, runner = read_all([n_frames])
    sliced, _ = read_all([64, 1024, 333, 4096])
    assert whole.size == sliced.size == n_frames
    np.testing.assert_allclose(sliced, whole, atol=1e-7)
    steps_s = np.array(runner.step_times_s)
    intervals_s = np.diff(steps_s[steps_s < duration_s])
    assert np.mean(intervals_s) == pytest.approx(60.0 / 170.0, rel=1e-3)
    assert np.std(intervals_s) == pytest.approx(np.sqrt(2) * 0.006, rel=0.3)  # 6 ms jitter, not accumulated
    assert np.max(np.abs(whole)) < 1.0
