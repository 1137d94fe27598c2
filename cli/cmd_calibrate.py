"""``cadence calibrate``: measure the output delay PortAudio cannot see, and store it per device pair.

It runs a short session (the same engine, renderer and consumer as ``cadence run``, through
:func:`cli.cmd_session.run_session`) at a steady tempo and reads what the session measured:

* ``--mode loopback``: the session's loop latency from the ticks the microphone hears
  (:class:`coach.latency.TickSearch`); stored offset = measured - nominal.
* ``--mode tap``: the taps the session's footfall detector found; stored offset = median of
  tap - (tick sample + nominal loop latency).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from coach.calibration import CalibrationError, loopback_latency_ms, save, tap_offset_ms
from cli.cmd_session import run_session
from metronome.settings import settings_from_options
from cli.options import DURATION, FINITE, checked_spm, finite_range, session_device_options
from coach.session import Session, SessionSettings
from coach.jsonfile import json_text
from metronome.clicks import SOUNDS

DEFAULT_SPM = 120.0
PROGRESS_EVERY_S = 5.0


def _device_names(device: str | None, input_device: str | None, output_device: str | None) -> tuple[str, str]:
    """(output name, input name) of the devices the session will open, as PortAudio names them."""
    from metronome.engine import AudioUnavailableError, resolve_device

    try:
        _, in_info = resolve_device(input_device or device, "input")
        _, out_info = resolve_device(output_device or device, "output")
    except AudioUnavailableError as exc:
        raise click.ClickException(str(exc)) from None
    return str(out_info["name"]), str(in_info["name"])


class _Progress:
    """A plain line on stderr every few seconds of a live calibration (never from the callback)."""

    def __init__(self, mode: str, duration_s: float) -> None:
        self.mode = mode
        self.duration_s = duration_s
        self._next_s = PROGRESS_EVERY_S

    def __call__(self, session: Session) -> None:
        now_s = session.elapsed_s
        if now_s < self._next_s:
            return
        self._next_s += PROGRESS_EVERY_S
        if self.mode == "loopback":
            what = f"{len(session.latency_measurements_s)} of {len(session.ticks)} ticks heard"
        else:
            what = f"{len(session.step_times_s)} taps for {len(session.ticks)} ticks"
        click.echo(f"  {now_s:4.0f} s / {self.duration_s:g} s: {what}", err=True)


@click.command()
@click.option("--mode", type=click.Choice(["loopback", "tap"]), default="loopback", show_default=True,
              help="loopback: the microphone hears the headphones. tap: you tap along (Bluetooth headphones).")
@click.option("--spm", "--bpm", "spm", type=FINITE, default=DEFAULT_SPM, show_default=True, metavar="N",
              help="Ticks per minute. In tap mode a headphone delay up to 3/4 of a beat is measurable "
                   "(375 ms at 120); use a slower tempo for slower headphones.")
@click.option("--duration", "duration_s", type=DURATION, default="20s", show_default=True,
              help="How long to tick (tap mode: tap throughout).")
@click.option("--sound", type=click.Choice(SOUNDS), default="click", show_default=True, help="Tick sound.")
@click.option("--volume", "volume_db", type=finite_range(-60, 0), default=-6.0, show_default=True,
              help="Tick level in dB below full scale.")
@session_device_options
@click.option("--input-device", default=None, help="Microphone device (default: --device).")
@click.option("--output-device", default=None, help="Headphone device (default: --device).")
@click.option("--input-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Use a recording instead of the microphone (simulation; nothing is saved).")
@click.option("--fast", is_flag=True, help="With --input-file: run faster than real time.")
@click.option("--bleed-db", type=finite_range(-100, 20), default=None,
              help="With --input-file: let the 'mic' hear the ticks at this level (dB), for loopback.")
@click.option("--bleed-delay-ms", type=finite_range(0, 500), default=25.0, show_default=True,
              help="With --bleed-db: the output-to-mic delay to simulate.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--no-save", is_flag=True, help="Measure and print, but do not store the offset.")
def calibrate(**opts: Any) -> None:
    """Measure the headphone offset of a device pair and store it for 'cadence run'.

    A session needs to know when you *hear* each tick. PortAudio reports the stream's own
    latency, but not what Bluetooth headphones or a sound server add. The measured extra delay
    is stored per output|input device pair and used as the default --headphone-offset-ms.

    \b
    --mode loopback (wired headphones, earbuds with a mic, a phone mic): hold the headphones
      against the microphone (or wear earbuds with a mic) in a quiet room; the ticks the
      microphone hears give the loop latency to the sample.
    --mode tap (Bluetooth headphones, whose mic path differs): wear the headphones and tap the
      phone or laptop near its microphone (or step in place on a hard floor) exactly on every
      tick you hear, for the whole --duration. Your taps give the delay (people tap some
      10-50 ms early; that bias is part of the figure).
    """
    mode: str = opts["mode"]
    input_file: Path | None = opts["input_file"]
    for flag in ("fast", "bleed_db"):
        if opts[flag] and input_file is None:
            raise click.ClickException(f"--{flag.replace('_', '-')} needs --input-file")
    spm = checked_spm(opts["spm"], False, "tick rate")
    duration_s: float = opts["duration_s"]
    metronome = settings_from_options(
        spm=spm, duration_s=duration_s, plan="steady", baseline_spm=None, warmup_s=None, cooldown_s=None,
        every_other_step=False, sound=opts["sound"], accent_every=0, alternate_ears=False,
        volume_db=opts["volume_db"], force=False,
    )
    settings = SessionSettings(metronome=metronome, kind="simulated" if input_file is not None else "live",
                               measure_latency=mode == "loopback")
    names = None
    if input_file is None:
        names = _device_names(opts["device"], opts["input_device"], opts["output_device"])
        click.echo(f"calibrating ({mode}) {names[0]} -> {names[1]} for {duration_s:g} s; "
                   + ("keep the microphone where it hears the ticks" if mode == "loopback"
                      else "tap on every tick you hear"), err=True)
    sessions: list[Session] = []

    def keep(session: Session) -> None:
        sessions.append(session)
        if input_file is None or not opts["fast"]:
            session.on_update = _Progress(mode, duration_s)

    report = run_session(
        metronome, settings, input_file=input_file, fast=opts["fast"], monitor=None, bleed_db=opts["bleed_db"],
        bleed_delay_ms=opts["bleed_delay_ms"], duration_s=duration_s, device=opts["device"],
        input_device=opts["input_device"], output_device=opts["output_device"], sample_rate=opts["sample_rate"],
        block_size=opts["block_size"], latency=opts["latency"], quiet=True, on_session=keep,
        restart_on_spin=False,  # a restart would move the very latency being measured
    )
    session = sessions[-1]  # the one that ran (an earlier sample rate may have failed to start)
    result = _measure(mode, session)
    nominal_ms = 1000.0 * session.nominal_loop_latency_s
    doc: dict[str, Any] = {
        "mode": mode,
        "output_device": names[0] if names else None,
        "input_device": names[1] if names else None,
        "input": str(input_file) if input_file is not None else "microphone",
        "sample_rate": session.sample_rate,
        "latency_setting": opts["latency"],
        "tick_rate_per_min": spm,
        "duration_s": report["duration_s"],
        "interrupted": report["interrupted"],
        "nominal_loop_latency_ms": round(nominal_ms, 3),
        "stream_latency_ms": report["latency"]["stream_latency_ms"],
        **result,
    }
    if mode == "loopback":
        doc["headphone_offset_ms"] = round(doc["loop_latency_ms"] - nominal_ms, 3) + 0.0  # no -0.0
    else:
        doc["headphone_offset_ms"] = doc["offset_ms"]
    doc["xruns"] = report["xruns"]
    doc["saved"] = False
    doc["calibration_file"] = None
    if names is not None and not opts["no_save"]:
        details = {k: doc[k] for k in ("nominal_loop_latency_ms", "sample_rate", "latency_setting",
                                       "tick_rate_per_min", *result)}
        try:
            path = save(names[0], names[1], sample_rate=session.sample_rate,
                        headphone_offset_ms=doc["headphone_offset_ms"], method=mode, details=details)
        except CalibrationError as exc:
            raise click.ClickException(str(exc)) from None
        doc["saved"], doc["calibration_file"] = True, str(path)
    if opts["as_json"]:
        click.echo(json_text(doc))
    else:
        click.echo(_one_line(doc))


def _measure(mode: str, session: Session) -> dict[str, Any]:
    """The calibration figures from what the session measured (one-line error if untrustworthy)."""
    import numpy as np

    try:
        if mode == "loopback":
            loop = loopback_latency_ms(session.latency_measurements_s)
            return {"loop_latency_ms": loop.loop_latency_ms, "spread_ms": loop.spread_ms, "n_ticks": loop.n_ticks}
        ticks_out_s = (np.array([t.start_sample for t in session.ticks], dtype=np.float64) / session.sample_rate
                       + session.nominal_loop_latency_s)
        taps = tap_offset_ms(np.asarray(session.step_times_s), ticks_out_s)
    except CalibrationError as exc:
        raise click.ClickException(str(exc)) from None
    return {"offset_ms": taps.offset_ms, "spread_ms": taps.spread_ms, "n_taps": taps.n_taps,
            "n_rejected_taps": taps.n_rejected}


def _one_line(doc: dict[str, Any]) -> str:
    if doc["mode"] == "loopback":
        figure = (f"loop latency {doc['loop_latency_ms']:.2f} ms (spread {doc['spread_ms']:.2f} ms over "
                  f"{doc['n_ticks']} ticks; stream nominal {doc['nominal_loop_latency_ms']:.2f} ms)")
    else:
        figure = (f"taps {doc['offset_ms']:+.1f} ms after the ticks left the stream (spread {doc['spread_ms']:.0f} ms "
                  f"over {doc['n_taps']} taps, {doc['n_rejected_taps']} rejected)")
    if doc["saved"]:
        where = (f"saved for '{doc['output_device']} | {doc['input_device']}' at {doc['sample_rate']} Hz "
                 f"in {doc['calibration_file']}")
    elif doc["output_device"] is None:
        where = "simulation: not saved"
    else:
        where = "not saved (--no-save)"
    return f"{figure} -> headphone offset {doc['headphone_offset_ms']:+.1f} ms; {where}"


COMMANDS = (calibrate,)
