"""A 15-minute session whose loop latency steps, as after underflows (issue 9): heard beats and
drift with the latency as a time series, against the old way (the final latency for every beat).

The real `cadence run` on a synthesized runner (172 spm, 20 ms before each rendered tick) with
the "microphone" hearing the ticks through a delay that steps at known times (``--bleed-delay-ms``
schedule, -40 ... +46 ms steps as measured on PulseAudio). Prints, per beat, how many heard times
are off the truth by more than 5 ms (time series, and what applying the final latency to every
beat gives), the mean asynchrony of each stretch against the truth, and whether the history
holds the report's figures.

``--check`` exits 1 if more than 1 % of the beats are off by > 5 ms, a stretch's mean asynchrony
is off by > 3 ms, or history and report differ.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.main import cli  # noqa: E402
from metronome.settings import settings_from_options  # noqa: E402
from coach.store import Store  # noqa: E402
from metronome.schedule import BeatClock  # noqa: E402
from samples.runner import runner_recording, steps_from_beats  # noqa: E402

SAMPLE_RATE = 22050
DURATION_S = 900.0
SPM = 172.0
OFFSET_MS = -20.0
# (from input time s, delay ms): steps of +46, -40, +31, -25, +12 ms
SCHEDULE = [(0.0, 30.0), (150.0, 76.0), (330.0, 36.0), (480.0, 67.0), (660.0, 42.0), (800.0, 54.0)]


def _delay_s(at_s: np.ndarray) -> np.ndarray:
    starts = np.array([s for s, _ in SCHEDULE])
    delays = np.array([d for _, d in SCHEDULE]) / 1000
    return delays[np.searchsorted(starts, at_s, side="right") - 1]


def _simulate() -> tuple[dict, list, list, float] | None:
    """The session on a synthetic run with the latency schedule: (report, stored intervals, stored
    steps, seconds it took), or None if the command failed."""
    settings = settings_from_options(spm=SPM, baseline_spm=161.0, duration_s=DURATION_S, plan="steady", warmup_s=None,
                                     cooldown_s=None, every_other_step=False, sound="woodblock", accent_every=0,
                                     alternate_ears=False, volume_db=-6, force=False, ramp_s=0.0)
    clock = BeatClock(settings.timeline, SAMPLE_RATE, steps_per_tick=1)
    rendered = np.array([t.start_sample / SAMPLE_RATE for t in clock.ticks_until(int(DURATION_S * SAMPLE_RATE))])
    steps, feet = steps_from_beats(rendered, offset_ms=OFFSET_MS, rng=np.random.default_rng(3))
    keep = steps < DURATION_S - 0.3
    steps, feet = steps[keep], [f for f, k in zip(feet, keep) if k]
    with tempfile.TemporaryDirectory() as tmp:
        wav, report_path, db = Path(tmp) / "run.wav", Path(tmp) / "r.json", Path(tmp) / "h.db"
        soundfile.write(wav, runner_recording(steps, feet, sample_rate=SAMPLE_RATE, duration_s=DURATION_S,
                                              seed=3).astype(np.float32), SAMPLE_RATE)
        schedule = ",".join(f"{ms:g}" if at == 0 else f"{ms:g}@{at:g}s" for at, ms in SCHEDULE)
        started = time.perf_counter()
        result = CliRunner().invoke(cli, [
            "run", "--baseline", "161", "--target", str(SPM), "--plan", "steady", "--ramp", "0", "--duration",
            f"{DURATION_S:g}s", "--input-file", str(wav), "--fast", "--bleed-db", "-12", "--bleed-delay-ms", schedule,
            "--json-report", str(report_path), "--db", str(db)])
        elapsed = time.perf_counter() - started
        if result.exit_code != 0:
            print(result.output)
            return None
        report = json.loads(report_path.read_text())
        with Store(db) as store:
            (session,) = store.sessions()
            return report, store.intervals(session["id"]), store.steps(session["id"]), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    opts = parser.parse_args()
    simulated = _simulate()
    if simulated is None:
        return 1
    report, stored_intervals, stored_steps, elapsed = simulated
    beats = np.array([b["time_s"] for b in report["beats"]])
    samples = np.array([b["sample"] for b in report["beats"]]) / SAMPLE_RATE
    truth = samples + _delay_s(samples + 0.030)  # heard within the stretch the onset falls in (+/- a tick)
    final = samples + report["latency"]["loop_latency_ms"] / 1000
    err_series = np.abs(beats - truth) * 1000
    err_final = np.abs(final - truth) * 1000
    print(f"{DURATION_S / 60:.0f}-min session, {beats.size} beats, {len(SCHEDULE) - 1} latency steps; "
          f"simulated in {elapsed:.1f} s")
    print(f"latency events: {[(e['time_s'], e['step_ms']) for e in report['latency_events']]}")
    print(f"beats off the truth by > 5 ms: time series {np.sum(err_series > 5)} "
          f"({100 * np.mean(err_series > 5):.1f} %), final latency for every beat {np.sum(err_final > 5)} "
          f"({100 * np.mean(err_final > 5):.1f} %)")
    bounds = [s for s, _ in SCHEDULE] + [DURATION_S]
    worst = 0.0
    for (lo, ms), hi in zip(SCHEDULE, bounds[1:]):
        a = [s["asynchrony_ms"] for s in report["steps"] if lo + 2 <= s["time_s"] < hi - 2
             and s["asynchrony_ms"] is not None]
        print(f"  {lo:5.0f}-{hi:4.0f} s: loop {ms:4.0f} ms, mean asynchrony {np.mean(a):+6.1f} ms "
              f"(truth {OFFSET_MS - ms:+6.1f}; final latency for every beat would give "
              f"{np.mean(a) + ms - report['latency']['loop_latency_ms']:+6.1f})")
        worst = max(worst, abs(np.mean(a) - (OFFSET_MS - ms)))
    same = (all(s[k] == r[k] for s, r in zip(stored_intervals, report["intervals"])
                for k in ("n_steps", "cadence_spm", "tempo_spm", "asynchrony"))
            and len(stored_intervals) == len(report["intervals"])
            and [(s["time_s"], s["asynchrony_ms"]) for s in stored_steps]
            == [(s["time_s"], s["asynchrony_ms"]) for s in report["steps"]])
    print(f"history == report (intervals, steps): {same}")
    if opts.check and (np.mean(err_series > 5) > 0.01 or worst > 3.0 or not same):
        print("latency time series misses its targets")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
