from dataclasses import replace
from pathlib import Path

import pytest

from metronome.plans import (
    PRESETS,
    Plan,
    Segment,
    SegmentGroup,
    Timeline,
    default_baseline_spm,
    load_plan,
    parse_plan,
    plan_toml,
)
from metronome.units import ParameterError


def _layout(plan_name: str, duration_s: float, **kw: float) -> list[tuple[str, float, float, float, float, bool]]:
    tl = Timeline(load_plan(plan_name, target_spm=172, baseline_spm=160), duration_s=duration_s, baseline_spm=160, **kw)
    return [(d["label"], d["start_s"], d["end_s"], d["start_spm"], d["end_spm"], d["sounding"]) for d in tl.describe()]


def test_intervals_two_on_one_off() -> None:
    layout = _layout("intervals", 600)
    assert [x[:3] for x in layout] == [
        ("on", 0, 120), ("off", 120, 180), ("on", 180, 300), ("off", 300, 360), ("on", 360, 480), ("off", 480, 540),
        ("on", 540, 600),
    ]
    assert all(x[5] == (x[0] == "on") for x in layout)
    assert all(x[3] == 172 for x in layout), "the clock keeps the target tempo through off minutes"


def test_itb_ten_minutes_then_one_on_two_off() -> None:
    layout = _layout("itb", 1200)
    assert [x[:3] for x in layout] == [("on", 0, 600), ("on", 600, 660), ("off", 660, 780), ("on", 780, 840),
                                       ("off", 840, 960), ("on", 960, 1020), ("off", 1020, 1140), ("on", 1140, 1200)]


def test_strides_four_by_twenty_seconds_with_easy_between() -> None:
    layout = _layout("strides", 900)
    strides = [x for x in layout if x[0].startswith("stride")]
    assert [(x[1], x[2] - x[1], x[3]) for x in strides] == [(0, 20, 172), (140, 20, 172), (280, 20, 172), (420, 20, 172)]
    easy = [x for x in layout if x[0].startswith("easy")]
    assert all(not x[5] and x[3] == 160 for x in easy)
    assert easy[-1][2] == 900, "the last easy segment holds to the end"


def test_ramp_then_hold_and_warmup_cooldown() -> None:
    layout = _layout("ramp", 1800, warmup_s=300, cooldown_s=300)
    assert layout[0] == ("warm-up", 0.0, 300, 160, 160, False)
    assert layout[1] == ("ramp", 300, 600.0, 160, 172, True)
    assert layout[2][:3] == ("hold", 600.0, 1500)
    assert layout[-1] == ("cool-down", 1500, 1800, 160, 160, False)
    tl = Timeline(load_plan("ramp", target_spm=172, baseline_spm=160), duration_s=1800)
    assert tl.spm_at(150.0) == pytest.approx(166.0)
    assert tl.spm_at(10_000.0) == 172


def test_every_preset_parses() -> None:
    for name in PRESETS:
        plan = load_plan(name, target_spm=170)
        assert plan.segments and plan.description


def test_toml_file_steps_groups_relative_tempos(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        """
description = "steps up, then 3 x strides, cycling the strides"
repeat_from = 4
[[segment]]
duration = "2m"
spm = "baseline"
[[segment]]
duration = "2m"
spm = "baseline+3%"
[[segment]]
duration = "90s"
spm = 168
[[segment]]
label = "s"
times = 2
segments = [{ duration = "20s", spm = "target" }, { label = "e", duration = "40s", spm = "target-10", sound = false }]
"""
    )
    plan = load_plan(str(path), target_spm=175, baseline_spm=160)
    spms = [s.start_spm for s in plan.segments]
    assert spms == pytest.approx([160, 164.8, 168, 175, 165, 175, 165])
    assert [s.label for s in plan.segments[3:]] == ["s 1/2", "e 1/2", "s 2/2", "e 2/2"]
    assert plan.repeat_from == 3
    tl = Timeline(plan, duration_s=600)
    # after one pass (330 s + 120 s of strides = 450 s) the strides cycle again
    labels = [(e.segment.label, e.start_s) for e in tl.entries]
    assert labels[7:9] == [("s 1/2", 450.0), ("e 1/2", 470.0)]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("x = 1", "unknown key"),
        ("[[segment]]\nspm = 170", "missing 'duration'"),
        ("[[segment]]\nduration='1m'\nspm='fast'", "cannot read cadence"),
        ("[[segment]]\nduration='1m'", "give spm"),
        ("[[segment]]\nduration='1m'\nspm=400", "outside 60-240"),
        ("[[segment]]\nduration='1m'\nspm=170\nsound=false", "no segment sounds"),
        ("[[segment]]\nduration='1m'\nspm=170\n[[segment", "not valid TOML"),
        ("repeat_from = 3\n[[segment]]\nduration='1m'\nspm=170", "repeat_from"),
        ("[[segment]]\nduration='soon'\nspm=170", "invalid duration"),
    ],
)
def test_bad_plans_name_the_problem(text: str, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        parse_plan(text, name="t", target_spm=170)


def test_unknown_plan_and_default_baseline(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="unknown plan 'tempo'"):
        load_plan("tempo", target_spm=170)
    with pytest.raises(ParameterError, match="cannot read plan file"):
        load_plan(str(tmp_path / "missing.toml"), target_spm=170)
    assert default_baseline_spm(171.2) == 160.0


@pytest.mark.parametrize("name", PRESETS)
def test_written_plan_reads_back_as_the_same_plan(name: str) -> None:
    """plan_toml -> parse_plan gives the very plan that was written (presets: ramps, groups
    expanded, repeats)."""
    plan = load_plan(name, target_spm=171.5, baseline_spm=163.25)
    text = plan_toml(plan.segments, name=plan.name, description=plan.description, repeat_from=plan.repeat_from)
    assert parse_plan(text, name="other", target_spm=150.0, baseline_spm=140.0) == plan


def test_written_group_reads_back_expanded_with_numbered_labels() -> None:
    on = Segment("on", 20.5, 176.25, 176.25)
    off = Segment("easy", 120.0, 163.0, 163.0, sounding=False)
    ramp = Segment("ramp", 90.0, 163.0, 171.0)
    text = plan_toml([ramp, SegmentGroup("strides", 2, (on, off))], description="x", comment="a comment")
    assert text.startswith("# a comment\n")
    plan = load_plan_text(text)
    assert plan.segments == (ramp, replace(on, label="on 1/2"), replace(off, label="easy 1/2"),
                             replace(on, label="on 2/2"), replace(off, label="easy 2/2"))
    assert plan.description == "x" and plan.repeat_from is None


def load_plan_text(text: str) -> Plan:
    return parse_plan(text, name="written", target_spm=170.0, baseline_spm=160.0)
