"""The main job: ``cadence run`` (metronome + live footfall detection + controller + report)."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import time
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import click
import numpy as np
from numpy.typing import NDArray

from coach import interrupts
from coach.duplex import DuplexCore, FileBackend, LiveBackend
from coach.interrupts import SessionSignal, session_signals, signal_name
from coach.libnoise import LibraryMessages
from metronome.settings import MetronomeSettings, build_renderer, settings_from_options
from cli.metronome_options import metronome_options
from cli.options import (DURATION, DURATION_OR_ZERO, FINITE, checked_spm, db_option, finite_range, parse_latency,
                         session_device_options)
from coach.calibration import HEADPHONE_OFFSET_MAX_MS, HEADPHONE_OFFSET_MIN_MS
from cli.report import print_report
from coach.jsonfile import check_writable, write_json_atomic
from coach.session import Session, SessionLog, SessionSettings
from metronome.clicks import SOUNDS, make_tick
from coach.control import AdaptiveParams
from metronome.render import TickRenderer
from metronome.units import format_duration

TARGET_BAND_PCT = (5.0, 10.0)
DEFAULT_TARGET_PCT = 7.0
LEAD_IN_S = 1.5  # live: the stream settles (and the runner gets ready) before the first tick
STARTUP_TRIES = 2  # tries per sample rate for a stream that dies during its lead-in
STARTUP_RETRY_PAUSE_S = 0.5
_TARGET_RE = re.compile(r"^\+\s*(\d+(?:\.\d+)?)\s*%$")


def resolve_target(target: str | None, spm: float | None, baseline_spm: float, force: bool) -> float:
    """``+7%`` or an absolute spm (or ``--spm``) -> target spm, within +5..+10 % unless forced."""
    if target is not None and spm is not None:
        raise click.ClickException("give the target either as --target or as --spm, not both")
    if target is None and spm is None:
        value = baseline_spm * (1 + DEFAULT_TARGET_PCT / 100)
    elif spm is not None:
        value = spm
    else:
        match = _TARGET_RE.match(target.strip())  # type: ignore[union-attr]
        if match:
            value = baseline_spm * (1 + float(match.group(1)) / 100)
        else:
            try:
                value = float(target)  # type: ignore[arg-type]
            except ValueError:
                raise click.ClickException(f"--target {target!r}: use +7% or a cadence such as 178") from None
    value = round(checked_spm(value, force, "target"), 1)
    pct = 100 * (value / baseline_spm - 1)
    lo, hi = TARGET_BAND_PCT
    if not force and not (lo - 0.05 <= pct <= hi + 0.05):
        raise click.ClickException(
            f"target {value:g} spm is {pct:+.1f} % from your baseline {baseline_spm:g} spm; cadence work "
            f"uses +{lo:g}…+{hi:g} % (start at +5-7 % and hold it 3-6 weeks); use --force to go beyond"
        )
    return value


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


def _open_input(path: Path) -> Any:
    import soundfile

    if not path.is_file():
        raise click.ClickException(f"input file {path} does not exist")
    try:
        source = soundfile.SoundFile(os.fsencode(path))  # bytes: non-UTF-8 file names too
    except Exception as exc:  # noqa: BLE001 - libsndfile words vary
        raise click.ClickException(f"cannot read {path} as audio: {str(exc).splitlines()[0]}") from None
    if source.frames == 0:
        raise click.ClickException(f"{path} holds no audio")
    return source


def _open_monitor(path: Path, sample_rate: int) -> Any:
    import soundfile

    if path.suffix.lower() not in (".wav", ".flac"):
        raise click.ClickException(f"--monitor {path.name}: use a .wav or .flac file name")
    if not path.resolve().parent.is_dir():
        raise click.ClickException(f"cannot write {path}: directory {path.resolve().parent} does not exist")
    try:
        return soundfile.SoundFile(os.fsencode(path), "w", samplerate=sample_rate, channels=2, subtype="PCM_16")
    except Exception as exc:  # noqa: BLE001
        raise click.ClickException(f"cannot write {path}: {str(exc).splitlines()[0]}") from None


def tick_template(metronome: MetronomeSettings, renderer: TickRenderer, sample_rate: int) -> NDArray[np.floating]:
    """The tick waveform to look for in the input: the synthesized tick, else the bank's own (mono)."""
    if metronome.sound in SOUNDS:
        return make_tick(metronome.sound, sample_rate)
    return renderer.bank.waves[0][0].mean(axis=1)


