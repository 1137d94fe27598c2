"""Microphone paths: what a phone, a Bluetooth headset or an in-ear mic makes of the sound.

Every path takes the scene at ``sample_rate`` (44.1 kHz in the corpus) and returns
``(audio, output_rate)``. Filters are causal (scipy.signal, as in a real device); resampling is
``resample_poly`` (linear phase, no delay), so the ground-truth times stay valid in seconds.

- ``full``: full band, 20 Hz high-pass only (a good wired mic).
- ``phone``: phone mic high-pass at 100-200 Hz (4th order; the corner is drawn per recording),
  then the phone's AGC.
- ``hfp16``: Bluetooth headset, HFP wide band (mSBC): 100-7000 Hz band-pass, 16 kHz, AGC and a
  noise-suppression-like gate (frames near the tracked noise floor attenuated by up to 18 dB).
- ``hfp8``: HFP narrow band (CVSD): 300-3400 Hz, 8 kHz, AGC, the same gate.
- ``inear``: in-ear mic behind an earbud seal: the footfalls (body-conducted) get the occlusion
  effect (+15 dB below ~250 Hz); every airborne sound, the footfalls' included, loses 15 dB above
  ~1 kHz at the seal; the scene (airborne only) also loses 6 dB overall.
- ``clipped``: full band driven 18 dB into hard clipping at +-1.

Those are the **dev** split's devices (:data:`DEV_MICS`). The eval split records through other
devices of the same kinds (:data:`EVAL_MICS`: other filter orders and corners, a slower AGC, a
shallower and slower noise gate, another earbud's occlusion and seal, a converter that clips
asymmetrically), so nothing tuned on dev can lean on one device's exact response.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

MIC_PATHS = ("full", "phone", "hfp16", "hfp8", "inear", "clipped")
OUTPUT_RATE = {"hfp16": 16000, "hfp8": 8000}

PHONE_HIGHPASS_HZ = (100.0, 200.0)
HFP16_BAND_HZ = (100.0, 7000.0)
HFP8_BAND_HZ = (300.0, 3400.0)
OCCLUSION_BOOST_DB = 15.0
OCCLUSION_CORNER_HZ = 250.0
SEAL_ATTENUATION_DB = 15.0
SEAL_CORNER_HZ = 1000.0
CLIP_DRIVE_DB = 18.0


@dataclass(frozen=True)
class MicModels:
    """The devices behind the six mic paths of one split (values of the dev devices by default)."""

    name: str
    full_highpass: tuple[int, float] = (2, 20.0)  # (order, Hz) of the wired mic's high-pass
    phone_order: int = 4
    phone_highpass_hz: tuple[float, float] = PHONE_HIGHPASS_HZ  # the corner is drawn in this range
    headset_order: int = 4
    hfp16_band_hz: tuple[float, float] = HFP16_BAND_HZ
    hfp8_band_hz: tuple[float, float] = HFP8_BAND_HZ
    agc_window_s: float = 0.3
    agc_max_gain_db: float = 30.0
    agc_smooth_s: float = 0.05
    gate_frame_s: float = 0.004
    gate_floor_window_s: float = 1.5
    gate_open_db: float = 6.0
    gate_depth_db: float = 18.0
    occlusion_boost_db: float = OCCLUSION_BOOST_DB
    occlusion_corner_hz: float = OCCLUSION_CORNER_HZ
    seal_attenuation_db: float = SEAL_ATTENUATION_DB
    seal_corner_hz: float = SEAL_CORNER_HZ
    inear_scene_db: float = -6.0  # the airborne scene through the seal, overall
    clip_drive_db: float = CLIP_DRIVE_DB
    clip_negative_rail: float = -1.0

    def apply_agc(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """:func:`agc` with this device's window, gain limit and smoothing."""
        return agc(y, sample_rate, window_s=self.agc_window_s, max_gain_db=self.agc_max_gain_db,
                   smooth_s=self.agc_smooth_s)

    def apply_gate(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """:func:`noise_gate` with this device's frames, floor window, opening and depth."""
        return noise_gate(y, sample_rate, frame_s=self.gate_frame_s, floor_window_s=self.gate_floor_window_s,
                          open_db=self.gate_open_db, depth_db=self.gate_depth_db)


DEV_MICS = MicModels("dev")
EVAL_MICS = MicModels(
    "eval", full_highpass=(1, 40.0), phone_order=2, phone_highpass_hz=(120.0, 200.0), headset_order=2,
    hfp16_band_hz=(150.0, 6500.0), hfp8_band_hz=(300.0, 3400.0), agc_window_s=0.8, agc_max_gain_db=24.0,
    agc_smooth_s=0.12, gate_frame_s=0.010, gate_floor_window_s=3.0, gate_open_db=4.0, gate_depth_db=12.0,
    occlusion_boost_db=11.0, occlusion_corner_hz=350.0, seal_attenuation_db=20.0, seal_corner_hz=700.0,
    inear_scene_db=-9.0, clip_drive_db=14.0, clip_negative_rail=-0.8)


def agc(y: np.ndarray, sample_rate: int, *, target_dbfs: float = -24.0, window_s: float = 0.3,
        max_gain_db: float = 30.0, min_gain_db: float = -12.0, smooth_s: float = 0.05) -> np.ndarray:
    """Causal automatic gain control: gain = target / running RMS (one-pole over ``window_s``),
    limited to [min_gain_db, max_gain_db] and smoothed over ``smooth_s``; it pumps after loud
    events like a phone's AGC."""
    a = np.exp(-1.0 / (window_s * sample_rate))
    ms = signal.lfilter([1 - a], [1, -a], y * y)
    rms = np.sqrt(np.maximum(ms, 1e-12))
    gain_db = np.clip(target_dbfs - 20 * np.log10(rms), min_gain_db, max_gain_db)
    b = np.exp(-1.0 / (smooth_s * sample_rate))
    gain_db = signal.lfilter([1 - b], [1, -b], gain_db, zi=[b * gain_db[0]])[0]
    return y * 10 ** (gain_db / 20)


def noise_gate(y: np.ndarray, sample_rate: int, *, frame_s: float = 0.004, floor_window_s: float = 1.5,
               open_db: float = 6.0, depth_db: float = 18.0) -> np.ndarray:
    """Noise-suppression-like gate: per 4 ms frame, causal noise floor = running minimum of the
    smoothed frame level over ``floor_window_s``; frames less than ``open_db`` above it are
    attenuated by up to ``depth_db`` (soft knee over 6 dB), gain interpolated between frames."""
    hop = max(1, int(frame_s * sample_rate))
    n = y.size // hop
    if n < 2:
        return y.copy()
    lvl = 10 * np.log10(np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    smooth = signal.lfilter([0.3], [1, -0.7], lvl, zi=[0.7 * lvl[0]])[0]
    w = max(1, int(floor_window_s / frame_s))
    # causal running minimum: the window ends at the current frame
    floor = ndimage.minimum_filter1d(smooth, size=w, origin=(w - 1) // 2, mode="nearest")
    above = lvl - floor
    gain_db = -depth_db * np.clip((open_db + 6.0 - above) / 6.0, 0.0, 1.0)
    centres = (np.arange(n) + 0.5) * hop
    g = np.interp(np.arange(y.size), centres, gain_db)
    return y * 10 ** (g / 20)


def _resample(y: np.ndarray, sample_rate: int, out_rate: int) -> np.ndarray:
    from math import gcd

    k = gcd(int(sample_rate), int(out_rate))
    return signal.resample_poly(y, out_rate // k, sample_rate // k)


def band_sos(kind: str, sample_rate: int, *, phone_corner_hz: float = 150.0, model: MicModels = DEV_MICS) -> np.ndarray:
    """The path's band-limiting filter (second-order sections) at ``sample_rate``."""
    if kind == "full" or kind == "clipped":
        order, corner = model.full_highpass
        return signal.butter(order, corner, btype="highpass", fs=sample_rate, output="sos")
    if kind == "phone":
        return signal.butter(model.phone_order, phone_corner_hz, btype="highpass", fs=sample_rate, output="sos")
    if kind == "hfp16":
        return signal.butter(model.headset_order, model.hfp16_band_hz, btype="bandpass", fs=sample_rate, output="sos")
    if kind == "hfp8":
        return signal.butter(model.headset_order, model.hfp8_band_hz, btype="bandpass", fs=sample_rate, output="sos")
    raise ValueError(f"no band filter for mic path {kind!r}")


def shelf(kind: str, corner_hz: float, gain_db: float, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """A second-order ``"low"`` or ``"high"`` shelving filter (b, a): ``gain_db`` below / above
    ``corner_hz`` (the mid-gain point), 0 dB on the other side (R. Bristow-Johnson's Audio EQ
    Cookbook, shelf slope S = 1; scipy.signal has no shelf designer)."""
    a_ = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * corner_hz / sample_rate
    cw, alpha = np.cos(w0), np.sin(w0) / 2 * np.sqrt(2.0)
    k = 2 * np.sqrt(a_) * alpha
    sgn = 1.0 if kind == "low" else -1.0
    b = a_ * np.array([(a_ + 1) - sgn * (a_ - 1) * cw + k, sgn * 2 * ((a_ - 1) - sgn * (a_ + 1) * cw),
                       (a_ + 1) - sgn * (a_ - 1) * cw - k])
    a = np.array([(a_ + 1) + sgn * (a_ - 1) * cw + k, -sgn * 2 * ((a_ - 1) + sgn * (a_ + 1) * cw),
                  (a_ + 1) + sgn * (a_ - 1) * cw - k])
    return b / a[0], a / a[0]


def occlusion(y: np.ndarray, sample_rate: int, model: MicModels = DEV_MICS) -> np.ndarray:
    """Occlusion effect on body-conducted sound: + ``occlusion_boost_db`` below ``occlusion_corner_hz``."""
    return signal.lfilter(*shelf("low", model.occlusion_corner_hz, model.occlusion_boost_db, sample_rate), y)


def seal(y: np.ndarray, sample_rate: int, model: MicModels = DEV_MICS) -> np.ndarray:
    """Passive earbud seal: - ``seal_attenuation_db`` above ``seal_corner_hz``."""
    return signal.lfilter(*shelf("high", model.seal_corner_hz, -model.seal_attenuation_db, sample_rate), y)


def apply_mic(kind: str, steps: np.ndarray, scene: np.ndarray, sample_rate: int,
              rng: np.random.Generator, model: MicModels = DEV_MICS) -> tuple[np.ndarray, int]:
    """Footfalls ``steps`` (peak of a step ~0.25) in the airborne ``scene``, as recorded through
    mic path ``kind`` of the devices ``model``: (audio, output rate)."""
    m = model
    rails = (m.clip_negative_rail, 1.0)
    if kind == "inear":
        y = seal(occlusion(steps, sample_rate, m) + 10 ** (m.inear_scene_db / 20) * scene, sample_rate, m)
        return np.clip(signal.sosfilt(band_sos("full", sample_rate, model=m), y), -1.0, 1.0), sample_rate
    y = steps + scene
    if kind == "full":
        out = signal.sosfilt(band_sos("full", sample_rate, model=m), y)
        return np.clip(out, -1.0, 1.0), sample_rate
    if kind == "clipped":
        out = signal.sosfilt(band_sos("full", sample_rate, model=m), y) * 10 ** (m.clip_drive_db / 20)
        return np.clip(out, *rails), sample_rate
    if kind == "phone":
        corner = float(rng.uniform(*m.phone_highpass_hz))
        out = m.apply_agc(signal.sosfilt(band_sos("phone", sample_rate, phone_corner_hz=corner, model=m), y),
                          sample_rate)
        return np.clip(out, -1.0, 1.0), sample_rate
    if kind in ("hfp16", "hfp8"):
        rate = OUTPUT_RATE[kind]
        x = signal.sosfilt(band_sos(kind, sample_rate, model=m), y)
        x = _resample(x, sample_rate, rate)
        x = m.apply_gate(m.apply_agc(x, rate), rate)
        return np.clip(x, -1.0, 1.0), rate
    raise ValueError(f"unknown mic path {kind!r}; choose from {', '.join(MIC_PATHS)}")
