"""Pure baseline computation: filtering one run, step times -> cadence, combining runs, target
band and progression rules. No files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from coach.baseline import (
    BaselineError,
    cadence_from_step_times,
    combine_runs,
    measure_source,
    run_baseline,
    run_from_steps,
)
from coach.program import build_program
from coach.progression import current_progress, holds_target, next_target_spm, target_band
from metronome.plans import Plan, parse_plan


def test_filter_excludes_pauses_walking_and_outliers(rng: np.random.Generator) -> None:
    running = 168.0 + rng.normal(0, 2.0, 600)
    walking = 118.0 + rng.normal(0, 3.0, 60)
    spikes = np.array([215.0, 230.0, 150.5])  # glitches and a stumble, all > 6 spm from the median
    paused = np.full(40, 80.0)
    spm = np.concatenate([running, walking, spikes, paused, [np.nan] * 5])
    speed = np.concatenate([np.full(600 + 60 + 3, 3.0), np.zeros(40), np.full(5, 3.0)])
    run = run_baseline(spm, speed_m_s=speed, time_s=np.arange(spm.size, dtype=float))
    assert run.n_stopped == 40 and run.n_no_cadence == 5 and run.n_walking == 60
    assert run.n_outliers >= 3
    np.testing.assert_allclose(run.baseline_spm, 168.0, atol=0.3)  # 2/sqrt(600) ~ 0.08
    # The moving mean (reference method) is dragged down by walking: that is why we filter.
    assert run.moving_mean_spm < 166.0
    assert not run.uncertain


def test_min_running_spm_is_a_parameter() -> None:
    spm = np.array([150.0, 152.0, 151.0] * 20 + [130.0] * 10)
    assert run_baseline(spm).n_walking == 10
    assert run_baseline(spm, min_running_spm=151.5).n_walking == 50
    with pytest.raises(BaselineError, match="no running records"):
        run_baseline(spm, min_running_spm=160.0)


def test_all_walking_or_no_cadence_is_an_error() -> None:
    with pytest.raises(BaselineError, match="no running records"):
        run_baseline(np.full(100, 110.0), speed_m_s=np.full(100, 1.4), source="walk.gpx")
    with pytest.raises(BaselineError, match="no cadence records"):
        run_baseline(np.full(10, np.nan))


def test_short_run_is_flagged_uncertain() -> None:
    run = run_baseline(np.full(12, 170.0), time_s=np.arange(12.0) * 2)
    assert run.uncertain and "uncertain" in run.notes[0]
    np.testing.assert_allclose(run.baseline_spm, 170.0, atol=1e-12)


def test_cadence_from_step_times_uses_strides_and_marks_pauses() -> None:
    steps_s = np.concatenate([np.arange(0, 30, 60 / 170), 40 + np.arange(0, 30, 60 / 170)])
    time_s, spm = cadence_from_step_times(steps_s)
    assert time_s.size == steps_s.size - 2
    finite = spm[np.isfinite(spm)]
    np.testing.assert_allclose(finite, 170.0, rtol=1e-9)
    assert np.sum(~np.isfinite(spm)) == 2  # the two strides spanning the 10 s pause
    run = run_baseline(spm, time_s=time_s)
    np.testing.assert_allclose(run.baseline_spm, 170.0, rtol=1e-9)
    with pytest.raises(ValueError, match="sorted"):
        cadence_from_step_times([0.0, 1.0, 0.5])


def test_alternating_step_asymmetry_cancels_over_a_stride() -> None:
    # Left steps 0.33 s, right steps 0.37 s: stride 0.70 s -> 171.43 spm at every step.
    intervals = np.tile([0.33, 0.37], 200)
    steps_s = np.concatenate([[0.0], np.cumsum(intervals)])
    _, spm = cadence_from_step_times(steps_s)
    np.testing.assert_allclose(spm, 120 / 0.70, rtol=1e-9)


def _run(value: float, n: int = 300) -> object:
    return run_baseline(np.full(n, value), time_s=np.arange(float(n)), source=f"{value}")


def test_combine_runs_equal_weight_and_spread_warning() -> None:
    long_run = run_baseline(np.full(3000, 164.0), time_s=np.arange(3000.0))
    short_run = run_baseline(np.full(300, 170.0), time_s=np.arange(300.0))
    combined = combine_runs([long_run, short_run])
    np.testing.assert_allclose(combined["baseline_spm"], 167.0, atol=1e-9)
    assert combined["n_runs"] == 2 and combined["notes"] == []
    assert "walking below 140 spm" in combined["method"]
    assert [r["baseline_spm"] for r in combined["runs"]] == [164.0, 170.0]
    far = combine_runs([_run(160.0), _run(175.0)])
    assert any("differ by 15.0 spm" in n for n in far["notes"])
    one = combine_runs([_run(170.0)])
    assert any("two or three" in n for n in one["notes"])
    with pytest.raises(BaselineError):
        combine_runs([])


def test_target_band() -> None:
    low, high = target_band(160.0)
    np.testing.assert_allclose([low, high], [168.0, 176.0], rtol=1e-12)
    with pytest.raises(ValueError, match="strides/min"):
        target_band(81.0)


def test_next_target_moves_only_when_held_and_never_above_10_percent() -> None:
    assert next_target_spm(160.0, None, holds=False) == 168.0
    assert next_target_spm(163.0, None, holds=False) == 172.0  # 171.15 rounds up into the band
    assert next_target_spm(160.0, 168.0, holds=False) == 168.0
    assert next_target_spm(160.0, 168.0, holds=True) == 172.0
    assert next_target_spm(160.0, 172.0, holds=True) == 176.0
    assert next_target_spm(160.0, 176.0, holds=True) == 176.0
    assert next_target_spm(163.0, 178.0, holds=True) == 179.0  # floor(179.3): the cap holds


def _session(tempo: float, sync: float | None = 80.0, ret: float | None = 0.9, pain: float | None = 2.0, *,
             cadence: float | None = None, length_s: float = 1200.0, status: str = "complete") -> dict:
    """A stored session as ``Store.sessions()`` gives it: 10 min on at ``tempo``, 3 min off (when
    a retention is given), 5 min easy before and after."""
    cadence = tempo if cadence is None else cadence
    intervals = [{"label": "warm-up", "sounding": False, "start_s": 0, "end_s": 300, "cadence_spm": 160.0},
                 {"label": "on", "sounding": True, "start_s": 300, "end_s": 900, "cadence_spm": cadence,
                  "tempo_spm": tempo}]
    if ret is not None:
        intervals.append({"label": "off", "sounding": False, "start_s": 900, "end_s": 1080, "cadence_spm": cadence,
                          "tempo_spm": tempo, "retention": ret})
    return {"id": 1, "status": status, "audio_duration_s": length_s, "tempo_spm": tempo, "in_sync_pct": sync,
            "retention": ret, "pain_during": pain, "pain_next_day": None, "intervals": intervals}


def test_holds_target_rules() -> None:
    assert holds_target([_session(168), _session(168)], 168.0)["holds"]
    one = holds_target([_session(168)], 168.0)
    assert not one["holds"] and "need 2" in one["reasons"][0]
    assert not holds_target([_session(168), _session(168, sync=55.0)], 168.0)["holds"]
    assert not holds_target([_session(168), _session(168, ret=0.5)], 168.0)["holds"]
    rising = holds_target([_session(168, pain=1), _session(168, pain=1), _session(168, pain=3)], 168.0)
    assert not rising["holds"] and "pain rising" in rising["reasons"][0]
    falling = holds_target([_session(168, pain=3), _session(168, pain=1)], 168.0)
    assert falling["holds"]
    # Sessions at another tempo do not count; missing measures do not block.
    assert not holds_target([_session(172), _session(168)], 168.0)["holds"]
    assert holds_target([_session(168, None, None, None)] * 2, 168.0)["holds"]
    assert not holds_target([_session(168, pain=5), _session(168, pain=5)], 168.0)["holds"]


def test_held_means_complete_sessions_of_ten_minutes_on_target() -> None:
    """What the history must not take for "held": short, interrupted, aborted or killed sessions,
    a cadence that never reached the target in the on-intervals, the cadence lost in the silence."""
    short = [_session(168, length_s=12.0), _session(168, length_s=12.0)]
    out = holds_target(short, 168.0)
    assert not out["holds"] and out["n_sessions"] == 0 and out["counted"] == []
    assert [n["why"] for n in out["not_counted"]] == ["0:12 long (< 10:00)"] * 2
    aborted = {**_session(168, length_s=0.19), "status": "aborted", "abort_reason": "the stream stopped after 0:00"}
    killed = _session(168, status="incomplete")
    out = holds_target([aborted, killed, _session(168)], 168.0)
    assert not out["holds"] and out["n_sessions"] == 1
    assert [n["why"] for n in out["not_counted"]] == ["aborted (the stream stopped after 0:00)",
                                                      "incomplete (it never ended: the program was killed)"]
    slow = holds_target([_session(168, cadence=163.0), _session(168, cadence=164.0)], 168.0)
    assert not slow["holds"] and slow["n_sessions"] == 2
    assert slow["counted"][0]["misses"] == ["cadence 163.0 spm in the on-intervals, not within 168 ± 3.4"]
    assert holds_target([_session(168, cadence=165.0), _session(168, cadence=171.0)], 168.0)["holds"]  # ± 2 %
    lost = holds_target([_session(168), _session(168, ret=0.6)], 168.0)
    assert lost["reasons"] == ["session 1: retention 0.60 < 0.8 in the off-intervals"]
    warmup_only = _session(168)
    warmup_only["intervals"] = warmup_only["intervals"][:1]  # stopped in the warm-up: never ticked
    out = holds_target([warmup_only, _session(168)], 168.0)
    assert out["not_counted"][0]["why"] == "no interval with ticks at 168 spm"
    # an invalid session between two good ones does not break the streak, nor count
    assert holds_target([_session(168), aborted, _session(168)], 168.0)["holds"]
    assert "10 min long" in out["rule"] and "±2 %" in out["rule"] and "retention >= 0.8" in out["rule"]


def test_speed_zero_throughout_is_not_all_pauses() -> None:
    """A treadmill run logged at 0 m/s: the moving test is skipped, and the run says so."""
    run = run_baseline(np.full(200, 172.0), speed_m_s=np.zeros(200), time_s=np.arange(200.0))
    assert run.n_stopped == 0 and run.n_kept == 200
    assert any("speed is 0 throughout" in n for n in run.notes)
    unknown = run_baseline(np.full(200, 172.0), speed_m_s=np.full(200, np.nan), time_s=np.arange(200.0))
    assert unknown.n_kept == 200 and unknown.notes == []


def test_current_progress_from_sessions_since_the_baseline() -> None:
    """The current target is that of the last complete session since the baseline; the JSON
    layout is ``current_target_spm``, the hold check's keys, ``next_target_spm``."""
    old = {**_session(160), "started_at": "2026-01-01T08:00:00+01:00"}
    held = [{**_session(168), "started_at": f"2026-02-0{d}T08:00:00+01:00"} for d in (2, 5)]
    aborted = {**_session(172), "status": "aborted", "started_at": "2026-02-07T08:00:00+01:00"}
    prog = current_progress([old, *held, aborted], 160.0, "2026-02-01T00:00:00+01:00")
    assert prog.current_target_spm == 168.0 and prog.holds and prog.check["n_sessions"] == 2
    assert prog.next_target_spm == 172.0  # 168 + 2.5 % of 160
    assert list(prog.as_dict()) == ["current_target_spm", "holds", "n_sessions", "reasons", "rule", "counted",
                                    "not_counted", "next_target_spm"]
    none_since = current_progress([old], 160.0, "2026-02-01T00:00:00+01:00")
    assert none_since.current_target_spm is None and not none_since.holds
    assert none_since.check["reasons"] == ["no sessions yet"] and none_since.next_target_spm == 168.0  # +5 %
    assert current_progress([old], 160.0, None).current_target_spm == 160.0