def simulated_session(
    metronome: MetronomeSettings,
    session_settings: SessionSettings,
    source: Any,
    *,
    block_size: int = 1024,
    realtime: bool = False,
    monitor: Any = None,
    bleed_gain: float = 0.0,
    bleed_delay_frames: int | list[tuple[int, int]] = 0,
    n_frames: int | None = None,
    log: SessionLog | None = None,
    baseline_probe: tuple[float, Any] | None = None,
) -> tuple[Session, FileBackend]:
    """A session whose "microphone" is ``source`` (``read(frames, dtype=, always_2d=, out=)``,
    ``samplerate``, ``channels``): the real renderer, core, file backend and session.

    ``block_size`` is in frames; ``bleed_gain`` (linear) and ``bleed_delay_frames`` let the
    input hear the ticks (see :class:`coach.duplex.FileBackend`). Run it with
    ``backend.run(session.consume)``.
    """
    rate = int(source.samplerate)
    renderer = build_renderer(metronome, rate, 2)
    core = DuplexCore(renderer, int(source.channels), rate)
    backend = FileBackend(core, source, block_size=block_size, realtime=realtime, monitor=monitor,
                          bleed_gain=bleed_gain, bleed_delay_frames=bleed_delay_frames, n_frames=n_frames)
    session = Session(session_settings, core, nominal_loop_latency_s=backend.nominal_loop_latency_s(),
                      tick_template=tick_template(metronome, renderer, rate), log=log, baseline_probe=baseline_probe)
    return session, backend


class SessionAborted(click.ClickException):
    """The session's stream stopped before the plan ended (exit status 1)."""


def aborted_message(report: dict[str, Any]) -> str:
    aborted = report["aborted"]
    return f"session aborted after {format_duration(aborted['after_s'])}: {aborted['reason']}"


def _bleed_delay_frames(delay_ms: float | list[tuple[float, float]], rate: int) -> list[tuple[int, int]]:
    schedule = [(0.0, float(delay_ms))] if isinstance(delay_ms, (int, float)) else delay_ms
    return [(round(at_s * rate), round(ms / 1000 * rate)) for at_s, ms in schedule]


