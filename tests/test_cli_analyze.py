"""``cadence analyze``: JSON contract, summary, plot, accelerometer wiring, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner, Result

from cli.main import cli
from tests.conftest import SAMPLES


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["analyze", *args])


def test_json_contract_on_a_sample() -> None:
    result = _run(str(SAMPLES / "road_earbud.flac"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    truth = json.loads((SAMPLES / "road_earbud.json").read_text())
    assert report["duration_s"] == pytest.approx(truth["duration_s"], abs=1e-3)
    assert len(report["steps"]) == len(truth["steps"])
    for step in report["steps"]:
        assert isinstance(step["time_s"], float) and step["foot"] in ("L", "R", None)
        assert 0.0 <= step["confidence"] <= 1.0
    assert report["cadence_spm"] == pytest.approx(170.3, abs=0.5)
    assert report["cadence_track"] and all("spm" in c for c in report["cadence_track"])
    assert set(report["asymmetry"]) >= {"left_to_right_ms", "right_to_left_ms", "symmetry_index_pct"}


def test_summary_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    result = _run(str(SAMPLES / "metronome_onbeat.wav"), "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert "Cadence:" in result.output and "spm overall" in result.output and "Footfalls:" in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_any_rate_and_channel_count(tmp_path: Path) -> None:
    y, sr = sf.read(SAMPLES / "road_earbud.flac")
    path = tmp_path / "four.wav"
    sf.write(path, np.tile(y[:, :1], (1, 4)), sr, subtype="FLOAT")
    result = _run(str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_steps"] >= 30


def test_no_steps_warns_but_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    sf.write(path, np.zeros(16000 * 2), 16000)
    result = _run(str(path), "--json")
    assert result.exit_code == 0, result.output
    assert "no steps found" in result.stderr
    report = json.loads(result.stdout)
    assert report["steps"] == [] and report["cadence_spm"] is None and report["low_confidence"]


@pytest.mark.parametrize(
    "content,message",
    [(None, "no such file"), (b"this is not audio\n", "not a readable audio file"), ("empty", "empty"),
     ("dir", "is a directory"), (b"RIFF\x24\x00\x00\x00WAVEfmt ", "not a readable audio file")],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, content, message: str) -> None:
    path = tmp_path / "in.wav"
    if content == "empty":
        sf.write(path, np.zeros((0, 1)), 16000)
    elif content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    result = _run(str(path))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.output


def test_accel_json_on_a_real_back_pocket_walk() -> None:
    """--accel reads the CSV and detects the steps for real (30 s of a phone in a back pocket,
    57 foot-switch steps; tests/data/accel/make_walk_excerpts.py), adding the front end's choices."""
    fixtures = Path(__file__).resolve().parent / "data" / "accel"
    truth_s = np.loadtxt(fixtures / "walk_backpocket_steps.txt")
    result = _run(str(fixtures / "walk_backpocket_50hz.csv"), "--accel", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"] == "accelerometer"
    assert abs(report["n_steps"] - truth_s.size) <= 1 and len(report["steps"]) == report["n_steps"]
    true_step_s = float(np.median(truth_s[2:] - truth_s[:-2])) / 2
    assert report["cadence_spm"] == pytest.approx(60 / true_step_s, abs=2.0)
    accel = report["accel"]
    assert accel["gravity_in_data"] is True and accel["work_rate_hz"] == pytest.approx(50.0, abs=0.1)
    assert accel["step_method"] == "tracker"  # the step-rhythm tracker shared with the audio detector
    assert 0.8 <= accel["rhythm_salience"] <= 1.0  # a steady walk: nearly all candidate strength on the rhythm
    assert accel["step_period_s"] == pytest.approx(true_step_s, rel=0.05)
    low_hz, high_hz = accel["band_hz"]
    assert low_hz < 1 / true_step_s < high_hz


def test_accel_error_is_one_line(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("foo,x,y,z\n" + "".join(f"{k},1,2,3\n" for k in range(12)))
    result = _run(str(csv), "--accel")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {csv}") and "no time column" in lines[0], result.output


def test_tick_times_from_a_file(tmp_path: Path) -> None:
    truth = json.loads((SAMPLES / "metronome_offbeat.json").read_text())
    ticks = tmp_path / "render.json"
    ticks.write_text(json.dumps({"beats": [{"time_s": t, "accent": False} for t in truth["ticks_s"]]}))
    result = _run(str(SAMPLES / "metronome_offbeat.ogg"), "--json", "--ticks", str(ticks))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_steps"] == len(truth["steps"])
    bad = tmp_path / "bad.txt"
    bad.write_text("one\ntwo\n")
    result = _run(str(SAMPLES / "metronome_offbeat.ogg"), "--ticks", str(bad))
    assert result.exit_code == 1, result.output
    assert result.output.strip().startswith("Error:") and "not a tick list" in result.output
