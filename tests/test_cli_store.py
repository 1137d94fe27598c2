"""The SQLite history store on real database files: round trip, incomplete sessions, concurrent
writer processes, a writer killed with SIGKILL mid-session, schema upgrade from version 1, and
weekly aggregation across a year boundary and time zones."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from coach.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError, default_db_path, weekly_averages

ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc
NEW_YORK_WINTER = timezone(timedelta(hours=-5))
TOKYO = timezone(timedelta(hours=9))


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_session_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with Store(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        sid = store.begin_session(kind="live", started_at=datetime(2026, 3, 2, 7, 30, tzinfo=TOKYO),
                                  settings={"target_spm": 172.0, "plan": "intervals"}, device="USB mic",
                                  latency={"output_s": 0.012, "input_s": 0.008})
        store.add_steps(sid, [{"time_s": 0.35 * k, "foot": "LR"[k % 2], "asynchrony_ms": None if k == 0 else -4.5,
                               "confidence": 0.9, "peak_db": -20.0} for k in range(20)])
        store.add_beats(sid, [{"time_s": 0.349 * k, "accent": k % 4 == 0, "sounding": True} for k in range(20)])
        store.add_interval(sid, {"label": "on", "start_s": 0.0, "end_s": 120.0, "cadence_spm": 171.0,
                                 "tempo_spm": 172.0, "mean_asynchrony_ms": -5.0, "sd_asynchrony_ms": 20.0,
                                 "in_sync_pct": 80.0, "R": 0.9, "drift_ms_per_min": 1.5, "retention": None})
        store.add_interval(sid, {"label": "off", "start_s": 120.0, "end_s": 180.0, "cadence_spm": 168.0,
                                 "tempo_spm": 172.0, "retention": 0.7})
        mid = store.session(sid)
        assert mid["status"] == "incomplete" and mid["n_steps"] == 20 and mid["n_beats"] == 20
        store.end_session(sid, {"in_sync_pct": 78.0}, ended_at=datetime(2026, 3, 2, 7, 50, tzinfo=TOKYO))
        store.set_notes(sid, pace="5:30/km", terrain="track", shoes="Pegasus", pain_during=2, effort=5, notes="ok")
    with Store(db) as store:  # reopened: everything is on disk
        s = store.session(sid)
        assert s["status"] == "complete" and s["device"] == "USB mic"
        assert s["started_at"] == "2026-03-02T07:30:00.000000+09:00"
        assert s["started_at_utc"] == "2026-03-01T22:30:00.000000+00:00"
        assert s["settings"]["plan"] == "intervals" and s["latency"]["output_s"] == 0.012
        np.testing.assert_allclose(s["cadence_spm"], (171 * 120 + 168 * 60) / 180, rtol=1e-12)
        assert s["in_sync_pct"] == 78.0  # the summary wins over the intervals
        assert s["tempo_spm"] == 172.0 and s["retention"] == 0.7
        assert (s["pace"], s["terrain"], s["shoes"], s["pain_during"], s["effort"]) == ("5:30/km", "track", "Pegasus", 2.0, 5.0)
        steps = store.steps(sid)
        assert steps[0]["asynchrony_ms"] is None and steps[1]["asynchrony_ms"] == -4.5
        assert steps[3]["foot"] == "R" and steps[3]["peak_db"] == -20.0
        assert store.beats(sid)[4]["accent"] is True
        ivs = store.intervals(sid)
        assert [iv["label"] for iv in ivs] == ["on", "off"] and ivs[0]["resultant_r"] == 0.9
    assert _integrity(db) == "ok"


def test_bad_values_and_files(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        sid = store.begin_session(kind="live", started_at=datetime.now(UTC), settings={})
        with pytest.raises(StoreError, match="pain during must be 0-10, got 11"):
            store.set_notes(sid, pain_during=11)
        with pytest.raises(StoreError, match="unknown note field"):
            store.set_notes(sid, mood="great")
        with pytest.raises(StoreError, match="no session 99"):
            store.set_notes(99, pain_next_day=1)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database, just bytes" * 100)
    with pytest.raises(StoreError, match="not a cadence database"):
        Store(junk)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER)")
    with pytest.raises(StoreError, match="not a cadence database"):
        Store(other)
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)


def test_default_path_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENCE_DB", str(tmp_path / "env" / "x.db"))
    assert default_db_path() == tmp_path / "env" / "x.db"
    with Store() as store:
        assert store.path == tmp_path / "env" / "x.db" and store.path.is_file()
    monkeypatch.delenv("CADENCE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "cadence" / "cadence.db"


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from coach.store import Store
    db, tag, n_batches, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = Store(db)
    sid = store.begin_session(kind="simulated", started_at=datetime.now(timezone.utc), settings={"tag": tag})
    print("session", sid, flush=True)
    if len(sys.argv) > 5:  # wait for the parent's go, so that all writers start together
        sys.stdin.readline()
    for k in range(n_batches):
        store.add_steps(sid, [{"time_s": (k * batch + j) * 0.35, "foot": None, "seq": k * batch + j}
                              for j in range(batch)])
        store.add_interval(sid, {"label": f"b{k}", "start_s": k, "end_s": k + 1, "cadence_spm": 170.0})
        print("committed", k + 1, flush=True)
    if n_batches < 10**6:
        store.end_session(sid, {"n": n_batches}, datetime.now(timezone.utc))
    print("done", flush=True)
    """
)


