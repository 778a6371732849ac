"""verify_execution: an intact chain passes; each kind of tampering is named at its seq."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from ledgerflow.ledger import chain
from ledgerflow.ledger.canonical import payload_sha256
from ledgerflow.ledger.chain import GENESIS_HASH, Actor, ChainHeader, EventSpec, append, entry_hash
from ledgerflow.ledger.verify import ExecutionHead, Problem, VerifyResult, verify_execution

HEADER = ChainHeader(
    tenant_id="tenant-a",
    execution_id="exec-1",
    workflow_id="order-fulfilment",
    workflow_version=3,
    definition_sha256="d" * 64,
)
WORKER = Actor(kind="worker", id="host:42")
STATE = {"vars": {"order_id": "o-1"}, "steps": {"charge": {"ok": True}}}
Rows = list[chain.LedgerEntry]


def _event(n: int) -> EventSpec:
    return EventSpec(
        event_type="step.completed",
        from_state="running",
        to_state="running",
        step_id=f"step-{n}",
        attempt=1,
        actor=WORKER,
        payload={"output": {"n": n}},
    )


def build_chain() -> tuple[ExecutionHead, Rows]:
    """Five entries written by two append calls, as storage would read them back."""
    when = datetime(2026, 11, 22, 7, 33, tzinfo=UTC)
    created = EventSpec(event_type="execution.created", to_state="running", actor=WORKER)
    first = append(HEADER, 0, GENESIS_HASH, [created, _event(2)], when)
    rest = append(HEADER, 2, first[-1].entry_hash, [_event(3), _event(4), _event(5)], when)
    rows = first + rest
    head = ExecutionHead(
        execution_id=HEADER.execution_id,
        tenant_id=HEADER.tenant_id,
        head_seq=rows[-1].seq,
        head_hash=rows[-1].entry_hash,
        state_sha256=payload_sha256(STATE),
    )
    return head, rows


def verify(head: ExecutionHead, rows: Rows, state: Any = STATE) -> VerifyResult:
    return verify_execution(head, rows, state)


def test_intact_chain_verifies() -> None:
    head, rows = build_chain()
    result = verify(head, rows)
    assert result == VerifyResult(execution_id="exec-1", ok=True, entries=5)
    assert result.message == "execution exec-1: ok (5 entries verified)"


def test_erased_payloads_still_verify() -> None:
    head, rows = build_chain()
    erased = [dataclasses.replace(row, payload=None) for row in rows]
    assert verify(head, erased).ok


def _edit(rows: Rows, seq: int, **changes: Any) -> Rows:
    return [dataclasses.replace(r, **changes) if r.seq == seq else r for r in rows]


def edit_body(rows: Rows) -> Rows:
    body = rows[2].body.replace('"to_state":"running"', '"to_state":"completed"')
    return _edit(rows, 3, body=body)


def edit_body_and_rehash(rows: Rows) -> Rows:
    body = rows[2].body.replace('"to_state":"running"', '"to_state":"completed"')
    return _edit(rows, 3, body=body, entry_hash=entry_hash(body.encode()))


def edit_payload(rows: Rows) -> Rows:
    return _edit(rows, 2, payload='{"output":{"n":999}}')


def unreadable_payload(rows: Rows) -> Rows:
    return _edit(rows, 2, payload='{"output": {"n": NaN}}')


def delete_middle(rows: Rows) -> Rows:
    return [r for r in rows if r.seq != 3]


def delete_first(rows: Rows) -> Rows:
    return rows[1:]


def delete_tail(rows: Rows) -> Rows:
    return rows[:-1]


def swap_rows(rows: Rows) -> Rows:
    return [rows[0], rows[2], rows[1], *rows[3:]]


def edit_prev_hash_column(rows: Rows) -> Rows:
    return _edit(rows, 4, prev_hash="e" * 64)


def edit_seq_column(rows: Rows) -> Rows:
    return [*rows[:3], dataclasses.replace(rows[3], seq=5), dataclasses.replace(rows[4], seq=6)]


def edit_event_type_column(rows: Rows) -> Rows:
    return _edit(rows, 4, event_type="step.failed")


def edit_step_id_column(rows: Rows) -> Rows:
    return _edit(rows, 5, step_id=None)


def garble_body(rows: Rows) -> Rows:
    return _edit(rows, 2, body="{not json")


def pretty_body(rows: Rows) -> Rows:
    return _edit(rows, 2, body=rows[1].body.replace(",", ", "))


@pytest.mark.parametrize(
    ("tamper", "problem", "seq"),
    [
        (edit_body, Problem.HASH_MISMATCH, 3),
        (edit_body_and_rehash, Problem.BROKEN_LINK, 4),
        (edit_payload, Problem.PAYLOAD_MISMATCH, 2),
        (unreadable_payload, Problem.PAYLOAD_MISMATCH, 2),
        (delete_middle, Problem.GAP, 3),
        (delete_first, Problem.GAP, 1),
        (delete_tail, Problem.TRUNCATED, 5),
        (swap_rows, Problem.GAP, 2),
        (edit_prev_hash_column, Problem.BROKEN_LINK, 4),
        (edit_seq_column, Problem.GAP, 4),
        (edit_event_type_column, Problem.MALFORMED, 4),
        (edit_step_id_column, Problem.MALFORMED, 5),
        (garble_body, Problem.MALFORMED, 2),
        (pretty_body, Problem.MALFORMED, 2),
    ],
)
def test_tampering_is_found_at_the_first_bad_seq(
    tamper: Callable[[Rows], Rows], problem: Problem, seq: int
) -> None:
    head, rows = build_chain()
    result = verify(head, tamper(rows))
    assert (result.ok, result.problem, result.seq) == (False, problem, seq), result.message
    assert result.message.startswith(f"execution exec-1: seq {seq}: ")


def test_hash_mismatch_message_names_both_hashes() -> None:
    head, rows = build_chain()
    result = verify(head, edit_body(rows))
    stored = rows[2].entry_hash[:12]
    assert result.message.startswith(
        f"execution exec-1: seq 3: hash mismatch (stored {stored}…, computed "
    )


def test_truncated_tail_message_names_both_seqs() -> None:
    head, rows = build_chain()
    result = verify(head, rows[:3])
    assert result.detail == "ledger ends at seq 3 but the execution head says seq 5"
    assert result.seq == 4


def test_head_behind_the_ledger_is_reported() -> None:
    head, rows = build_chain()
    result = verify(dataclasses.replace(head, head_seq=4, head_hash=rows[3].entry_hash), rows)
    assert (result.problem, result.seq) == (Problem.TRUNCATED, 5)


def test_head_hash_differing_from_last_entry_is_reported() -> None:
    head, rows = build_chain()
    result = verify(dataclasses.replace(head, head_hash="f" * 64), rows)
    assert (result.problem, result.seq) == (Problem.TRUNCATED, 5)


def test_edited_state_document_is_drift() -> None:
    head, rows = build_chain()
    result = verify(head, rows, {**STATE, "vars": {"order_id": "o-2"}})
    assert (result.problem, result.seq) == (Problem.STATE_DRIFT, None)
    assert result.message.startswith(
        "execution exec-1: state document changed outside the engine: sha "
    )
    assert f"expected {head.state_sha256[:12]}…" in result.message


def test_unhashable_state_document_is_drift() -> None:
    head, rows = build_chain()
    result = verify(head, rows, {"x": float("nan")})
    assert result.problem is Problem.STATE_DRIFT


def test_rows_of_another_execution_are_wrong_execution() -> None:
    head, rows = build_chain()
    for other in (
        dataclasses.replace(head, execution_id="exec-2"),
        dataclasses.replace(head, tenant_id="tenant-b"),
    ):
        result = verify(other, rows)
        assert (result.problem, result.seq) == (Problem.WRONG_EXECUTION, 1)


def test_no_rows_is_empty() -> None:
    head, _ = build_chain()
    result = verify(head, [])
    assert (result.ok, result.problem, result.seq, result.entries) == (
        False,
        Problem.EMPTY,
        None,
        0,
    )
    assert result.message == "execution exec-1: ledger has no entries"


@pytest.mark.parametrize(
    "body",
    [
        "[1,2]",
        '{"v":1}',
        '{"v":NaN}',
        '"\\ud800"',
    ],
)
def test_bodies_that_are_not_v1_objects_are_malformed(body: str) -> None:
    head, rows = build_chain()
    result = verify(head, _edit(rows, 1, body=body))
    assert (result.problem, result.seq) == (Problem.MALFORMED, 1), result.message


def test_body_with_wrong_version_or_field_type_is_malformed() -> None:
    head, rows = build_chain()
    for old, new in (('"v":1', '"v":2'), ('"seq":1', '"seq":true'), ('"seq":1', '"seq":"1"')):
        body = rows[0].body.replace(old, new)
        result = verify(head, _edit(rows, 1, body=body, entry_hash=entry_hash(body.encode())))
        assert (result.problem, result.seq) == (Problem.MALFORMED, 1), result.message
