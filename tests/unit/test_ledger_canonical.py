"""Canonical JSON: the fast path agrees with rfc8785, the dispatcher, hashes, timestamps."""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerflow import errors
from ledgerflow.ledger import canonical
from ledgerflow.ledger.canonical import canonical_json, format_timestamp, payload_sha256

MAX_SAFE = 2**53 - 1

bmp_keys = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]))
fast_scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE, MAX_SAFE) | st.text() | bmp_keys
fast_values = st.recursive(
    fast_scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(bmp_keys, inner, max_size=5)
    ),
    max_leaves=40,
)
any_scalars = fast_scalars | st.floats() | st.integers() | st.text()
any_values = st.recursive(
    any_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


def reference(value: Any) -> bytes | None:
    """rfc8785's bytes, or None when it refuses the value."""
    try:
        result: bytes = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError):
        return None
    return result


@settings(max_examples=400)
@given(fast_values)
def test_fast_path_bytes_equal_rfc8785(value: Any) -> None:
    assert canonical._fast_path_ok(value)
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == rfc8785.dumps(value)
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=400)
@given(any_values)
def test_canonical_json_equals_rfc8785_or_refuses_like_it(value: Any) -> None:
    written_like_rfc8785(value)


def written_like_rfc8785(value: Any) -> bytes | None:
    """Assert ``canonical_json`` writes ``value`` as rfc8785 does, or refuses it alike;
    return rfc8785's bytes (None: refused)."""
    expected = reference(value)
    if expected is None:
        with pytest.raises(errors.LedgerError, match="cannot be written to the ledger"):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected
    return expected


@given(st.text(st.characters(min_codepoint=0x10000)), st.text(min_size=1))
def test_astral_keys_sort_by_utf16_like_rfc8785(astral: str, other: str) -> None:
    value = {astral: 1, other: 2, "\uffff": 3}
    assert canonical_json(value) == rfc8785.dumps(value)


def test_astral_key_order_is_not_python_order() -> None:
    value = {"\uffff": 1, "\U0001f600": 2}
    assert canonical_json(value) == '{"\U0001f600":2,"\uffff":1}'.encode()
    assert not canonical._fast_path_ok(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, b"1"),
        (1e-7, b"1e-7"),
        (1e16, b"10000000000000000"),
        (-0.0, b"0"),
        (0.00001, b"0.00001"),
        (123456789012345680000.0, b"123456789012345680000"),
        ({"a": [1.0, 0.5]}, b'{"a":[1,0.5]}'),
        ([2.0**53, -(2.0**53)], b"[9007199254740992,-9007199254740992]"),
    ],
)
def test_floats_python_writes_differently_are_written_as_rfc8785(
        value: Any, expected: bytes) -> None:
    assert json.dumps(value, separators=(",", ":")).encode() != expected  # why it matters
    assert not canonical._fast_path_ok(value)
    assert canonical_json(value) == expected


@pytest.mark.parametrize("value", [0.5, 1250.5, -0.0001, 0.1 + 0.2, 9999999999999.25,
                                   {"score": 0.75, "n": [1e-4, 123.456]}])
def test_plain_floats_take_the_fast_path(value: Any) -> None:
    assert canonical._fast_path_ok(value)
    assert canonical_json(value) == rfc8785.dumps(value)


