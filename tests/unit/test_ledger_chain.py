"""The hash chain: DESIGN.md section 6 test vectors, append, and the direct body renderer."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledgerflow import errors
from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.ledger import chain, values
from ledgerflow.ledger.canonical import canonical_json, format_timestamp, sha256_hex
from ledgerflow.ledger.chain import (
    BODY_FIELDS,
    GENESIS_HASH,
    Actor,
    ChainHeader,
    EventSpec,
    append,
    build_body,
    entry_hash,
)

HEADER = ChainHeader(
    tenant_id="0b8f4a2e-5a3c-4f1e-9d7a-2f6c1e8b9a01",
    execution_id="7d2c9e14-3b6a-4c8f-a1e5-9f0b2d4c6e83",
    workflow_id="order-fulfilment",
    workflow_version=3,
    definition_sha256="d506cfde6a0094d02cf4dbc65957853fb7dd037a79be55a7dd4938f8b1229472",
)
CREATED = EventSpec(
    event_type="execution.created",
    to_state="pending",
    actor=Actor(kind="api_token", id="tok_3f9a"),
    payload={"input": {"order_id": "o-1001", "amount_cents": 4900}},
)
CHARGED = EventSpec(
    event_type="step.completed",
    from_state="running",
    to_state="running",
    step_id="charge-card",
    attempt=1,
    actor=Actor(kind="worker", id="agent-eu-1"),
    payload={"output": {"charge_id": "ch_77"}},
)
T1 = datetime(2026, 11, 22, 7, 33, 0, 123456, tzinfo=UTC)
T2 = datetime(2026, 11, 22, 7, 33, 1, tzinfo=UTC)

VECTOR_PAYLOAD_SHA = "cf5714940cdf1ce79c9f0b7cf9c78f3a36062e4c5ae05dff3744e3463ccab221"
VECTOR_BODY_1 = (
    '{"actor":{"id":"tok_3f9a","kind":"api_token"},"attempt":null,'
    '"definition_sha256":"d506cfde6a0094d02cf4dbc65957853fb7dd037a79be55a7dd4938f8b1229472",'
    '"event_type":"execution.created","execution_id":"7d2c9e14-3b6a-4c8f-a1e5-9f0b2d4c6e83",'
    '"from_state":null,"occurred_at":"2026-11-22T07:33:00.123456Z",'
    '"payload_sha256":"cf5714940cdf1ce79c9f0b7cf9c78f3a36062e4c5ae05dff3744e3463ccab221",'
    '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"seq":1,"step_id":null,"tenant_id":"0b8f4a2e-5a3c-4f1e-9d7a-2f6c1e8b9a01",'
    '"to_state":"pending","v":1,"workflow_id":"order-fulfilment","workflow_version":3}'
)
VECTOR_HASH_1 = "1e6316fb3610515be131f22cd829a1dc6f9d6504d01981827769ea7162b68772"
VECTOR_HASH_2 = "867ac6b077f14a9c77756b7abd46eb67d06a7cd8493f584e5320fa562c2838fb"


def test_design_vector_with_build_body_and_rfc8785() -> None:
    body = build_body(
        HEADER,
        seq=1,
        prev_hash=GENESIS_HASH,
        event=CREATED,
        occurred_at="2026-11-22T07:33:00.123456Z",
        payload_sha256=VECTOR_PAYLOAD_SHA,
    )
    assert body.keys() == BODY_FIELDS
    assert rfc8785.dumps(body) == VECTOR_BODY_1.encode()
    assert canonical_json(body) == VECTOR_BODY_1.encode()
    assert entry_hash(VECTOR_BODY_1.encode()) == VECTOR_HASH_1


def test_design_vector_with_append() -> None:
    [first] = append(HEADER, 0, GENESIS_HASH, [CREATED], T1)
    assert first.body == VECTOR_BODY_1
    assert first.payload_sha256 == VECTOR_PAYLOAD_SHA
    assert first.entry_hash == VECTOR_HASH_1
    [second] = append(HEADER, 1, first.entry_hash, [CHARGED], T2)
    assert second.entry_hash == VECTOR_HASH_2
    assert second.prev_hash == VECTOR_HASH_1
    assert json.loads(second.body)["occurred_at"] == "2026-11-22T07:33:01.000000Z"


def test_entry_columns_mirror_the_body() -> None:
    [entry] = append(HEADER, 0, GENESIS_HASH, [CHARGED], T2)
    body = json.loads(entry.body)
    assert (entry.execution_id, entry.seq, entry.event_type, entry.step_id) == (
        HEADER.execution_id,
        1,
        "step.completed",
        "charge-card",
    )
    assert entry.occurred_at == body["occurred_at"] == format_timestamp(T2)
    assert entry.prev_hash == body["prev_hash"] == GENESIS_HASH
    assert entry.payload == '{"output":{"charge_id":"ch_77"}}'
    assert entry.payload_sha256 == body["payload_sha256"] == sha256_hex(entry.payload.encode())


def test_append_chains_across_calls_like_one_call() -> None:
    events = [CREATED, CHARGED, CHARGED]
    at_once = append(HEADER, 0, GENESIS_HASH, events, T1)
    first = append(HEADER, 0, GENESIS_HASH, events[:1], T1)
    rest = append(HEADER, first[-1].seq, first[-1].entry_hash, events[1:], T1)
    assert at_once == first + rest
    assert [e.seq for e in at_once] == [1, 2, 3]
    for prev, entry in itertools.pairwise(at_once):
        assert entry.prev_hash == prev.entry_hash
        assert json.loads(entry.body)["prev_hash"] == prev.entry_hash
    for entry in at_once:
        assert entry.entry_hash == entry_hash(entry.body.encode())


def test_append_without_events_returns_nothing() -> None:
    assert append(HEADER, 0, GENESIS_HASH, [], T1) == []


def test_none_payload_is_recorded_as_canonical_null() -> None:
    event = EventSpec(event_type="execution.paused", actor=Actor(kind="cli", id="ann"))
    [entry] = append(HEADER, 0, GENESIS_HASH, [event], T1)
    assert entry.payload == "null"
    assert entry.payload_sha256 == sha256_hex(b"null")


@pytest.mark.parametrize(
    ("head_seq", "head_hash", "match"),
    [
        (0, "a" * 64, "inconsistent ledger head"),
        (3, GENESIS_HASH, "inconsistent ledger head"),
        (-1, GENESIS_HASH, "0 or more"),
        (3, "A" * 64, "64 lowercase hex"),
        (3, "abc", "64 lowercase hex"),
    ],
)
def test_append_refuses_an_inconsistent_head(head_seq: int, head_hash: str, match: str) -> None:
    with pytest.raises(errors.LedgerError, match=match):
        append(HEADER, head_seq, head_hash, [CREATED], T1)


def test_append_refuses_unhashable_payload_and_lone_surrogates() -> None:
    bad_payload = EventSpec(event_type="x", actor=CREATED.actor, payload={"n": float("nan")})
    with pytest.raises(errors.LedgerError, match="cannot be written to the ledger"):
        append(HEADER, 0, GENESIS_HASH, [bad_payload], T1)
    bad_step = EventSpec(event_type="x", step_id="\ud800", actor=CREATED.actor)
    with pytest.raises(errors.LedgerError, match="lone surrogate"):
        append(HEADER, 0, GENESIS_HASH, [bad_step], T1)


def test_append_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        append(HEADER, 0, GENESIS_HASH, [CREATED], datetime(2026, 1, 1))


texts = st.text()
optional_texts = st.none() | texts
ints = st.integers(-(2**53) + 1, 2**53 - 1)


@given(
    header=st.builds(
        ChainHeader,
        tenant_id=texts,
        execution_id=texts,
        workflow_id=texts,
        workflow_version=ints,
        definition_sha256=texts,
    ),
    event=st.builds(
        EventSpec,
        event_type=texts | st.sampled_from(list(StepStatus)),
        from_state=optional_texts | st.sampled_from(list(ExecutionStatus)),
        to_state=optional_texts | st.sampled_from(list(StepStatus)),
        step_id=optional_texts,
        attempt=st.none() | ints,
        actor=st.builds(Actor, kind=texts, id=texts),
        payload=st.none() | st.dictionaries(texts, st.integers(0, 9) | texts | st.floats(0, 1)),
    ),
    head_seq=st.integers(1, 10**6),
    head_hash=st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_rendered_body_equals_rfc8785_of_build_body(
    header: ChainHeader, event: EventSpec, head_seq: int, head_hash: str
) -> None:
    if head_hash == GENESIS_HASH:
        head_hash = "f" * 64
    [entry] = append(header, head_seq, head_hash, [event], T1)
    body = build_body(
        header,
        seq=head_seq + 1,
        prev_hash=head_hash,
        event=event,
        occurred_at=entry.occurred_at,
        payload_sha256=entry.payload_sha256,
    )
    assert entry.body.encode() == rfc8785.dumps(body)
    assert entry.payload is not None  # stored as the value codec writes it, hashed as RFC 8785
    assert values.decode(entry.payload) == event.payload
    assert entry.payload == values.encode(event.payload)
    assert entry.payload_sha256 == hashlib.sha256(rfc8785.dumps(event.payload)).hexdigest()


def test_rendered_body_handles_unusual_int_types() -> None:
    # A bool where an int belongs still hashes as its canonical JSON (true), never "True".
    header = ChainHeader(**{**_header_fields(), "workflow_version": True})
    [entry] = append(header, 0, GENESIS_HASH, [CREATED], T1)
    assert json.loads(entry.body)["workflow_version"] is True


def _header_fields() -> dict[str, Any]:
    return {name: getattr(HEADER, name) for name in ChainHeader.__slots__}


def test_header_encoding_is_cached_per_header() -> None:
    assert chain._header_text(HEADER) is chain._header_text(HEADER)
