"""Training-history commands: ``history`` (with ``--import``), ``log``, ``export``."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import click

from cli.options import db_option, finite_range
from cli.tables import fmt, wide_console
from coach.jsonfile import json_text
from coach.progression import session_length_s, target_band
from coach.store import Store, StoreError, store_report, weekly_averages

F = Callable[..., Any]
SPARK = "▁▂▃▄▅▆▇█"


# --- history --------------------------------------------------------------------------------


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

    console = wide_console()
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
        dur = session_length_s(s)
        status = {"complete": "complete", "aborted": "aborted"}.get(s["status"], f"incomplete ({s['n_steps']} steps)")
        notes = " ".join(x for x in (s.get("abort_reason"), s.get("pace"), s.get("terrain"), s.get("shoes"),
                                     s.get("notes")) if x)
        table.add_row(str(s["id"]), s["started_at"][:16].replace("T", " "), s["kind"], status,
                      fmt(dur / 60 if dur is not None else None, ".0f"), fmt(s["cadence_spm"]), fmt(s["tempo_spm"], ".0f"),
                      fmt(s["in_sync_pct"], ".0f"), fmt(s["mean_asynchrony_ms"], "+.0f"), fmt(s["retention"], ".2f"),
                      fmt(s.get("pain_during"), ".0f"), fmt(s.get("pain_next_day"), ".0f"), fmt(s.get("effort"), ".0f"),
                      notes[:30])
    console.print(table)
    wt = Table(title="Weekly averages", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("week", "from", "sessions", "cadence", "target", "in sync %", "async ms", "retention", "pain",
                "next day"):
        wt.add_column(col, justify="left" if col in ("week", "from") else "right")
    for w in weekly:
        wt.add_row(w["week"], w["week_start"], str(w["n_sessions"]), fmt(w["cadence_spm"]), fmt(w["tempo_spm"], ".0f"),
                   fmt(w["in_sync_pct"], ".0f"), fmt(w["mean_asynchrony_ms"], "+.0f"), fmt(w["retention"], ".2f"),
                   fmt(w["pain_during"]), fmt(w["pain_next_day"]))
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



COMMANDS = (history_cmd, log_cmd, export_cmd)