def run_session(
    metronome: MetronomeSettings,
    session_settings: SessionSettings,
    *,
    input_file: Path | None,
    fast: bool,
    monitor: Path | None,
    bleed_db: float | None,
    bleed_delay_ms: float | list[tuple[float, float]],
    duration_s: float | None,
    device: str | None,
    input_device: str | None,
    output_device: str | None,
    sample_rate: int | None,
    block_size: int,
    latency: str,
    log: SessionLog | None = None,
    quiet: bool = False,
    baseline_probe: tuple[float, Any] | None = None,
    on_session: Callable[[Session], None] | None = None,
    raise_if_aborted: bool = True,
    restart_on_spin: bool = True,
) -> dict[str, Any]:
    """Run one session on a file or on live devices; return its report.

    Ctrl-C, SIGTERM and SIGHUP end it cleanly (``report["ended_by"]``). A live stream that
    stops before the plan's duration was played is an aborted session: its report has
    ``aborted`` = {after_s, reason} and, with ``raise_if_aborted``, :class:`SessionAborted`
    is raised after the history log was closed. ``on_session`` is called with each
    :class:`Session` built, before its stream starts (for callers that need more than the
    report, e.g. ``cadence calibrate``): the last one is the session that ran.
    """
    with session_signals():
        if input_file is not None:
            source = _open_input(input_file)
            rate = int(source.samplerate)
            monitor_file = _open_monitor(monitor, rate) if monitor is not None else None
            session, backend = simulated_session(
                metronome, session_settings, source, block_size=block_size or 1024, realtime=not fast,
                monitor=monitor_file, bleed_gain=0.0 if bleed_db is None else 10 ** (bleed_db / 20),
                bleed_delay_frames=0 if bleed_db is None else _bleed_delay_frames(bleed_delay_ms, rate),
                n_frames=None if duration_s is None else round(duration_s * rate), log=log,
                baseline_probe=baseline_probe,
            )
            session.input_name = str(input_file)
            if on_session is not None:
                on_session(session)
            try:
                ended_by = _drive(session, backend, quiet=quiet, total_s=duration_s or source.frames / rate,
                                  plain=fast, plain_every_s=60.0 if fast else 10.0)
            finally:
                source.close()
                if monitor_file is not None:
                    monitor_file.close()
        else:
            session, backend, ended_by = _run_live(
                metronome, session_settings, duration_s=duration_s, device=device, input_device=input_device,
                output_device=output_device, sample_rate=sample_rate, block_size=block_size, latency=latency,
                log=log, quiet=quiet, baseline_probe=baseline_probe, on_session=on_session,
                restart_on_spin=restart_on_spin)
        report = session.report(interrupted=ended_by not in ("end", "aborted", "error", "stopped"), backend=backend)
        report["input"] = str(input_file) if input_file is not None else "microphone"
        report["measured_baseline_spm"] = session.measured_baseline_spm
        report["error"] = session.error
        report["ended_by"] = ended_by
        report["aborted"] = None
        if isinstance(backend, LiveBackend):
            report["stream"] = {
                "device": backend.label, "sample_rate": session.sample_rate,
                "block_size": backend.block_size, "latency": backend.latency,
                "rates_tried": getattr(backend, "rates_tried", [session.sample_rate]), "gaps": backend.gaps,
            }
            if ended_by == "aborted":
                report["aborted"] = {"after_s": report["duration_s"], "reason": backend.failure}
        session.close_log(report, abort_reason=None if report["aborted"] is None else aborted_message(report))
    if report["aborted"] is not None and raise_if_aborted:
        raise SessionAborted(aborted_message(report))
    return report


