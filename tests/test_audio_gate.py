"""The gate in conftest.py for tests marked `audio`: without a sound server or null sink they skip
saying why, unless CADENCE_REQUIRE_AUDIO=1 (`make test`, .ci/run), where they fail; CI can never
pass with them silently skipped. Each case runs pytest in a subprocess, with this suite's conftest
as a plugin, on a tiny test file, and reads the outcomes from its JUnit XML."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import ROOT

TINY = '''\
import pytest

def test_plain():
    pass

@pytest.mark.audio
def test_needs_the_sink(pulse_sink):
    assert pulse_sink

def test_uses_the_sink_unmarked(pulse_sink):
    pass
'''
NO_SUCH_SINK = "cadence_no_such_sink_4711"


def _run_tiny(tmp_path: Path, require: str | None, **env: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Exit status, {test name: (outcome, message)} and the output of pytest on TINY."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "test_tiny.py").write_text(TINY)
    report = tmp_path / "report.xml"
    environment = {k: v for k, v in os.environ.items() if k != "CADENCE_REQUIRE_AUDIO"}
    environment |= {"PYTHONPATH": str(ROOT), "CADENCE_TEST_PULSE_SINK": NO_SUCH_SINK, **env}
    if require is not None:
        environment["CADENCE_REQUIRE_AUDIO"] = require
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(tmp_path), f"--junitxml={report}", "-q", "-rs", str(tmp_path / "test_tiny.py")],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)
    outcomes: dict[str, tuple[str, str]] = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            result = next(iter(case), None)
            outcomes[case.get("name", "")] = (
                "passed" if result is None or result.tag in {"system-out", "system-err"} else result.tag,
                "" if result is None else result.get("message", ""))
    return proc.returncode, outcomes, proc.stdout + proc.stderr


def _no_server_reason() -> str:
    return "no PulseAudio server answers" if shutil.which("pactl") else "pactl is not installed"


def test_without_a_sound_server_audio_tests_skip_saying_why(tmp_path: Path) -> None:
    status, outcomes, output = _run_tiny(tmp_path, None, PULSE_SERVER="unix:/nonexistent/cadence/native")
    assert status == 1, output  # only the unmarked test that asks for the sink fails
    assert outcomes["test_plain"] == ("passed", "")
    outcome, message = outcomes["test_needs_the_sink"]
    assert outcome == "skipped" and _no_server_reason() in message and "make test" in message, output
    assert "SKIPPED" in output and _no_server_reason() in output  # -rs shows the reason
    outcome, message = outcomes["test_uses_the_sink_unmarked"]
    assert outcome == "error" and "mark it `audio`" in message, output


@pytest.mark.parametrize("require", ["", "0"])
def test_the_variable_unset_or_0_still_skips(tmp_path: Path, require: str) -> None:
    _, outcomes, output = _run_tiny(tmp_path, require, PULSE_SERVER="unix:/nonexistent/cadence/native")
    assert outcomes["test_needs_the_sink"][0] == "skipped", output


def test_ci_fails_audio_tests_when_the_sound_server_is_missing(tmp_path: Path) -> None:
    status, outcomes, output = _run_tiny(tmp_path, "1", PULSE_SERVER="unix:/nonexistent/cadence/native")
    assert status == 1, output
    assert outcomes["test_plain"] == ("passed", "")
    outcome, message = outcomes["test_needs_the_sink"]
    assert outcome == "error" and _no_server_reason() in message and "CADENCE_REQUIRE_AUDIO=1" in message, output
    assert "skipped" not in output.strip().splitlines()[-1], output  # the summary line: nothing skipped


def test_a_mistyped_variable_is_a_usage_error(tmp_path: Path) -> None:
    status, outcomes, output = _run_tiny(tmp_path, "yes")
    assert status == 4 and outcomes == {}, output  # pytest's usage-error status, no test ran
    assert "CADENCE_REQUIRE_AUDIO='yes'" in output


@pytest.mark.audio
def test_a_sink_the_server_does_not_have_skips_or_fails_by_the_variable(pulse_sink: str, tmp_path: Path) -> None:
    """With the server up (make test), only the sink name differs: skip without the variable,
    an error (at setup) with it, and a pass with the real sink."""
    _, outcomes, output = _run_tiny(tmp_path / "skip", None)
    outcome, message = outcomes["test_needs_the_sink"]
    assert outcome == "skipped" and f"no null sink {NO_SUCH_SINK!r}" in message, output
    _, outcomes, output = _run_tiny(tmp_path / "fail", "1")
    outcome, message = outcomes["test_needs_the_sink"]
    assert outcome == "error" and f"no null sink {NO_SUCH_SINK!r}" in message, output
    _, outcomes, output = _run_tiny(tmp_path / "pass", "1", CADENCE_TEST_PULSE_SINK=pulse_sink)
    assert outcomes["test_needs_the_sink"] == ("passed", ""), output
