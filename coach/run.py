"""Running one session, from its :class:`coach.request.RunRequest` to its report.

:func:`run_session` runs a session on a recording (:class:`coach.duplex.FileBackend`) or on the
live devices (:class:`coach.live_backend.LiveBackend`, trying the sample rates the devices take), with
Ctrl-C, SIGTERM and SIGHUP ending it cleanly and library noise kept off the terminal; the live
display arrives as a callback (:class:`coach.drive.RunHooks`). :func:`simulated_session` builds the engine
for a recording, :func:`listen` runs a silent session (the live baseline). No click or rich:
errors are :class:`coach.request.RunError` with a one-line message.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from coach.drive import RunHooks, drive
from coach.duplex import DuplexCore, FileBackend
from coach.interrupts import session_signals
from coach.live_backend import LiveBackend
from coach.request import FileInput, RunError, RunRequest, StreamOptions
from coach.session import Session, SessionLog, SessionSettings
from metronome.clicks import SOUNDS, make_tick
from metronome.render import TickRenderer
from metronome.settings import MetronomeSettings, build_renderer
from metronome.units import format_duration

LEAD_IN_S = 1.5  # live: the stream settles (and the runner gets ready) before the first tick
STARTUP_TRIES = 2  # tries per sample rate for a stream that dies during its lead-in
STARTUP_RETRY_PAUSE_S = 0.5
FILE_BLOCK_SIZE = 1024  # frames per simulated callback when --block-size is 0

#: A measured baseline turns into the session's metronome settings (see ``Session.baseline_probe``).
BaselineProbe = tuple[float, Callable[[float], MetronomeSettings]]


class SessionAborted(RunError):
    """The session's stream stopped before the plan ended (exit status 1)."""


def open_input(path: Path) -> Any:
    """The recording as an open soundfile.SoundFile (one-line RunError if it cannot be)."""
    import soundfile

    if not path.is_file():
        raise RunError(f"input file {path} does not exist")
    try:
        source = soundfile.SoundFile(os.fsencode(path))  # bytes: non-UTF-8 file names too
    except Exception as exc:  # noqa: BLE001 - libsndfile words vary
        raise RunError(f"cannot read {path} as audio: {str(exc).splitlines()[0]}") from None
    if source.frames == 0:
        raise RunError(f"{path} holds no audio")
    return source


def open_monitor(path: Path, sample_rate: int) -> Any:
    """A stereo 16-bit WAV/FLAC to write the mix of recording and ticks to."""
    import soundfile

    if path.suffix.lower() not in (".wav", ".flac"):
        raise RunError(f"--monitor {path.name}: use a .wav or .flac file name")
    if not path.resolve().parent.is_dir():
        raise RunError(f"cannot write {path}: directory {path.resolve().parent} does not exist")
    try:
        return soundfile.SoundFile(os.fsencode(path), "w", samplerate=sample_rate, channels=2, subtype="PCM_16")
    except Exception as exc:  # noqa: BLE001
        raise RunError(f"cannot write {path}: {str(exc).splitlines()[0]}") from None


def tick_template(metronome: MetronomeSettings, renderer: TickRenderer, sample_rate: int) -> NDArray[np.floating]:
    """The tick waveform to look for in the input: the synthesized tick, else the bank's own (mono)."""
    if metronome.sound in SOUNDS:
        return make_tick(metronome.sound, sample_rate)
    mono: NDArray[np.floating] = renderer.bank.waves[0][0].mean(axis=1)
    return mono


