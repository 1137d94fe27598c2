"""The main job's commands: ``cadence run`` (metronome + live footfall detection + controller +
report) and ``cadence demo``. Options in, a :class:`coach.request.RunRequest` out to
:func:`coach.run.run_session`, the report back on screen, as JSON and in the history."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from cli.display import echo_quietly, run_hooks
from cli.metronome_options import metronome_options
from cli.options import (DURATION, DURATION_OR_ZERO, FINITE, db_option, finite_range, session_device_options,
                         user_errors)
from cli.report import print_report
from coach.calibration import HEADPHONE_OFFSET_MAX_MS, HEADPHONE_OFFSET_MIN_MS
from coach.interrupts import session_signals
from coach.jsonfile import check_writable, write_json_atomic
from coach.request import (PROVISIONAL_BASELINE_SPM, FileInput, PlanRequest, RunRequest, StreamOptions,
                           headphone_offset_ms)
from coach.run import LEAD_IN_S, aborted_message, record_in_history, run_session
from coach.session import SessionSettings
from coach.control import AdaptiveParams

DEFAULT_MEASURE_WARMUP_S = 180.0


class BleedDelayType(click.ParamType):
    """``25`` (ms), or a schedule ``25,70@40s,10@1m30s``: the delay steps to 70 ms at 40 s of the
    input, to 10 ms at 1:30 (a simulated loop latency that moves mid-run). Returns
    ``[(from_s, delay_ms), ...]`` starting at 0 s."""

    name = "ms[,ms@time...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[tuple[float, float]]:
        if isinstance(value, list):
            return value
        if isinstance(value, (int, float)):
            value = str(value)
        from metronome.units import ParameterError, parse_duration_s

        schedule: list[tuple[float, float]] = []
        for k, part in enumerate(str(value).split(",")):
            ms_text, _, at_text = part.strip().partition("@")
            if k == 0 and at_text:
                self.fail(f"{value!r}: the first delay holds from the start (give it without @time)", param, ctx)
            try:
                ms = float(ms_text)
                at_s = 0.0 if k == 0 and not at_text else parse_duration_s(at_text)
            except (ValueError, ParameterError):
                self.fail(f"{value!r}: use a delay in ms such as 25, or 25,70@40s,10@1m30s", param, ctx)
            if not 0.0 <= ms <= 500.0:
                self.fail(f"{ms:g} ms is outside 0..500 ms", param, ctx)
            if schedule and at_s <= schedule[-1][0]:
                self.fail(f"{value!r}: the times of the steps must increase", param, ctx)
            schedule.append((at_s, ms))
        return schedule


def session_options(f: Any) -> Any:
    decorators = [
        click.option("--target", default=None, help="Target cadence: +7% of the baseline (default) or spm, e.g. 178."),
        click.option("--spm", "--bpm", "spm", type=FINITE, default=None, metavar="N",
                     help="The target as steps per minute (same as --target N)."),
        click.option("--ramp", "ramp_s", type=DURATION_OR_ZERO, default="5m", show_default=True,
                     help="Ramp the tempo from baseline to target over this long (0 for no ramp)."),
        click.option("--adaptive", is_flag=True,
                     help="Advance the tempo only while you keep up; hold or ease back when you fall off."),
        click.option("--duration", "duration_s", type=DURATION, default=None,
                     help="Session length [default: until Ctrl-C, or the end of --input-file]."),
        click.option("--tolerance-ms", type=finite_range(1, 200), default=40.0, show_default=True,
                     help="A footfall within ± this of the beat counts as in sync."),
        click.option("--cue-off-target", is_flag=True,
                     help="Ticks sound only while your cadence is outside the target band (±2 %)."),
        click.option("--headphone-offset-ms", type=finite_range(HEADPHONE_OFFSET_MIN_MS, HEADPHONE_OFFSET_MAX_MS),
                     default=None,
                     help="Extra output delay (Bluetooth) [default: the calibrated value for the device, else 0]."),
        click.option("--input-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Use a recording instead of the microphone (simulation)."),
        click.option("--fast", is_flag=True, help="With --input-file: run faster than real time."),
        click.option("--monitor", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="With --input-file: write the recording mixed with the ticks to this WAV/FLAC."),
        click.option("--bleed-db", type=finite_range(-100, 20), default=None,
                     help="With --input-file: let the 'mic' hear the ticks at this level (dB), like an earbud mic."),
        click.option("--bleed-delay-ms", type=BleedDelayType(), default="25", show_default=True,
                     help="With --bleed-db: the output-to-mic delay to simulate (0-500 ms); 25,70@40s steps it "
                     "to 70 ms at 40 s of the input (a loop latency that moves mid-run)."),
        click.option("--json-report", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write the session report as JSON here."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def _printable(path: Path) -> str:
    """A file name as text that any UTF-8 store takes (undecodable bytes as \\xNN escapes)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _baseline(given: float | None, store: Any) -> tuple[float | None, str]:
    """--baseline, else the last one stored by 'cadence baseline', else None (measured in the warm-up)."""
    if given is not None:
        return given, "given"
    stored = store.latest_baseline() if store is not None else None
    if stored is not None:
        return float(stored["baseline_spm"]), "stored"
    return None, "measured in the warm-up"


