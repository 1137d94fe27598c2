"""What the session shows: the live line during a warm-up and an open-ended plan, and the report
at 80 columns (issue 9 item 7)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import soundfile
from click.testing import CliRunner
from rich.console import Console

from coach.run import simulated_session
from cli.display import status_line
from cli.main import cli
from metronome.settings import settings_from_options
from cli.report import print_report
from coach.session import SessionSettings
from test_cli_session import _runner_file

DEMO_REPORT_ARGS = ("--baseline", "164", "--target", "175", "--plan", "intervals", "--ramp", "0")


def _metronome(plan: str, duration_s: float | None, warmup_s: float | None = None) -> object:
    return settings_from_options(spm=172.0, baseline_spm=161.0, duration_s=duration_s, plan=plan, warmup_s=warmup_s,
                                 cooldown_s=None, every_other_step=False, sound="woodblock", accent_every=0,
                                 alternate_ears=False, volume_db=-6, force=False, ramp_s=0.0)


def _run_for(tmp_path: Path, metronome: object, seconds: float, **kwargs: object) -> object:
    wav, _ = _runner_file(tmp_path, 164.0, seconds)
    with soundfile.SoundFile(str(wav)) as source:
        session, backend = simulated_session(metronome, SessionSettings(metronome=metronome), source, **kwargs)
        backend.run(session.consume)
    return session


def test_open_ended_plan_shows_no_time_left(tmp_path: Path) -> None:
    """Without --duration the steady plan runs until Ctrl-C: no '23:56:59 left'."""
    session = _run_for(tmp_path, _metronome("steady", None), 8.0)
    assert session.live.segment_left_s is None
    line = status_line(session, None)
    assert "left" not in line and "23:" not in line, line
    assert f"tempo {172.0:5.1f}" in line
    timed = _run_for(tmp_path, _metronome("steady", 60.0), 8.0)
    assert timed.live.segment_left_s == pytest.approx(52.0, abs=0.6)
    assert "0:52 left" in status_line(timed, 60.0) or "0:53 left" in status_line(timed, 60.0)


def test_warmup_shows_no_placeholder_tempo(tmp_path: Path) -> None:
    """While the baseline is measured in a silent warm-up there is no tempo yet (not 160)."""
    metronome = _metronome("steady", None, warmup_s=60.0)
    session = _run_for(tmp_path, metronome, 10.0, baseline_probe=(60.0, lambda spm: metronome))
    assert session.live.tempo_spm is None
    assert "tempo   --" in status_line(session, None)
    report = session.report()
    assert report["settings"]["baseline_spm"] is None and report["settings"]["target_spm"] is None
    assert [iv["tempo_spm"] for iv in report["intervals"]] == [None]
    assert report["summary"]["final_tempo_spm"] is None


def test_report_of_a_session_ended_in_the_warmup(tmp_path: Path) -> None:
    wav, _ = _runner_file(tmp_path, 164.0, 20.0)
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["run", "--warmup", "1m", "--plan", "steady", "--input-file", str(wav),
                                      "--fast", "--json-report", str(report_path), "--no-save"])
    assert result.exit_code == 0, result.output
    assert "baseline not measured (ended in the warm-up)" in result.output
    assert "160" not in result.output and "171.2" not in result.output, result.output
    assert json.loads(report_path.read_text())["settings"]["baseline_spm"] is None


def _print(report: dict, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    print_report(report, console=console)
    return console.export_text().splitlines()


def test_report_time_column_is_whole_at_80_columns(tmp_path: Path) -> None:
    wav, _ = _runner_file(tmp_path, 170.0, 240.0)
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["run", *DEMO_REPORT_ARGS, "--input-file", str(wav), "--fast",
                                      "--json-report", str(report_path), "--no-save"])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    long = copy.deepcopy(report)  # the same intervals an hour later: wider time spans
    for iv in long["intervals"]:
        iv["start_s"] += 3600.0
        iv["end_s"] += 3600.0
    for doc, spans in [(report, ["0:00-2:00", "2:00-3:00", "3:00-4:00"]),
                       (long, ["1:00:00-1:02:00", "1:02:00-1:03:00", "1:03:00-1:04:00"])]:
        lines = _print(doc, 80)
        assert max(len(line.rstrip()) for line in lines) <= 80
        text = "\n".join(lines)
        assert "…" not in text, text
        for span in spans:
            assert span in text, text
        for header in ("cadence", "tempo", "async", "in sync", "drift"):
            assert header in text


def test_plain_display_says_at_once_that_the_stream_is_reconnecting(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a terminal the figures print every plain_every_s of session time; a stream outage
    (session time stands still) is printed when it begins, not 10 s later."""
    from types import SimpleNamespace

    from cli.display import LiveDisplay
    from coach.live import LiveFigures

    live = LiveFigures(time_s=42.0, tempo_spm=170.0)
    stats = SimpleNamespace(output_underflows=0, input_overflows=0)
    session = SimpleNamespace(live=live, core=SimpleNamespace(stats=stats))
    display = LiveDisplay(600.0, force_plain=True, plain_every_s=10.0)
    display._last_plain_s = 40.0  # a line was printed 2 s ago
    display.update(session)
    assert capsys.readouterr().err == ""
    live.stream_note = "audio stream lost 1 s ago: reconnecting (for up to 15 s)"
    display.update(session)
    err = capsys.readouterr().err
    assert "0:42/10:00" in err and err.rstrip().endswith("reconnecting (for up to 15 s)")
    display.update(session)  # the same note again: no new line until the next interval
    assert capsys.readouterr().err == ""
