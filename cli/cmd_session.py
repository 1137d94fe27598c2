"""The main job: ``cadence run`` (metronome + live footfall detection + controller + report)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
from numpy.typing import NDArray

from cli.engine import DuplexCore, FileBackend, LiveBackend
from cli.metronome_setup import MetronomeSettings, build_renderer, metronome_options, settings_from_options
from cli.options import DURATION, DURATION_OR_ZERO, checked_spm, parse_latency, session_device_options
from cli.report import print_report, write_json_atomic
from cli.session import Session, SessionLog, SessionSettings
from metronome.clicks import SOUNDS, make_tick
from metronome.controller import AdaptiveParams
from metronome.render import TickRenderer

TARGET_BAND_PCT = (5.0, 10.0)
DEFAULT_TARGET_PCT = 7.0
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


def session_options(f: Any) -> Any:
    decorators = [
        click.option("--target", default=None, help="Target cadence: +7% of the baseline (default) or spm, e.g. 178."),
        click.option("--spm", "--bpm", "spm", type=float, default=None, metavar="N",
                     help="The target as steps per minute (same as --target N)."),
        click.option("--ramp", "ramp_s", type=DURATION_OR_ZERO, default="5m", show_default=True,
                     help="Ramp the tempo from baseline to target over this long (0 for no ramp)."),
        click.option("--adaptive", is_flag=True,
                     help="Advance the tempo only while you keep up; hold or ease back when you fall off."),
        click.option("--duration", "duration_s", type=DURATION, default=None,
                     help="Session length [default: until Ctrl-C, or the end of --input-file]."),
        click.option("--tolerance-ms", type=click.FloatRange(1, 200), default=40.0, show_default=True,
                     help="A footfall within ± this of the beat counts as in sync."),
        click.option("--cue-off-target", is_flag=True,
                     help="Ticks sound only while your cadence is outside the target band (±2 %)."),
        click.option("--headphone-offset-ms", type=float, default=None,
                     help="Extra output delay (Bluetooth) [default: the calibrated value for the device, else 0]."),
        click.option("--input-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Use a recording instead of the microphone (simulation)."),
        click.option("--fast", is_flag=True, help="With --input-file: run faster than real time."),
        click.option("--monitor", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="With --input-file: write the recording mixed with the ticks to this WAV/FLAC."),
        click.option("--bleed-db", type=float, default=None,
                     help="With --input-file: let the 'mic' hear the ticks at this level (dB), like an earbud mic."),
        click.option("--bleed-delay-ms", type=click.FloatRange(0, 500), default=25.0, show_default=True,
                     help="With --bleed-db: the output-to-mic delay to simulate."),
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
        source = soundfile.SoundFile(str(path))
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
        return soundfile.SoundFile(str(path), "w", samplerate=sample_rate, channels=2, subtype="PCM_16")
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
    bleed_delay_frames: int = 0,
    n_frames: int | None = None,
    log: SessionLog | None = None,
) -> tuple[Session, FileBackend]:
    """A session whose "microphone" is ``source`` (``read(frames, dtype=, always_2d=, out=)``,
    ``samplerate``, ``channels``): the real renderer, core, file backend and session.

    ``block_size`` is in frames; ``bleed_gain`` (linear) and ``bleed_delay_frames`` let the
    input hear the ticks (see :class:`cli.engine.FileBackend`). Run it with
    ``backend.run(session.consume)``.
    """
    rate = int(source.samplerate)
    renderer = build_renderer(metronome, rate, 2)
    core = DuplexCore(renderer, int(source.channels), rate)
    backend = FileBackend(core, source, block_size=block_size, realtime=realtime, monitor=monitor,
                          bleed_gain=bleed_gain, bleed_delay_frames=bleed_delay_frames, n_frames=n_frames)
    session = Session(session_settings, core, nominal_loop_latency_s=backend.nominal_loop_latency_s(),
                      tick_template=tick_template(metronome, renderer, rate), log=log)
    return session, backend


def run_session(
    metronome: MetronomeSettings,
    session_settings: SessionSettings,
    *,
    input_file: Path | None,
    fast: bool,
    monitor: Path | None,
    bleed_db: float | None,
    bleed_delay_ms: float,
    duration_s: float | None,
    device: str | None,
    input_device: str | None,
    output_device: str | None,
    sample_rate: int | None,
    block_size: int,
    latency: str,
    log: SessionLog | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run one session on a file or on live devices; return its report (Ctrl-C ends it cleanly)."""
    from cli.display import LiveDisplay

    backend: Any
    if input_file is not None:
        source = _open_input(input_file)
        rate = int(source.samplerate)
        monitor_file = _open_monitor(monitor, rate) if monitor is not None else None
        session, backend = simulated_session(
            metronome, session_settings, source, block_size=block_size or 1024, realtime=not fast,
            monitor=monitor_file, bleed_gain=0.0 if bleed_db is None else 10 ** (bleed_db / 20),
            bleed_delay_frames=0 if bleed_db is None else round(bleed_delay_ms / 1000 * rate),
            n_frames=None if duration_s is None else round(duration_s * rate), log=log,
        )
    else:
        from metronome.engine import resolve_device

        in_index, in_info = resolve_device(input_device or device, "input")
        out_index, out_info = resolve_device(output_device or device, "output")
        rate = sample_rate or int(out_info["default_samplerate"])
        renderer = build_renderer(metronome, rate, min(2, int(out_info["max_output_channels"])))
        core = DuplexCore(renderer, 1, rate)
        backend = LiveBackend(core, device=(in_index, out_index), latency=parse_latency(latency),
                              block_size=block_size, n_frames=None if duration_s is None else round(duration_s * rate))
        # nominal loop latency 0.0: replaced by the stream's timestamps once it runs
        session = Session(session_settings, core, nominal_loop_latency_s=0.0,
                          tick_template=tick_template(metronome, renderer, rate), log=log)
        source = monitor_file = None
        if not quiet:
            click.echo(f"listening on {in_info['name']}, ticking on {out_info['name']} at {rate} Hz; Ctrl-C ends "
                       "the session", err=True)
    display = None if quiet else LiveDisplay(duration_s or (getattr(source, "frames", 0) / rate or None),
                                             force_plain=input_file is not None and fast,
                                             plain_every_s=60.0 if fast else 10.0)

    def consume() -> bool:
        if isinstance(backend, LiveBackend) and session.nominal_loop_latency_s == 0.0:
            measured = backend.nominal_loop_latency_s()
            if measured is not None:
                session.nominal_loop_latency_s = measured
        keep_going = session.consume()
        if display is not None:
            display.update(session)
        return keep_going

    session.warm_up()
    interrupted = False
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # let the audio callback's thread get the GIL promptly
    try:
        backend.run(consume)
    except KeyboardInterrupt:
        interrupted = True
        if isinstance(backend, LiveBackend):
            backend.stop()
        consume()  # take in what arrived before the stop
    finally:
        sys.setswitchinterval(switch_interval)
        if display is not None:
            display.close()
        if source is not None:
            source.close()
        if monitor_file is not None:
            monitor_file.close()
    report = session.report(interrupted=interrupted, backend=backend)
    report["input"] = str(input_file) if input_file is not None else "microphone"
    if log is not None:
        log.finish(report)
    return report