def _run_live(metronome: MetronomeSettings, session_settings: SessionSettings, *, duration_s: float | None,
              device: str | None, input_device: str | None, output_device: str | None, sample_rate: int | None,
              block_size: int, latency: str, log: SessionLog | None, quiet: bool,
              baseline_probe: tuple[float, Any] | None,
              on_session: Callable[[Session], None] | None,
              restart_on_spin: bool = True) -> tuple[Session, LiveBackend, str]:
    """Open the stream at the first rate that starts (the sound server's, the devices' default, 48 k,
    44.1 k; or exactly --sample-rate) and run the session on it."""
    from metronome.engine import candidate_sample_rates, describe_devices, resolve_device, sound_server_rate

    in_index, in_info = resolve_device(input_device or device, "input")
    out_index, out_info = resolve_device(output_device or device, "output")
    rates = candidate_sample_rates(in_index, in_info, out_index, out_info, sample_rate)
    devices = describe_devices(in_info, out_info)
    # A stream can also die in its start-up at a good rate (opened just after another one closed,
    # PulseAudio re-tuning): each rate gets a second chance before the next one is tried.
    attempts = [rate for rate in rates for _ in range(STARTUP_TRIES)]
    tried: list[int] = []
    for k, rate in enumerate(attempts):
        if rate not in tried:
            tried.append(rate)
        renderer = build_renderer(metronome, rate, min(2, int(out_info["max_output_channels"])), start_s=LEAD_IN_S)
        core = DuplexCore(renderer, 1, rate)
        backend = LiveBackend(core, device=(in_index, out_index), latency=parse_latency(latency),
                              block_size=block_size, n_frames=None if duration_s is None else round(duration_s * rate),
                              lead_in_frames=round(LEAD_IN_S * rate), label=f"{devices} at {rate} Hz",
                              restart_on_spin=restart_on_spin)
        backend.rates_tried = tried  # type: ignore[attr-defined]
        # nominal loop latency 0.0: replaced by the stream's timestamps once it runs
        session = Session(session_settings, core, nominal_loop_latency_s=0.0,
                          tick_template=tick_template(metronome, renderer, rate), log=log,
                          baseline_probe=baseline_probe)
        if on_session is not None:
            on_session(session)
        if not quiet:
            click.echo(f"listening on {in_info['name']}, ticking on {out_info['name']} at {rate} Hz; Ctrl-C ends "
                       "the session", err=True)
        ended_by = _drive(session, backend, quiet=quiet, total_s=duration_s)
        if ended_by == "aborted" and backend.failed_at_startup:
            if k + 1 < len(attempts):
                again = attempts[k + 1] == rate
                click.echo(f"the stream at {rate} Hz stopped during start-up ({backend.failure}); "
                           + ("trying again" if again else f"trying {attempts[k + 1]} Hz"), err=True)
                time.sleep(STARTUP_RETRY_PAUSE_S)
                continue
            server = sound_server_rate() if sample_rate is not None else None
            advice = (f"the device or sound server does not run at {rate} Hz: try "
                      + (f"--sample-rate {server} (the sound server's rate) or " if server and server != rate else "")
                      + "another --sample-rate, or leave --sample-rate out"
                      if sample_rate is not None else
                      "check that the sound server runs ('pactl info'), or pick a device (cadence devices) "
                      "and a rate (--sample-rate)")
            backend.failure = (f"the audio stream on {devices} stopped during start-up at "
                               f"{', '.join(f'{r} Hz' for r in tried)}; {advice}")
        return session, backend, ended_by
    raise AssertionError("no sample rate to try")  # candidate_sample_rates never returns an empty list


def _drive(session: Session, backend: Any, *, quiet: bool, total_s: float | None, plain: bool = False,
           plain_every_s: float = 10.0) -> str:
    """Run ``backend`` with ``session`` as its consumer and the live display; return how it ended:
    'end' (the plan or the input file was done), 'stopped' (the session asked to stop), 'error'
    (the session stopped with an error), 'aborted' (the stream failed) or the name of the signal."""
    from cli.display import LiveDisplay

    live = isinstance(backend, LiveBackend)

    def consume() -> bool:
        if live and session.nominal_loop_latency_s == 0.0:
            measured = backend.nominal_loop_latency_s()
            if measured is not None:
                session.nominal_loop_latency_s = measured
        keep_going = session.consume()
        if display is not None:
            display.update(session)
        return keep_going

    session.warm_up()
    ended_by = "end"
    messages = LibraryMessages() if live else nullcontext()
    switch_interval = sys.getswitchinterval()
    display = None
    with messages:
        display = None if quiet else LiveDisplay(total_s, force_plain=plain, plain_every_s=plain_every_s)
        sys.setswitchinterval(0.001)  # let the audio callback's thread get the GIL promptly
        try:
            with interrupts.armed():
                backend.run(consume)
        except SessionSignal as exc:
            ended_by = signal_name(exc.signum)
            if live:
                backend.stop()
            consume()  # take in what arrived before the stop
        except Exception as exc:  # noqa: BLE001 - e.g. a recording unreadable mid-way: keep and report what ran
            if os.environ.get("CADENCE_DEBUG"):
                raise
            session.error = session.error or (f"{session.input_name}: the session stopped at {session.elapsed_s:.1f} s: "
                                              + (" ".join(str(exc).split()) or type(exc).__name__))
        finally:
            sys.setswitchinterval(switch_interval)
            if display is not None:
                try:
                    display.close()
                except OSError:  # the terminal is gone (SIGHUP)
                    pass
    if isinstance(messages, LibraryMessages) and not quiet:
        summary = messages.summary()
        if summary:
            _echo_quietly(summary)
    if ended_by == "end":
        if session.error is not None:
            ended_by = "error"
        elif live and backend.failure is not None:
            ended_by = "aborted"
        elif session.stop_requested or getattr(backend, "stopped", False):
            ended_by = "stopped"
    return ended_by


