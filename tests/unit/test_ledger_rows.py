"""One row type from chain to storage: ``append`` builds the caller's rows, a payload text
given by the caller is used as it is, ``splice`` and ``object_text`` reuse known canonical
texts, and storage's ``LedgerRow`` is read by verification as it is."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledgerflow.ledger import canonical
from ledgerflow.ledger.chain import GENESIS_HASH, Actor, ChainHeader, EventSpec, append
from ledgerflow.ledger.values import encode
from ledgerflow.ledger.verify import ExecutionHead, verify_execution
from ledgerflow.storage.rows import LedgerRow

HEADER = ChainHeader(tenant_id="t", execution_id="e", workflow_id="w", workflow_version=1,
                     definition_sha256="d" * 64)
WORKER = Actor(kind="worker", id="host:1")
T = datetime(2026, 11, 22, 7, 33, tzinfo=UTC)
OUTPUT = {"b": [1, 2.5, None], "a": "é\u2028", "z": -0.0}

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _events() -> list[EventSpec]:
    return [EventSpec(event_type="execution.created", to_state="pending", actor=WORKER,
                      payload={"input": {}}),
            EventSpec(event_type="step.completed", from_state="running", to_state="completed",
                      step_id="s", attempt=1, actor=WORKER, payload={"output": OUTPUT})]


def test_append_builds_the_callers_row_type_with_the_same_columns() -> None:
    default = append(HEADER, 0, GENESIS_HASH, _events(), T)
    rows = append(HEADER, 0, GENESIS_HASH, _events(), T, LedgerRow)
    assert all(type(r) is LedgerRow for r in rows)
    assert [dataclasses.asdict(r) for r in rows] == [dataclasses.asdict(e) for e in default]


def test_given_payload_texts_are_stored_and_hashed_as_they_are() -> None:
    stored = encode({"output": OUTPUT})
    hashed = canonical.canonical_json({"output": OUTPUT}).decode()
    given_text = dataclasses.replace(_events()[1], payload_text=stored,
                                     payload_canonical=hashed)
    [encoded] = append(HEADER, 0, GENESIS_HASH, _events()[1:], T)
    [reused] = append(HEADER, 0, GENESIS_HASH, [given_text], T)
    assert reused == encoded
    # the texts are trusted, not encoded again: the stored one is kept, the RFC 8785 one
    # is what gets hashed
    other = dataclasses.replace(given_text, payload_text='{"output":1}',
                                payload_canonical='{"output":2}')
    [trusted] = append(HEADER, 0, GENESIS_HASH, [other], T)
    assert trusted.payload == '{"output":1}'
    assert trusted.payload_sha256 == canonical.sha256_hex(b'{"output":2}')


def test_a_payload_is_stored_with_its_types_and_order_and_hashed_as_rfc8785() -> None:
    payload = {"output": {"zeta": 1, "alpha": 2.0, "neg": -0.0, "pair": (1, 2.5)}}
    event = dataclasses.replace(_events()[1], payload=payload)
    [entry] = append(HEADER, 0, GENESIS_HASH, [event], T)
    assert entry.payload == '{"output":{"zeta":1,"alpha":2.0,"neg":-0.0,"pair":[1,2.5]}}'
    assert entry.payload_sha256 == canonical.sha256_hex(
        b'{"output":{"alpha":2,"neg":0,"pair":[1,2.5],"zeta":1}}')


def test_verification_reads_storage_rows_as_they_are() -> None:
    rows = append(HEADER, 0, GENESIS_HASH, _events(), T, LedgerRow)
    head = ExecutionHead(execution_id="e", tenant_id="t", head_seq=2,
                         head_hash=rows[-1].entry_hash,
                         state_sha256=canonical.payload_sha256({}))
    assert verify_execution(head, rows, {}).ok
    assert not verify_execution(head, rows[:1], {}).ok


@given(document=values, part=values, where=st.sampled_from(["top", "nested", "list"]))
def test_splice_equals_encoding_the_whole_value(document: Any, part: Any, where: str) -> None:
    def place(value: Any) -> Any:
        if where == "top":
            return value
        if where == "nested":
            return {"doc": document, "at": {"x": value}}
        return [document, value]

    whole = rfc8785.dumps(place(part)).decode()
    part_text = canonical.canonical_json(part).decode()
    assert canonical.splice(place(canonical.SLOT), part_text) == whole


def test_splice_refuses_a_template_that_holds_the_slot_text_elsewhere() -> None:
    for template in ({"v": canonical.SLOT, canonical.SLOT: 1},
                     {"v": canonical.SLOT, "w": "x\"" + canonical.SLOT},
                     {"v": canonical.SLOT, "w": canonical.SLOT}):
        assert canonical.splice(template, "1") is None
    assert canonical.splice({"v": canonical.SLOT, "w": canonical.SLOT + "x"}, "1") == \
        '{"v":1,"w":' + canonical.encode_string(canonical.SLOT + "x") + "}"


@given(members=st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])), values,
                               max_size=6))
def test_object_text_equals_encoding_the_object(members: dict[str, Any]) -> None:
    texts = {key: canonical.canonical_json(value).decode() for key, value in members.items()}
    assert canonical.object_text(texts) == rfc8785.dumps(members).decode()
