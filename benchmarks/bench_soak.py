"""Live soak: a long real `cadence run` on the default device, watched from outside.

Runs `cadence run` (the installed CLI, as a user would) on the DEFAULT device and rate for
``--minutes`` (30 by default) plus the lead-in, against whatever sound server answers; run it
under ``.ci/with-pulse`` for the PulseAudio null sink (what it plays, it also records, so the
"microphone" hears every tick and the detector works the whole time). A second process plays a
runner's footfalls into the sink when ``paplay`` is there, so the detector has footfalls too.

Every minute it samples, from /proc: the session process's CPU (all threads, % of one core),
the busiest non-main thread's CPU (PortAudio's callback thread), RSS, and the machine's load
average (the machine may be shared: a busy neighbour explains an xrun, the figures say when).
At the end it reads the session's JSON report: output underflows and input overflows (start-up
underflows are reported apart), blocks, and whether the session ended normally.

Bars (``--check`` exits 1 if one is missed):
- the session ends normally (exit 0, not aborted);
- CPU flat: mean of the last 5 minutes within 1.5x the first 5 (thirds for runs under 15 min);
- CPU < 10 % of a core in every minute;
- RSS growth (from the end of minute 1 to the end) < 5 MiB;
- at most 1 xrun (output underflow or input overflow) per 10 minutes (rounded up).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samples.runner import runner_recording  # noqa: E402

LEAD_IN_S = 1.5
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _cpu_ticks(path: Path) -> int:
    fields = path.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15 of stat)


def _threads(pid: int) -> dict[int, int]:
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = _cpu_ticks(task / "stat")
        except (OSError, IndexError, ValueError):
            pass
    return out


def _rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def _runner_audio(path: Path) -> None:
    """One minute of a runner at 168 spm (played in a loop)."""
    rate = 48000
    steps = np.arange(0.2, 59.9, 60.0 / 168.0)
    feet = ["L" if k % 2 == 0 else "R" for k in range(steps.size)]
    audio = runner_recording(steps, feet, sample_rate=rate, duration_s=60.0, seed=5, breathing_db=-30,
                             traffic_db=-40)
    soundfile.write(path, (0.4 * audio).astype(np.float32), rate, subtype="PCM_16")


def soak(minutes: float, cadence: list[str], tmp: Path, with_runner: bool, extra: list[str]) -> dict:
    report_path = tmp / "soak.json"
    stderr_path = tmp / "stderr.txt"
    env = {**os.environ, "CADENCE_DB": str(tmp / "soak.db"), "CADENCE_CALIBRATION": str(tmp / "cal.json"),
           "CADENCE_AUDIO_LOG": str(tmp / "audio.log")}
    player = None
    if with_runner:
        runner = tmp / "runner.wav"
        _runner_audio(runner)
        player = subprocess.Popen(["bash", "-c", f"while paplay '{runner}'; do :; done"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(1.0)  # the player connects first (a new client makes the server re-tune its buffers)
    args = [*cadence, "run", "--baseline", "165", "--target", "+6%", "--plan", "intervals", "--duration",
            f"{minutes * 60:g}s", "--json-report", str(report_path), *extra]
    with open(stderr_path, "w") as err:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
    t0 = time.monotonic()
    per_minute = []
    last_total, last_threads = _cpu_ticks(Path(f"/proc/{proc.pid}/stat")), _threads(proc.pid)
    last_t = t0
    next_t = t0 + 60.0
    try:
        while proc.poll() is None:
            time.sleep(min(1.0, max(0.0, next_t - time.monotonic())))
            if time.monotonic() < next_t or proc.poll() is not None:
                continue
            now = time.monotonic()
            try:
                total, threads, rss = _cpu_ticks(Path(f"/proc/{proc.pid}/stat")), _threads(proc.pid), _rss_bytes(proc.pid)
            except (OSError, IndexError):
                break
            span = now - last_t
            busiest = max(((threads[t] - last_threads.get(t, 0)) for t in threads if t != proc.pid), default=0)
            row = {"minute": len(per_minute) + 1, "cpu_pct": round(100.0 * (total - last_total) / CLK_TCK / span, 2),
                   "busiest_thread_pct": round(100.0 * busiest / CLK_TCK / span, 2),
                   "main_thread_pct": round(100.0 * (threads.get(proc.pid, 0) - last_threads.get(proc.pid, 0))
                                            / CLK_TCK / span, 2),
                   "rss_mib": round(rss / 2**20, 2), "load_avg_1m": round(os.getloadavg()[0], 2)}
            per_minute.append(row)
            print(json.dumps(row), flush=True)
            last_total, last_threads, last_t = total, threads, now
            next_t += 60.0
        returncode = proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        if player is not None and player.poll() is None:
            os.killpg(player.pid, signal.SIGTERM)  # the loop and its paplay (their own process group)
            player.wait(timeout=10)
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    return {"minutes": minutes, "returncode": returncode, "wall_s": round(time.monotonic() - t0, 1),
            "per_minute": per_minute, "report": report, "stderr": stderr_path.read_text()[-2000:]}


def figures(result: dict) -> dict:
    rows = result["per_minute"]
    cpu = [r["cpu_pct"] for r in rows]
    n = len(cpu)
    window = 5 if n >= 15 else max(1, n // 3)
    first = float(np.mean(cpu[:window])) if n else math.nan
    last = float(np.mean(cpu[-window:])) if n else math.nan
    rss_growth = rows[-1]["rss_mib"] - rows[0]["rss_mib"] if n >= 2 else math.nan
    report = result["report"]
    xr = report.get("xruns", {})
    xruns = int(xr.get("output_underflows", 0)) + int(xr.get("input_overflows", 0))
    return {
        "minutes_sampled": n, "window_min": window, "cpu_first_pct": round(first, 2), "cpu_last_pct": round(last, 2),
        "cpu_max_pct": round(max(cpu), 2) if cpu else math.nan,
        "busiest_thread_max_pct": round(max(r["busiest_thread_pct"] for r in rows), 2) if rows else math.nan,
        "rss_growth_mib": round(rss_growth, 2), "xruns": xruns, "startup_underflows": xr.get("startup_underflows"),
        "dropped_input_frames": xr.get("dropped_input_frames"),
        "block_sizes": (xr.get("min_block_size"), xr.get("max_block_size")),
        "callbacks_per_s": round(xr["blocks"] * report["sample_rate"] / xr["frames"], 1) if xr.get("frames") else None,
        "load_avg_mean": round(float(np.mean([r["load_avg_1m"] for r in rows])), 2) if rows else math.nan,
        "load_avg_max": round(max(r["load_avg_1m"] for r in rows), 2) if rows else math.nan,
        "sample_rate": report.get("sample_rate"), "aborted": report.get("aborted"),
        "ended_by": report.get("ended_by"), "returncode": result["returncode"],
    }


def bars(f: dict, minutes: float) -> list[tuple[str, bool]]:
    allowed = math.ceil(minutes / 10.0)
    return [
        ("session ended normally (exit 0, not aborted)", f["returncode"] == 0 and not f["aborted"]),
        (f"CPU flat: last {f['window_min']} min {f['cpu_last_pct']:.1f} % <= 1.5 x first {f['cpu_first_pct']:.1f} %",
         f["cpu_last_pct"] <= 1.5 * max(f["cpu_first_pct"], 1.0)),
        (f"CPU < 10 % of a core every minute (max {f['cpu_max_pct']:.1f} %)", f["cpu_max_pct"] < 10.0),
        (f"RSS growth {f['rss_growth_mib']:.2f} MiB < 5 MiB", f["rss_growth_mib"] < 5.0),
        (f"xruns {f['xruns']} <= {allowed} (1 per 10 min)", f["xruns"] <= allowed),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="session length (default 30)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a bar is missed")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures and per-minute rows here")
    parser.add_argument("--no-runner", action="store_true", help="do not play footfalls into the sink")
    parser.add_argument("--block-size", type=int, default=None,
                        help="pass --block-size to cadence run (0: PortAudio varies it, the old default)")
    args = parser.parse_args()
    if args.minutes < 1:
        parser.error("--minutes must be at least 1")
    cadence = [sys.executable, "-m", "cli"]
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    with_runner = not args.no_runner and shutil.which("paplay") is not None
    print(f"soak: cadence run on the default device for {args.minutes:g} min (footfalls from paplay: "
          f"{'yes' if with_runner else 'no'}); one row per minute", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        extra = [] if args.block_size is None else ["--block-size", str(args.block_size)]
        result = soak(args.minutes, cadence, Path(tmp), with_runner, extra)
    f = figures(result)
    print(json.dumps(f))
    ok = True
    for text, passed in bars(f, args.minutes):
        ok &= passed
        print(f"  [{'ok' if passed else 'MISSED'}] {text}")
    if result["returncode"] != 0:
        print(result["stderr"])
    if args.json is not None:
        args.json.write_text(json.dumps({"figures": f, "per_minute": result["per_minute"],
                                         "xruns": result["report"].get("xruns"),
                                         "stream": result["report"].get("stream")}, indent=1) + "\n")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