def _echo_quietly(text: str) -> None:
    try:
        click.echo(text, err=True)
    except OSError:  # no terminal any more (SIGHUP)
        pass


DEFAULT_MEASURE_WARMUP_S = 180.0


def _printable(path: Path) -> str:
    """A file name as text that any UTF-8 store takes (undecodable bytes as \\xNN escapes)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _headphone_offset_ms(given: float | None, input_file: Path | None, opts: dict[str, Any]) -> float:
    """--headphone-offset-ms, else the offset 'cadence calibrate' stored for these devices at this
    sample rate, else 0."""
    if given is not None:
        if input_file is not None and given < 0:
            raise click.ClickException(
                f"--headphone-offset-ms {given:g}: a recording (--input-file) has no output delay to take back; "
                f"give 0 to {HEADPHONE_OFFSET_MAX_MS:g} ms"
            )
        return given
    if input_file is not None:
        return 0.0
    from coach.calibration import stored_headphone_offset_ms

    return stored_headphone_offset_ms(opts["device"], opts["input_device"], opts["output_device"],
                                      opts["sample_rate"]) or 0.0


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

    force = opts["force"]
    input_file = opts.pop("input_file")
    for flag in ("fast", "monitor", "bleed_db"):
        if opts[flag] and input_file is None:
            raise click.ClickException(f"--{flag.replace('_', '-')} needs --input-file")
    json_report = opts.pop("json_report")
    if json_report is not None and (why := check_writable(json_report)) is not None:
        raise click.ClickException(f"cannot write the report to {json_report}: {why}")
    db_path = opts.pop("db_path")
    store = None if opts.pop("no_save") else Store(db_path)

    baseline = opts.pop("baseline_spm")
    baseline_source = "given"
    if baseline is None and store is not None:
        stored = store.latest_baseline()
        if stored is not None:
            baseline, baseline_source = float(stored["baseline_spm"]), "stored"
    target_text, target_spm = opts.pop("target"), opts.pop("spm")
    warmup_s = opts.pop("warmup_s")
    probe_s = None
    if baseline is None:  # measure it in a silent warm-up, then start the plan
        baseline_source = "measured in the warm-up"
        warmup_s = warmup_s or DEFAULT_MEASURE_WARMUP_S
        probe_s = warmup_s
    adaptive = opts.pop("adaptive")
    ramp_s = 0.0 if adaptive else opts["ramp_s"]
    plan_options = {
        "duration_s": opts["duration_s"], "plan": opts.pop("plan"), "warmup_s": warmup_s,
        "cooldown_s": opts.pop("cooldown_s"), "every_other_step": opts.pop("every_other_step"),
        "sound": opts.pop("sound"), "accent_every": opts.pop("accent_every"),
        "alternate_ears": opts.pop("alternate_ears"), "volume_db": opts.pop("volume_db"), "force": force,
        "ramp_s": ramp_s, "cues": opts.pop("cues"),
    }

    def build(baseline_spm: float) -> MetronomeSettings:
        checked = checked_spm(baseline_spm, force, "baseline")
        target = resolve_target(target_text, target_spm, checked, force)
        return settings_from_options(spm=target, baseline_spm=checked, **plan_options)

    # While measuring, the clock runs silently through the warm-up at a provisional tempo.
    metronome = build(baseline if baseline is not None else 160.0)
    session_settings = SessionSettings(
        metronome=metronome,
        kind="simulated" if input_file is not None else "live",
        tolerance_ms=opts.pop("tolerance_ms"),
        ramp_s=ramp_s,
        adaptive=AdaptiveParams() if adaptive else None,
        cue_only_off_target=opts.pop("cue_off_target"),
        headphone_offset_ms=_headphone_offset_ms(opts.pop("headphone_offset_ms"), input_file, opts),
    )
    log = None
    if store is not None:
        log = SessionStoreLog(store, kind=session_settings.kind,
                              settings={**session_settings.as_dict(), "baseline_source": baseline_source},
                              device=_printable(input_file) if input_file else (opts["device"] or "default"))
    with session_signals():  # a signal while the report is written out waits for it to be complete
        report = run_session(
            metronome, session_settings, input_file=input_file, fast=opts["fast"], monitor=opts["monitor"],
            bleed_db=opts["bleed_db"], bleed_delay_ms=opts["bleed_delay_ms"], duration_s=opts["duration_s"],
            device=opts["device"], input_device=opts["input_device"], output_device=opts["output_device"],
            sample_rate=opts["sample_rate"], block_size=opts["block_size"], latency=opts["latency"],
            log=log, baseline_probe=None if probe_s is None else (probe_s, build), raise_if_aborted=False,
        )
        report["settings"]["baseline_source"] = baseline_source
        saved = log.wait() if log is not None else None  # the history's last writes (or the fallback file)
        problems: list[str] = []
        if store is not None:
            if report.get("measured_baseline_spm") is not None and report["aborted"] is None:
                try:
                    store.add_baseline(report["measured_baseline_spm"], measured_at=datetime.now().astimezone(),
                                       method="silent warm-up of cadence run")
                except (sqlite3.Error, ValueError) as exc:  # locked, full, damaged (StoreError)
                    problems.append(f"the measured baseline {report['measured_baseline_spm']:g} spm was not saved "
                                    f"({exc}); give it as --baseline next time")
            report["history"] = {"db": str(store.path), "session_id": None if saved is None else saved.session_id,
                                 "saved": None if saved is None else saved.saved,
                                 "fallback": None if saved is None or saved.fallback is None else str(saved.fallback)}
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
        try:
            if saved is not None and saved.saved:
                if note is not None:
                    click.echo(note, err=True)
                elif saved.session_id is not None:
                    click.echo(f"saved as session {saved.session_id} in {store.path} "  # type: ignore[union-attr]
                               f"(add notes: cadence log {saved.session_id})"
                               + (" - marked aborted" if report["aborted"] else ""), err=True)
            for line in problems:
                click.echo(f"Error: {line}", err=True)
        except OSError:  # the terminal is gone (SIGHUP)
            pass
    if final:
        raise (SessionAborted if report["aborted"] else click.ClickException)(final)


def listen(duration_s: float, *, input_file: Path | None, fast: bool, device: str | None, sample_rate: int | None,
           block_size: int, latency: str) -> dict[str, Any]:
    """A silent session: no ticks, only footfall detection for ``duration_s`` (the live baseline)."""
    from metronome.plans import Plan, Segment, Timeline

    plan = Plan("listen", (Segment("listen", duration_s, 160.0, 160.0, sounding=False),))
    metronome = MetronomeSettings(target_spm=160.0, baseline_spm=160.0, plan=plan,
                                  timeline=Timeline(plan, duration_s=duration_s), every_other_step=False,
                                  sound="woodblock", accent_every=0, alternate_ears=False, volume_db=-6.0)
    settings = SessionSettings(metronome=metronome, kind="simulated" if input_file else "live", measure_latency=False)
    return run_session(metronome, settings, input_file=input_file, fast=fast, monitor=None, bleed_db=None,
                       bleed_delay_ms=0.0, duration_s=duration_s, device=device, input_device=None,
                       output_device=None, sample_rate=sample_rate, block_size=block_size, latency=latency)


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
