"""The value codec: what is stored reads back exactly (type, key order, sign of zero), RFC
8785 text written before it reads back under the same model, and what cannot be stored is
refused with its path."""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledgerflow import errors
from ledgerflow.ledger import canonical
from ledgerflow.ledger.values import MAX_SAFE_INT, decode, encode, problem, settle

SAFE = st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)
NEAR_LIMIT = st.integers(MAX_SAFE_INT - 3, MAX_SAFE_INT) | st.integers(-MAX_SAFE_INT,
                                                                       -MAX_SAFE_INT + 3)
FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [-0.0, 0.0, 2.0, 1e16, -1e16, 2.0**53, 1e21, 5e-324, 1.7976931348623157e308])
TEXTS = st.text(st.characters(blacklist_categories=("Cs",)))
SCALARS = st.none() | st.booleans() | SAFE | NEAR_LIMIT | FLOATS | TEXTS
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
    | st.dictionaries(TEXTS, inner, max_size=5),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down, keys in the same order, zeros with the
    same sign; a tuple is the list it is stored as."""
    if isinstance(a, tuple):
        a = list(a)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


@given(VALUES)
def test_a_value_reads_back_exactly(value: Any) -> None:
    assert same(value, decode(encode(value)))


@given(VALUES)
def test_rfc8785_text_written_before_reads_back_as_the_same_value(value: Any) -> None:
    old = rfc8785.dumps(value).decode("utf-8")
    again = decode(old)
    # every number is the double (or safe integer) it denotes: the hash is unchanged and
    # nothing read back is refused by the ledger
    assert canonical.canonical_json(again) == old.encode("utf-8")
    assert canonical.canonical_json(decode(encode(value))) == old.encode("utf-8")


def test_the_issue_values_keep_what_an_expression_can_observe() -> None:
    value = {"zeta": 1, "alpha": 2.0, "neg": -0.0, "pair": (1, 2.5)}
    back, text = settle(value)
    assert text == '{"zeta":1,"alpha":2.0,"neg":-0.0,"pair":[1,2.5]}'
    assert list(back) == ["zeta", "alpha", "neg", "pair"]
    assert type(back["alpha"]) is float and math.copysign(1.0, back["neg"]) == -1.0
    assert back["pair"] == [1, 2.5]


def test_an_integer_beyond_2_53_in_old_text_is_the_double_it_denotes() -> None:
    assert decode('{"v":10000000000000000}') == {"v": 1e16}
    assert type(decode("10000000000000000")) is float
    assert decode("-9007199254740993") == -9007199254740992.0
    assert type(decode("9007199254740991")) is int
    assert decode('"10000000000000000"') == "10000000000000000"  # text stays text


@pytest.mark.parametrize("text", ["NaN", '{"a":Infinity}', "[-Infinity]", "1" * 400, "{"])
def test_text_that_is_not_a_storable_value_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        decode(text)


@pytest.mark.parametrize(("value", "reason"), [
    ({"a": [1, 2**60]}, "value.a[1]: integer 2^60 is outside ±2^53"),
    ({"a": -(2**53)}, "value.a: integer -2^53 is outside ±2^53"),
    ({"n": float("nan")}, "value.n: number nan is not finite"),
    ([float("-inf")], "value[0]: number -inf is not finite"),
    ({1: "x"}, "value: key 1 is not a string"),
    ({"s": "\ud800"}, "value.s: text holds a lone surrogate"),
    ({"o": object()}, "value.o: object is not a JSON type"),
    ({"b": b"x"}, "value.b: bytes is not a JSON type"),
])
def test_a_value_outside_i_json_is_refused_naming_its_path(value: Any, reason: str) -> None:
    with pytest.raises(errors.LedgerError, match="^value cannot be written to the ledger: "
                       + reason.replace("[", r"\[").replace("]", r"\]").replace("^", r"\^")):
        encode(value)


def test_a_cycle_and_deep_nesting_are_refused_not_a_recursion_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(errors.LedgerError, match="cycle"):
        encode(loop)
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(errors.LedgerError, match="nested more than"):
        encode(deep)


def test_subclasses_of_the_json_types_are_stored_as_those_types() -> None:
    class Level(enum.IntEnum):
        HIGH = 3

    class Name(str):
        pass

    back = decode(encode({Name("k"): Level.HIGH, "n": Name("x")}))
    assert back == {"k": 3, "n": "x"}
    assert type(back["k"]) is int and type(back["n"]) is str


ANY = st.recursive(
    SCALARS | st.integers() | st.floats() | st.text() | st.binary(max_size=2),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner)
    | st.dictionaries(TEXTS | st.integers(0, 3), inner, max_size=4),
    max_leaves=20,
)


@given(ANY)
def test_encode_refuses_exactly_what_the_value_check_refuses(value: Any) -> None:
    reason = problem(value, "value")
    try:
        encode(value)
    except errors.UnstorableValue as exc:
        assert exc.reason == reason
    else:
        assert reason is None
