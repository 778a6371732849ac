"""``ledger.state_patches``: what is stored for a state version (a full snapshot or the patch
from the previous one) and the documents rebuilt from it, exactly: same text, so the same
types and key order, hence the same hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerflow.ledger import values
from ledgerflow.ledger.state_patches import (
    FULL,
    PATCH,
    SNAPSHOT_EVERY,
    documents,
    is_snapshot,
    latest_text,
    stored,
)


@dataclass(frozen=True)
class Row:
    version: int
    kind: str
    state: str


def written(states: list[Any]) -> list[Row]:
    """The rows the writer stores for ``states`` (version 1 first), each state following
    the one before it as the engine makes them (members kept are the same objects)."""
    rows = []
    for version, after in enumerate(states, start=1):
        before = states[version - 2] if version > 1 else None
        kind, text = stored(version, before, after, values.encode(after))
        rows.append(Row(version, kind, text))
    return rows


def texts(rows: list[Row]) -> list[str]:
    return [values.encode(d) for d in documents(rows)]


def test_each_step_output_is_a_patch_of_one_member_between_snapshots() -> None:
    states: list[Any] = [{}]
    for i in range(40):
        new = dict(states[-1])
        new[f"s{i}"] = {"score": 0.75, "ok": True, "n": i}
        states.append(new)
    rows = written(states)
    assert [r.version for r in rows if r.kind == FULL] == [1, 2, 17, 33]
    assert rows[2] == Row(3, PATCH, '{"set":{"s1":{"score":0.75,"ok":true,"n":1}}}')
    assert texts(rows) == [values.encode(s) for s in states]
    assert [is_snapshot(v) for v in (1, 2, 16, 17, 33)] == [True, False, False, True, True]
    assert SNAPSHOT_EVERY == 16


def test_types_order_and_deletions_survive() -> None:
    first = {"a": 1, "b": {"y": 2.0, "x": -0.0}, "c": [1, 1.0, True], "long": "x" * 40}
    second = dict(first)
    second["a"] = 1.0  # equal in Python, another type in the document
    del second["c"]
    second["d"] = {"z": None, "a": "é"}
    third = dict(second)
    third["b"] = {"x": -0.0, "y": 2.0}  # the same members in another order
    rows = written([first, second, third])
    assert [r.kind for r in rows] == [FULL, PATCH, PATCH]
    assert values.decode(rows[1].state) == {"set": {"a": 1.0, "d": {"z": None, "a": "é"}},
                                            "delete": ["c"]}
    assert texts(rows) == [values.encode(s) for s in (first, second, third)]
    assert texts(rows)[1] == ('{"a":1.0,"b":{"y":2.0,"x":-0.0},"long":"' + "x" * 40 + '",'
                              '"d":{"z":null,"a":"é"}}')
    assert latest_text(rows) == values.encode(third)


@pytest.mark.parametrize("after", [
    {"b": 2, "a": 1},  # a kept member moved
    [1, 2],  # not an object
])
def test_a_reordered_or_replaced_document_is_stored_whole(after: Any) -> None:
    before = {"a": 1, "b": 2}
    if isinstance(after, dict):
        after = {"b": before["b"], "a": before["a"]}
    assert stored(2, before, after, values.encode(after)) == (FULL, values.encode(after))


def test_a_document_rebuilt_whole_is_a_snapshot() -> None:
    """An operator's edit makes every member anew (a deep copy): stored whole."""
    before = {"a": {"n": 1}, "b": [1]}
    after = values.decode(values.encode(before))
    after["c"] = 3
    assert stored(5, before, after, values.encode(after))[0] == FULL
    # the same change keeping the members it did not touch is a patch
    kept = dict(before, c=3)
    assert stored(5, before, kept, values.encode(kept)) == (PATCH, '{"set":{"c":3}}')


def test_member_texts_given_are_the_ones_a_patch_holds() -> None:
    """The engine passes the member texts it already has (``StateTexts.stored``): the patch
    is what encoding the changed members would give, made without encoding them again."""
    before = {"a": {"n": 1}, "b": [1], "c": "x" * 50}
    after = dict(before, b=[1, 2.5], d={"k": None})
    texts = {k: values.encode(v) for k, v in after.items()}
    assert stored(3, before, after, values.encode(after), texts) == \
        stored(3, before, after, values.encode(after)) == \
        (PATCH, '{"set":{"b":[1,2.5],"d":{"k":null}}}')
    texts["d"] = '{"k":null }'  # a text given is taken as it is
    assert stored(3, before, after, values.encode(after), texts)[1] == \
        '{"set":{"b":[1,2.5],"d":{"k":null }}}'


def test_a_stored_version_1_is_full_and_a_snapshot_version_too() -> None:
    before = {"a": 1, "b": "x" * 50}
    after = dict(before, a=2)
    assert stored(1 + SNAPSHOT_EVERY, before, after, values.encode(after))[0] == FULL
    assert stored(2 + SNAPSHOT_EVERY, before, after, values.encode(after))[0] == PATCH


@pytest.mark.parametrize(("rows", "message"), [
    ([Row(1, PATCH, '{"set":{}}')], "patch of version 0"),
    ([Row(1, FULL, "{}"), Row(3, PATCH, '{"set":{}}')], "patch of version 2"),
    ([Row(1, FULL, "{}"), Row(2, PATCH, '{"forged":true}')], '"set" and "delete"'),
    ([Row(1, FULL, "{}"), Row(2, PATCH, '{"delete":["x"]}')], "deletes 'x'"),
    ([Row(1, FULL, "{}"), Row(2, PATCH, '{"set":[1]}')], '"set" is an object'),
    ([Row(1, FULL, "[]"), Row(2, PATCH, '{"set":{}}')], "not an object"),
    ([Row(1, FULL, "{}"), Row(2, PATCH, "nope")], "Expecting value"),
    ([Row(1, "diff", "{}")], "unknown kind 'diff'"),
])
def test_what_cannot_be_rebuilt_raises(rows: list[Row], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list(documents(rows))


# property: any sequence of member edits rebuilds to the very same texts -----------------
KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])
SCALARS = (st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=8)
EDIT = st.one_of(
    st.tuples(st.just("set"), KEYS, JSON),
    st.tuples(st.just("delete"), KEYS, st.none()),
    st.tuples(st.just("replace"), KEYS, JSON),  # a whole new document (an operator's edit)
    st.tuples(st.just("twin"), KEYS, st.none()),  # a value equal in Python, not in text
)


def twin(value: Any) -> Any:
    """A value Python finds equal to ``value`` whose text differs where it can: another
    number type, objects in reverse key order."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: twin(v) for k, v in reversed(value.items())}
    if isinstance(value, list):
        return [twin(v) for v in value]
    return value


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(EDIT, min_size=1, max_size=3), min_size=1, max_size=50))
def test_any_chain_of_edits_rebuilds_exactly(steps: list[list[tuple[str, str, Any]]]) -> None:
    states: list[Any] = [{}]
    for edits in steps:
        new = dict(states[-1])
        for op, key, value in edits:
            settled = values.decode(values.encode(value))  # as the engine continues
            if op == "set":
                new[key] = settled
            elif op == "delete":
                new.pop(key, None)
            elif op == "twin":
                if key in new:
                    new[key] = values.decode(values.encode(twin(new[key])))
            else:
                new = {key: settled, **values.decode(values.encode(new))}
        states.append(new)
    rows = written(states)
    assert texts(rows) == [values.encode(s) for s in states]
    assert latest_text(rows) == values.encode(states[-1])