def _request(opts: dict[str, Any], baseline: float | None) -> tuple[RunRequest, PlanRequest, float | None]:
    """The run request from the options (and the plan, and how long a warm-up measures the baseline)."""
    input_file = opts["input_file"]
    warmup_s, probe_s = opts["warmup_s"], None
    if baseline is None:  # measure it in a silent warm-up, then start the plan
        warmup_s = probe_s = warmup_s or DEFAULT_MEASURE_WARMUP_S
    ramp_s = 0.0 if opts["adaptive"] else opts["ramp_s"]
    plan = PlanRequest(
        target=opts["target"], spm=opts["spm"], force=opts["force"], duration_s=opts["duration_s"],
        plan=opts["plan"], warmup_s=warmup_s, cooldown_s=opts["cooldown_s"],
        every_other_step=opts["every_other_step"], sound=opts["sound"], accent_every=opts["accent_every"],
        alternate_ears=opts["alternate_ears"], volume_db=opts["volume_db"], ramp_s=ramp_s, cues=opts["cues"],
    )
    # While measuring, the clock runs silently through the warm-up at a provisional tempo.
    metronome = plan.build(baseline if baseline is not None else PROVISIONAL_BASELINE_SPM)
    stream = StreamOptions(device=opts["device"], input_device=opts["input_device"],
                           output_device=opts["output_device"], sample_rate=opts["sample_rate"],
                           block_size=opts["block_size"], latency=opts["latency"])
    settings = SessionSettings(
        metronome=metronome, kind="simulated" if input_file is not None else "live",
        tolerance_ms=opts["tolerance_ms"], ramp_s=ramp_s, adaptive=AdaptiveParams() if opts["adaptive"] else None,
        cue_only_off_target=opts["cue_off_target"],
        headphone_offset_ms=headphone_offset_ms(opts["headphone_offset_ms"], input_file, stream),
    )
    file = None if input_file is None else FileInput(
        path=input_file, fast=opts["fast"], monitor=opts["monitor"], bleed_db=opts["bleed_db"],
        bleed_delay_ms=opts["bleed_delay_ms"])
    request = RunRequest(metronome=metronome, settings=settings, duration_s=opts["duration_s"], stream=stream,
                         input=file)
    return request, plan, probe_s


