"""``cadence analyze``: JSON contract, summary, plot, accelerometer wiring, one-line errors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from cli.main import cli
from tests.conftest import SAMPLES


def _run(*args: str) -> "CliRunner.invoke":
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
    [(None, "no such file"), (b"this is not audio\n", "not a readable audio file"), ("empty", "empty")],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, content, message: str) -> None:
    path = tmp_path / "in.wav"
    if content == "empty":
        sf.write(path, np.zeros((0, 1)), 16000)
    elif content is not None:
        path.write_bytes(content)
    result = _run(str(path))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.output


def test_accel_uses_the_accelerometer_interface(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--accel calls stepdetect.accel_io.read_accel_csv and stepdetect.accel.detect_steps_accel."""
    calls = {}
    step_times_s = np.arange(0.5, 30.0, 60 / 172)

    class Rec:
        time_s = np.arange(0, 30.0, 0.01)
        xyz = np.zeros((3000, 3))
        fmt = "test"

    def read_accel_csv(path):
        calls["read"] = Path(path)
        return Rec()

    def detect_steps_accel(time_s, xyz):
        calls["detect"] = (time_s.shape, xyz.shape)
        return step_times_s

    monkeypatch.setitem(sys.modules, "stepdetect.accel_io", types.SimpleNamespace(read_accel_csv=read_accel_csv))
    monkeypatch.setitem(sys.modules, "stepdetect.accel", types.SimpleNamespace(detect_steps_accel=detect_steps_accel))
    csv = tmp_path / "walk.csv"
    csv.write_text("t,x,y,z\n")
    result = _run(str(csv), "--accel", "--json")
    assert result.exit_code == 0, result.output
    assert calls == {"read": csv, "detect": ((3000,), (3000, 3))}
    report = json.loads(result.stdout)
    assert report["cadence_spm"] == pytest.approx(172.0, abs=0.01)
    assert len(report["steps"]) == step_times_s.size and report["source"] == "accelerometer"


def test_accel_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stepdetect.validate import ParameterError

    def read_accel_csv(path):
        raise ParameterError(f"{path}: no time column")

    monkeypatch.setitem(sys.modules, "stepdetect.accel_io", types.SimpleNamespace(read_accel_csv=read_accel_csv))
    monkeypatch.setitem(sys.modules, "stepdetect.accel", types.SimpleNamespace(detect_steps_accel=None))
    csv = tmp_path / "bad.csv"
    csv.write_text("nonsense\n")
    result = _run(str(csv), "--accel")
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"Error: {csv}: no time column"
