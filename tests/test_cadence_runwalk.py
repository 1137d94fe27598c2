"""The whole-session cadence of run / walk / run sessions (rehab intervals): step trains and a
generated recording through ``cadence analyze``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from cli.main import cli
from samples.generate import add_at, heel_thump
from stepdetect import cadence_spm

JITTER_S = 0.006  # a runner's step-to-step timing variation


def _run_walk_run(rng: np.random.Generator, run_spm: float, walk_spm: float, run_s: float, walk_s: float) -> np.ndarray:
    run1 = np.arange(0.0, run_s, 60.0 / run_spm)
    walk = run1[-1] + 60.0 / walk_spm + np.arange(0.0, walk_s, 60.0 / walk_spm)
    run2 = walk[-1] + 60.0 / run_spm + np.arange(0.0, run_s, 60.0 / run_spm)
    t = 0.5 + np.r_[run1, walk, run2]
    return t + rng.normal(0.0, JITTER_S, t.size)


def _true_spm(t: np.ndarray) -> float:
    return 60.0 * (t.size - 1) / (t[-1] - t[0])


@pytest.mark.parametrize(("run_spm", "walk_spm"), [(180.0, 90.0), (160.0, 80.0), (170.0, 110.0), (150.0, 100.0)])
@pytest.mark.parametrize(("run_s", "walk_s"), [(60.0, 60.0), (30.0, 120.0), (20.0, 30.0)])
def test_a_run_walk_run_session_reads_its_cadence(run_spm: float, walk_spm: float, run_s: float, walk_s: float) -> None:
    # A walk at half the running cadence (2 : 1) sits on the edge of GLOBAL_BAND against the
    # recording's median step: which side that median fell on decided whether the walking or
    # the running intervals counted (180 / 90 spm, 60 s each: 157.7 for a true 150). Each
    # interval is now judged against the steady gait on either side of it.
    t = _run_walk_run(np.random.default_rng(int(run_spm + walk_spm + run_s)), run_spm, walk_spm, run_s, walk_s)
    assert cadence_spm(t) == pytest.approx(_true_spm(t), abs=0.5)


def test_sounds_at_a_stop_are_not_a_walk() -> None:
    # Dev stop crunchy ice HFP 8 kHz: 150 spm, then 12.6 s standing with sounds taken as
    # footfalls every 0.7-1.15 s (1.7-2.9 steps). Their median, 0.9 s, is no gait of its own:
    # they vary by more than STEADY_SIDE_TOLERANCE. (Taken as a walk, the cadence read 141 spm;
    # with any side's median as the gait, 128.) The first two, 0.77 and 0.79 s, count as one
    # step each against the running step, as they did against the recording's.
    rng = np.random.default_rng(3)
    run1 = 0.6 + np.arange(26) * 0.4
    stand = run1[-1] + np.cumsum([0.77, 0.79, 1.14, 0.93, 1.15, 0.87, 0.90, 0.87, 0.96, 0.90, 0.90, 0.69, 0.83, 0.95])
    run2 = stand[-1] + 0.42 + np.arange(22) * 0.4
    t = np.r_[run1, stand, run2] + rng.normal(0.0, JITTER_S, run1.size + stand.size + run2.size)
    assert 146.5 < cadence_spm(t) < 150.5


def _write_session(path: Path, rng: np.random.Generator, t: np.ndarray, sample_rate: int = 16000) -> None:
    y = rng.normal(0.0, 0.003, int((t[-1] + 1.0) * sample_rate))
    for s in t:
        add_at(y, heel_thump(rng, sample_rate), int(s * sample_rate), 0.5 * (0.8 + 0.4 * rng.random()))
    sf.write(path, y.astype(np.float32), sample_rate, subtype="FLOAT")


@pytest.mark.parametrize(("run_spm", "walk_spm", "seed"), [(180.0, 90.0, 1), (160.0, 80.0, 1), (170.0, 110.0, 1),
                                                          (170.0, 110.0, 3)])
def test_analyze_reads_a_recorded_run_walk_run_session(tmp_path: Path, run_spm: float, walk_spm: float,
                                                       seed: int) -> None:
    # 20 s running, 30 s walking, 20 s running (heel thumps at 16 kHz). At 2 : 1 every footfall
    # was found but the whole-session cadence read 150.7 for 141.2 (180 / 90) and 133.9 for
    # 125.8 (160 / 80) against the recording's median step. At 3 : 2 the tracker kept the
    # running period through the walk and lost walking steps off it (170 / 110: 168 of 170
    # found with both seeds, 145.4 and 145.1 for 144.0); it now re-locks on the walk and on the
    # run after it.
    rng = np.random.default_rng(seed)
    t = _run_walk_run(rng, run_spm, walk_spm, 20.0, 30.0)
    path = tmp_path / "run_walk_run.wav"
    _write_session(path, rng, t)
    res = CliRunner().invoke(cli, ["analyze", str(path), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["n_steps"] == t.size
    assert report["cadence_confident"] is True
    assert report["cadence_spm"] == pytest.approx(_true_spm(t), abs=0.6)
    walking = [w["spm"] for w in report["cadence_track"] if t[0] + 26.0 <= w["time_s"] <= t[0] + 44.0]
    assert walking and np.all(np.abs(np.array(walking) - walk_spm) < 2.0)  # the 6 s windows see the walk
