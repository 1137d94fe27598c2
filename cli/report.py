"""The end-of-session report: on screen (a table per interval) and as a JSON file."""

from __future__ import annotations

from typing import Any

from metronome.units import format_duration


def _fmt(value: Any, spec: str = ".1f", unit: str = "") -> str:
    if value is None:
        return "--"
    return f"{value:{spec}}{unit}"


def print_report(report: dict[str, Any], *, console: Any = None) -> None:
    """Human-readable summary of a session report (stdout)."""
    from rich.console import Console

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=120)  # files and pipes get the whole table
    console.print(_interval_table(report))
    for line in _summary_lines(report):
        console.print(line, highlight=False)


def _title(report: dict[str, Any]) -> str:
    settings = report["settings"]
    goal = ("baseline not measured (ended in the warm-up)" if settings.get("baseline_spm") is None
            else f"baseline {settings['baseline_spm']:g} -> target {settings['target_spm']:g} spm")
    return (f"Session: {format_duration(report['duration_s'])}, plan {settings['plan']}, {goal}"
            + (" (interrupted)" if report["interrupted"] else "")
            + (f" (aborted after {format_duration(report['aborted']['after_s'])}: {report['aborted']['reason']})"
               if report.get("aborted") else ""))


def _interval_table(report: dict[str, Any]) -> Any:
    """One row per interval of the plan (a rich Table)."""
    from rich import box
    from rich.table import Table

    table = Table(title=_title(report), show_lines=False, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    spans = [f"{format_duration(iv['start_s'])}-{format_duration(iv['end_s'])}" for iv in report["intervals"]]
    # The time span is never cut (it names the interval); the label may wrap; units are in the headers,
    # so that the table fits 80 columns.
    table.add_column("interval", justify="left", min_width=8)
    table.add_column("time", justify="right", no_wrap=True, min_width=max([len("time"), *map(len, spans)]))
    for col in ("cadence", "tempo", "async ms", "SD ms", "in sync", "R", "drift ms/min"):
        table.add_column(col, justify="right", min_width=max(len(word) for word in col.split()))
    for iv, span in zip(report["intervals"], spans):
        ia = iv["asynchrony"]
        label = iv["label"] + ("" if iv["sounding"] else " (silent)")
        if "retention" in iv and iv["retention"]["held_pct"] is not None:
            label += f" held {iv['retention']['held_pct']:.0f}%"
        table.add_row(
            label,
            span,
            _fmt(iv["cadence_spm"]),
            _fmt(iv["tempo_spm"]),
            _fmt(ia["mean_ms"], "+.0f"),
            _fmt(ia["sd_ms"], ".0f"),
            _fmt(ia["within_pct"], ".0f", "%"),
            _fmt(ia["resultant_length"], ".2f"),
            _fmt(ia["drift_ms_per_min"], "+.1f"),
        )
    return table


def _summary_lines(report: dict[str, Any]) -> list[str]:
    """The whole session's figures under the table: steps, asynchrony, asymmetry, latency, xruns."""
    s = report["summary"]
    a = s["asynchrony"]
    lat = report["latency"]
    lines = [
        f"steps {s['n_steps']}, ticks {s['n_beats']}; cadence {_fmt(s['cadence_spm'])} spm "
        f"(with the beat {_fmt(s['cadence_with_beat_spm'])} vs tempo {_fmt(s['tempo_spm'])}; "
        f"silent minutes {_fmt(s['cadence_without_beat_spm'])}, held {_fmt(s['retention_held_pct'], '.0f', '%')})",
        f"asynchrony: mean {_fmt(a['mean_ms'], '+.1f', ' ms')}, SD {_fmt(a['sd_ms'], '.1f', ' ms')}, "
        f"{_fmt(a['within_pct'], '.0f', '%')} within ±{a['tolerance_ms']:g} ms, R {_fmt(a['resultant_length'], '.2f')}, "
        f"drift {_fmt(a['drift_ms_per_min'], '+.1f', ' ms/min')} (negative = foot before the beat)",
    ]
    if s["asymmetry"]:
        asym = s["asymmetry"]
        lines.append(f"left->right {asym['left_to_right_ms']:.0f} ms, right->left {asym['right_to_left_ms']:.0f} ms "
                     f"(symmetry index {asym['symmetry_index_pct']:+.1f} %)")
    if s["gaps"]:
        lines.append(f"gaps (missed steps or pauses): {len(s['gaps'])}")
    lines.append(f"latency used {lat['loop_latency_ms']:.1f} ms ({lat['method']}); "
                 f"xruns {report['xruns']['output_underflows']} out / {report['xruns']['input_overflows']} in, "
                 f"dropped input frames {report['xruns']['dropped_input_frames']}"
                 + (f", stream start-up underflows {report['xruns']['startup_underflows']}"
                    if report["xruns"].get("startup_underflows") else ""))
    xruns, rate = report["xruns"], (report.get("stream") or {}).get("sample_rate")
    if xruns["output_underflows"] and xruns.get("max_callback_gap_ms") and rate:
        lines.append(f"longest wait between audio callbacks {xruns['max_callback_gap_ms']:.0f} ms, at "
                     f"{format_duration(xruns['max_callback_gap_frame'] / rate)} (a wait longer than the output "
                     f"buffer is this machine not running the audio thread in time)")
    events = [e for e in report.get("latency_events") or [] if e["kind"] == "step"]
    if events:
        shown = ", ".join(f"{e['step_ms']:+.1f} ms at {format_duration(e['time_s'])}" for e in events[:5])
        more = f" and {len(events) - 5} more" if len(events) > 5 else ""
        lines.append(f"latency steps {len(events)}: {shown}{more} (each beat uses the latency in force then)")
    return lines
