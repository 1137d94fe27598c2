"""Training-history commands: ``baseline``, ``target``, ``history``, ``log``, ``export``, ``plan``."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import click

from coach.baseline import (
    HOLD_RULE,
    MIN_RUNNING_SPM,
    RunBaseline,
    build_program,
    cadence_from_step_times,
    combine_runs,
    holds_target,
    next_target_spm,
    run_baseline,
    target_band,
)
from cli.options import DURATION, audio_device_options, db_option, finite_range
from coach.store import Store, StoreError
from coach.jsonfile import json_text

F = Callable[..., Any]
SPARK = "▁▂▃▄▅▆▇█"


def _console() -> Any:
    from rich.console import Console

    width = max(shutil.get_terminal_size((140, 24)).columns, 140)
    return Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False)


def _fmt(value: Any, spec: str = ".1f", none: str = "-") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return none
    return format(value, spec)


# --- baseline -------------------------------------------------------------------------------


def _run_from_steps(step_times_s: Any, *, source: str, fmt: str,
                    min_running_spm: float) -> tuple[RunBaseline, dict[str, Any]]:
    time_s, spm = cadence_from_step_times(step_times_s)
    if spm.size == 0:
        raise click.ClickException(f"{source}: fewer than 3 steps detected, no cadence")
    run = run_baseline(spm, time_s=time_s, source=source, min_running_spm=min_running_spm)
    if run.n_outliers > run.n_kept:  # e.g. a tone or machine noise: "steps" with no steady rhythm
        raise click.ClickException(
            f"{source}: the detected steps have no steady running rhythm ({run.n_kept} cadence records in a steady "
            f"band, {run.n_outliers} outliers); is this a recording of a run?"
        )
    return run, {"format": fmt}


def _measure_source(path: Path, *, accel: bool, min_running_spm: float) -> tuple[RunBaseline, dict[str, Any]]:
    from coach.importers import is_activity_path, read_activity

    if not path.exists():
        raise click.ClickException(f"{path}: no such file")
    if accel or path.suffix.lower() == ".csv":
        from coach.analysis import accel_step_times
        from stepdetect.accel_io import read_accel_csv

        rec = read_accel_csv(path)
        steps_s, _ = accel_step_times(rec.time_s, rec.xyz)
        return _run_from_steps(steps_s, source=path.name, fmt="accel", min_running_spm=min_running_spm)
    if is_activity_path(path):
        act = read_activity(path)
        run = run_baseline(act.cadence_spm, time_s=act.time_s, speed_m_s=act.speed_m_s, source=act.source,
                           sport=act.sport, min_running_spm=min_running_spm,
                           started_at=act.started_at.isoformat() if act.started_at else None)
        extra = {"format": act.fmt, "session_avg_spm": act.session_avg_spm}
        run.notes.extend(act.notes)
        return run, extra
    return _run_from_steps(_audio_step_times_s(path), source=path.name, fmt="audio", min_running_spm=min_running_spm)


def _audio_step_times_s(path: Path) -> list[float]:
    """Footfall times of a recording, found as ``cadence analyze`` finds them."""
    from coach.analysis import analyze_path

    return [float(step["time_s"]) for step in analyze_path(path, accel=False)["steps"]]


@click.command("baseline")
@click.option("--from", "sources", multiple=True, type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="A recording, an accelerometer CSV or a FIT/GPX/TCX activity. Several runs combine "
                   "(two or three easy runs are the advice): --from A.fit B.fit C.fit, or repeat --from.")
@click.argument("more_sources", nargs=-1, type=click.Path(dir_okay=False, path_type=Path), metavar="[PATH]...")
@click.option("--accel", is_flag=True, help="Read every --from file as an accelerometer CSV (.csv files are anyway).")
@click.option("--min-running-spm", type=finite_range(100, 180), default=MIN_RUNNING_SPM, show_default=True,
              help="Records below this cadence are walking breaks and are excluded.")
@click.option("--json", "as_json", is_flag=True, help='Print {"baseline_spm": ..., "runs": [...]} as JSON.')
@click.option("--no-save", is_flag=True, help="Do not store the baseline in the history.")
@click.option("--live", is_flag=True, help="Listen to the microphone while you run easy (no ticks).")
@click.option("--duration", "duration_s", type=DURATION, default="5m", show_default=True,
              help="With --live: how long to listen.")
@click.option("--input-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --live: a recording stands in for the microphone (simulation).")
@audio_device_options
@db_option
def baseline_cmd(sources: tuple[Path, ...], more_sources: tuple[Path, ...], accel: bool, min_running_spm: float,
                 as_json: bool, no_save: bool,
                 live: bool, duration_s: float, input_file: Path | None, device: str | None,
                 sample_rate: int | None, block_size: int, latency: str, db_path: Path | None) -> None:
    """Measure the easy-pace cadence baseline from runs.

    From files (--from PATH [PATH]..., e.g. --from runs/*.fit; or --from repeated) or live
    (--live: the microphone listens while you run easy, no ticks). Only running, moving records count; strides/min are converted to steps/min;
    walking breaks, pauses and outliers are excluded (the method is printed). Several runs
    combine into one baseline, each run weighted equally.
    """
    if more_sources and not sources:
        raise click.UsageError(f"{more_sources[0]}: put the files after --from (cadence baseline --from A.fit B.fit)")
    sources = (*sources, *more_sources)
    if not sources and not live:
        raise click.UsageError("give --from PATH (a recording, accelerometer CSV or FIT/GPX/TCX file), "
                               "or --live to listen while you run")
    if input_file is not None and not live:
        raise click.UsageError("--input-file goes with --live")
    if sources and live:
        raise click.UsageError("give either --from PATH (recorded runs) or --live (listen now), not both")
    runs: list[RunBaseline] = []
    extras: list[dict[str, Any]] = []
    if live:
        from cli.cmd_session import listen

        if not as_json:
            click.echo(f"listening for {duration_s / 60:g} min: run at your easy pace (Ctrl-C stops early)", err=True)
        report = listen(duration_s, input_file=input_file, fast=input_file is not None, device=device,
                        sample_rate=sample_rate, block_size=block_size, latency=latency)
        steps_s = [s["time_s"] for s in report["steps"]]
        run, extra = _run_from_steps(steps_s, source="live" if input_file is None else f"live:{input_file.name}",
                                     fmt="live", min_running_spm=min_running_spm)
        extra["xruns"] = report["xruns"]
        runs.append(run)
        extras.append(extra)
    for path in sources:
        run, extra = _measure_source(path, accel=accel, min_running_spm=min_running_spm)
        runs.append(run)
        extras.append(extra)
    result = combine_runs(runs, min_running_spm=min_running_spm)
    for r, extra in zip(result["runs"], extras):
        r.update(extra)
    low, high = target_band(result["baseline_spm"])
    result["target_band_spm"] = [round(low, 1), round(high, 1)]
    if not no_save:
        dates = [r.started_at for r in runs if r.started_at]
        measured_at = max(datetime.fromisoformat(d) for d in dates) if dates else datetime.now().astimezone()
        with Store(db_path) as store:
            result["baseline_id"] = store.add_baseline(result["baseline_spm"], measured_at=measured_at,
                                                       method=result["method"], sources=[str(p) for p in sources] + (["live"] if live else []),
                                                       runs=result["runs"])
            result["db"] = str(store.path)
    if as_json:
        click.echo(json_text(result, indent=2))
        return
    _print_baseline(result)


def _print_baseline(result: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title="Runs", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("run", no_wrap=True)
    for col in ("format", "baseline", "median", "moving", "device", "kept", "walking", "stopped",
                "outliers", "minutes"):
        table.add_column(col, justify="left" if col == "format" else "right")
    for r in result["runs"]:
        table.add_row(r["source"], r["format"], _fmt(r["baseline_spm"]), _fmt(r["median_spm"]),
                      _fmt(r["moving_mean_spm"]), _fmt(r.get("session_avg_spm")), str(r["n_kept"]),
                      str(r["n_walking"]), str(r["n_stopped"]), str(r["n_outliers"]),
                      f"{r['kept_duration_s'] / 60:.1f}")
    console = _console()
    console.print(table)
    console.print("Cadences in steps/min. moving: mean of every moving record (no walking/outlier filter); "
                  "device: the watch's own session average; minutes: running time kept.")
    console.print(f"Baseline: [bold]{result['baseline_spm']:.1f} spm[/bold] from {result['n_runs']} run(s)"
                  + (" (uncertain: little running data)" if result["uncertain"] else ""))
    low, high = result["target_band_spm"]
    console.print(f"Target band (+5 % ... +10 %): {low:.1f} - {high:.1f} spm")
    console.print(f"Method: {result['method']}")
    for run in result["runs"]:
        for note in run["notes"]:
            console.print(f"Note ({run['source']}): {note}")
    for note in result["notes"]:
        console.print(f"Note: {note}")
    if "db" in result:
        console.print(f"Saved as baseline #{result['baseline_id']} in {result['db']}")


# --- target ---------------------------------------------------------------------------------


def _baseline_or_stored(store: Store, baseline_spm: float | None) -> tuple[float, str | None]:
    if baseline_spm is not None:
        return baseline_spm, None
    latest = store.latest_baseline()
    if latest is None:
        raise click.ClickException("no baseline yet: run 'cadence baseline --from RUN.fit' or give --baseline SPM")
    return float(latest["baseline_spm"]), latest["measured_at"]


def _progress(store: Store, baseline_spm: float, since: str | None) -> dict[str, Any]:
    """Current target and whether the runner holds it, from the sessions since the baseline
    (``holds_target`` says which count and why). The current target is that of the last
    complete session."""
    sessions = [s for s in store.sessions() if s.get("tempo_spm")]
    if since:
        cutoff = datetime.fromisoformat(since)
        sessions = [s for s in sessions if datetime.fromisoformat(s["started_at"]) >= cutoff]
    complete = [s for s in sessions if s["status"] == "complete"]
    current = complete[-1]["tempo_spm"] if complete else None
    check = holds_target(sessions, current) if current is not None else {
        "holds": False, "n_sessions": 0, "reasons": ["no sessions yet"], "rule": HOLD_RULE, "counted": [],
        "not_counted": []}
    return {"current_target_spm": current, **check,
            "next_target_spm": next_target_spm(baseline_spm, current, check["holds"])}


def _print_evidence(progress: dict[str, Any]) -> None:
    """Which sessions counted towards the current target, which did not and why, and the rule."""
    def when(entry: dict[str, Any]) -> str:
        return f"#{entry['id']} {str(entry.get('started_at') or '')[:16].replace('T', ' ')}"

    for c in progress["counted"]:
        click.echo(f"  counted {when(c)}: " + ("held" if c["held"] else "; ".join(c["misses"])))
    for n in progress["not_counted"]:
        click.echo(f"  not counted {when(n)}: {n['why']}")
    click.echo(f"Rule: {progress['rule']}.")


@click.command("target")
@click.option("--baseline", "baseline_spm", type=finite_range(120, 240), default=None, metavar="SPM",
              help="Baseline in steps/min [default: the latest stored baseline].")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@db_option
def target_cmd(baseline_spm: float | None, as_json: bool, db_path: Path | None) -> None:
    """Show the target band (+5 to +10 % over baseline) and the recommended next target."""
    with Store(db_path, check=False) as store:  # read-only: damage met while reading is one line too
        baseline, measured_at = _baseline_or_stored(store, baseline_spm)
        progress = _progress(store, baseline, measured_at)
    low, high = target_band(baseline)
    out = {"baseline_spm": baseline, "target_band_spm": [round(low, 1), round(high, 1)], **progress}
    if as_json:
        click.echo(json_text(out, indent=2))
        return
    click.echo(f"Baseline {baseline:.1f} spm" + (f" (measured {measured_at[:10]})" if measured_at else ""))
    click.echo(f"Target band: {low:.1f} spm (+5 %) ... {high:.1f} spm (+10 %)")
    cur = progress["current_target_spm"]
    if cur is None:
        click.echo(f"Start at {progress['next_target_spm']:.0f} spm (+{100 * (progress['next_target_spm'] / baseline - 1):.1f} %).")
        return
    click.echo(f"Current target {cur:.0f} spm: {progress['n_sessions']} counted session(s) at it; "
               + ("held: move up." if progress["holds"] else "not yet held (" + "; ".join(progress["reasons"]) + ")."))
    _print_evidence(progress)
    click.echo(f"Recommended next target: {progress['next_target_spm']:.0f} spm "
               f"(+{100 * (progress['next_target_spm'] / baseline - 1):.1f} % over baseline).")


# --- history --------------------------------------------------------------------------------


def _duration_s(s: dict[str, Any]) -> float | None:
    """The session's length: its audio duration, else the wall-clock span, else the intervals'."""
    if s.get("audio_duration_s") is not None:
        return float(s["audio_duration_s"])
    if s.get("ended_at"):
        return (datetime.fromisoformat(s["ended_at"]) - datetime.fromisoformat(s["started_at"])).total_seconds()
    ends = [iv.get("end_s") for iv in s.get("intervals", []) if iv.get("end_s") is not None]
    return max(ends) if ends else None


def sparkline(values: list[float | None]) -> str:
    """One character per value, scaled between the finite minimum and maximum; ' ' for None."""
    finite = [v for v in values if v is not None]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = hi - lo or 1.0
    return "".join(" " if v is None else SPARK[min(int((v - lo) / span * (len(SPARK) - 1) + 0.5), len(SPARK) - 1)]
                   for v in values)


@click.command("history")
@click.option("--weeks", type=click.IntRange(1, 520), default=None, help="Only the last N weeks.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="OUT.png",
              help="Draw weekly cadence vs target and pain over weeks (matplotlib).")
@click.option("--json", "as_json", is_flag=True, help="Print sessions, weekly averages and baselines as JSON.")
@click.option("--import", "imports", multiple=True, type=click.Path(dir_okay=False, path_type=Path), metavar="REPORT.json",
              help="Put a session report into the history: a 'cadence run --json-report' file, or the fallback "
                   "file a session wrote when the database could not take it. Repeatable.")
@db_option
def history_cmd(weeks: int | None, plot_path: Path | None, as_json: bool, imports: tuple[Path, ...],
                db_path: Path | None) -> None:
    """Sessions and weekly averages (cadence, in-sync %, asynchrony, retention, pain)."""
    if imports:
        _import_reports(imports, db_path)
        return
    with Store(db_path, check=False) as store:
        sessions = store.sessions()
        baselines = store.baselines()
        if weeks is not None:
            cutoff = datetime.now(timezone.utc) - timedelta(weeks=weeks)
            sessions = [s for s in sessions if datetime.fromisoformat(s["started_at"]) >= cutoff]
        from coach.store import weekly_averages

        weekly = weekly_averages(sessions)
        db = store.path
    if plot_path is not None:
        _plot(weekly, baselines, plot_path)
    if as_json:
        slim = [{k: v for k, v in s.items() if k != "intervals"} for s in sessions]
        click.echo(json_text({"sessions": slim, "weekly": weekly, "baselines": baselines}, indent=2, default=str))
        return
    if not sessions and not baselines:
        click.echo(f"No sessions or baselines yet in {db}.")
        return
    _print_history(sessions, weekly, baselines)
    if plot_path is not None:
        click.echo(f"Plot written to {plot_path}")


def _import_reports(paths: tuple[Path, ...], db_path: Path | None) -> None:
    from coach.store import store_report

    docs = []
    for path in paths:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise click.ClickException(f"{path} is not a JSON session report ({exc})") from None
        if not isinstance(doc, dict) or "started_at" not in doc or not isinstance(doc.get("steps", []), list):
            raise click.ClickException(f"{path} is not a cadence session report (no started_at/steps)")
        docs.append((path, doc))
    with Store(db_path) as store:
        for path, doc in docs:
            try:
                sid = store_report(store, doc)
            except (KeyError, TypeError, ValueError) as exc:
                raise click.ClickException(f"{path}: {' '.join(str(exc).split())}") from None
            s = store.session(sid)
            click.echo(f"{path} -> session {sid} in {store.path} ({s['status']}, {s['n_steps']} steps, "
                       f"{s['n_beats']} ticks)")


def _print_history(sessions: list[dict[str, Any]], weekly: list[dict[str, Any]], baselines: list[dict[str, Any]]) -> None:
    from rich import box
    from rich.table import Table

    console = _console()
    if baselines:
        b = baselines[-1]
        console.print(f"Baseline {b['baseline_spm']:.1f} spm (measured {b['measured_at'][:10]}; "
                      f"{len(baselines)} baseline(s) stored)")
    table = Table(title="Sessions", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("id", "date", "kind", "status", "min", "cadence", "target", "in sync %", "async ms", "retention",
                "pain", "next day", "effort", "notes"):
        table.add_column(col, justify="right" if col not in ("date", "kind", "status", "notes") else "left",
                         no_wrap=col != "notes")
    for s in sessions:
        dur = _duration_s(s)
        status = {"complete": "complete", "aborted": "aborted"}.get(s["status"], f"incomplete ({s['n_steps']} steps)")
        notes = " ".join(x for x in (s.get("abort_reason"), s.get("pace"), s.get("terrain"), s.get("shoes"),
                                     s.get("notes")) if x)
        table.add_row(str(s["id"]), s["started_at"][:16].replace("T", " "), s["kind"], status,
                      _fmt(dur / 60 if dur is not None else None, ".0f"), _fmt(s["cadence_spm"]), _fmt(s["tempo_spm"], ".0f"),
                      _fmt(s["in_sync_pct"], ".0f"), _fmt(s["mean_asynchrony_ms"], "+.0f"), _fmt(s["retention"], ".2f"),
                      _fmt(s.get("pain_during"), ".0f"), _fmt(s.get("pain_next_day"), ".0f"), _fmt(s.get("effort"), ".0f"),
                      notes[:30])
    console.print(table)
    wt = Table(title="Weekly averages", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("week", "from", "sessions", "cadence", "target", "in sync %", "async ms", "retention", "pain",
                "next day"):
        wt.add_column(col, justify="left" if col in ("week", "from") else "right")
    for w in weekly:
        wt.add_row(w["week"], w["week_start"], str(w["n_sessions"]), _fmt(w["cadence_spm"]), _fmt(w["tempo_spm"], ".0f"),
                   _fmt(w["in_sync_pct"], ".0f"), _fmt(w["mean_asynchrony_ms"], "+.0f"), _fmt(w["retention"], ".2f"),
                   _fmt(w["pain_during"]), _fmt(w["pain_next_day"]))
    console.print(wt)
    if len(weekly) >= 2:
        cad = [w["cadence_spm"] for w in weekly]
        pain = [w["pain_during"] for w in weekly]
        first = next((v for v in cad if v is not None), None)
        last = next((v for v in reversed(cad) if v is not None), None)
        trend = f"Trend cadence {sparkline(cad)}"
        if first is not None and last is not None:
            trend += f"  {first:.1f} -> {last:.1f} spm"
        known = [p for p in pain if p is not None]
        if known:
            trend += f"   pain {sparkline(pain)}  {known[0]:.1f} -> {known[-1]:.1f}"
            if len(known) >= 2 and known[0] - known[-1] >= 2:
                trend += " (a 2-point drop: the sign it works)"
            elif len(known) >= 2 and known[-1] > known[0]:
                trend += " (rising: hold the target)"
        console.print(trend)


def _plot(weekly: list[dict[str, Any]], baselines: list[dict[str, Any]], out: Path) -> None:
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.ClickException(f"cannot write {out.name}: use a .png, .svg or .pdf file name")
    if not out.resolve().parent.is_dir():
        raise click.ClickException(f"cannot write {out}: directory {out.resolve().parent} does not exist")
    try:
        import matplotlib
    except ImportError:
        raise click.ClickException("--plot needs matplotlib: pip install 'cadence-coach[plot]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    starts = [date.fromisoformat(w["week_start"]) for w in weekly]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, constrained_layout=True)
    try:
        def series(key: str) -> list[float]:
            return [math.nan if w[key] is None else w[key] for w in weekly]

        ax1.plot(starts, series("cadence_spm"), "o-", label="cadence (weekly mean)")
        ax1.plot(starts, series("tempo_spm"), "s--", label="target")
        if baselines:
            base = baselines[-1]["baseline_spm"]
            ax1.axhline(base, color="grey", lw=1, label="baseline")
            low, high = target_band(base)
            ax1.axhspan(low, high, color="tab:green", alpha=0.12, label="target band (+5-10 %)")
        ax1.set_ylabel("steps/min")
        ax1.legend(loc="best")
        ax1.set_title("Cadence vs target")
        ax2.plot(starts, series("pain_during"), "o-", color="tab:red", label="pain during")
        ax2.plot(starts, series("pain_next_day"), "^--", color="tab:purple", label="pain next day")
        ax2.set_ylim(-0.5, 10.5)
        ax2.set_ylabel("pain (0-10)")
        ax2.set_xlabel("week starting")
        ax2.legend(loc="best")
        fig.autofmt_xdate()
        try:
            fig.savefig(out, dpi=100)
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)


# --- log ------------------------------------------------------------------------------------


def _score(name: str) -> F:
    return click.option(f"--{name.replace('_', '-')}", name, type=finite_range(0, 10), default=None,
                        metavar="0-10", help=f"{name.replace('_', ' ').capitalize()} (0-10).")


@click.command("log")
@click.argument("session", required=False, default="last")
@_score("pain_during")
@_score("pain_next_day")
@_score("effort")
@click.option("--pace", default=None, help='Pace, free text (e.g. "5:40/km").')
@click.option("--terrain", default=None, help="Terrain, free text (road, trail, treadmill...).")
@click.option("--shoes", default=None, help="Shoes, free text.")
@click.option("--notes", default=None, help="Notes, free text.")
@db_option
def log_cmd(session: str, db_path: Path | None, **fields: Any) -> None:
    """Add or edit a session's notes and pain scores afterwards (SESSION: id or 'last').

    Pain is 0-10, during the run and the next day; a 2-point drop over the weeks is the
    sign the cadence work helps.
    """
    with Store(db_path) as store:
        if session == "last":
            sid = store.last_session_id()
        else:
            try:
                sid = int(session)
            except ValueError:
                raise click.BadParameter(f"{session!r} is not a session id or 'last'", param_hint="SESSION") from None
        store.set_notes(sid, **fields)
        s = store.session(sid)
    shown = {k: s.get(k) for k in ("pace", "terrain", "shoes", "pain_during", "pain_next_day", "effort", "notes")}
    click.echo(f"Session {sid} ({s['started_at'][:16].replace('T', ' ')}, {s['status']}): "
               + ", ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in shown.items() if v is not None))


# --- export ---------------------------------------------------------------------------------

SESSION_CSV_COLUMNS = ("id", "kind", "status", "started_at", "ended_at", "device", "cadence_spm", "tempo_spm",
                       "in_sync_pct", "mean_asynchrony_ms", "retention", "pace", "terrain", "shoes", "pain_during",
                       "pain_next_day", "effort", "notes", "n_steps", "n_beats", "audio_duration_s", "abort_reason")
STEP_CSV_COLUMNS = ("session_id", "time_s", "foot", "asynchrony_ms", "confidence")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), required=True, help="Output format.")
@click.option("--what", type=click.Choice(["sessions", "steps"]), default="sessions", show_default=True,
              help="One row per session, or one row per step.")
@click.option("--session", "session_ids", type=int, multiple=True, help="Only these session ids (repeatable).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
@db_option
def export_cmd(fmt: str, what: str, session_ids: tuple[int, ...], output: Path | None, db_path: Path | None) -> None:
    """Export sessions (with intervals, settings, notes) or steps as CSV or JSON."""
    with Store(db_path, damaged_ok=True) as store:  # a damaged history: export what is readable
        if store.damaged is not None:
            click.echo(f"warning: {store.path} is damaged ({store.damaged}); exporting what is readable", err=True)
        db = store.path
        sessions, unreadable = store.readable_sessions(list(session_ids) or None)
        missing = set(session_ids) - {s["id"] for s in sessions} - set(unreadable)
        if missing:
            raise click.ClickException(f"no session {', '.join(map(str, sorted(missing)))} in {store.path}")
        rows = sessions
        if what == "steps":
            rows = []
            for s in sessions:
                try:
                    rows.extend({"session_id": s["id"], **st} for st in store.steps(s["id"]))
                except StoreError:
                    unreadable.append(s["id"])
    buf = io.StringIO()
    if fmt == "json":
        buf.write(json_text({what: rows}, indent=2, default=str))
        buf.write("\n")
    else:
        columns = STEP_CSV_COLUMNS if what == "steps" else SESSION_CSV_COLUMNS
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    if output is None:
        click.echo(buf.getvalue(), nl=False)
    else:
        try:
            output.write_text(buf.getvalue(), encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
        click.echo(f"{len(rows)} {what} written to {output}", err=True)
    if unreadable:
        raise click.ClickException(f"session(s) {', '.join(map(str, sorted(set(unreadable))))} could not be read "
                                   f"from the damaged {db}; the rest was exported")


# --- plan -----------------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return f"{v:g}"
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


def _toml_duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s}s" if m and s else (f"{m}m" if m else f"{s}s")


def _toml_segment(seg: dict[str, Any]) -> dict[str, str]:
    return {"label": _toml_value(seg["label"]), "duration": _toml_value(_toml_duration(seg["duration_s"])),
            "spm": _toml_value(seg["spm"]), "sound": _toml_value(seg["sound"])}


def session_toml(session: dict[str, Any], *, baseline_spm: float) -> str:
    """A plan file that ``metronome.plans.load_plan`` parses (absolute cadences in spm)."""
    lines = [
        f"# cadence plan: week {session['week']}, session {session['n']} ({session['date']}), "
        f"baseline {baseline_spm:.1f} spm",
        "description = " + _toml_value(f"Week {session['week']} {session['kind']}: target {session['target_spm']:g} spm"),
        "",
    ]
    for seg in session["segments"]:
        lines.append("[[segment]]")
        if "times" in seg:
            inner = ", ".join("{ " + ", ".join(f"{k} = {v}" for k, v in _toml_segment(s).items()) + " }"
                              for s in seg["segments"])
            lines += [f"label = {_toml_value(seg['label'])}", f"times = {seg['times']}", f"segments = [ {inner} ]"]
        else:
            lines += [f"{k} = {v}" for k, v in _toml_segment(seg).items()]
        lines.append("")
    return "\n".join(lines)


@click.command("plan")
@click.option("--baseline", "baseline_spm", type=finite_range(120, 240), default=None, metavar="SPM",
              help="Baseline in steps/min [default: the latest stored baseline].")
@click.option("--weeks", type=click.IntRange(6, 8), default=8, show_default=True, help="Program length.")
@click.option("--start", "start_text", default=None, metavar="YYYY-MM-DD",
              help="First day of the program [default: next Monday].")
@click.option("--write", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Write each session as a TOML plan for 'cadence run --plan DIR/FILE.toml'.")
@click.option("--json", "as_json", is_flag=True, help="Print the program as JSON.")
@db_option
def plan_cmd(baseline_spm: float | None, weeks: int, start_text: str | None, out_dir: Path | None, as_json: bool,
             db_path: Path | None) -> None:
    """Build a 6-8 week cadence program from the baseline.

    Two ~20 min sessions a week (5 min easy warm-up and cool-down without ticks) cycling
    through metronome intervals, strides and drills. The target starts at +5 % and moves up
    (+2.5 % of baseline) only when the history shows the runner holds it (in-sync %,
    retention) and pain is not rising; never more than +10 % over baseline.
    """
    if start_text is None:
        today = date.today()
        start = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    else:
        try:
            start = date.fromisoformat(start_text)
        except ValueError:
            raise click.BadParameter(f"{start_text!r} is not a date like 2026-01-05", param_hint="--start") from None
    with Store(db_path, check=False) as store:
        baseline, measured_at = _baseline_or_stored(store, baseline_spm)
        progress = _progress(store, baseline, measured_at)
    program = build_program(baseline, weeks=weeks, start=start, current_target_spm=progress["current_target_spm"],
                            holds=progress["holds"])
    written: list[str] = []
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            for s in program:
                path = out_dir / f"week{s['week']}-{s['n']:02d}-{s['kind']}.toml"
                path.write_text(session_toml(s, baseline_spm=baseline), encoding="utf-8")
                s["file"] = str(path)
                written.append(str(path))
        except OSError as exc:
            raise click.ClickException(f"cannot write plans to {out_dir}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json_text({"baseline_spm": baseline, **progress, "weeks": weeks, "sessions": program}, indent=2))
        return
    low, high = target_band(baseline)
    click.echo(f"{weeks}-week cadence program from baseline {baseline:.1f} spm "
               f"(band {low:.0f}-{high:.0f} spm; never above {math.floor(high):.0f}).")
    if progress["current_target_spm"] is not None:
        click.echo(f"History: target {progress['current_target_spm']:.0f} spm "
                   + ("held; moving up." if progress["holds"]
                      else "not yet held (" + "; ".join(progress["reasons"]) + "); keep it."))
        _print_evidence(progress)
    last_target = None
    for s in program:
        mark = "*" if s["provisional"] else " "
        head = f"W{s['week']} {s['date']} {s['kind']:<9} {s['target_spm']:.0f} spm{mark} {s['duration_s'] / 60:.0f} min"
        if s["target_spm"] != last_target:
            head += f"  (+{100 * (s['target_spm'] / baseline - 1):.1f} %)"
            last_target = s["target_spm"]
        click.echo(head + (f"  -> {Path(s['file']).name}" if "file" in s else ""))
    click.echo("* proposed: move up only when 'cadence target' says the current target holds "
               "(the rule above); re-run 'cadence plan' to re-plan.")
    if written:
        first = program[0]
        click.echo(f"Run a session with: cadence run --plan {first['file']} --baseline {baseline:g} "
                   f"--target {first['target_spm']:g} --ramp 0   (the plan holds its own warm-up and cool-down)")


COMMANDS = (baseline_cmd, target_cmd, history_cmd, log_cmd, export_cmd, plan_cmd)