def _writer(db: Path, tag: str, n_batches: int, batch: int, *, wait: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db), tag, str(n_batches), str(batch)] + ["wait"] * wait,
                            cwd=ROOT, stdin=subprocess.PIPE if wait else None, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_concurrent_writer_processes(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    procs = [_writer(db, f"w{k}", 200, 5, wait=True) for k in range(4)]  # four processes open (migrate) at once
    for p in procs:  # all have a session; then all write at once
        assert p.stdout.readline().startswith("session"), p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip().endswith("done")
    with Store(db) as store:
        sessions = store.sessions()
        assert sorted(s["settings"]["tag"] for s in sessions) == ["w0", "w1", "w2", "w3"]
        for s in sessions:
            assert s["status"] == "complete" and s["n_steps"] == 1000 and len(s["intervals"]) == 200
            seqs = [st["seq"] for st in store.steps(s["id"])]
            assert seqs == list(range(1000))
            assert [iv["label"] for iv in s["intervals"]] == [f"b{k}" for k in range(200)]
        assert store.schema_version == SCHEMA_VERSION
    with sqlite3.connect(db) as conn:  # the writers really overlapped: their rows interleave
        spans = conn.execute("SELECT min(rowid), max(rowid) FROM steps GROUP BY session_id").fetchall()
    conn.close()
    spans.sort()
    assert sum(spans[k + 1][0] < spans[k][1] for k in range(len(spans) - 1)) >= 1, spans
    assert _integrity(db) == "ok"


def test_writer_killed_mid_session_loses_at_most_the_last_write(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    batch = 50
    proc = _writer(db, "victim", 10**6, batch)  # never ends on its own
    acked = 0
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("session"), proc.stderr.read() if proc.stderr else line
        sid = int(line.split()[1])
        deadline = time.monotonic() + 60
        while acked < 40 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("committed"):
                acked = int(line.split()[1])
        os.kill(proc.pid, signal.SIGKILL)  # while it is writing the next batches
    finally:
        proc.kill()
        proc.wait(timeout=30)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == -signal.SIGKILL
    assert acked == 40
    assert _integrity(db) == "ok"
    with Store(db) as store:
        s = store.session(sid)
        assert s["status"] == "incomplete" and s["ended_at"] is None
        seqs = [st["seq"] for st in store.steps(sid)]
        # Every acknowledged batch is there; batches are all-or-nothing; no holes.
        assert len(seqs) >= acked * batch and len(seqs) % batch == 0
        assert seqs == list(range(len(seqs)))
        # Steps and interval of a batch are separate writes: at most one interval behind.
        assert len(seqs) // batch - 1 <= len(s["intervals"]) <= len(seqs) // batch
        # The database stays writable: the killed session can be annotated afterwards.
        store.set_notes(sid, notes="watch died", pain_next_day=1)
        assert store.session(sid)["pain_next_day"] == 1.0


def test_upgrade_from_schema_version_1(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    with sqlite3.connect(db) as conn:  # what a cadence with schema version 1 wrote
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO sessions (kind, started_at, started_at_utc, settings, notes, ended_at, summary) "
                     "VALUES ('live', '2025-06-01T08:00:00+02:00', '2025-06-01T06:00:00+00:00', "
                     "'{\"target_spm\": 170}', 'old run', '2025-06-01T08:20:00+02:00', '{}')")
        conn.executemany("INSERT INTO steps (session_id, time_s, foot) VALUES (1, ?, 'L')", [(k * 0.36,) for k in range(30)])
        conn.execute("INSERT INTO baselines (measured_at, baseline_spm, method) VALUES ('2025-05-30T08:00:00+02:00', 162.5, 'fit')")
    with Store(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        s = store.session(1)
        assert s["notes"] == "old run" and s["n_steps"] == 30 and s["pain_during"] is None
        assert s["tempo_spm"] == 170.0
        store.set_notes(1, pain_during=3, shoes="old ones")
        assert store.session(1)["shoes"] == "old ones"
        assert store.latest_baseline()["baseline_spm"] == 162.5
    with sqlite3.connect(db) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"steps_session", "sessions_started"} <= indexes
    # A database from a newer cadence is refused, not guessed at.
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this cadence"):
        Store(db)


def _s(started: datetime, cadence: float, pain: float | None = None) -> dict:
    return {"started_at": started.isoformat(), "cadence_spm": cadence, "tempo_spm": 172.0, "in_sync_pct": None,
            "mean_asynchrony_ms": None, "retention": None, "pain_during": pain, "pain_next_day": None, "effort": None}


def test_weekly_across_year_boundary() -> None:
    # ISO weeks: Mon 29 Dec 2025 - Sun 4 Jan 2026 is 2026-W01; 28 Dec 2025 is 2025-W52.
    sessions = [
        _s(datetime(2025, 12, 28, 9, 0, tzinfo=UTC), 160.0),
        _s(datetime(2025, 12, 30, 9, 0, tzinfo=UTC), 164.0, pain=3),
        _s(datetime(2026, 1, 3, 9, 0, tzinfo=UTC), 168.0, pain=1),
        _s(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), 170.0),
        # 2026 has 53 ISO weeks: 31 Dec 2026 and 2 Jan 2027 share 2026-W53.
        _s(datetime(2026, 12, 31, 9, 0, tzinfo=UTC), 172.0),
        _s(datetime(2027, 1, 2, 9, 0, tzinfo=UTC), 174.0),
        _s(datetime(2027, 1, 4, 9, 0, tzinfo=UTC), 176.0),
    ]
    weeks = weekly_averages(sessions)
    assert [w["week"] for w in weeks] == ["2025-W52", "2026-W01", "2026-W02", "2026-W53", "2027-W01"]
    assert [w["week_start"] for w in weeks] == ["2025-12-22", "2025-12-29", "2026-01-05", "2026-12-28", "2027-01-04"]
    assert [w["n_sessions"] for w in weeks] == [1, 2, 1, 2, 1]
    np.testing.assert_allclose([w["cadence_spm"] for w in weeks], [160, 166, 170, 173, 176], rtol=1e-12)
    assert weeks[1]["pain_during"] == 2.0 and weeks[0]["pain_during"] is None


def test_weekly_uses_the_runners_local_calendar(tmp_path: Path) -> None:
    with Store(tmp_path / "tz.db") as store:
        # Sunday 23:30 in New York is Monday 04:30 UTC: it belongs to the runner's Sunday week.
        a = store.begin_session(kind="live", started_at=datetime(2026, 1, 4, 23, 30, tzinfo=NEW_YORK_WINTER), settings={})
        # Monday 06:00 in Tokyo is Sunday 21:00 UTC: it belongs to the runner's Monday week.
        b = store.begin_session(kind="live", started_at=datetime(2026, 1, 5, 6, 0, tzinfo=TOKYO), settings={})
        for sid, cad in ((a, 160.0), (b, 170.0)):
            store.add_interval(sid, {"label": "on", "start_s": 0, "end_s": 60, "cadence_spm": cad})
        local = store.weekly()
        assert [(w["week"], w["cadence_spm"]) for w in local] == [("2026-W01", 160.0), ("2026-W02", 170.0)]
        # On one fixed calendar (UTC) the two swap weeks.
        in_utc = store.weekly(tz=UTC)
        assert [(w["week"], w["cadence_spm"]) for w in in_utc] == [("2026-W01", 170.0), ("2026-W02", 160.0)]
        # Sessions are ordered by the real instant, not the local wall-clock text.
        assert [s["id"] for s in store.sessions()] == [b, a]


def test_one_store_shared_by_threads(tmp_path: Path) -> None:
    """The live session writes steps from its detector thread while the main thread writes
    beats and intervals: one Store, several threads."""
    import threading

    with Store(tmp_path / "threads.db") as store:
        sid = store.begin_session(kind="live", started_at=datetime.now(UTC), settings={})

        def steps() -> None:
            for k in range(200):
                store.add_steps(sid, [{"time_s": k * 0.35, "foot": "LR"[k % 2]}])

        def beats() -> None:
            for k in range(200):
                store.add_beats(sid, [{"time_s": k * 0.35, "accent": False, "sounding": True}])
                if k % 50 == 0:
                    store.add_interval(sid, {"label": f"i{k}", "start_s": k, "end_s": k + 1})

        threads = [threading.Thread(target=steps), threading.Thread(target=beats)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        s = store.session(sid)
        assert (s["n_steps"], s["n_beats"], len(s["intervals"])) == (200, 200, 4)


def test_store_a_real_cadence_run_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A simulated `cadence run` (real detector on samples/treadmill_console.wav, 6 s on / 4 s
    off at 172 spm) stored through the Store API: the report's nested layout maps onto the
    columns and nothing is lost."""
    from click.testing import CliRunner

    from cli.main import cli
    from coach.store import store_report

    monkeypatch.setenv("CADENCE_DB", str(tmp_path / "run.db"))
    plan = tmp_path / "short.toml"
    plan.write_text('repeat = true\n[[segment]]\nlabel = "on"\nduration = "6s"\nspm = "target"\n'
                    '[[segment]]\nlabel = "off"\nduration = "4s"\nspm = "target"\nsound = false\n')
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["run", "--plan", str(plan), "--baseline", "163", "--target", "172", "--ramp", "0",
                                      "--input-file", str(ROOT / "samples" / "treadmill_console.wav"), "--fast",
                                      "--json-report", str(report_path)])
    assert result.exit_code == 0, result.output
    report = __import__("json").loads(report_path.read_text())
    with Store(tmp_path / "run.db") as store:  # `run` stored it already: not twice
        with pytest.raises(StoreError, match="already in .* as session 1"):
            store_report(store, report)
        assert len(store.sessions()) == 1
    with Store(tmp_path / "other.db") as store:
        sid = store_report(store, report)
        s = store.session(sid)
        assert s["status"] == "complete" and s["kind"] == report["settings"]["kind"]
        assert (s["n_steps"], s["n_beats"], len(s["intervals"])) == (len(report["steps"]), len(report["beats"]),
                                                                      len(report["intervals"]))
        assert s["tempo_spm"] == 172.0
        assert s["in_sync_pct"] == pytest.approx(report["summary"]["asynchrony"]["within_pct"], abs=1e-12)
        assert s["cadence_spm"] == pytest.approx(report["summary"]["cadence_spm"], abs=1e-12)
        retained = []
        for stored, iv in zip(s["intervals"], report["intervals"]):
            assert stored["in_sync_pct"] == iv["asynchrony"]["within_pct"]
            assert stored["mean_asynchrony_ms"] == iv["asynchrony"]["mean_ms"]
            assert stored["asynchrony"] == iv["asynchrony"]  # the whole dict is kept
            if iv.get("retention"):
                assert stored["retention_detail"] == iv["retention"]
                assert stored["retention"] == pytest.approx(iv["retention"]["retained_pct"] / 100, abs=1e-12)
                retained.append((iv["end_s"] - iv["start_s"], iv["retention"]["retained_pct"] / 100))
        assert len(retained) >= 1
        assert s["retention"] == pytest.approx(sum(w * r for w, r in retained) / sum(w for w, _ in retained), abs=1e-12)
        steps = store.steps(sid)
        np.testing.assert_allclose([x["time_s"] for x in steps], [x["time_s"] for x in report["steps"]], atol=1e-12)
        assert [x["interval"] for x in steps] == [x["interval"] for x in report["steps"]]
        assert [b["spm"] for b in store.beats(sid)] == [b["spm"] for b in report["beats"]]


def test_upgrade_from_schema_version_2_status_abort_and_audio_duration(tmp_path: Path) -> None:
    """Version 3: a session status with an abort reason (aborted sessions are left out of the
    weekly view and are not 'last'), and the audio duration stored apart from the wall clock."""
    db = tmp_path / "v2.db"
    with sqlite3.connect(db) as conn:  # what a cadence with schema version 2 wrote
        for statement in (*MIGRATIONS[0], *MIGRATIONS[1]):
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 2")
        conn.execute("INSERT INTO sessions (kind, started_at, started_at_utc, ended_at, summary) VALUES ('live', "
                     "'2026-03-02T08:00:00+01:00', '2026-03-02T07:00:00+00:00', '2026-03-02T08:20:00+01:00', "
                     "'{\"duration_s\": 1200.5, \"n_steps\": 3400}')")
        conn.execute("INSERT INTO sessions (kind, started_at, started_at_utc) VALUES ('live', "
                     "'2026-03-03T08:00:00+01:00', '2026-03-03T07:00:00+00:00')")  # killed mid-session
    with Store(db) as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        old, killed = store.sessions()
        assert (old["status"], old["audio_duration_s"], old["abort_reason"]) == ("complete", 1200.5, None)
        assert (killed["status"], killed["audio_duration_s"]) == ("incomplete", None)
        for sid in (old["id"], killed["id"]):
            store.add_interval(sid, {"label": "on", "start_s": 0, "end_s": 60, "cadence_spm": 170.0})
        aborted = store.begin_session(kind="live", started_at=datetime(2026, 3, 4, 8, tzinfo=UTC), settings={})
        store.add_interval(aborted, {"label": "on", "start_s": 0, "end_s": 20, "cadence_spm": 150.0})
        store.abort_session(aborted, "the audio stream stopped after 0:20:\n device unplugged",
                            summary={"duration_s": 20.2}, ended_at=datetime(2026, 3, 4, 8, 0, 21, tzinfo=UTC))
        with pytest.raises(StoreError, match="needs a reason"):
            store.abort_session(aborted, "  ")
        s = store.session(aborted)
        assert s["status"] == "aborted" and s["abort_reason"] == "the audio stream stopped after 0:20: device unplugged"
        assert s["audio_duration_s"] == 20.2 and s["ended_at"] == "2026-03-04T08:00:21.000000+00:00"
        (week,) = store.weekly(tz=UTC)  # the aborted session is not counted
        assert week["n_sessions"] == 2 and week["cadence_spm"] == 170.0
        assert store.last_session_id() == killed["id"]
        complete = store.begin_session(kind="simulated", started_at=datetime(2026, 3, 5, 8, tzinfo=UTC), settings={})
        store.end_session(complete, {"duration_s": 600.0}, datetime(2026, 3, 5, 8, 0, 4, tzinfo=UTC))
        s = store.session(complete)
        assert (s["status"], s["audio_duration_s"], s["ended_at"]) == ("complete", 600.0, "2026-03-05T08:00:04.000000+00:00")
    with sqlite3.connect(db) as conn:  # the status is constrained in the schema itself
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE sessions SET status = 'done' WHERE id = 1")
    conn.close()
    assert _integrity(db) == "ok"


def test_session_log_rows(tmp_path: Path) -> None:
    """The session log creates its row with the first write, closes it complete or aborted, and
    leaves no row for a session aborted with nothing measured (in its first second without a
    footfall, or without a footfall or a tick), even one it had begun; one that ticked and then
    failed stays, as aborted, footfalls or not."""
    from coach.store import SessionStoreLog

    with Store(tmp_path / "log.db") as store:
        never = SessionStoreLog(store, kind="live", settings={})
        never.start(datetime(2026, 3, 1, 7, tzinfo=UTC))
        assert store.sessions() == [] and never.session_id is None  # nothing written yet, no row
        begun = SessionStoreLog(store, kind="live", settings={})
        begun.start(datetime(2026, 3, 2, 7, tzinfo=UTC))
        begun.add_beats([{"time_s": 0.35 * k, "accent": False, "sounding": True} for k in range(10)])
        begun.add_interval({"label": "warm-up", "start_s": 0, "end_s": 3.5})
        deadline = time.monotonic() + 10
        while begun.unsaved and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [s["status"] for s in store.sessions()] == ["incomplete"]
        begun.abort({"duration_s": 0.6, "summary": {"n_steps": 0}}, "the audio stream stopped")
        result = begun.wait()
        assert result.saved and result.session_id is None and result.message() is None
        assert store.sessions() == [] and store.beats(1) == []
        silent = SessionStoreLog(store, kind="live", settings={})
        silent.start(datetime(2026, 3, 2, 8, tzinfo=UTC))
        silent.add_beats([{"time_s": 0.35 * k, "accent": False, "sounding": True} for k in range(10)])
        silent.abort({"duration_s": 3.6, "summary": {"n_steps": 0, "n_beats": 10}}, "the sound server went away")
        result = silent.wait()
        (s,) = store.sessions()
        assert (s["id"], s["status"], s["abort_reason"], s["n_steps"]) == (
            result.session_id, "aborted", "the sound server went away", 0)
        store.delete_session(s["id"])
        ran = SessionStoreLog(store, kind="live", settings={})
        ran.start(datetime(2026, 3, 3, 7, tzinfo=UTC))
        ran.add_steps([{"time_s": 0.4, "foot": "L"}])
        ran.abort({"duration_s": 20.0, "summary": {"n_steps": 1}}, "the audio stream\nstopped after 0:20")
        result = ran.wait()
        assert result.saved and ran.wait() is result
        (s,) = store.sessions()
        assert (s["id"], s["status"], s["abort_reason"], s["n_steps"]) == (
            result.session_id, "aborted", "the audio stream stopped after 0:20", 1)
        assert s["started_at"].startswith("2026-03-03") and s["audio_duration_s"] == 20.0
        with pytest.raises(RuntimeError, match="closed"):
            ran.add_steps([{"time_s": 1.0}])


def test_duration_weighted_mean_of_interval_figures() -> None:
    """One mean for the session figures and the "held" rule: weighted by interval length,
    intervals without the figure skipped, unweighted when no interval has a length."""
    from coach.store.summaries import duration_weighted_mean

    ivs = [{"start_s": 0.0, "end_s": 300.0, "cadence_spm": 160.0}, {"start_s": 300.0, "end_s": 400.0,
                                                                    "cadence_spm": 180.0},
           {"start_s": 400.0, "end_s": 900.0, "cadence_spm": None}]
    assert duration_weighted_mean(ivs, "cadence_spm") == pytest.approx(165.0, abs=1e-12)
    assert duration_weighted_mean([{"cadence_spm": 160.0}, {"cadence_spm": 170.0}], "cadence_spm") == 165.0
    assert duration_weighted_mean(ivs, "retention") is None