def simulated_session(
    metronome: MetronomeSettings,
    session_settings: SessionSettings,
    source: Any,
    *,
    block_size: int = FILE_BLOCK_SIZE,
    realtime: bool = False,
    monitor: Any = None,
    bleed_gain: float = 0.0,
    bleed_delay_frames: int | list[tuple[int, int]] = 0,
    n_frames: int | None = None,
    log: SessionLog | None = None,
    baseline_probe: BaselineProbe | None = None,
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


def aborted_message(report: dict[str, Any]) -> str:
    aborted = report["aborted"]
    return f"session aborted after {format_duration(aborted['after_s'])}: {aborted['reason']}"


def run_session(
    request: RunRequest,
    *,
    log: SessionLog | None = None,
    baseline_probe: BaselineProbe | None = None,
    hooks: RunHooks | None = None,
    raise_if_aborted: bool = True,
) -> dict[str, Any]:
    """Run one session on a file or on live devices; return its report.

    Ctrl-C, SIGTERM and SIGHUP end it cleanly (``report["ended_by"]``). A live stream that
    stops before the plan's duration was played is an aborted session: its report has
    ``aborted`` = {after_s, reason} and, with ``raise_if_aborted``, :class:`SessionAborted`
    is raised after the history log was closed.
    """
    hooks = hooks or RunHooks()
    session: Session
    backend: FileBackend | LiveBackend
    with session_signals():
        if request.input is not None:
            session, backend, ended_by = _run_file(request, request.input, log, baseline_probe, hooks)
        else:
            session, backend, ended_by = _run_live(request, log, baseline_probe, hooks)
        report = _report(request, session, backend, ended_by)
        session.close_log(report, abort_reason=None if report["aborted"] is None else aborted_message(report))
    if report["aborted"] is not None and raise_if_aborted:
        raise SessionAborted(aborted_message(report))
    return report


def _report(request: RunRequest, session: Session, backend: FileBackend | LiveBackend,
            ended_by: str) -> dict[str, Any]:
    """The session's report with how it ran: input, ending, the live stream and its abort."""
    report = session.report(interrupted=ended_by not in ("end", "aborted", "error", "stopped"), backend=backend)
    report["input"] = request.input_label
    report["measured_baseline_spm"] = session.measured_baseline_spm
    report["error"] = session.error
    report["ended_by"] = ended_by
    report["aborted"] = None
    if isinstance(backend, LiveBackend):
        report["stream"] = {
            "device": backend.label, "sample_rate": session.sample_rate,
            "block_size": backend.block_size, "latency": backend.latency,
            "rates_tried": backend.rates_tried or [session.sample_rate], "gaps": backend.gaps,
        }
        if ended_by == "aborted":
            report["aborted"] = {"after_s": report["duration_s"], "reason": backend.failure}
    return report


def _run_file(request: RunRequest, file: FileInput, log: SessionLog | None, baseline_probe: BaselineProbe | None,
              hooks: RunHooks) -> tuple[Session, FileBackend, str]:
    source = open_input(file.path)
    rate = int(source.samplerate)
    monitor = None
    try:
        monitor = open_monitor(file.monitor, rate) if file.monitor is not None else None
        session, backend = simulated_session(
            request.metronome, request.settings, source, block_size=request.stream.block_size or FILE_BLOCK_SIZE,
            realtime=not file.fast, monitor=monitor,
            bleed_gain=0.0 if file.bleed_db is None else 10 ** (file.bleed_db / 20),
            bleed_delay_frames=0 if file.bleed_db is None else file.bleed_delay_frames(rate),
            n_frames=None if request.duration_s is None else round(request.duration_s * rate), log=log,
            baseline_probe=baseline_probe,
        )
        session.input_name = str(file.path)
        if hooks.on_session is not None:
            hooks.on_session(session)
        ended_by = drive(session, backend, hooks, total_s=request.duration_s or source.frames / rate,
                          plain=file.fast, plain_every_s=60.0 if file.fast else 10.0)
    finally:
        source.close()
        if monitor is not None:
            monitor.close()
    return session, backend, ended_by


def _run_live(request: RunRequest, log: SessionLog | None, baseline_probe: BaselineProbe | None,
              hooks: RunHooks) -> tuple[Session, LiveBackend, str]:
    """Open the stream at the first rate that starts (the sound server's, the devices' default, 48 k,
    44.1 k; or exactly --sample-rate) and run the session on it."""
    from metronome.engine import resolve_device_pair
    from metronome.stream import parse_latency

    stream = request.stream
    pair = resolve_device_pair(stream.device, stream.input_device, stream.output_device)
    rates = pair.sample_rates(stream.sample_rate)
    latency = parse_latency(stream.latency)
    # A stream can also die in its start-up at a good rate (opened just after another one closed,
    # PulseAudio re-tuning): each rate gets a second chance before the next one is tried.
    attempts = [rate for rate in rates for _ in range(STARTUP_TRIES)]
    tried: list[int] = []
    for k, rate in enumerate(attempts):
        if rate not in tried:
            tried.append(rate)
        renderer = build_renderer(request.metronome, rate, min(2, int(pair.out_info["max_output_channels"])),
                                  start_s=LEAD_IN_S)
        core = DuplexCore(renderer, 1, rate)
        backend = LiveBackend(core, device=(pair.in_index, pair.out_index), latency=latency,
                              block_size=stream.block_size, lead_in_frames=round(LEAD_IN_S * rate),
                              n_frames=None if request.duration_s is None else round(request.duration_s * rate),
                              label=f"{pair.describe()} at {rate} Hz", restart_on_spin=stream.restart_on_spin)
        backend.rates_tried = tried
        # nominal loop latency 0.0: replaced by the stream's timestamps once it runs
        session = Session(request.settings, core, nominal_loop_latency_s=0.0,
                          tick_template=tick_template(request.metronome, renderer, rate), log=log,
                          baseline_probe=baseline_probe)
        if hooks.on_session is not None:
            hooks.on_session(session)
        if hooks.display is not None:
            hooks.echo(f"listening on {pair.input_name}, ticking on {pair.output_name} at {rate} Hz; Ctrl-C ends "
                       "the session")
        ended_by = drive(session, backend, hooks, total_s=request.duration_s)
        if ended_by == "aborted" and backend.failed_at_startup:
            if k + 1 < len(attempts):
                again = attempts[k + 1] == rate
                hooks.echo(f"the stream at {rate} Hz stopped during start-up ({backend.failure}); "
                           + ("trying again" if again else f"trying {attempts[k + 1]} Hz"))
                time.sleep(STARTUP_RETRY_PAUSE_S)
                continue
            backend.failure = _startup_failure(pair.describe(), tried, stream.sample_rate)
        elif ended_by == "aborted" and backend.failure is not None:
            backend.failure += _later_rate_advice(rate, stream.sample_rate)
        return session, backend, ended_by
    raise AssertionError("no sample rate to try")  # candidate_sample_rates never returns an empty list


def _startup_failure(devices: str, tried: list[int], requested: int | None) -> str:
    """Why no rate started, and what to try."""
    from metronome.stream import sound_server_rate

    rate = tried[-1]
    if requested is not None:
        server = sound_server_rate()
        advice = (f"the device or sound server does not run at {rate} Hz: try "
                  + (f"--sample-rate {server} (the sound server's rate) or " if server and server != rate else "")
                  + "another --sample-rate, or leave --sample-rate out")
    else:
        advice = ("check that the sound server runs ('pactl info'), or pick a device (cadence devices) "
                  "and a rate (--sample-rate)")
    return (f"the audio stream on {devices} stopped during start-up at "
            f"{', '.join(f'{r} Hz' for r in tried)}; {advice}")


def _later_rate_advice(rate: int, requested: int | None) -> str:
    """For a stream that died after its start-up at a rate the runner asked for that is not the
    sound server's (PulseAudio may let such a stream run for seconds before it kills it): what to
    try next time. Empty otherwise."""
    from metronome.stream import sound_server_rate

    server = sound_server_rate() if requested is not None else None
    if not server or server == rate:
        return ""
    return (f"; it ran at {rate} Hz (--sample-rate), the sound server at {server} Hz: if this repeats, "
            f"try --sample-rate {server} or leave --sample-rate out")


def record_in_history(report: dict[str, Any], store: Any, saved: Any) -> list[str]:
    """After a session was stored (``saved``: what :meth:`coach.store.SessionStoreLog.wait` returned):
    keep the baseline measured in its warm-up (unless it aborted) and say in ``report["history"]``
    where the session went. Returns the problems, one line each."""
    import sqlite3
    from datetime import datetime

    problems: list[str] = []
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
    return problems


def listen(duration_s: float, *, input_file: Path | None = None, fast: bool = False, device: str | None = None,
           sample_rate: int | None = None, block_size: int = 0, latency: str | float = "0.1",
           hooks: RunHooks | None = None) -> dict[str, Any]:
    """A silent session: no ticks, only footfall detection for ``duration_s`` (the live baseline)."""
    from metronome.plans import Plan, Segment, Timeline

    plan = Plan("listen", (Segment("listen", duration_s, 160.0, 160.0, sounding=False),))
    metronome = MetronomeSettings(target_spm=160.0, baseline_spm=160.0, plan=plan,
                                  timeline=Timeline(plan, duration_s=duration_s), every_other_step=False,
                                  sound="woodblock", accent_every=0, alternate_ears=False, volume_db=-6.0)
    settings = SessionSettings(metronome=metronome, kind="simulated" if input_file else "live", measure_latency=False)
    request = RunRequest(
        metronome=metronome, settings=settings, duration_s=duration_s,
        stream=StreamOptions(device=device, sample_rate=sample_rate, block_size=block_size, latency=latency),
        input=None if input_file is None else FileInput(path=input_file, fast=fast, bleed_delay_ms=0.0),
    )
    return run_session(request, hooks=hooks)
