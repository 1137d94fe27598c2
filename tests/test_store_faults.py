"""Storage faults during a session, on real SQLite files and real processes: a disk that fills up
(a real, tiny tmpfs mounted in a private mount namespace), another connection holding the write
lock for longer than the busy timeout, and the JSON report into a directory that cannot take it.

The session goes on (ticks never wait for storage), what could not be written is kept and retried,
and at the end the report is printed and the runner is told where the data went; the real cause
is shown (SQLite's "database or disk is full" / "database is locked", never "cannot rollback")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from coach.store import Store
from conftest import ROOT
from test_cli_session import _runner_file

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _cadence(*args: str | Path, db: Path, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**ENV, "CADENCE_DB": str(db)})


def _in_tmpfs(tmp_path: Path, size: str, command: list[str], *, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``command`` with a fresh tmpfs of ``size`` mounted on ``tmp_path/fs`` (a private mount
    namespace: nothing to clean up, nothing visible to other processes); afterwards its files are
    copied to ``tmp_path/after``."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("these tests need util-linux's unshare (a private mount namespace for a tiny tmpfs)")
    ns = [unshare, "--mount"] if os.geteuid() == 0 else [unshare, "--user", "--map-root-user", "--mount"]
    fs, after = tmp_path / "fs", tmp_path / "after"
    fs.mkdir()
    after.mkdir()
    script = 'mount -t tmpfs -o size="$1" tmpfs "$2" || exit 99; fs="$2"; out="$3"; shift 3; "$@"; rc=$?; ' \
             'cp -a "$fs"/. "$out"/; exit $rc'
    proc = subprocess.run([*ns, "sh", "-c", script, "sh", size, str(fs), str(after), *command], capture_output=True,
                          text=True, timeout=timeout, env=ENV, cwd=tmp_path)
    if proc.returncode == 99:
        pytest.fail(f"cannot mount a tmpfs in a private mount namespace: {proc.stderr.strip()}")
    return proc


FILL = textwrap.dedent(
    """
    def fill(folder, leave_bytes=0):
        '''Fill the file system of `folder` up to `leave_bytes` free (a real ENOSPC after that).'''
        import os
        path = os.path.join(folder, "filler")
        with open(path, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\\0" * 4096)
            except OSError:
                pass
            if leave_bytes:
                f.truncate(max(os.path.getsize(path) - leave_bytes, 0))
        return path
    """
)


def test_disk_full_mid_session_is_buffered_retried_and_saved(tmp_path: Path) -> None:
    """The session log on a real tmpfs that fills up: writes fail with the real cause, the session's
    calls never wait, and once space is freed everything lands in order."""
    script = FILL + textwrap.dedent(
        """
        import json, os, sqlite3, sys, time
        from datetime import datetime, timezone
        from coach.store import SessionStoreLog, Store
        fs = sys.argv[1]
        store = Store(os.path.join(fs, "h.db"))
        log = SessionStoreLog(store, kind="simulated", settings={"target_spm": 172})
        log.start(datetime.now(timezone.utc))
        batch = lambda k: [{"time_s": 0.35 * (20 * k + j), "foot": "LR"[j % 2], "seq": 20 * k + j} for j in range(20)]
        for k in range(10):
            log.add_steps(batch(k))
        while log.unsaved:
            time.sleep(0.01)
        filler = fill(fs)
        try:  # the store itself shows the real cause, not the failed ROLLBACK's
            store.add_steps(log.session_id, batch(999))
            direct = "no error"
        except sqlite3.Error as exc:
            direct = str(exc)
        worst_s = 0.0
        for k in range(10, 60):
            t = time.perf_counter()
            log.add_steps(batch(k))
            log.add_beats([{"time_s": 0.35 * k, "accent": False, "sounding": True}])
            worst_s = max(worst_s, time.perf_counter() - t)
            time.sleep(0.02)
        failing, unsaved = log.failing, log.unsaved
        os.unlink(filler)  # space again: the buffered writes land
        log.finish({"duration_s": 21.0, "summary": {"n_steps": 1200}})
        result = log.wait()
        seqs = [s["seq"] for s in store.steps(log.session_id)]
        print(json.dumps({"direct": direct, "worst_s": worst_s, "failing": failing, "unsaved": unsaved,
                          "saved": result.saved, "errors": result.errors, "failed": result.failed_attempts,
                          "message": result.message(), "seqs": seqs, "status": store.session(log.session_id)["status"],
                          "beats": len(store.beats(log.session_id))}))
        """
    )
    proc = _in_tmpfs(tmp_path, "8m", [sys.executable, "-c", script, str(tmp_path / "fs")])
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["direct"] == "database or disk is full"
    assert out["worst_s"] < 0.05, "the session never waits for storage"
    assert out["failing"] == "database or disk is full" and out["unsaved"] >= 50
    assert out["saved"] and out["status"] == "complete" and out["errors"] == ["database or disk is full"]
    assert out["failed"] >= 1 and "retried, all saved" in out["message"]
    assert out["seqs"] == list(range(1200)), "everything, in order, nothing twice"
    assert out["beats"] == 50


def test_disk_full_run_prints_the_report_and_keeps_the_session_in_a_fallback_file(tmp_path: Path) -> None:
    """`cadence run` with its history on a tmpfs that fills up early in the session: the session runs
    to its end, the report is printed, the exit is non-zero with the real cause, and the whole
    session is in a fallback file (beside the database is full too: the working directory), which
    `cadence history --import` puts into the history once there is space."""
    wav, _ = _runner_file(tmp_path, 168.0, 90.0)
    work = tmp_path / "work"
    work.mkdir()
    script = FILL + textwrap.dedent(
        """
        import os, subprocess, sys
        from coach.store import Store
        fs, wav, work = sys.argv[1:4]
        db = os.path.join(fs, "h.db")
        Store(db).close()
        fill(fs, leave_bytes=160 * 1024)  # a few writes fit, then the disk is full
        proc = subprocess.run([sys.executable, "-m", "cli", "run", "--baseline", "160", "--input-file", wav, "--fast",
                               "--ramp", "0", "--json-report", os.path.join(work, "report.json")], cwd=work,
                              env={**os.environ, "CADENCE_DB": db})
        os.unlink(os.path.join(fs, "filler"))
        sys.exit(proc.returncode)
        """
    )
    proc = _in_tmpfs(tmp_path, "1m", [sys.executable, "-c", script, str(tmp_path / "fs"), str(wav), str(work)])
    assert proc.returncode == 1, proc.stderr
    assert "Session: 1:30" in proc.stdout, "the report is printed"
    (fallback,) = work.glob("h-unsaved-session-*.json")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, proc.stderr
    assert "database or disk is full" in errors[0] and str(fallback) in errors[0] and "cannot rollback" not in proc.stderr
    report = json.loads((work / "report.json").read_text())
    kept = json.loads(fallback.read_text())
    assert kept["steps"] == report["steps"] and kept["beats"] == report["beats"] and len(report["steps"]) > 200
    assert kept["history"]["errors"] == ["database or disk is full"]
    db = tmp_path / "after" / "h.db"
    with Store(db) as store:  # what got in before the disk filled up: a partial, incomplete session
        (partial,) = store.sessions()
        assert partial["status"] == "incomplete" and 0 < partial["n_steps"] < len(report["steps"])
    imported = _cadence("history", "--import", fallback, db=db, cwd=work)
    assert imported.returncode == 0, imported.stderr
    with Store(db) as store:  # the partial record is replaced by the whole session
        (s,) = store.sessions()
        assert s["status"] == "complete" and s["n_steps"] == len(report["steps"]) and s["n_beats"] == len(report["beats"])
        assert [x["time_s"] for x in store.steps(s["id"])] == [x["time_s"] for x in report["steps"]]
        assert s["audio_duration_s"] == pytest.approx(90.0, abs=0.1)
    again = _cadence("history", "--import", fallback, db=db, cwd=work)
    assert again.returncode == 1 and "already in" in again.stderr and again.stderr.count("\n") == 1


LOCKER = textwrap.dedent(
    """
    import sqlite3, sys, time
    db, wait_for_session, hold_s = sys.argv[1], sys.argv[2] == "1", float(sys.argv[3])
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    while wait_for_session and not conn.execute("SELECT count(*) FROM sessions").fetchone()[0]:
        time.sleep(0.05)
    conn.execute("BEGIN IMMEDIATE")  # the write lock: every other writer gets "database is locked"
    print("locked", flush=True)
    time.sleep(hold_s)
    conn.execute("COMMIT")
    print("released", flush=True)
    """
)


def _locker(db: Path, *, wait_for_session: bool, hold_s: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(db), "1" if wait_for_session else "0", str(hold_s)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


def test_database_locked_longer_than_the_busy_timeout_session_goes_on(tmp_path: Path) -> None:
    """Another connection holds the write lock for 20 s (> the 15 s busy timeout) in the middle of a
    real-time session: the session keeps its pace, the writes wait and land after the lock is gone."""
    db = tmp_path / "h.db"
    Store(db).close()
    wav, _ = _runner_file(tmp_path, 168.0, 30.0)
    locker = _locker(db, wait_for_session=True, hold_s=20.0)
    t0 = time.monotonic()
    proc = _cadence("run", "--baseline", "160", "--input-file", wav, "--ramp", "0", "--json-report",
                    tmp_path / "r.json", db=db, cwd=tmp_path)
    wall_s = time.monotonic() - t0
    out, err = locker.communicate(timeout=30)
    assert out.split() == ["locked", "released"], err
    assert proc.returncode == 0, proc.stderr
    assert wall_s < 30.0 + 8.0, f"the session kept its pace ({wall_s:.1f} s for 30 s of audio)"
    assert "database is locked" in proc.stderr and "retried, all saved" in proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    with Store(db) as store:
        (s,) = store.sessions()
        assert s["status"] == "complete"
        assert [x["time_s"] for x in store.steps(s["id"])] == [x["time_s"] for x in report["steps"]]
        assert [x["time_s"] for x in store.beats(s["id"])] == [x["time_s"] for x in report["beats"]]
        assert len(s["intervals"]) == len(report["intervals"])


def test_database_locked_through_the_end_goes_to_a_fallback_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    Store(db).close()
    wav, _ = _runner_file(tmp_path, 168.0, 60.0)
    locker = _locker(db, wait_for_session=False, hold_s=60.0)
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    try:
        proc = _cadence("run", "--baseline", "160", "--input-file", wav, "--fast", "--ramp", "0", db=db, cwd=tmp_path)
    finally:
        locker.kill()
        locker.communicate()
    assert proc.returncode == 1
    assert "Session: 1:00" in proc.stdout
    (fallback,) = tmp_path.glob("h-unsaved-session-*.json")
    assert proc.stderr.strip().splitlines()[-1] == (
        f"Error: history: could not write to {db} (database is locked); the whole session is in {fallback} "
        f"(once the database works: cadence history --import {fallback})")
    imported = _cadence("history", "--import", fallback, db=db, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    kept = json.loads(fallback.read_text())
    with Store(db) as store:
        (s,) = store.sessions()
        assert s["status"] == "complete" and s["n_steps"] == len(kept["steps"]) > 100


def test_json_report_into_an_unwritable_directory_is_refused_before_the_session(tmp_path: Path) -> None:
    """Checked before anything starts: one line, non-zero exit, no session in the history."""
    wav, _ = _runner_file(tmp_path, 168.0, 10.0)
    locked = tmp_path / "ro"
    locked.mkdir()
    db = tmp_path / "h.db"
    if os.geteuid() == 0:  # root writes anywhere: make it a read-only mount
        script = 'mount -t tmpfs -o ro,size=64k tmpfs "$1" || exit 99; shift; exec "$@"'
        cmd = [shutil.which("unshare") or "unshare", "--mount", "sh", "-c", script, "sh", str(locked)]
    else:
        locked.chmod(0o500)
        cmd = []
    proc = subprocess.run([*cmd, sys.executable, "-m", "cli", "run", "--baseline", "160", "--input-file", str(wav),
                           "--fast", "--json-report", str(locked / "r.json")], capture_output=True, text=True,
                          timeout=120, env={**ENV, "CADENCE_DB": str(db)}, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"Error: cannot write the report to {locked / 'r.json'}")
    assert "Read-only file system" in proc.stderr or "Permission denied" in proc.stderr
    assert ".tmp" not in proc.stderr and proc.stdout == ""
    assert not db.exists() or Store(db).sessions() == []


def test_json_report_write_failing_after_the_session_still_prints_the_report(tmp_path: Path) -> None:
    """The directory takes the probe but not the report (a tmpfs nearly full): the report is on
    screen first, the message names the report, not its temporary file, and the exit is 1."""
    wav, _ = _runner_file(tmp_path, 168.0, 120.0)
    script = FILL + textwrap.dedent(
        """
        import os, subprocess, sys
        fs, wav = sys.argv[1:3]
        fill(fs, leave_bytes=4096)
        proc = subprocess.run([sys.executable, "-m", "cli", "run", "--baseline", "160", "--input-file", wav, "--fast",
                               "--no-save", "--json-report", os.path.join(fs, "r.json")])
        os.unlink(os.path.join(fs, "filler"))
        sys.exit(proc.returncode)
        """
    )
    proc = _in_tmpfs(tmp_path, "256k", [sys.executable, "-c", script, str(tmp_path / "fs"), str(wav)])
    assert proc.returncode == 1, proc.stderr
    assert "Session: 2:00" in proc.stdout
    report = tmp_path / "fs" / "r.json"
    errors = [line for line in proc.stderr.splitlines() if "rror" in line or ".tmp" in line]
    assert errors == [f"Error: cannot write the report to {report}: No space left on device"]
    assert sorted(p.name for p in (tmp_path / "after").iterdir()) == [], "no half-written report, no .tmp left"