@click.command()
@metronome_options
@session_options
@session_device_options
@click.option("--input-device", default=None, help="Microphone device (default: --device).")
@click.option("--output-device", default=None, help="Headphone device (default: --device).")
def run(**opts: Any) -> None:
    """A cadence session: ticks in your headphones, footfalls from the microphone, drift report.

    Give your habitual cadence with --baseline; the target defaults to +7 %. The tempo ramps
    from baseline to target (--ramp), or follows you with --adaptive.
    """
    baseline = opts.pop("baseline_spm")
    force = opts["force"]
    if baseline is None:
        raise click.ClickException(
            "give your baseline cadence with --baseline N (steps per minute at easy pace; measure it with "
            "'cadence baseline')"
        )
    baseline = checked_spm(baseline, force, "baseline")
    target = resolve_target(opts.pop("target"), opts.pop("spm"), baseline, force)
    input_file = opts.pop("input_file")
    for flag in ("fast", "monitor", "bleed_db"):
        if opts[flag] and input_file is None:
            raise click.ClickException(f"--{flag.replace('_', '-')} needs --input-file")
    metronome = settings_from_options(
        spm=target, duration_s=opts["duration_s"], plan=opts.pop("plan"), baseline_spm=baseline,
        warmup_s=opts.pop("warmup_s"), cooldown_s=opts.pop("cooldown_s"),
        every_other_step=opts.pop("every_other_step"), sound=opts.pop("sound"), accent_every=opts.pop("accent_every"),
        alternate_ears=opts.pop("alternate_ears"), volume_db=opts.pop("volume_db"), force=force,
        ramp_s=0.0 if opts["adaptive"] else opts["ramp_s"],
    )
    session_settings = SessionSettings(
        metronome=metronome,
        kind="simulated" if input_file is not None else "live",
        tolerance_ms=opts.pop("tolerance_ms"),
        ramp_s=0.0 if opts["adaptive"] else opts["ramp_s"],
        adaptive=AdaptiveParams() if opts.pop("adaptive") else None,
        cue_only_off_target=opts.pop("cue_off_target"),
        headphone_offset_ms=opts.pop("headphone_offset_ms") or 0.0,
    )
    json_report = opts.pop("json_report")
    if json_report is not None and not json_report.resolve().parent.is_dir():
        raise click.ClickException(f"cannot write {json_report}: directory {json_report.resolve().parent} does not exist")
    report = run_session(
        metronome, session_settings, input_file=input_file, fast=opts["fast"], monitor=opts["monitor"],
        bleed_db=opts["bleed_db"], bleed_delay_ms=opts["bleed_delay_ms"], duration_s=opts["duration_s"],
        device=opts["device"], input_device=opts["input_device"], output_device=opts["output_device"],
        sample_rate=opts["sample_rate"], block_size=opts["block_size"], latency=opts["latency"],
    )
    if json_report is not None:
        write_json_atomic(json_report, report)
    print_report(report)


COMMANDS = (run,)
