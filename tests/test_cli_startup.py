"""Fast start: commands import scipy, sounddevice and the audio stack only when they need them.

Each command runs in a real subprocess (``python -m cli ...``); at exit it reports the modules it
imported. The start-up times themselves are measured in ``benchmarks/bench_startup.py``.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
import pytest

from cli.main import LAZY_COMMANDS, cli
from conftest import ROOT

# Report sys.modules when the interpreter exits, whatever the command's exit status.
_PROBE = """
import atexit, json, os, sys
atexit.register(lambda: open(os.environ["MODULES_OUT"], "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["cadence", *sys.argv[1:]]
from cli.main import cli
cli()
"""

HEAVY = ("scipy", "sounddevice", "soundfile", "stepdetect", "coach.duplex", "metronome.engine", "metronome.clicks",
         "metronome.render", "coach.session")


def _imported(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MODULES_OUT": str(out), "CADENCE_DB": str(tmp_path / "h.db")}
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], env=env, capture_output=True, text=True,
                          timeout=60)
    return proc, set(json.loads(out.read_text()))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_import_no_command(tmp_path: Path, args: list[str]) -> None:
    proc, modules = _imported(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert _heavy(modules) == []
    assert "numpy" not in modules
    assert not any(m.startswith("cli.cmd_") for m in modules)
    if args == ["--help"]:
        for name in LAZY_COMMANDS:
            assert f"  {name} " in proc.stdout, name


def test_history_log_target_import_no_audio_stack(tmp_path: Path) -> None:
    from coach.store import Store

    with Store(tmp_path / "h.db") as store:
        store.begin_session(kind="simulated", started_at=datetime(2026, 5, 1, 7, tzinfo=timezone.utc), settings={})
        store.add_baseline(164.0, measured_at=datetime(2026, 4, 30, tzinfo=timezone.utc))
    for args, expect in [(["history"], "2026-05-01"), (["log", "last", "--notes", "easy"], ""),
                         (["target"], "164")]:
        proc, modules = _imported(tmp_path, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert expect in proc.stdout + proc.stderr, (args, proc.stdout)
        assert _heavy(modules) == [], args
    with Store(tmp_path / "h.db") as store:
        assert store.sessions()[0]["notes"] == "easy"


def test_run_still_loads_what_it_needs(tmp_path: Path) -> None:
    proc, modules = _imported(tmp_path, "run", "--baseline", "160", "--input-file", str(tmp_path / "none.wav"))
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    assert "coach.session" in modules


def test_lazy_command_table_matches_the_commands() -> None:
    """The help texts ``--help`` shows without importing are the commands' own, and every
    command a module exports is in the table."""
    ctx = click.Context(cli)
    for name, (module, attribute, text) in LAZY_COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        assert text == inspect.cleandoc(command.help or "").split("\n\n")[0], (
            f"update LAZY_COMMANDS[{name!r}] in cli/main.py to the first paragraph of {module}.{attribute}'s help")
    exported = set()
    for module in {m for m, _, _ in LAZY_COMMANDS.values()}:
        exported |= {c.name for c in __import__(module, fromlist=["COMMANDS"]).COMMANDS}
    assert exported == set(LAZY_COMMANDS)


def test_help_lists_the_same_lines_as_loaded_commands() -> None:
    """With every command loaded, click's own listing is what the lazy listing printed."""
    from click.testing import CliRunner

    group = type(cli)(name="cadence", lazy_subcommands=LAZY_COMMANDS, callback=cli.callback,
                      params=cli.params, help=cli.help)
    before = CliRunner().invoke(group, ["--help"], terminal_width=80).output
    for name in LAZY_COMMANDS:
        group.get_command(click.Context(group), name)
    after = CliRunner().invoke(group, ["--help"], terminal_width=80).output
    assert "analyze" in before, before
    assert before == after
