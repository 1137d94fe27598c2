"""``cadence analyze PATH``: footfalls, cadence and asymmetry of a recording."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import click
import numpy as np
from numpy.typing import NDArray

from coach.analysis import Progress, analyze_path
from coach.jsonfile import json_text
from metronome.units import format_duration
from stepdetect.cadence import MIN_STEPS_FOR_CADENCE, Foot

SUMMARY_MAX_GAPS = 8  # the text summary lists this many gaps (the JSON lists all)


def _gap_text(gap: dict[str, Any]) -> str:
    length_s = gap["end_s"] - gap["start_s"]
    if length_s >= 60:  # a pause, not missed steps
        span = f"{length_s / 86400:.1f} days" if length_s >= 2 * 86400 else format_duration(length_s)
        return f"{gap['start_s']:.2f}-{gap['end_s']:.2f} s (a pause of {span})"
    return f"{gap['start_s']:.2f}-{gap['end_s']:.2f} s (~{gap['n_missing']} missing)"


def _summary(report: dict[str, Any], header: str) -> str:
    lines = [header]
    n = report["n_steps"]
    conf = [s["confidence"] for s in report["steps"] if s.get("confidence") is not None]
    extra = f" (mean confidence {np.mean(conf):.2f})" if conf else ""
    lines.append(f"{'Footfalls:' if report['source'] == 'audio' else 'Steps:    '}  {n}{extra}")
    if report["cadence_spm"] is not None:
        track = [c["spm"] for c in report["cadence_track"] if c["spm"] is not None]
        over = (f"; {min(track):.1f}-{max(track):.1f} spm over {report['cadence_window_s']:g} s windows"
                if track else "")
        lines.append(f"Cadence:    {report['cadence_spm']:.1f} spm overall{over}")
    elif not report.get("cadence_confident", True) and n >= MIN_STEPS_FOR_CADENCE:
        lines.append("Cadence:    no confident cadence (no steady step rhythm: texture, not steps)")
    else:
        lines.append("Cadence:    unknown (too few steps)")
    if report.get("bands"):
        used = [b["band"] for b in report["bands"] if b["weight"] >= 0.1]
        how = ("the heel-thump band" if len(report["bands"]) == 1
               else "weights learned from the step rhythm")
        lines.append(f"Bands:      {', '.join(used) or 'none'} ({how})")
    a = report["asymmetry"]
    if a["symmetry_index_pct"] is not None:
        lines.append(
            f"Step time:  L->R {a['left_to_right_ms']:.0f} ms, R->L {a['right_to_left_ms']:.0f} ms, "
            f"symmetry index {a['symmetry_index_pct']:+.1f} % ({report['feet_from']})"
        )
    gaps = report["gaps"]
    shown = ", ".join(_gap_text(g) for g in gaps[:SUMMARY_MAX_GAPS])
    more = f", and {len(gaps) - SUMMARY_MAX_GAPS} more (all in --json)" if len(gaps) > SUMMARY_MAX_GAPS else ""
    lines.append("Gaps:       " + (f"{len(gaps)}: {shown}{more}" if gaps else "none"))
    for w in report["warnings"]:
        lines.append(f"Low confidence: {w}")
    return "\n".join(lines)


def _plot(out: Path, *, report: dict[str, Any], signal_t_s: NDArray, signal_y: NDArray, signal_label: str,
          curve_t_s: NDArray | None, curve: NDArray | None, floor: NDArray | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps_t = np.array([s["time_s"] for s in report["steps"]])
    rows = 3 if curve is not None else 2
    fig, axes = plt.subplots(rows, 1, figsize=(11, 2.6 * rows), sharex=True)
    ax = axes[0]
    ax.plot(signal_t_s, signal_y, lw=0.4, color="0.3")
    for t in steps_t:
        ax.axvline(t, color="tab:red", lw=0.6, alpha=0.6)
    ax.set_ylabel(signal_label)
    ax.set_title("Detected footfalls (red)")
    if curve is not None and curve_t_s is not None:  # the onset curve (audio) comes with its times
        ax = axes[1]
        ax.plot(curve_t_s, curve, lw=0.6, label="low-band level (dB)")
        ax.plot(curve_t_s, floor, lw=0.6, color="0.5", label="noise floor (dB)")
        ax.plot(steps_t, np.interp(steps_t, curve_t_s, curve), "v", color="tab:red", ms=4, label="footfall")
        ax.set_ylabel("onset curve, dB")
        ax.legend(loc="upper right", fontsize=7)
    ax = axes[-1]
    track = report["cadence_track"]
    ax.plot([c["time_s"] for c in track], [np.nan if c["spm"] is None else c["spm"] for c in track], "-o", ms=3)
    if report["cadence_spm"] is not None:
        ax.axhline(report["cadence_spm"], color="0.5", ls="--", lw=0.8, label=f"overall {report['cadence_spm']:.1f} spm")
        ax.legend(loc="upper right", fontsize=7)
    ax.set_ylabel("cadence, spm")
    ax.set_xlabel("time, s")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


LONG_FILE_S = 300.0  # files longer than this get a progress bar (on a terminal)


@contextlib.contextmanager
def _progress(path: Path) -> Iterator[Progress | None]:
    """A rich progress bar on stderr for a long audio file on a terminal (as a ``progress``
    callback for :func:`coach.analysis.analyze_path`), else None."""
    import sys

    from coach.audio_io import audio_info

    if not sys.stderr.isatty() or audio_info(path).duration_s < LONG_FILE_S:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress as Bar, TextColumn, TimeRemainingColumn

    with Bar(TextColumn("analyzing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
             TimeRemainingColumn(), console=Console(stderr=True), transient=True,
             auto_refresh=False) as bar:  # drawn between blocks, never while a decoder owns stderr
        task = bar.add_task("analyze", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total, refresh=True)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--accel", is_flag=True, help="PATH is an accelerometer CSV, not audio.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              metavar="OUT.png",
              help="Draw the signal, onset curve, footfalls and cadence trace (recordings up to 1 h).")
@click.option("--ticks", "ticks_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="When metronome ticks sounded in the recording: 'cadence render --json' output, or one time "
                   "in seconds per line. The detector then rejects tick leakage more strictly.")
@click.option("--first-foot", type=click.Choice(["L", "R"]), default="L", show_default=True,
              help="Which foot the first step is (audio cannot tell left from right).")
def analyze(path: Path, accel: bool, as_json: bool, plot_path: Path | None, ticks_path: Path | None,
            first_foot: Foot) -> None:
    """Find the footfalls in a recording; report cadence over time and step-time asymmetry.

    PATH is audio (WAV/FLAC/OGG, any sample rate, mono or multi-channel, any length: it is
    read a block at a time) or, with --accel, an accelerometer CSV.
    """
    with (_progress(path) if not accel and path.is_file() else contextlib.nullcontext()) as progress:
        report = analyze_path(path, accel=accel, ticks_path=ticks_path, first_foot=first_foot,
                              plot=plot_path is not None, progress=progress)
    header = report.pop("_header")
    plot_data = report.pop("_plot", None)
    if report["n_steps"] == 0:
        click.echo(f"Warning: no steps found in {path}", err=True)
    if plot_path is not None:
        _plot(plot_path, report=report, **plot_data)
    if as_json:
        click.echo(json_text(report))
    else:
        click.echo(_summary(report, header))
        if plot_path is not None:
            click.echo(f"Plot:       {plot_path}")


COMMANDS = (analyze,)
