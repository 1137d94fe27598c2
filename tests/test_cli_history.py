"""CLI: baseline, target, history, log, export, plan (click's CliRunner, real SQLite files,
real FIT files, plans parsed by metronome.plans.load_plan)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from cli.main import cli
from coach.store import Store
from metronome.plans import load_plan

FIXTURES = Path(__file__).resolve().parent / "data" / "activities"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
CET = timezone(timedelta(hours=1))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "history.db"
    monkeypatch.setenv("CADENCE_DB", str(path))  # never the user's real database
    return path


def _invoke(*args: str) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_line_error(result: object, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    return lines[0]


def test_help_lists_history_commands() -> None:
    result = _invoke("--help")
    assert result.exit_code == 0, result.output
    for name in ("baseline", "target", "history", "log", "export", "plan"):
        assert name in result.output


def test_baseline_from_fit_json_and_stored(real_data: Path, db: Path) -> None:
    fit = real_data / "fit" / "activity-small-fenix2-run.fit"
    result = _invoke("baseline", "--from", fit, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) >= {"baseline_spm", "runs", "method", "target_band_spm"}
    run = out["runs"][0]
    np.testing.assert_allclose(run["moving_mean_spm"], 162.19, atol=0.005)  # shared/data README
    assert run["format"] == "fit" and run["session_avg_spm"] == 162.0 and run["n_walking"] == 180
    np.testing.assert_allclose(out["baseline_spm"], run["baseline_spm"], atol=0.005)
    assert 164.0 <= out["baseline_spm"] <= 168.0  # walking breaks removed: near the 166 median
    with Store(db) as store:
        stored = store.latest_baseline()
    assert stored["baseline_spm"] == out["baseline_spm"] and stored["measured_at"].startswith("2015-08-15")
    assert stored["runs"][0]["source"] == fit.name


def test_baseline_combines_several_runs_equally(real_data: Path, db: Path) -> None:
    paths = [real_data / "fit" / "activity-small-fenix2-run.fit", real_data / "fit" / "sample_mulitple_header.fit",
             FIXTURES / "run_garmin.gpx"]
    singles = []
    for p in paths:
        r = _invoke("baseline", "--from", p, "--json", "--no-save")
        assert r.exit_code == 0, r.output
        singles.append(json.loads(r.output)["runs"][0]["baseline_spm"])
    args = [a for p in paths for a in ("--from", p)]
    result = _invoke("baseline", *args, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["n_runs"] == 3 and [r["source"] for r in out["runs"]] == [p.name for p in paths]
    np.testing.assert_allclose(out["baseline_spm"], np.mean(singles), atol=0.005)
    assert out["uncertain"]  # the GPX fixture is only 90 s of running


def test_baseline_from_takes_several_paths_as_a_shell_glob_gives_them(real_data: Path, db: Path, tmp_path: Path) -> None:
    import shutil
    import subprocess

    runs = tmp_path / "runs"
    runs.mkdir()
    names = ["activity-small-fenix2-run.fit", "garmin-fenix-5-run.fit", "sample_mulitple_header.fit"]
    for name in names:
        shutil.copyfile(real_data / "fit" / name, runs / name)
    # a real shell expands the glob: one --from, three paths
    glob = subprocess.run(f'"{sys.executable}" -m cli baseline --from runs/*.fit --json --no-save', shell=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(SAMPLES.parent)}, capture_output=True, text=True)
    assert glob.returncode == 0, glob.stderr
    out = json.loads(glob.stdout)
    assert out["n_runs"] == 3 and [r["source"] for r in out["runs"]] == names
    repeated = _invoke("baseline", *[a for n in names for a in ("--from", runs / n)], "--json", "--no-save")
    assert repeated.exit_code == 0, repeated.output
    assert json.loads(repeated.output)["baseline_spm"] == out["baseline_spm"]
    # both forms at once; and stored with every source
    mixed = _invoke("baseline", "--from", runs / names[0], runs / names[1], "--from", runs / names[2], "--json")
    assert mixed.exit_code == 0, mixed.output
    assert json.loads(mixed.output)["baseline_spm"] == out["baseline_spm"]
    with Store(db) as store:
        assert sorted(r["source"] for r in store.latest_baseline()["runs"]) == names


def test_baseline_paths_without_from_is_one_line_error(real_data: Path, db: Path) -> None:
    line = _one_line_error(_invoke("baseline", real_data / "fit" / "garmin-fenix-5-run.fit"), exit_code=2)
    assert "put the files after --from" in line


def test_baseline_from_fit_on_the_power_on_clock(real_data: Path, db: Path) -> None:
    """session start_time 1005 s after power-on (tests/data/fit/make_relative_time.py): accepted,
    same baseline as the dated file, stored with today's date since the run's date is unknown."""
    dated = _invoke("baseline", "--from", real_data / "fit" / "sample_mulitple_header.fit", "--json", "--no-save")
    result = _invoke("baseline", "--from", real_data / "fit" / "sample_mulitple_header-relative-time.fit", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["baseline_spm"] == json.loads(dated.output)["baseline_spm"]
    assert out["runs"][0]["started_at"] is None
    assert any("powered on" in n for n in out["runs"][0]["notes"])
    with Store(db) as store:
        stored = store.latest_baseline()
    measured = datetime.fromisoformat(stored["measured_at"])
    assert abs((measured - datetime.now(timezone.utc)).total_seconds()) < 600


def test_baseline_text_output_states_method(real_data: Path, db: Path) -> None:
    result = _invoke("baseline", "--from", real_data / "fit" / "sample_mulitple_header.fit")
    assert result.exit_code == 0, result.output
    assert "Method: running, moving records only" in result.output
    assert "skipped non-running sessions: swimming" in result.output
    assert "Baseline: 167.1 spm" in result.output


def _synthetic_accel_csv(path: Path, real_data: Path, rng: np.random.Generator) -> float:
    """A phone on a runner (one bump per real footfall of SoundTrackDB d04_P47_8_0), 100 Hz,
    as a generic accelerometer CSV. Returns the true cadence (spm) over the kept steps."""
    with (real_data / "soundtrackdb" / "d04_P47_8_0.csv").open() as f:
        steps_s = np.array([float(row["YOLO_Start_Time"]) for row in csv.DictReader(f)])
    steps_s = steps_s[steps_s < 60.0] - steps_s[0] + 1.0
    time_s = np.arange(0.0, steps_s[-1] + 1.0, 0.01)
    vertical = sum((2.0 if k % 2 else 1.5) * 9.81 * np.exp(-0.5 * ((time_s - s) / 0.05) ** 2) for k, s in enumerate(steps_s))
    sway = 3.0 * np.sin(2 * np.pi * time_s / (2 * np.median(np.diff(steps_s))))
    xyz = np.column_stack([sway, 0.5 * sway, 9.81 + vertical]) + rng.normal(0, 0.3, (time_s.size, 3))
    with path.open("w") as f:
        f.write("time_s,acc_x,acc_y,acc_z\n")
        for t, (x, y, z) in zip(time_s, xyz):
            f.write(f"{t:.3f},{x:.4f},{y:.4f},{z:.4f}\n")
    return 120.0 / np.median(steps_s[2:] - steps_s[:-2])


def test_baseline_from_accelerometer_csv(real_data: Path, db: Path, tmp_path: Path, rng: np.random.Generator) -> None:
    accel = tmp_path / "phone.csv"
    true_spm = _synthetic_accel_csv(accel, real_data, rng)
    result = _invoke("baseline", "--from", accel, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["runs"][0]["format"] == "accel"
    np.testing.assert_allclose(out["baseline_spm"], true_spm, rtol=0.02)
    renamed = accel.rename(tmp_path / "phone.txt")  # not .csv: --accel says what it is
    result = _invoke("baseline", "--from", renamed, "--accel", "--json", "--no-save")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["baseline_spm"] == out["baseline_spm"]


def test_baseline_from_recording_leaves_out_a_walking_break(db: Path, tmp_path: Path) -> None:
    """The audio route runs the detector `cadence analyze` runs on a real WAV: footfalls at
    172 spm with a 20 s walking break at 110 spm; the break is counted as walking, not baseline."""
    from samples.runner import runner_recording

    steps = np.concatenate([np.arange(0.5, 60, 60 / 172), 60 + np.arange(0, 20, 60 / 110), 80 + np.arange(0, 60, 60 / 172)])
    feet = ["L" if k % 2 == 0 else "R" for k in range(steps.size)]
    wav = tmp_path / "run.wav"
    soundfile.write(wav, runner_recording(steps, feet, sample_rate=16000, duration_s=141.0), 16000)
    result = _invoke("baseline", "--from", wav, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    np.testing.assert_allclose(out["baseline_spm"], 172.0, atol=0.5)
    assert out["runs"][0]["format"] == "audio" and 30 <= out["runs"][0]["n_walking"] <= 40  # 20 s at 110 spm


@pytest.mark.parametrize("name", ["treadmill_console.wav", "wind_armband.flac"])
def test_baseline_from_real_sample_recording(db: Path, name: str) -> None:
    """samples/: real SoundTrackDB footfall times rendered as audio (treadmill hum; wind), with
    the labelled step times beside them, through the detector 'cadence analyze' uses."""
    result = _invoke("baseline", "--from", SAMPLES / name, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    truth_s = np.array([s["time_s"] for s in json.loads((SAMPLES / name).with_suffix(".json").read_text())["steps"]])
    true_spm = float(np.mean(120.0 / (truth_s[2:] - truth_s[:-2])))
    assert out["runs"][0]["format"] == "audio"
    np.testing.assert_allclose(out["baseline_spm"], true_spm, atol=1.0)  # measured: within 0.1 spm
    assert out["uncertain"]  # 20 s recordings


def test_baseline_unreadable_recording_is_one_line_error(db: Path, tmp_path: Path) -> None:
    wav = tmp_path / "broken.wav"
    wav.write_bytes(b"RIFF\x00\x00junk")
    assert _one_line_error(_invoke("baseline", "--from", wav)).startswith("Error:")


@pytest.mark.parametrize(
    ("name", "message"),
    [("ride.gpx", "not a run (track type: cycling)"), ("truncated.tcx", "not valid TCX"),
     ("bad_cadence.gpx", "is not a number"), ("missing.fit", "no such file")],
)
def test_baseline_bad_input_is_one_line_error(db: Path, name: str, message: str) -> None:
    line = _one_line_error(_invoke("baseline", "--from", FIXTURES / name, "--json"))
    assert message in line
    assert not db.exists() or Store(db).latest_baseline() is None


def test_baseline_truncated_fit_is_one_line_error(real_data: Path, db: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.fit"
    cut.write_bytes((real_data / "fit" / "activity-small-fenix2-run.fit").read_bytes()[:60000])
    assert "cut.fit: truncated FIT file" in _one_line_error(_invoke("baseline", "--from", cut))


def test_baseline_without_from_is_usage_error(db: Path) -> None:
    assert "--from" in _one_line_error(_invoke("baseline"), exit_code=2)


def _session(store: Store, started: datetime, *, tempo: float, cadence: float, sync: float, retention: float,
             pain: float | None = None, complete: bool = True) -> int:
    sid = store.begin_session(kind="live", started_at=started, settings={"target_spm": tempo}, device="mic",
                              latency={"output_s": 0.01})
    store.add_steps(sid, [{"time_s": k * 60 / cadence, "foot": "LR"[k % 2], "asynchrony_ms": 3.0, "confidence": 1.0}
                          for k in range(30)])
    store.add_interval(sid, {"label": "on", "sounding": True, "start_s": 0, "end_s": 600, "cadence_spm": cadence,
                             "tempo_spm": tempo, "mean_asynchrony_ms": -8.0, "in_sync_pct": sync})
    store.add_interval(sid, {"label": "off", "sounding": False, "start_s": 600, "end_s": 780, "cadence_spm": cadence,
                             "tempo_spm": tempo, "retention": retention})
    if complete:
        store.end_session(sid, {}, started + timedelta(minutes=20))
    if pain is not None:
        store.set_notes(sid, pain_during=pain)
    return sid


def test_target_band_and_progression(db: Path) -> None:
    result = _invoke("target", "--baseline", "160", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["target_band_spm"] == [168.0, 176.0] and out["next_target_spm"] == 168.0
    assert "no baseline yet" in _one_line_error(_invoke("target"))
    with Store(db) as store:
        store.add_baseline(160.0, measured_at=datetime(2026, 1, 1, tzinfo=CET))
        _session(store, datetime(2026, 1, 6, 7, tzinfo=CET), tempo=168, cadence=167, sync=82, retention=0.9, pain=2)
        _session(store, datetime(2026, 1, 9, 7, tzinfo=CET), tempo=168, cadence=168, sync=85, retention=0.92, pain=1)
    out = json.loads(_invoke("target", "--json").output)
    assert out["current_target_spm"] == 168.0 and out["holds"] and out["next_target_spm"] == 172.0
    text = _invoke("target").output
    assert "Target band: 168.0 spm (+5 %) ... 176.0 spm (+10 %)" in text and "Recommended next target: 172 spm" in text
    with Store(db) as store:  # pain rising: hold the target
        _session(store, datetime(2026, 1, 13, 7, tzinfo=CET), tempo=168, cadence=168, sync=85, retention=0.9, pain=4)
    out = json.loads(_invoke("target", "--json").output)
    assert not out["holds"] and out["next_target_spm"] == 168.0 and "pain rising" in out["reasons"][0]


def test_history_table_json_incomplete_and_plot(db: Path, tmp_path: Path) -> None:
    with Store(db) as store:
        store.add_baseline(160.0, measured_at=datetime(2025, 12, 20, tzinfo=CET))
        _session(store, datetime(2025, 12, 30, 7, tzinfo=CET), tempo=168, cadence=163, sync=60, retention=0.7, pain=4)
        _session(store, datetime(2026, 1, 2, 7, tzinfo=CET), tempo=168, cadence=165, sync=70, retention=0.8, pain=3)
        _session(store, datetime(2026, 1, 7, 7, tzinfo=CET), tempo=168, cadence=168, sync=85, retention=0.9, pain=2)
        crashed = _session(store, datetime(2026, 1, 9, 7, tzinfo=CET), tempo=172, cadence=170, sync=50, retention=0.5,
                           complete=False)
    result = _invoke("history")
    assert result.exit_code == 0, result.output
    assert "incomplete (30 steps)" in result.output
    assert "2026-W01" in result.output and "2026-W02" in result.output
    assert "Trend cadence" in result.output and "164.0 -> 169.0 spm" in result.output
    assert "3.5 -> 2.0" in result.output and "2-point drop" not in result.output  # weekly pain 3.5 then 2
    out = json.loads(_invoke("history", "--json").output)
    assert [s["status"] for s in out["sessions"]] == ["complete"] * 3 + ["incomplete"]
    assert out["sessions"][-1]["id"] == crashed
    assert [(w["week"], w["n_sessions"]) for w in out["weekly"]] == [("2026-W01", 2), ("2026-W02", 2)]
    np.testing.assert_allclose(out["weekly"][0]["pain_during"], 3.5, atol=1e-12)
    np.testing.assert_allclose(out["weekly"][1]["cadence_spm"], 169.0, atol=1e-12)
    png = tmp_path / "trend.png"
    result = _invoke("history", "--plot", png)
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(png).shape[:2] == (600, 800)
    assert "use a .png" in _one_line_error(_invoke("history", "--plot", tmp_path / "trend.txt"))


def test_history_last_weeks(db: Path) -> None:
    now = datetime.now(timezone.utc)
    with Store(db) as store:
        old = _session(store, now - timedelta(days=60), tempo=168, cadence=165, sync=70, retention=0.8)
        new = _session(store, now - timedelta(days=2), tempo=168, cadence=168, sync=80, retention=0.9)
    out = json.loads(_invoke("history", "--weeks", "4", "--json").output)
    assert [s["id"] for s in out["sessions"]] == [new]
    out = json.loads(_invoke("history", "--json").output)
    assert [s["id"] for s in out["sessions"]] == [old, new]


def test_history_empty(db: Path) -> None:
    result = _invoke("history")
    assert result.exit_code == 0, result.output
    assert "No sessions or baselines yet" in result.output


def test_log_edits_notes_and_next_day_pain(db: Path) -> None:
    with Store(db) as store:
        first = _session(store, datetime(2026, 2, 2, 7, tzinfo=CET), tempo=168, cadence=166, sync=80, retention=0.9)
        last = _session(store, datetime(2026, 2, 5, 7, tzinfo=CET), tempo=168, cadence=167, sync=80, retention=0.9)
    result = _invoke("log", "--pain-next-day", "2", "--terrain", "trail", "--notes", "calf tight")
    assert result.exit_code == 0, result.output
    assert f"Session {last}" in result.output and "pain next day 2" in result.output
    result = _invoke("log", first, "--pain-during", "3.5", "--effort", "6", "--shoes", "Clifton 9", "--pace", "6:00/km")
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        a, b = store.session(first), store.session(last)
    assert (a["pain_during"], a["effort"], a["shoes"], a["pace"]) == (3.5, 6.0, "Clifton 9", "6:00/km")
    assert (b["pain_next_day"], b["terrain"], b["notes"]) == (2.0, "trail", "calf tight")
    assert _invoke("log", "--pain-during", "11").exit_code == 2
    assert "no session 99" in _one_line_error(_invoke("log", "99", "--effort", "3"))


def test_export_csv_and_json(db: Path, tmp_path: Path) -> None:
    with Store(db) as store:
        a = _session(store, datetime(2026, 2, 2, 7, tzinfo=CET), tempo=168, cadence=166, sync=80, retention=0.9, pain=1)
        b = _session(store, datetime(2026, 2, 5, 7, tzinfo=CET), tempo=168, cadence=167, sync=75, retention=0.85)
    result = _invoke("export", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [int(r["id"]) for r in rows] == [a, b]
    assert float(rows[0]["cadence_spm"]) == 166.0 and rows[0]["pain_during"] == "1.0" and rows[1]["pain_during"] == ""
    result = _invoke("export", "--format", "csv", "--what", "steps", "--session", b)
    steps = list(csv.DictReader(io.StringIO(result.output)))
    assert len(steps) == 30 and {s["session_id"] for s in steps} == {str(b)}
    np.testing.assert_allclose([float(s["time_s"]) for s in steps], np.arange(30) * 60 / 167, atol=1e-12)
    out = tmp_path / "all.json"
    result = _invoke("export", "--format", "json", "--what", "sessions", "-o", out)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [s["id"] for s in data["sessions"]] == [a, b]
    assert data["sessions"][0]["intervals"][0]["in_sync_pct"] == 80.0
    assert data["sessions"][0]["latency"] == {"output_s": 0.01}
    steps_json = json.loads(_invoke("export", "--format", "json", "--what", "steps").output)["steps"]
    assert len(steps_json) == 60
    assert "no session 7" in _one_line_error(_invoke("export", "--format", "json", "--session", "7"))


def _plan_files(tmp_path: Path, *args: str) -> tuple[dict, list[Path]]:
    out_dir = tmp_path / "plans"
    result = _invoke("plan", *args, "--start", "2026-01-05", "--write", out_dir, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output), sorted(out_dir.glob("*.toml"))


def test_plan_writes_toml_that_load_plan_parses(db: Path, tmp_path: Path) -> None:
    baseline = 163.0
    program, files = _plan_files(tmp_path, "--baseline", baseline, "--weeks", "8")
    sessions = program["sessions"]
    assert len(files) == len(sessions) == 16
    assert [s["kind"] for s in sessions[:6]] == ["intervals", "strides", "drills"] * 2
    assert sessions[0]["target_spm"] == 172.0 and not sessions[0]["provisional"]
    assert sessions[0]["date"] == "2026-01-06" and sessions[1]["date"] == "2026-01-09"
    cap_spm = math.floor(baseline * 1.10)  # 179
    for s, path in zip(sorted(sessions, key=lambda s: Path(s["file"]).name), files):
        plan = load_plan(str(path), target_spm=s["target_spm"], baseline_spm=baseline)
        total_s = sum(seg.duration_s for seg in plan.segments)
        assert total_s == pytest.approx(20 * 60, abs=1e-9), path.name
        assert max(max(seg.start_spm, seg.end_spm) for seg in plan.segments) <= cap_spm
        assert not plan.segments[0].sounding and plan.segments[0].duration_s == 300.0  # warm-up
        assert not plan.segments[-1].sounding and plan.segments[-1].duration_s == 300.0  # cool-down
        assert any(seg.sounding and seg.start_spm == s["target_spm"] for seg in plan.segments)
    assert max(s["target_spm"] for s in sessions) == cap_spm
    assert all(s["target_spm"] >= 172.0 for s in sessions)


def test_plan_moves_target_only_when_history_holds(db: Path, tmp_path: Path) -> None:
    with Store(db) as store:
        store.add_baseline(160.0, measured_at=datetime(2026, 1, 1, tzinfo=CET))
        _session(store, datetime(2026, 1, 6, 7, tzinfo=CET), tempo=168, cadence=167, sync=60, retention=0.9)
        _session(store, datetime(2026, 1, 9, 7, tzinfo=CET), tempo=168, cadence=167, sync=62, retention=0.9)
    program, _ = _plan_files(tmp_path / "a", "--weeks", "6")
    assert program["current_target_spm"] == 168.0 and not program["holds"]
    assert program["sessions"][0]["target_spm"] == 168.0
    with Store(db) as store:
        _session(store, datetime(2026, 1, 13, 7, tzinfo=CET), tempo=168, cadence=168, sync=80, retention=0.9)
        _session(store, datetime(2026, 1, 16, 7, tzinfo=CET), tempo=168, cadence=168, sync=84, retention=0.95)
    program, files = _plan_files(tmp_path / "b", "--weeks", "6")
    assert program["holds"] and program["sessions"][0]["target_spm"] == 172.0
    assert max(s["target_spm"] for s in program["sessions"]) <= 176.0
    assert len(files) == 12
    text = _invoke("plan", "--weeks", "6", "--start", "2026-01-19").output
    assert "History: target 168 spm held; moving up." in text and "W1 2026-01-20 intervals 172 spm" in text


def test_plan_bad_input(db: Path) -> None:
    assert "no baseline yet" in _one_line_error(_invoke("plan"))
    assert _invoke("plan", "--baseline", "81").exit_code == 2  # strides/min, not steps/min
    assert _invoke("plan", "--baseline", "160", "--weeks", "12").exit_code == 2
    assert _invoke("plan", "--baseline", "160", "--start", "next week").exit_code == 2


def test_plan_run_hint_works_with_cadence_run(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command `cadence plan --write` prints for a session runs as printed (here on a
    recording instead of the microphone)."""
    import shlex

    result = _invoke("plan", "--baseline", "163", "--weeks", "6", "--start", "2026-01-05", "--write", tmp_path / "p")
    assert result.exit_code == 0, result.output
    hint = next(ln for ln in result.output.splitlines() if ln.startswith("Run a session with: "))
    args = shlex.split(hint.removeprefix("Run a session with: ").split("   (")[0])
    assert args[:2] == ["cadence", "run"]
    report = tmp_path / "report.json"
    run = _invoke(*args[1:], "--input-file", SAMPLES / "treadmill_console.wav", "--fast", "--json-report", report)
    assert run.exit_code == 0, run.output
    doc = json.loads(report.read_text())
    assert doc["settings"]["target_spm"] == 172.0 and doc["settings"]["baseline_spm"] == 163.0
    assert doc["intervals"][0]["label"] == "warm-up (easy, no ticks)" and not doc["intervals"][0]["sounding"]
