"""The admission queue with a capability limit: an execution waiting only for a capability at
its limit keeps its place but is passed over, so executions behind it are admitted."""

from __future__ import annotations

from ledgerflow.engine.rules.dispatching import Choice
from ledgerflow.engine.worker.admission import Slots


def route(capability: str, avoid: str | None = None) -> Choice:
    return Choice(agent=f"{capability}-agent", candidates=(), reason="only agent")


def test_a_capped_execution_is_passed_over_and_keeps_its_place() -> None:
    slots = Slots(concurrency=4, limits={"t.a": 1})
    choose = slots.gate(route)
    slots.take("t.a")  # one t.a step runs
    for execution_id, capability in (("e1", "t.a"), ("e2", "t.b")):
        slots.applying(execution_id)
        choice = choose(capability)
        assert choice is not None
        if capability == "t.a":
            assert choice.queued and "free slot of t.a (1 at a time)" in choice.reason
    slots.applying(None)
    assert slots.queued == 1  # e1 waits for t.a; e2's step was routed
    assert not slots.admissible
    slots.enqueue("e3")  # waits for any slot
    tried: set[str] = set()
    assert slots.next_admission(tried) == "e3"  # e1 is passed over while t.a is full
    slots.admitted("e3")
    assert slots.next_admission(tried) is None
    slots.give_back("t.a")  # the t.a step ended
    assert slots.admissible
    assert slots.next_admission(set()) == "e1"
    slots.applying("e1")
    assert choose("t.a").agent == "t.a-agent"  # reserved for the batch
    slots.applying(None)
    slots.admitted("e1")
    assert slots.queued == 0
    slots.applying("e4")
    assert choose("t.a").queued  # the reservation counts against the limit
