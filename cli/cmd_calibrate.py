"""``cadence calibrate``: measure the output delay PortAudio cannot see, and store it per device pair.

The options become a :class:`coach.calibrate.CalibrationRequest`; :func:`coach.calibrate.calibrate`
runs the session and measures (see there); this module shows the progress and the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.display import run_hooks
from cli.options import DURATION, FINITE, checked_spm, finite_range, session_device_options, user_errors
from coach.calibrate import CalibrationRequest, calibrate as run_calibration, device_names
from coach.calibration import CalibrationError
from coach.jsonfile import json_text
from coach.request import FileInput, StreamOptions
from coach.session import Session
from metronome.clicks import SOUNDS

DEFAULT_SPM = 120.0
PROGRESS_EVERY_S = 5.0


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
    request = _request(opts)
    names = None
    if request.input is None:
        with user_errors():
            names = device_names(request.stream)
        click.echo(f"calibrating ({request.mode}) {names[0]} -> {names[1]} for {request.duration_s:g} s; "
                   + ("keep the microphone where it hears the ticks" if request.mode == "loopback"
                      else "tap on every tick you hear"), err=True)

    def show_progress(session: Session) -> None:
        if request.input is None or not request.input.fast:
            session.on_update = _Progress(request.mode, request.duration_s)

    with user_errors():
        try:
            doc = run_calibration(request, run_hooks(quiet=True, on_session=show_progress), names)
        except CalibrationError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(json_text(doc) if opts["as_json"] else _one_line(doc))


def _request(opts: dict[str, Any]) -> CalibrationRequest:
    input_file: Path | None = opts["input_file"]
    for flag in ("fast", "bleed_db"):
        if opts[flag] and input_file is None:
            raise click.ClickException(f"--{flag.replace('_', '-')} needs --input-file")
    stream = StreamOptions(device=opts["device"], input_device=opts["input_device"],
                           output_device=opts["output_device"], sample_rate=opts["sample_rate"],
                           block_size=opts["block_size"], latency=opts["latency"])
    file = None if input_file is None else FileInput(path=input_file, fast=opts["fast"], bleed_db=opts["bleed_db"],
                                                     bleed_delay_ms=opts["bleed_delay_ms"])
    return CalibrationRequest(mode=opts["mode"], spm=checked_spm(opts["spm"], False, "tick rate"),
                              duration_s=opts["duration_s"], sound=opts["sound"], volume_db=opts["volume_db"],
                              stream=stream, input=file, save=not opts["no_save"])


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