@click.command()
@metronome_options
@session_options
@session_device_options
@click.option("--input-device", default=None, help="Microphone device (default: --device).")
@click.option("--output-device", default=None, help="Headphone device (default: --device).")
@db_option
@click.option("--no-save", is_flag=True, help="Do not store this session in the history.")
def run(**opts: Any) -> None:
    """A cadence session: ticks in your headphones, footfalls from the microphone, drift report.

    The baseline is --baseline N, else the last one stored by 'cadence baseline', else it is
    measured in a silent warm-up (--warmup, 3 min by default). The target defaults to +7 %.
    The tempo ramps from baseline to target (--ramp), or follows you with --adaptive.
    """
    from coach.store import SessionStoreLog, Store

    input_file = opts["input_file"]
    for flag in ("fast", "monitor", "bleed_db"):
        if opts[flag] and input_file is None:
            raise click.ClickException(f"--{flag.replace('_', '-')} needs --input-file")
    json_report = opts["json_report"]
    if json_report is not None and (why := check_writable(json_report)) is not None:
        raise click.ClickException(f"cannot write the report to {json_report}: {why}")
    store = None if opts["no_save"] else Store(opts["db_path"])
    baseline, baseline_source = _baseline(opts["baseline_spm"], store)
    with user_errors():
        request, plan, probe_s = _request(opts, baseline)
    log = None
    if store is not None:
        log = SessionStoreLog(store, kind=request.settings.kind,
                              settings={**request.settings.as_dict(), "baseline_source": baseline_source},
                              device=_printable(input_file) if input_file else request.stream.label)
    with session_signals():  # a signal while the report is written out waits for it to be complete
        with user_errors():
            report = run_session(request, log=log, baseline_probe=None if probe_s is None else (probe_s, plan.build),
                                 hooks=run_hooks(), raise_if_aborted=False)
        report["settings"]["baseline_source"] = baseline_source
        saved = log.wait() if log is not None else None  # the history's last writes (or the fallback file)
        final = _write_out(report, store, saved, json_report)
    if final:
        raise click.ClickException(final)


def _write_out(report: dict[str, Any], store: Any, saved: Any, json_report: Path | None) -> str | None:
    """The report on screen, as JSON and in the history; return the error that ends the command, if any."""
    problems = record_in_history(report, store, saved) if store is not None else []
    try:
        if report["aborted"] is None or report["duration_s"] > LEAD_IN_S:  # something was measured
            print_report(report)  # on screen first: whatever happens to the files, the runner sees the session
    except OSError:  # the terminal is gone (SIGHUP): the JSON and the history still get written
        pass
    if json_report is not None:
        try:
            write_json_atomic(json_report, report)
        except OSError as exc:
            problems.append(f"cannot write the report to {json_report}: {exc.strerror or exc}")
    note = None if saved is None else saved.message()
    if saved is not None and not saved.saved:  # the data is safe elsewhere, but not in the history
        problems.insert(0, str(note))
    final = (report.get("error") or (aborted_message(report) if report["aborted"] else None)
             or (problems.pop() if problems else None))
    if saved is not None and saved.saved:
        if note is not None:
            echo_quietly(note)
        elif saved.session_id is not None:
            echo_quietly(f"saved as session {saved.session_id} in {store.path} (add notes: cadence log "
                         f"{saved.session_id})" + (" - marked aborted" if report["aborted"] else ""))
    for line in problems:
        echo_quietly(f"Error: {line}")
    return final


SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
DEMO_ARGS = ("--baseline", "164", "--target", "175", "--plan", "intervals", "--ramp", "1m", "--no-save")


@click.command()
@click.option("--realtime", is_flag=True, help="Run at real speed, with the live display (4 minutes).")
@click.option("--monitor", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the recording mixed with the session's ticks, to listen to.")
@click.option("--json-report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the session report as JSON here.")
@click.pass_context
def demo(ctx: click.Context, realtime: bool, monitor: Path | None, json_report: Path | None) -> None:
    """The main job on a bundled recording, for a machine without a microphone.

    A recorded runner (baseline 164 spm) runs 4 minutes of intervals (2 min on, 1 min off) with
    the target at 175 spm, reached by a 1-minute ramp: 'cadence run' with the recording as the
    microphone. Nothing is saved to your history.
    """
    sample = SAMPLES_DIR / "session_demo.ogg"
    if not sample.is_file():
        raise click.ClickException(f"the demo recording {sample} is missing (it ships with cadence-coach: reinstall it)")
    args = [*DEMO_ARGS, "--input-file", str(sample)]
    if not realtime:
        args.append("--fast")
    if monitor is not None:
        args += ["--monitor", str(monitor)]
    if json_report is not None:
        args += ["--json-report", str(json_report)]
    click.echo(f"cadence run {' '.join(args)}", err=True)
    ctx.invoke(run, **run.make_context("run", args, parent=ctx).params)


COMMANDS = (run, demo)