every_float = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=1e-5, max_value=1e-3)
    | st.floats(min_value=1e15, max_value=1e17)
    | st.integers(-(2**54), 2**54).map(float)
    | st.sampled_from([1e-4, -1e-4, 1e16, 2.0**53, 0.0, -0.0, 5e-324, 1.7976931348623157e308])
)
float_values = st.recursive(
    every_float | fast_scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(bmp_keys, inner, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=600)
@given(float_values)
def test_values_with_floats_equal_rfc8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_equals_rfc8785(number: float) -> None:
    assert canonical_json(number) == rfc8785.dumps(number)
    assert canonical_json({"x": [number]}) == rfc8785.dumps({"x": [number]})


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Tag(enum.StrEnum):
    GOLD = "gold"


class Ratio(float, enum.Enum):
    HALF = 0.5
    ONE = 1.0


@pytest.mark.parametrize("value", [Level.HIGH, Tag.GOLD, Ratio.HALF, Ratio.ONE,
                                   {"level": Level.HIGH, "tags": [Tag.GOLD], "r": [Ratio.ONE]},
                                   Colour.RED, {"c": Colour.RED}])
def test_enums_are_written_as_rfc8785_writes_them_or_refused_alike(value: Any) -> None:
    if written_like_rfc8785(value) is not None:
        assert not canonical._fast_path_ok(value)  # subclasses: the reference decides


@pytest.mark.parametrize(
    "text",
    ["\u2028\u2029", "\x7f", "\x00\x01\x1f", '\b\t\n\f\r"\\', "é😀\ufeff", "/<>&'"],
)
def test_string_escapes_match_rfc8785(text: str) -> None:
    assert canonical._fast_path_ok({"key": text})
    assert canonical_json({text: [text]}) == rfc8785.dumps({text: [text]})


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        2**53,
        -(2**53),
        {1: "int key"},
        "\ud800",
        {"\udc00": 1},
        {"a": "\udfff"},
        {"a": object()},
        {"a": {1, 2}},
    ],
)
def test_unrepresentable_values_raise_ledger_error(value: Any) -> None:
    with pytest.raises(errors.LedgerError, match="cannot be written to the ledger"):
        canonical_json(value)


def test_reference_cycle_raises_ledger_error() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(errors.LedgerError, match="reference cycle"):
        canonical_json(cycle)


def test_bool_and_int_subclasses_keep_their_json_meaning() -> None:
    assert canonical_json([True, False, None, 0, -MAX_SAFE, MAX_SAFE]) == (
        b"[true,false,null,0,-9007199254740991,9007199254740991]"
    )


def test_typical_body_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(value: Any) -> bytes:
        raise AssertionError("rfc8785 should not be called for a typical body")

    monkeypatch.setattr(rfc8785, "dumps", refuse)
    body = {"actor": {"id": "w-1", "kind": "worker"}, "attempt": None, "seq": 3, "v": 1}
    assert canonical_json(body) == (
        b'{"actor":{"id":"w-1","kind":"worker"},"attempt":null,"seq":3,"v":1}'
    )


def test_encode_string_matches_canonical_json() -> None:
    for text in ["", "plain", "tab\there", "😀", "\u2028"]:
        assert canonical.encode_string(text).encode() == canonical_json(text)


def test_payload_sha256_of_design_vector() -> None:
    payload = {"input": {"order_id": "o-1001", "amount_cents": 4900}}
    assert payload_sha256(payload) == (
        "cf5714940cdf1ce79c9f0b7cf9c78f3a36062e4c5ae05dff3744e3463ccab221"
    )


def test_payload_none_hashes_canonical_null() -> None:
    assert payload_sha256(None) == canonical.sha256_hex(b"null")
    assert canonical.sha256_hex(b"") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 22, 7, 33, 0, 123456, tzinfo=UTC), "2026-11-22T07:33:00.123456Z"),
        (datetime(2026, 11, 22, 7, 33, 1, tzinfo=UTC), "2026-11-22T07:33:01.000000Z"),
        (
            datetime(2026, 11, 22, 9, 33, 0, 5, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-22T07:33:00.000005Z",
        ),
        (
            datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-1))),
            "2027-01-01T01:30:00.000000Z",
        ),
        (datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "0005-01-02T03:04:05.000006Z"),
    ],
)
def test_format_timestamp_is_utc_with_microseconds(moment: datetime, expected: str) -> None:
    assert format_timestamp(moment) == expected


def test_format_timestamp_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        format_timestamp(datetime(2026, 11, 22, 7, 33))
