"""Baseline and progression commands: ``baseline``, ``target``, ``plan``."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from cli.options import DURATION, audio_device_options, db_option, finite_range
from cli.tables import fmt, wide_console
from coach.baseline import MIN_RUNNING_SPM, RunBaseline, combine_runs, measure_source, run_from_steps
from coach.jsonfile import json_text
from coach.program import ProgramSession, build_program
from coach.progression import Progress, current_progress, target_band
from coach.store import Store


# --- baseline -------------------------------------------------------------------------------


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
        from cli.display import run_hooks
        from coach.run import listen

        if not as_json:
            click.echo(f"listening for {duration_s / 60:g} min: run at your easy pace (Ctrl-C stops early)", err=True)
        report = listen(duration_s, input_file=input_file, fast=input_file is not None, device=device,
                        sample_rate=sample_rate, block_size=block_size, latency=latency,
                        hooks=run_hooks())
        steps_s = [s["time_s"] for s in report["steps"]]
        run, extra = run_from_steps(steps_s, source="live" if input_file is None else f"live:{input_file.name}",
                                     fmt="live", min_running_spm=min_running_spm)
        extra["xruns"] = report["xruns"]
        runs.append(run)
        extras.append(extra)
    for path in sources:
        run, extra = measure_source(path, accel=accel, min_running_spm=min_running_spm)
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
        table.add_row(r["source"], r["format"], fmt(r["baseline_spm"]), fmt(r["median_spm"]),
                      fmt(r["moving_mean_spm"]), fmt(r.get("session_avg_spm")), str(r["n_kept"]),
                      str(r["n_walking"]), str(r["n_stopped"]), str(r["n_outliers"]),
                      f"{r['kept_duration_s'] / 60:.1f}")
    console = wide_console()
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


def _progress(store: Store, baseline_spm: float, since: str | None) -> Progress:
    """Current target and whether the runner holds it, from the sessions since the baseline."""
    return current_progress(store.sessions(), baseline_spm, since)


def _print_evidence(progress: Progress) -> None:
    """Which sessions counted towards the current target, which did not and why, and the rule."""
    def when(entry: dict[str, Any]) -> str:
        return f"#{entry['id']} {str(entry.get('started_at') or '')[:16].replace('T', ' ')}"

    for c in progress.check["counted"]:
        click.echo(f"  counted {when(c)}: " + ("held" if c["held"] else "; ".join(c["misses"])))
    for n in progress.check["not_counted"]:
        click.echo(f"  not counted {when(n)}: {n['why']}")
    click.echo(f"Rule: {progress.check['rule']}.")


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
    out = {"baseline_spm": baseline, "target_band_spm": [round(low, 1), round(high, 1)], **progress.as_dict()}
    if as_json:
        click.echo(json_text(out, indent=2))
        return
    click.echo(f"Baseline {baseline:.1f} spm" + (f" (measured {measured_at[:10]})" if measured_at else ""))
    click.echo(f"Target band: {low:.1f} spm (+5 %) ... {high:.1f} spm (+10 %)")
    cur = progress.current_target_spm
    if cur is None:
        click.echo(f"Start at {progress.next_target_spm:.0f} spm (+{100 * (progress.next_target_spm / baseline - 1):.1f} %).")
        return
    click.echo(f"Current target {cur:.0f} spm: {progress.check['n_sessions']} counted session(s) at it; "
               + ("held: move up." if progress.holds else "not yet held (" + "; ".join(progress.check["reasons"]) + ")."))
    _print_evidence(progress)
    click.echo(f"Recommended next target: {progress.next_target_spm:.0f} spm "
               f"(+{100 * (progress.next_target_spm / baseline - 1):.1f} % over baseline).")



# --- plan -----------------------------------------------------------------------------------


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
    program = build_program(baseline, weeks=weeks, start=start, current_target_spm=progress.current_target_spm,
                            holds=progress.holds)
    if out_dir is not None:
        _write_plans(program, out_dir, baseline_spm=baseline)
    if as_json:
        click.echo(json_text({"baseline_spm": baseline, **progress.as_dict(), "weeks": weeks,
                              "sessions": [s.as_dict() for s in program]}, indent=2))
        return
    _print_program(program, progress, baseline_spm=baseline, weeks=weeks)


def _write_plans(program: list[ProgramSession], out_dir: Path, *, baseline_spm: float) -> None:
    """Each session as a TOML plan in ``out_dir``; the sessions learn their ``file``."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for s in program:
            path = out_dir / f"{s.file_stem}.toml"
            path.write_text(s.plan_toml(baseline_spm=baseline_spm), encoding="utf-8")
            s.file = str(path)
    except OSError as exc:
        raise click.ClickException(f"cannot write plans to {out_dir}: {exc.strerror or exc}") from None


def _print_program(program: list[ProgramSession], progress: Progress, *, baseline_spm: float, weeks: int) -> None:
    low, high = target_band(baseline_spm)
    click.echo(f"{weeks}-week cadence program from baseline {baseline_spm:.1f} spm "
               f"(band {low:.0f}-{high:.0f} spm; never above {math.floor(high):.0f}).")
    if progress.current_target_spm is not None:
        click.echo(f"History: target {progress.current_target_spm:.0f} spm "
                   + ("held; moving up." if progress.holds
                      else "not yet held (" + "; ".join(progress.check["reasons"]) + "); keep it."))
        _print_evidence(progress)
    last_target = None
    for s in program:
        mark = "*" if s.provisional else " "
        head = (f"W{s.week} {s.date.isoformat()} {s.kind:<9} {s.target_spm:.0f} spm{mark} "
                f"{s.duration_s / 60:.0f} min")
        if s.target_spm != last_target:
            head += f"  (+{100 * (s.target_spm / baseline_spm - 1):.1f} %)"
            last_target = s.target_spm
        click.echo(head + (f"  -> {Path(s.file).name}" if s.file is not None else ""))
    click.echo("* proposed: move up only when 'cadence target' says the current target holds "
               "(the rule above); re-run 'cadence plan' to re-plan.")
    first = program[0]
    if first.file is not None:
        click.echo(f"Run a session with: cadence run --plan {first.file} --baseline {baseline_spm:g} "
                   f"--target {first.target_spm:g} --ramp 0   (the plan holds its own warm-up and cool-down)")


COMMANDS = (baseline_cmd, target_cmd, plan_cmd)
