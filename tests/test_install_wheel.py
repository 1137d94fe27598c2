"""The built wheel installs and its commands run outside the source tree.

The wheel is built offline from a copy of the checkout (nothing is left in the checkout),
installed without dependencies into a fresh virtual environment whose only extra path is this
environment's site-packages (numpy, scipy, ... — not the source tree), and its ``cadence``
script is run from an empty directory. ``.ci/wheel-check`` does the same with an isolated build
and the dependencies from the package index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

IGNORED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "out", "*.egg-info", "__pycache__", ".pytest_cache")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src") / "cadence"
    shutil.copytree(ROOT, src, ignore=IGNORED)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation",
         "--check-build-dependencies", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr
    (path,) = out.glob("cadence_coach-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ directory of a fresh venv with the wheel installed."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.create(env_dir, with_pip=False, symlinks=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stderr
    purelib = subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True)
    # the dependencies come from this environment, after the wheel's own files on sys.path
    Path(purelib.strip(), "_cadence_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return env_dir / "bin"


def _run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run([str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_wheel_ships_the_package_data_and_no_tests_or_benchmarks(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"cli", "coach", "metronome", "stepdetect", "samples"}
    presets = {f"metronome/presets/{p.name}" for p in (ROOT / "metronome" / "presets").glob("*.toml")}
    assert len(presets) >= 5 and presets <= names
    # from samples/ only the demo recording: the detector test recordings stay in the source tree
    assert {n for n in names if n.startswith("samples/") and not n.endswith(".py")} == {"samples/session_demo.ogg"}
    assert not any(part in ("tests", "benchmarks", "data") for n in names for part in n.split("/")[:-1])


def test_installed_commands_run_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    where = _run(installed, "python", "-c", "import cli, samples, metronome; print(cli.__file__, samples.__file__)", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert all(Path(f).is_relative_to(installed.parent) for f in where.stdout.split()), where.stdout

    version = _run(installed, "cadence", "--version", cwd=tmp_path)
    assert version.returncode == 0 and "0.1.0" in version.stdout, version

    plans = _run(installed, "cadence", "plans", cwd=tmp_path)
    assert plans.returncode == 0, plans.stderr
    for name in ("steady", "intervals", "itb", "strides", "ramp"):
        assert name in plans.stdout
    shown = _run(installed, "cadence", "plans", "itb", cwd=tmp_path)
    assert shown.returncode == 0 and "[[segment]]" in shown.stdout, shown

    demo = _run(installed, "cadence", "demo", "--json-report", "demo.json", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    report = json.loads((tmp_path / "demo.json").read_text())
    assert Path(report["input"]).is_relative_to(installed.parent)
    assert report["error"] is None and not report["interrupted"]
    assert report["duration_s"] == pytest.approx(240.0, abs=1.0)
    # the recorded runner of samples/session_demo.json: ~690 steps at ~173 spm in 4 minutes
    assert 600 <= report["summary"]["n_steps"] <= 760
    assert report["summary"]["cadence_spm"] == pytest.approx(173.0, abs=3.0)
