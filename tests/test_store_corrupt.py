"""A damaged history database: real pages of a real cadence database overwritten at several
positions (the file header, the schema, each table and index, the last page). Every command
answers with one line (what is wrong and how to recover), never "internal error"; nothing is
written into the damaged file; `cadence export` saves what is readable."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from cli.main import cli
from coach.store import Store

PAGE = 4096


def _history(path: Path) -> None:
    """Three sessions of 2500 footfalls and ticks each, notes and a baseline: ~150 pages."""
    t0 = datetime(2026, 2, 2, 7, tzinfo=timezone.utc)
    with Store(path) as store:
        store.add_baseline(162.0, measured_at=t0)
        for k in range(3):
            sid = store.begin_session(kind="live", started_at=t0 + timedelta(days=k), settings={"target_spm": 170.0})
            store.add_steps(sid, [{"time_s": 0.353 * j, "foot": "LR"[j % 2], "asynchrony_ms": -4.0, "confidence": 0.9,
                                   "interval": j // 400} for j in range(2500)])
            store.add_beats(sid, [{"time_s": 0.353 * j, "accent": j % 4 == 0, "sounding": True, "spm": 170.0}
                                  for j in range(2500)])
            store.add_interval(sid, {"label": "on", "sounding": True, "start_s": 0, "end_s": 880, "cadence_spm": 169.5,
                                     "tempo_spm": 170.0})
            store.end_session(sid, {"duration_s": 882.5}, t0 + timedelta(days=k, minutes=15))
            store.set_notes(sid, pain_during=2, shoes="old ones")
    with sqlite3.connect(path) as conn:  # everything in the main file, as after a clean exit
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _pages(path: Path) -> dict[str, int]:
    """A page of each b-tree (the middle one of each), from SQLite's own page map."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, pageno FROM dbstat ORDER BY name, pageno").fetchall()
    conn.close()
    by_name: dict[str, list[int]] = {}
    for name, page in rows:
        by_name.setdefault(name, []).append(page)
    return {name: pages[len(pages) // 2] for name, pages in by_name.items()}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("pristine") / "cadence.db"
    _history(path)
    return path, _pages(path)


POSITIONS = ["file header", "schema", "sessions", "steps", "beats", "steps_session", "beats_session", "intervals",
             "baselines", "last page"]


def _damage(src: Path, dst: Path, position: str, pages: dict[str, int]) -> None:
    shutil.copy(src, dst)
    data = bytearray(dst.read_bytes())
    garbage = np.random.default_rng(len(position)).integers(0, 256, PAGE, dtype=np.uint8).tobytes()
    if position == "file header":
        data[0:16] = b"NOT SQLITE AT AL"
    elif position == "schema":  # page 1 after the 100-byte file header: the schema's b-tree
        data[100:PAGE] = garbage[: PAGE - 100]
    else:
        page = len(data) // PAGE if position == "last page" else pages[position]
        data[(page - 1) * PAGE : page * PAGE] = garbage
    dst.write_bytes(bytes(data))


def _one_line(result: object) -> str:
    err = result.stderr  # type: ignore[attr-defined]
    assert err.count("\n") == 1 and err.startswith("Error: "), err
    assert "internal error" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("position", POSITIONS)
def test_damaged_database_one_line_and_no_writes(tmp_path: Path, pristine: tuple[Path, dict[str, int]],
                                                 position: str) -> None:
    src, pages = pristine
    assert set(POSITIONS) - {"file header", "schema", "last page"} <= set(pages)
    db = tmp_path / "cadence.db"
    _damage(src, db, position, pages)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    wav = tmp_path / "run.wav"
    soundfile.write(wav, np.zeros(3 * 16000, dtype=np.float32), 16000)
    runner = CliRunner()

    run = runner.invoke(cli, ["run", "--db", str(db), "--baseline", "160", "--input-file", str(wav), "--fast"])
    assert run.exit_code == 1
    err = _one_line(run)
    assert ("is damaged" in err and ("cadence export --format json" in err or ".recover" in err)
            or "not a cadence database" in err), err
    assert run.stdout == "", "no session was started"
    logged = runner.invoke(cli, ["log", "last", "--pain-during", "3", "--db", str(db)])
    assert logged.exit_code == 1 and _one_line(logged)
    for args in (["history"], ["target"], ["plan", "--baseline", "162"]):
        shown = runner.invoke(cli, [*args, "--db", str(db)])
        assert shown.exit_code == 0 or _one_line(shown), shown.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before, "nothing written into the damaged file"

    out = tmp_path / "rescued.json"
    exported = runner.invoke(cli, ["export", "--format", "json", "--db", str(db), "-o", str(out)])
    if position in ("file header", "schema"):  # SQLite itself cannot open it: only a backup or .recover
        message = _one_line(exported)
        assert exported.exit_code == 1 and ("not a cadence database" in message or ".recover" in message)
        return
    assert "is damaged" in exported.stderr.splitlines()[0] and "exporting what is readable" in exported.stderr
    assert "internal error" not in exported.stderr
    if exported.exit_code == 0:  # the damage is where sessions are not (steps, beats, indexes...)
        assert len(json.loads(out.read_text())["sessions"]) == 3
    else:
        assert exported.exit_code == 1 and exported.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def _export_damaged(tmp_path: Path, pristine: tuple[Path, dict[str, int]], position: str) -> tuple[Path, list]:
    """Damage ``position`` and export the sessions as JSON (expected to succeed): (db, sessions)."""
    src, pages = pristine
    db = tmp_path / "cadence.db"
    _damage(src, db, position, pages)
    out = tmp_path / "rescued.json"
    result = CliRunner().invoke(cli, ["export", "--format", "json", "--db", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return db, json.loads(out.read_text())["sessions"]


def test_export_saves_the_readable_sessions_of_a_damaged_database(tmp_path: Path,
                                                                  pristine: tuple[Path, dict[str, int]]) -> None:
    db, sessions = _export_damaged(tmp_path, pristine, "steps")
    assert [s["status"] for s in sessions] == ["complete"] * 3 and [s["shoes"] for s in sessions] == ["old ones"] * 3
    steps = CliRunner().invoke(cli, ["export", "--format", "csv", "--what", "steps", "--db", str(db), "-o",
                                     str(tmp_path / "steps.csv")])
    assert steps.exit_code == 1 and "could not be read from the damaged" in steps.stderr
    assert (tmp_path / "steps.csv").read_text().count("\n") >= 2500, "the sessions whose steps are readable"


def test_export_keeps_the_session_rows_when_their_intervals_are_unreadable(
        tmp_path: Path, pristine: tuple[Path, dict[str, int]]) -> None:
    _, sessions = _export_damaged(tmp_path, pristine, "intervals")
    assert [(s["id"], s["pain_during"], s["damaged"]) for s in sessions] == [
        (k, 2.0, "its intervals or counts are unreadable") for k in (1, 2, 3)]
