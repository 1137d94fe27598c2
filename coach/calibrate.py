"""Running a calibration: a short steady session, and the headphone offset from what it measured.

It runs a session through :func:`coach.run.run_session` (the same engine, renderer and consumer
as ``cadence run``) at a steady tempo and reads what the session measured:

* ``loopback``: the session's loop latency from the ticks the microphone hears
  (:class:`coach.latency.TickSearch`); stored offset = measured - nominal.
* ``tap``: the taps the session's footfall detector found; stored offset = median of
  tap - (tick sample + nominal loop latency).

The figures and the file they are stored in are :mod:`coach.calibration`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from coach.calibration import CalibrationError, LoopMovedError, loopback_latency_ms, save, tap_offset_ms
from coach.request import FileInput, RunRequest, StreamOptions
from coach.drive import RunHooks
from coach.run import run_session
from coach.session import Session, SessionSettings
from metronome.settings import settings_from_options

Mode = Literal["loopback", "tap"]
LOOPBACK_ATTEMPTS = 2  # a live loopback whose loop moved mid-run (LoopMovedError) is measured once more ...
RETRY_PAUSE_S = 1.0  # ... this long after the first stream closed (a stream opened at once can underrun)


@dataclass(frozen=True, kw_only=True)
class CalibrationRequest:
    """A calibration: ``mode``, ticks at ``spm`` for ``duration_s``, on the live devices
    (``stream``) or on a recording (``input``: a simulation, never saved)."""

    mode: Mode = "loopback"
    spm: float = 120.0
    duration_s: float = 20.0
    sound: str = "click"
    volume_db: float = -6.0
    stream: StreamOptions = StreamOptions()
    input: FileInput | None = None
    save: bool = True

    def run_request(self) -> RunRequest:
        """The steady session that measures."""
        metronome = settings_from_options(
            spm=self.spm, duration_s=self.duration_s, plan="steady", baseline_spm=None, warmup_s=None,
            cooldown_s=None, every_other_step=False, sound=self.sound, accent_every=0, alternate_ears=False,
            volume_db=self.volume_db, force=False,
        )
        settings = SessionSettings(metronome=metronome, kind="simulated" if self.input is not None else "live",
                                   measure_latency=self.mode == "loopback")
        # a restart would move the very latency being measured
        stream = replace(self.stream, restart_on_spin=False)
        return RunRequest(metronome=metronome, settings=settings, duration_s=self.duration_s, stream=stream,
                          input=self.input)


def device_names(stream: StreamOptions) -> tuple[str, str]:
    """(output name, input name) of the devices a live session on ``stream`` opens, as PortAudio
    names them (the key of the stored calibration)."""
    from metronome.engine import resolve_device_pair

    pair = resolve_device_pair(stream.device, stream.input_device, stream.output_device)
    return pair.output_name, pair.input_name


def calibrate(request: CalibrationRequest, hooks: RunHooks, names: tuple[str, str] | None) -> dict[str, Any]:
    """Run the calibration session and return its result (the JSON document of ``cadence calibrate``),
    saved for the device pair ``names`` (output, input) unless ``request.save`` is off or it ran on a
    recording. Raises CalibrationError (one line) for figures that cannot be trusted."""
    sessions: list[Session] = []
    on_session = hooks.on_session

    def keep(session: Session) -> None:
        sessions.append(session)
        if on_session is not None:
            on_session(session)

    run = request.run_request()
    # on a recording a second run would hear the same; tap spreads are the runner's
    attempts = LOOPBACK_ATTEMPTS if request.mode == "loopback" and request.input is None else 1
    first_error: CalibrationError | None = None
    for attempt in range(1, attempts + 1):
        report = run_session(run, hooks=RunHooks(display=hooks.display, echo=hooks.echo, on_session=keep))
        session = sessions[-1]  # the one that ran (an earlier sample rate may have failed to start)
        try:
            result = measure(request.mode, session)
            break
        except CalibrationError as exc:
            if first_error is not None and report["interrupted"]:
                raise first_error from None  # the runner stopped the second run: why it ran
            if not isinstance(exc, LoopMovedError) or attempt == attempts or report["interrupted"]:
                raise
            first_error = exc
            hooks.echo(f"{exc}; the loop moved: measuring once more")
            try:
                time.sleep(RETRY_PAUSE_S)
            except KeyboardInterrupt:
                raise first_error from None
    nominal_ms = 1000.0 * session.nominal_loop_latency_s
    doc: dict[str, Any] = {
        "mode": request.mode,
        "output_device": names[0] if names else None,
        "input_device": names[1] if names else None,
        "input": run.input_label,
        "sample_rate": session.sample_rate,
        "latency_setting": request.stream.latency,
        "tick_rate_per_min": request.spm,
        "duration_s": report["duration_s"],
        "interrupted": report["interrupted"],
        "nominal_loop_latency_ms": round(nominal_ms, 3),
        "stream_latency_ms": report["latency"]["stream_latency_ms"],
        **result,
    }
    if request.mode == "loopback":
        doc["headphone_offset_ms"] = round(doc["loop_latency_ms"] - nominal_ms, 3) + 0.0  # no -0.0
    else:
        doc["headphone_offset_ms"] = doc["offset_ms"]
    doc["xruns"] = report["xruns"]
    doc["saved"] = False
    doc["calibration_file"] = None
    if names is not None and request.save:
        details = {k: doc[k] for k in ("nominal_loop_latency_ms", "sample_rate", "latency_setting",
                                       "tick_rate_per_min", *result)}
        path = save(names[0], names[1], sample_rate=session.sample_rate,
                    headphone_offset_ms=doc["headphone_offset_ms"], method=request.mode, details=details)
        doc["saved"], doc["calibration_file"] = True, str(path)
    return doc


def measure(mode: Mode, session: Session) -> dict[str, Any]:
    """The calibration figures from what the session measured (CalibrationError if untrustworthy)."""
    if mode == "loopback":
        loop = loopback_latency_ms(session.latency_measurements_s)
        return {"loop_latency_ms": loop.loop_latency_ms, "spread_ms": loop.spread_ms, "n_ticks": loop.n_ticks}
    ticks_out_s = (np.array([t.start_sample for t in session.ticks], dtype=np.float64) / session.sample_rate
                   + session.nominal_loop_latency_s)
    taps = tap_offset_ms(np.asarray(session.step_times_s), ticks_out_s)
    return {"offset_ms": taps.offset_ms, "spread_ms": taps.spread_ms, "n_taps": taps.n_taps,
            "n_rejected_taps": taps.n_rejected}
