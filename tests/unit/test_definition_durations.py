from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerflow.definition import durations
from ledgerflow.definition.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        ("1m", 60.0),
        ("1h30m", 5400.0),
        ("24h", 86400.0),
        ("7d", 604800.0),
        ("1d12h", 129600.0),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("2s250ms", 2.25),
        ("0s", 0.0),
        (" 10s ", 10.0),
        (30, 30.0),
        (1.5, 1.5),
        (0, 0.0),
    ],
)
def test_parse_duration_accepts(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("30", "has no unit; write '30s'"),
        ("1x", "invalid duration '1x'"),
        ("", "invalid duration ''"),
        ("-5s", "invalid duration '-5s'"),
        ("30m1h", "largest first"),
        ("1m1m", "largest first"),
        ("1 h", "invalid duration"),
        (-1, "must be a finite number >= 0"),
        (float("inf"), "must be a finite number >= 0"),
        (float("nan"), "must be a finite number >= 0"),
        (True, "got boolean true"),
        (None, "got NoneType None"),
        ([1], "got list"),
    ],
)
def test_parse_duration_refuses_with_a_reason(value: object, fragment: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(value)
    assert fragment in str(info.value)


def test_duration_error_shows_valid_forms() -> None:
    with pytest.raises(DurationError) as info:
        parse_duration("soon")
    assert "'500ms', '30s', '1m', '1h30m', '7d'" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.5, "500ms"),
        (30, "30s"),
        (90, "1m30s"),
        (5400, "1h30m"),
        (86400, "1d"),
        (93784.005, "1d2h3m4s5ms"),
        (0.0001, "0.0001s"),
        (-60, "-1m"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**10))
def test_format_then_parse_round_trips_whole_milliseconds(millis: int) -> None:
    seconds = millis / 1000
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, abs=1e-9)


def test_module_exports() -> None:
    assert set(durations.__all__) == {"DurationError", "format_duration", "parse_duration"}
