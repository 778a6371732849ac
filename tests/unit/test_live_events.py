"""The pure parts of live events: who a commit wakes (``server.waiters``), the notices a
batch sends and their payloads (``storage.notices``), the frames of a stream and where it
resumes (``server.sse``)."""

from __future__ import annotations

import pytest

from ledgerflow import errors
from ledgerflow.server import sse
from ledgerflow.server.waiters import Board, Waiter
from ledgerflow.storage.notices import (
    MAX_PAYLOAD,
    LedgerNotice,
    ledger_payloads,
    parse_ledger_payload,
)


def _waiter(execution_id: str | None, after: int = 0, tenant: str = "t") -> Waiter:
    return Waiter(tenant=tenant, execution_id=execution_id, after_seq=after, wake=lambda: None)


def test_a_commit_wakes_the_waiters_of_its_execution_past_their_seq_and_its_tenants() -> None:
    board = Board()
    behind, ahead, other, tenant, elsewhere = (
        _waiter("e1", 3), _waiter("e1", 9), _waiter("e2"), _waiter(None),
        _waiter(None, tenant="u"))
    for w in (behind, ahead, other, tenant, elsewhere):
        board.add(w)
    assert board.count() == 5 and sorted(board.watched()) == [("t", "e1"), ("t", "e2")]
    woken = board.heard(LedgerNotice("t", "e1", 5))
    assert woken == [behind, tenant]
    assert Board.take(behind, after_seq=5).arrived
    assert board.heard(LedgerNotice("t", "e1", 5)) == [tenant]  # behind has read that far
    assert Board.take(tenant).changed == {"e1": 5}
    assert not Board.take(ahead).arrived


def test_a_missed_notice_makes_everyone_look_again_and_removal_forgets() -> None:
    board = Board()
    one, all_of_t = _waiter("e1"), _waiter(None)
    board.add(one)
    board.add(all_of_t)
    assert board.missed() == [one, all_of_t]
    assert Board.take(one).look_again and not Board.take(one).look_again
    board.remove(one)
    board.remove(one)  # twice is harmless
    board.remove(all_of_t)
    assert board.count() == 0 and board.watched() == []
    assert board.heard(LedgerNotice("t", "e1", 9)) == []


def test_payloads_carry_every_notice_under_the_postgres_limit() -> None:
    notices = [LedgerNotice("acme", f"run {i} " + "x" * 240, i) for i in range(100)]
    payloads = ledger_payloads(notices)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD for p in payloads)
    assert [n for p in payloads for n in parse_ledger_payload(p)] == notices
    assert parse_ledger_payload("garbage\nacme e1 x\nacme e1 7") == [
        LedgerNotice("acme", "e1", 7)]
    assert ledger_payloads([]) == []


def test_frames_and_the_resume_point() -> None:
    assert sse.frame("entry", {"a": 1}, 7) == 'id: 7\nevent: entry\ndata: {"a":1}\n\n'
    assert sse.frame("end", "x") == 'event: end\ndata: "x"\n\n'
    assert sse.retry() == "retry: 3000\n\n" and sse.comment("hi") == ": hi\n\n"
    assert sse.resume_point(None, None) == 0
    assert sse.resume_point(None, 4) == 4
    assert sse.resume_point(" 9 ", 4) == 9  # the browser's Last-Event-ID wins
    with pytest.raises(errors.HttpProblem) as caught:
        sse.resume_point("nine", None)
    assert caught.value.status == 400


def test_a_token_holds_at_most_its_limit_of_streams_and_revocation_ends_them() -> None:
    slots = sse.StreamSlots(limit=2)
    first, second = slots.take("tok"), slots.take("tok")
    with pytest.raises(errors.HttpProblem) as caught:
        slots.take("tok")
    assert caught.value.status == 429 and "Retry-After" in caught.value.headers
    other = slots.take("other")
    slots.release(first)
    slots.release(first)  # released once only
    assert slots.open() == 2
    third = slots.take("tok")
    woken: list[str] = []
    second.wake = third.wake = lambda: woken.append("tok")
    other.wake = lambda: woken.append("other")
    slots.revoke("tok")
    assert woken == ["tok", "tok"] and second.revoked and third.revoked
    assert not other.revoked
