"""The footfall benchmark's own parts: mic-path filters, AGC and gate, step placement, the split,
the labels file, scoring and the bars (benchmarks/footfall, benchmarks/bench_footfall.py).
Nothing here reads ../shared."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from benchmarks.bench_footfall import F1_BAR, asynchrony_line, asynchrony_row, failures
from benchmarks.footfall import corpus, micpaths
from benchmarks.footfall.labels import LABELS
from benchmarks.footfall.scoring import analyze_json, is_confident, score

SR = 44100


def _gain_db(sos: np.ndarray, f_hz: float, fs: int) -> float:
    _, h = signal.sosfreqz(sos, worN=[f_hz], fs=fs)
    return float(20 * np.log10(abs(h[0])))


@pytest.mark.parametrize(
    "kind, edges, kw",
    [("phone", (150.0,), {"phone_corner_hz": 150.0}), ("phone", (100.0,), {"phone_corner_hz": 100.0}),
     ("hfp16", (100.0, 7000.0), {}), ("hfp8", (300.0, 3400.0), {})],
)
def test_band_edges_are_the_stated_ones(kind, edges, kw):
    sos = micpaths.band_sos(kind, SR, **kw)
    for e in edges:
        assert _gain_db(sos, e, SR) == pytest.approx(-3.0, abs=0.3)
    mid = math.sqrt(edges[0] * edges[-1]) if len(edges) == 2 else 4 * edges[0]
    assert _gain_db(sos, mid, SR) == pytest.approx(0.0, abs=0.5)
    assert _gain_db(sos, edges[0] / 2.5, SR) < -25.0  # well below the low edge
    if len(edges) == 2:
        assert _gain_db(sos, edges[1] * 1.6, SR) < -12.0


@pytest.mark.parametrize(
    "kind, edges, kw",
    [("phone", (150.0,), {"phone_corner_hz": 150.0}), ("hfp16", (150.0, 6500.0), {}), ("hfp8", (300.0, 3400.0), {}),
     ("full", (40.0,), {})],
)
def test_eval_devices_have_their_own_responses(kind, edges, kw):
    ev = micpaths.band_sos(kind, SR, model=micpaths.EVAL_MICS, **kw)
    for e in edges:
        assert _gain_db(ev, e, SR) == pytest.approx(-3.0, abs=0.3)
    if kind == "phone":  # second order: a gentler slope than the dev phone's fourth, same corner
        dev = micpaths.band_sos(kind, SR, **kw)
        below = edges[0] / 2.5
        assert -25.0 < _gain_db(ev, below, SR) < -10.0 and _gain_db(dev, below, SR) < -25.0


def test_each_split_records_through_its_own_devices():
    assert corpus.MIC_MODELS["dev"] is micpaths.DEV_MICS and corpus.MIC_MODELS["eval"] is micpaths.EVAL_MICS
    t = np.arange(SR) / SR
    x = 0.25 * np.sin(2 * np.pi * 200 * t)
    y, _ = micpaths.apply_mic("clipped", x, np.zeros_like(x), SR, np.random.default_rng(3), micpaths.EVAL_MICS)
    assert np.max(y) == pytest.approx(1.0) and np.min(y) == pytest.approx(-0.8)  # an asymmetric converter
    body, _ = micpaths.apply_mic("inear", 0.01 * np.sin(2 * np.pi * 60 * t), np.zeros_like(t), SR,
                                 np.random.default_rng(2), micpaths.EVAL_MICS)
    air, _ = micpaths.apply_mic("inear", np.zeros_like(t), 0.01 * np.sin(2 * np.pi * 60 * t), SR,
                                np.random.default_rng(2), micpaths.EVAL_MICS)
    (b60,), (a60,) = _tone_levels_db(body, SR, [60.0]), _tone_levels_db(air, SR, [60.0])
    assert b60 - a60 == pytest.approx(micpaths.EVAL_MICS.occlusion_boost_db - micpaths.EVAL_MICS.inear_scene_db, abs=1.5)


def _tone_levels_db(y: np.ndarray, fs: int, freqs: list[float]) -> list[float]:
    seg = y[fs // 2 :]  # past the AGC / gate settling
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    f = np.fft.rfftfreq(seg.size, 1 / fs)
    return [20 * np.log10(spec[np.argmin(np.abs(f - fr))] + 1e-12) for fr in freqs]


@pytest.mark.parametrize("kind, rate, low_hz, mid_hz, high_hz",
                         [("hfp16", 16000, 40.0, 1000.0, 12000.0), ("hfp8", 8000, 120.0, 1000.0, 6000.0)])
def test_headset_paths_resample_and_keep_only_their_band(kind, rate, low_hz, mid_hz, high_hz):
    t = np.arange(2 * SR) / SR
    x = 0.1 * sum(np.sin(2 * np.pi * f * t) for f in (low_hz, mid_hz, high_hz))
    y, out_rate = micpaths.apply_mic(kind, x, np.zeros_like(x), SR, np.random.default_rng(0))
    assert out_rate == rate and y.size == pytest.approx(2 * rate, abs=2)
    alias_hz = rate - high_hz  # where the high tone would fold to without band limiting
    lo, mid, alias = _tone_levels_db(y, rate, [low_hz, mid_hz, alias_hz])
    assert lo < mid - 20.0
    assert alias < mid - 40.0
    assert np.max(np.abs(y)) <= 1.0


def test_phone_path_removes_rumble_below_its_corner():
    t = np.arange(2 * SR) / SR
    x = 0.1 * (np.sin(2 * np.pi * 40 * t) + np.sin(2 * np.pi * 1000 * t))
    y, rate = micpaths.apply_mic("phone", x, np.zeros_like(x), SR, np.random.default_rng(1))
    lo, mid = _tone_levels_db(y, rate, [40.0, 1000.0])
    assert rate == SR and lo < mid - 25.0  # the corner is drawn in 100-200 Hz; 40 Hz is >= 1.3 octaves below


def test_in_ear_boosts_body_sound_low_and_seals_airborne_high():
    t = np.arange(2 * SR) / SR
    tone = lambda f: 0.01 * np.sin(2 * np.pi * f * t)  # noqa: E731
    body, _ = micpaths.apply_mic("inear", tone(60.0), np.zeros_like(t), SR, np.random.default_rng(2))
    air, _ = micpaths.apply_mic("inear", np.zeros_like(t), tone(60.0), SR, np.random.default_rng(2))
    (b60,), (a60,) = _tone_levels_db(body, SR, [60.0]), _tone_levels_db(air, SR, [60.0])
    assert b60 - a60 == pytest.approx(micpaths.OCCLUSION_BOOST_DB + 6.0, abs=1.5)
    high, _ = micpaths.apply_mic("inear", np.zeros_like(t), tone(6000.0), SR, np.random.default_rng(2))
    ref, _ = micpaths.apply_mic("full", np.zeros_like(t), tone(6000.0), SR, np.random.default_rng(2))
    (h,), (r,) = _tone_levels_db(high, SR, [6000.0]), _tone_levels_db(ref, SR, [6000.0])
    assert h - r == pytest.approx(-micpaths.SEAL_ATTENUATION_DB - 6.0, abs=0.5)


def test_clipped_path_clips():
    t = np.arange(SR) / SR
    x = 0.25 * np.sin(2 * np.pi * 200 * t)
    y, _ = micpaths.apply_mic("clipped", x, np.zeros_like(x), SR, np.random.default_rng(3))
    assert np.max(np.abs(y)) == pytest.approx(1.0)
    assert np.mean(np.abs(y) >= 0.999) > 0.5  # 18 dB of drive: most of each cycle sits on the rails


def test_agc_brings_quiet_and_loud_passages_near_its_target():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(4 * SR)
    x[: 2 * SR] *= 10 ** (-45 / 20)
    x[2 * SR :] *= 10 ** (-12 / 20)
    y = micpaths.agc(x, SR, target_dbfs=-24.0)
    rms_db = lambda s: 20 * np.log10(np.sqrt(np.mean(s**2)))  # noqa: E731
    assert rms_db(y[SR : 2 * SR]) == pytest.approx(-24.0, abs=2.0)  # +21 dB of gain, within the 30 dB limit
    assert rms_db(y[3 * SR :]) == pytest.approx(-24.0, abs=2.0)  # -12 dB, the lower limit
    very_quiet = micpaths.agc(x[: 2 * SR] * 1e-2, SR, target_dbfs=-24.0)
    assert rms_db(very_quiet[SR:]) == pytest.approx(-45 - 40 + 30, abs=2.0)  # held at +30 dB


def test_noise_gate_ducks_the_floor_and_passes_a_burst():
    rng = np.random.default_rng(5)
    x = 0.01 * rng.standard_normal(3 * SR)
    burst = slice(int(2.0 * SR), int(2.1 * SR))
    x[burst] *= 20.0  # +26 dB
    y = micpaths.noise_gate(x, SR)
    quiet = slice(int(1.0 * SR), int(1.9 * SR))
    atten_db = 20 * np.log10(np.std(y[quiet]) / np.std(x[quiet]))
    assert atten_db == pytest.approx(-18.0, abs=3.0)
    inner = slice(burst.start + int(0.01 * SR), burst.stop)
    assert 20 * np.log10(np.std(y[inner]) / np.std(x[inner])) == pytest.approx(0.0, abs=0.5)
    # causal, like a device's: the burst changes nothing before it (up to one 4 ms frame)
    no_burst = x.copy()
    no_burst[burst] /= 20.0
    without = micpaths.noise_gate(no_burst, SR)
    early = burst.start - int(0.008 * SR)
    np.testing.assert_allclose(y[:early], without[:early], rtol=1e-9, atol=1e-12)


def test_synthetic_steps_are_placed_with_their_onset_on_the_truth_time():
    rng = np.random.default_rng(6)
    truth = corpus.jittered_times(rng, 170.0, 10.0, jitter=0.02)
    y = corpus.place_steps("synthetic", truth, rng, 10 * SR, SR)
    for t in truth:
        a = int(round(t * SR))
        pre = y[a - int(0.004 * SR) : a - 2]
        assert np.max(np.abs(pre)) < 1e-9  # nothing before the onset (the previous step has ended)
        assert np.max(np.abs(y[a : a + int(0.003 * SR)])) > 0.01  # the thump starts on it


def test_jittered_schedules_have_the_asked_cadence():
    rng = np.random.default_rng(7)
    walk = corpus.jittered_times(rng, 110.0, 60.0, jitter=0.025)
    assert 60.0 / np.median(np.diff(walk)) == pytest.approx(110.0, rel=0.02)
    assert np.std(np.diff(walk)) / np.median(np.diff(walk)) == pytest.approx(0.025, abs=0.008)
    ramp = corpus.jittered_times(rng, np.array([160.0, 180.0]), 30.0, jitter=0.0)
    iv = np.diff(ramp)
    assert 60 / iv[0] == pytest.approx(160.0, rel=0.01) and 60 / iv[-1] == pytest.approx(180.0, rel=0.01)


def test_entrained_runner_lands_around_a_steady_metronome():
    steps, ticks = corpus.entrained_times(np.random.default_rng(3), 600.0, 0.36)
    np.testing.assert_allclose(np.diff(ticks), 0.36, atol=1e-9)  # the metronome keeps time
    assert steps.size == ticks.size  # one footfall per tick (none fall outside the item here)
    lag = steps - ticks
    assert -0.035 <= np.mean(lag) <= 0.005  # on the beat or ahead of it (mean 0 to -30 ms)
    assert np.std(lag) == pytest.approx(0.020, abs=0.003)
    assert np.corrcoef(lag[:-1], lag[1:])[0, 1] == pytest.approx(0.5, abs=0.08)  # the asynchrony wanders
    assert 0.06 < np.mean(np.abs(lag - np.mean(lag)) > 0.025) < 0.35  # some steps beyond +-25 ms of their tick


def test_asynchrony_is_what_a_session_would_report_from_the_steps_and_from_the_footfalls():
    ticks = 0.5 + 0.36 * np.arange(40)
    truth = ticks - 0.010
    item = corpus.Item("dev", "synthetic", "metronome_steady", "full", truth, ticks, False, 15.0)
    row = asynchrony_row(item, np.concatenate([ticks[:20], truth[20:]]))  # half reported at the ticks
    assert row["true"]["mean_ms"] == pytest.approx(-10.0, abs=1e-6) and row["true"]["n"] == 40
    assert row["found"]["mean_ms"] == pytest.approx(-5.0, abs=1e-6)
    line = asynchrony_line([{"split": "dev", "scene": "metronome_steady", "asynchrony": row}], "dev")
    assert "|mean error| median 5.0 ms" in line
    assert asynchrony_row(corpus.Item("dev", "synthetic", "walk", "full", truth, None, False, 15.0), truth) is None


def test_dev_and_eval_share_no_clip_and_no_runner():
    dev, ev = corpus.SPLITS["dev"], corpus.SPLITS["eval"]
    assert set(dev.surfaces) & set(ev.surfaces) == {"synthetic"}
    assert not set(dev.textures + dev.rhythmic_textures) & set(ev.textures + ev.rhythmic_textures)
    subject = lambda s: re.match(r"d\d+_(P\d+)_", s).group(1)  # noqa: E731
    assert not {subject(s) for s in dev.sessions} & {subject(s) for s in ev.sessions}
    n_scenes = len(corpus.SCENES)
    conds = corpus.conditions(ev)
    per_mic = n_scenes * len(ev.surfaces) + 2 * len(ev.textures) + len(ev.rhythmic_textures) + len(ev.surfaces) - 1
    assert len(conds) == len(micpaths.MIC_PATHS) * per_mic


def test_labels_file_is_consistent_with_the_split():
    labels = json.loads(LABELS.read_text())["clips"]
    by_surface = {v["surface"]: v for v in labels.values()}
    assert len(labels) == 11
    for v in labels.values():
        on = v["onsets_s"]
        assert on == sorted(on) and all(0.0 <= t < 5.0 for t in on)
        assert set(v["cut_onsets_s"]) <= set(on)
        assert v["role"] in {"steady", "irregular", "texture", "rhythmic_texture", "noisy"}
        assert (v["role"] in {"texture", "rhythmic_texture"}) == (not on)
    for sp in corpus.SPLITS.values():
        for s in sp.surfaces:
            assert s == "synthetic" or (by_surface[s]["role"] in {"steady", "irregular"} and by_surface[s]["cut_onsets_s"])
        for s in sp.textures:
            assert by_surface[s]["role"] == "texture"
        for s in sp.rhythmic_textures:
            assert by_surface[s]["role"] == "rhythmic_texture"


def test_scoring_of_a_report():
    truth = np.arange(0.5, 20.0, 60 / 170)
    perfect = score(truth, truth + 0.002, 170.0, True)
    assert perfect.f1 == 1.0 and perfect.median_ms == pytest.approx(2.0, abs=0.01)
    assert perfect.cadence_err_spm == pytest.approx(0.0, abs=0.05)
    half = score(truth, truth[::2], None, False)
    assert half.f1 == pytest.approx(2 * 0.5 / 1.5, abs=0.01) and half.cadence_err_spm == math.inf
    off = score(truth, truth + 0.030, 170.0, True)  # outside +-25 ms: nothing matches
    assert off.f1 == 0.0 and math.isnan(off.median_ms)
    assert is_confident({"cadence_spm": 170.0})  # key missing: confident
    assert not is_confident({"cadence_spm": 170.0, "cadence_confident": False})
    assert not is_confident({"cadence_spm": None, "cadence_confident": True})


def _row(mic="full", f1=0.97, lib=0.9, cad=0.5, med=2.0, conf=True, texture=False):
    res = lambda f: {"f1": f, "cadence_err_spm": cad, "median_ms": med, "confident": conf}  # noqa: E731
    return {"mic": mic, "texture": texture, "info_only": False, "ours": res(f1), "librosa": res(lib - 0.1),
            "librosa_tuned": res(lib)}


def test_bars():
    assert failures(_row()) == []
    assert F1_BAR["hfp8"] == 0.90 and failures(_row(mic="hfp8", f1=0.92, lib=0.5)) == []
    assert any("F1 0.920 < 0.95" in f for f in failures(_row(mic="hfp16", f1=0.92, lib=0.5)))
    assert any("librosa" in f for f in failures(_row(f1=0.96, lib=0.98)))
    assert any("cadence" in f for f in failures(_row(cad=1.2)))
    assert any("cadence" in f for f in failures(_row(cad=math.inf)))
    assert any("median" in f for f in failures(_row(med=5.5)))
    assert any("median" in f for f in failures(_row(med=float("nan"))))
    assert failures(_row(texture=True, conf=False, f1=0.0)) == []
    assert failures(_row(texture=True, conf=True)) == ["confident cadence on texture"]


def test_compare_with_an_earlier_json_run(tmp_path):
    """--compare: the conditions that changed sides and the F1 moves, read back from a strict-JSON
    baseline (its nulls are the unscored values: no cadence -> a cadence failure again)."""
    from benchmarks.bench_footfall import _from_json, _json_safe, compare

    def named(name, **kw):
        r = _row(**kw)
        r.update(name=f"dev/{name}", split="dev")
        for k in ("ours", "librosa", "librosa_tuned"):
            r[k].update(precision=r[k]["f1"], recall=r[k]["f1"])
        return r

    base = [named("a/x/full", f1=0.90), named("b/x/full", f1=0.97), named("c/x/full", cad=math.inf),
            named("d/x/hfp8", mic="hfp8", f1=0.91, lib=0.5)]
    now = [named("a/x/full", f1=0.97), named("b/x/full", f1=0.80), named("c/x/full", cad=math.inf),
           named("d/x/hfp8", mic="hfp8", f1=0.93, lib=0.5)]
    path = tmp_path / "base.json"
    path.write_text(json.dumps(_json_safe({"items": base})))
    back = [_from_json(r) for r in json.loads(path.read_text())["items"]]
    assert back[2]["ours"]["cadence_err_spm"] == math.inf and failures(back[2])
    text = compare(now, back, ["dev"])
    assert "baseline 2 -> now 2 (of 4); newly failing 1, newly passing 1" in text
    assert "now failing:  dev/b/x/full" in text and "now passing:  dev/a/x/full" in text
    assert "full 0.947 -> 0.913" in text and "hfp8 0.910 -> 0.930" in text
    assert "F1 +0.070  dev/a/x/full (0.900 -> 0.970)" in text and "F1 -0.170  dev/b/x/full" in text
    assert "d/x/hfp8 (" not in text  # moved by 0.02 only


def test_error_table_sums_the_classes_per_scene_and_over_the_failing_conditions():
    """The error table: per scene, misdated (early / late), missed and extra over the scored
    conditions and over the failing ones; a misdated footfall counts as two errors in the share;
    rows without classes (a --json from before they were recorded) are left out."""
    from benchmarks.bench_footfall import error_table

    def row(scene, f1, errors):
        r = _row(f1=f1)
        r.update(split="dev", scene=scene, errors=errors)
        return r

    rows = [row("wind", 0.97, {"misdated_early": 1, "misdated_late": 2, "missed": 0, "extra": 0}),
            row("wind", 0.80, {"misdated_early": 0, "misdated_late": 4, "missed": 3, "extra": 1}),
            row("music", 0.99, {"misdated_early": 0, "misdated_late": 0, "missed": 0, "extra": 1}),
            {**row("music", 0.5, {}), "errors": None}]
    lines = {ln.split()[0]: ln.split() for ln in error_table(rows, "dev").splitlines()[1:]}
    # early late missed extra share, then the failing ones (the 0.80 wind row)
    assert lines["wind"] == ["wind", "1", "6", "3", "1", "0.78", "0", "/", "4", "/", "3", "/", "1"]
    assert lines["music"][1:6] == ["0", "0", "0", "1", "0.00"]
    assert lines["all"][1:6] == ["1", "6", "3", "2", "0.74"]
    assert error_table(rows, "eval") == ""


def test_a_misdated_contact_is_put_down_to_what_became_of_its_candidate():
    """--fates: the candidate within 25 ms of the contact and the tracker's decision on it; an
    undated crossing just after the contact counts as a candidate that never reached the tracker."""
    from benchmarks.bench_footfall import fate_table
    from benchmarks.footfall.fates import contact_fate

    nan = math.nan
    trace = [(0.95, 0.94, "step"),  # a hi-hat 60 ms before the contact, reported
             (1.02, 1.0, "merged"),  # the contact, merged as its toe
             (2.03, 2.001, "rejected"), (2.11, 2.08, "step"),  # the contact refused, its crunch taken
             (3.02, nan, "below_bar"),
             (4.30, nan, "weak")]
    assert contact_fate(trace, 1.0) == "merged"
    assert contact_fate(trace, 2.0) == "rejected"
    assert contact_fate(trace, 3.0) == "not pushed"
    assert contact_fate(trace, 4.0) == "no candidate"  # its only crossing came 300 ms later
    assert contact_fate(trace, 2.08) == "taken"  # a step taken there wins over other fates

    def row(scene, fates):
        r = _row(f1=0.9)
        r.update(split="dev", scene=scene, fates=fates)
        return r

    rows = [row("wind", {"early merged": 2, "late rejected": 3}), row("wind", {"late no candidate": 1}),
            row("music", {"early merged": 1}), {**_row(f1=0.9), "split": "dev", "scene": "wind"}]
    lines = {ln.split()[0]: ln.split() for ln in fate_table(rows, "dev").splitlines()[1:]}
    # merged, rejected, taken, tick, not pushed, no candidate (early / late each), then the total
    assert lines["wind"] == ["wind", "2", "/", "0", "0", "/", "3", "0", "/", "0", "0", "/", "0", "0", "/", "0",
                             "0", "/", "1", "6"]
    assert lines["all"][1:4] == ["3", "/", "0"] and lines["all"][-1] == "7"
    assert fate_table(rows, "eval") == ""


def test_the_detector_is_called_through_cadence_analyze(tmp_path):
    rng = np.random.default_rng(8)
    truth = corpus.jittered_times(rng, 165.0, 12.0, jitter=0.01)
    y = corpus.place_steps("synthetic", truth, rng, 12 * SR, SR) + 0.001 * rng.standard_normal(12 * SR)
    path = tmp_path / "steps.flac"
    sf.write(path, y, SR, subtype="PCM_16")
    ticks = tmp_path / "ticks.json"
    ticks.write_text(json.dumps({"ticks_s": list(np.arange(0.3, 12.0, 60 / 150))}))
    for t in (None, ticks):
        rep = analyze_json(path, t)
        found = np.array([s["time_s"] for s in rep["steps"]])
        assert score(truth, found, rep["cadence_spm"], is_confident(rep)).f1 >= 0.9
    with pytest.raises(RuntimeError, match="exited"):
        analyze_json(tmp_path / "missing.wav")


def test_an_item_renders_the_same_every_time_and_differs_between_splits():
    y1, sr1, it1 = corpus.render_item(corpus.SPLITS["dev"], "walk", "synthetic", "hfp16")
    y2, sr2, it2 = corpus.render_item(corpus.SPLITS["dev"], "walk", "synthetic", "hfp16")
    assert sr1 == sr2 == 16000 and np.array_equal(y1, y2) and np.array_equal(it1.truth_s, it2.truth_s)
    spm = 60.0 / np.median(np.diff(it1.truth_s))
    assert 88.0 <= spm <= 132.0 and it1.ticks_s is None and not it1.texture
    _, _, other = corpus.render_item(corpus.SPLITS["eval"], "walk", "synthetic", "hfp16")
    assert not np.array_equal(other.truth_s[:10], it1.truth_s[:10])


def test_the_run_that_renders_an_item_scores_the_truth_every_later_run_reads(tmp_path):
    # the truth is cached to the microsecond; the rendering run must score against that same
    # truth, or a true interval at the edge of the cadence's regular band moves the true cadence
    first = corpus.load_item(corpus.SPLITS["dev"], "walk", "synthetic", "hfp16", cache=tmp_path)
    again = corpus.load_item(corpus.SPLITS["dev"], "walk", "synthetic", "hfp16", cache=tmp_path)
    assert first.path == again.path and first.path.exists()
    assert np.array_equal(first.truth_s, again.truth_s)
    _, _, rendered = corpus.render_item(corpus.SPLITS["dev"], "walk", "synthetic", "hfp16")
    assert not np.array_equal(first.truth_s, rendered.truth_s)  # the rendering's own, unrounded
    np.testing.assert_allclose(first.truth_s, rendered.truth_s, rtol=0, atol=5e-7)


def test_report_latency_is_measured_on_the_pairs_the_f1_counts(tmp_path):
    """Every footfall the one-to-one matching pairs with a true step gets one latency: its decision
    time after that step's contact, positive (nothing is reported before it is heard) and within
    the 50 ms the issue allows for clean thumps."""
    import zlib

    from benchmarks.bench_footfall import report_latencies_ms
    from samples.generate import Condition, render
    from stepdetect import detect_footfalls, score_events

    cond = Condition("lat", "test", "d55_P11_7_0", 20.0, SR, "wav", duration_s=10.0,
                     layers={"breathing": -16.0}, seed=zlib.crc32(b"lat") % 1000)
    y, truth = render(cond)
    truth_s = np.array([s["time_s"] for s in truth["steps"]])
    path = tmp_path / "lat.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    item = corpus.Item("dev", "synthetic", "quiet_road", "full", truth_s, None, False, 10.0, path=path)
    latencies = np.array(report_latencies_ms(item))
    found = detect_footfalls(sf.read(path, dtype="float32")[0], sample_rate=SR)
    matched = score_events(truth_s, np.sort(found.time_s), tolerance_s=0.025).n_matched
    assert matched >= 0.95 * truth_s.size
    assert latencies.size == matched
    assert np.all(latencies > 0.0) and np.all(latencies <= 50.0), latencies


def test_the_redraw_split_is_the_dev_material_drawn_again():
    """``redraw``, ``redraw2``, ``redraw3``: dev's clips, runners and microphones, every random draw made
    again (not held out)."""
    dev, redraw = corpus.SPLITS["dev"], corpus.SPLITS["redraw"]
    assert (redraw.surfaces, redraw.sessions, redraw.textures, redraw.rhythmic_textures) == (
        dev.surfaces, dev.sessions, dev.textures, dev.rhythmic_textures)
    assert corpus.MIC_MODELS["redraw"] is micpaths.DEV_MICS
    assert corpus.conditions(redraw) == corpus.conditions(dev)
    _, sr, mine = corpus.render_item(dev, "walk", "synthetic", "hfp16")
    _, sr2, again = corpus.render_item(redraw, "walk", "synthetic", "hfp16")
    assert sr == sr2 and again.split == "redraw" and not np.array_equal(again.truth_s[:10], mine.truth_s[:10])
    third = corpus.render_item(corpus.SPLITS["redraw2"], "walk", "synthetic", "hfp16")[2]
    fourth = corpus.render_item(corpus.SPLITS["redraw3"], "walk", "synthetic", "hfp16")[2]
    assert not np.array_equal(third.truth_s[:10], again.truth_s[:10])
    assert not np.array_equal(fourth.truth_s[:10], third.truth_s[:10])
    assert not np.array_equal(fourth.truth_s[:10], mine.truth_s[:10])
    assert all(corpus.MIC_MODELS[name] is corpus.MIC_MODELS[base] for name, base in corpus.REDRAWN.items())
    ev, ev_again = corpus.SPLITS["eval"], corpus.SPLITS["eval_redraw"]
    assert ev_again.surfaces == ev.surfaces and ev_again.sessions == ev.sessions
    assert corpus.MIC_MODELS["eval_redraw"] is micpaths.EVAL_MICS