def test_program_session_plan_reads_back_as_its_segments() -> None:
    program = build_program(163.0, weeks=6, start=date(2026, 1, 5))
    assert [s.kind for s in program[:4]] == ["intervals", "strides", "drills", "intervals"]
    for s in program:
        plan = load_plan_text(s.plan_toml(baseline_spm=163.0), target_spm=s.target_spm)
        assert sum(seg.duration_s for seg in plan.segments) == pytest.approx(s.duration_s, abs=1e-9)
        assert plan.description == f"Week {s.week} {s.kind}: target {s.target_spm:g} spm"
        d = s.as_dict()
        assert d["date"] == s.date.isoformat() and "file" not in d
        assert d["segments"][0] == {"label": "warm-up (easy, no ticks)", "duration_s": 300.0, "spm": 163.0,
                                    "sound": False}


def load_plan_text(text: str, *, target_spm: float) -> Plan:
    return parse_plan(text, name="session", target_spm=target_spm, baseline_spm=163.0)


def test_runs_from_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="no such file"):
        measure_source(tmp_path / "missing.fit", accel=False, min_running_spm=140.0)
    with pytest.raises(BaselineError, match="fewer than 3 steps"):
        run_from_steps([1.0, 1.4], source="two", fmt="audio", min_running_spm=140.0)
    tone = np.cumsum(np.random.default_rng(3).uniform(0.1, 0.3, 300))  # machine clicks, mostly > 240 spm
    with pytest.raises(BaselineError, match="no steady running rhythm"):
        run_from_steps(tone, source="tone", fmt="audio", min_running_spm=140.0)
    blip = np.concatenate((np.arange(0.0, 30.0, 0.6), 30.0 + np.arange(1, 4) * 60 / 170))  # walking, 2 running intervals
    with pytest.raises(BaselineError, match="no steady running rhythm"):
        run_from_steps(blip, source="blip", fmt="audio", min_running_spm=140.0)
    run, extra = run_from_steps(np.arange(400) * 60 / 170, source="steady", fmt="live", min_running_spm=140.0)
    assert extra == {"format": "live"} and run.baseline_spm == pytest.approx(170.0, abs=1e-6)
