import pytest

from metronome.units import ParameterError, check_spm, format_duration, parse_duration_s, seconds_to_samples


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("2m", 120), ("1m30s", 90), ("20m", 1200), ("1h", 3600), ("45", 45), ("1h2m3s", 3723), ("0.5s", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize("text", ["", "abc", "2x", "m", "-5s", "0s", "1m-3s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ParameterError, match="duration"):
        parse_duration_s(text)


def test_spm_range_and_force() -> None:
    assert check_spm(170) == 170.0
    with pytest.raises(ParameterError, match="outside 60-240 spm"):
        check_spm(300)
    assert check_spm(300, force=True) == 300.0
    with pytest.raises(ParameterError, match="positive"):
        check_spm(0, force=True)


def test_rounding_and_format() -> None:
    assert seconds_to_samples(0.5 / 48000, 48000) == 1  # halves round up
    assert seconds_to_samples(1.0, 44100) == 44100
    assert format_duration(3723) == "1:02:03"
    assert format_duration(83) == "1:23"
