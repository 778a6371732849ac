"""The pure parts of PostgreSQL's one-statement batch updates: rounds of distinct keys, and
the JSON a value must round-trip through (else the rows go one statement each)."""

from __future__ import annotations

import math

import orjson
import pytest

from ledgerflow.storage.postgres_updates import encoded, rounds


def test_rounds_keep_the_order_and_put_a_repeated_key_in_the_next_round() -> None:
    keys = ["a", "b", "a", "c", "a", "b"]
    assert rounds(keys, lambda k: k) == [[0, 1, 3], [2, 5], [4]]
    assert rounds([], lambda k: k) == []


def test_plain_rows_are_one_json_array_that_reads_back_the_same() -> None:
    rows = [{"id": "e-1", "n": 2 ** 63 - 1, "x": 0.1, "t": "ünï ☃", "none": None},
            {"id": "e-2", "n": -(2 ** 63), "x": 2.0, "t": "", "none": None}]
    text = encoded(rows)
    assert text is not None and orjson.loads(text) == rows


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 2 ** 63, -(2 ** 63) - 1,
                                   "lone \udc80 surrogate", "a NUL \x00 inside"])
def test_a_value_json_cannot_carry_as_stored_sends_the_rows_one_by_one(value: object) -> None:
    assert encoded([{"id": "e-1", "v": value}]) is None
