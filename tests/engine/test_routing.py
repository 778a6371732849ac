"""Two agents for one capability, one broken: its breaker opens, traffic moves, probes go
through after the cool-down, it closes when the agent recovers; a restart keeps the state;
statistics equal their rebuild from the stored decisions. Time is a ``FakeClock``: the
cool-downs pass when the test says so."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ledgerflow import App
from ledgerflow.testing import FakeClock
from tests.support import Background, wait_for

# retried at once (no backoff): on a clock that stands still, a backoff never passes
FLOW = {"name": "one", "steps": [
    {"id": "s", "agent": "pay.charge", "retry": {"max_attempts": 3, "initial": "0s"}}]}


class Charges:
    def __init__(self) -> None:
        self.broken = True
        self.calls: Counter[str] = Counter()


def make_app(url: str, charges: Charges, clock: FakeClock) -> App:
    app = App(url, clock=clock)

    @app.agent("pay.charge", name="primary", priority=10, weight=3, failure_threshold=3,
               cooldown="2s")
    def primary(ctx: Any, data: Any) -> Any:
        charges.calls["primary"] += 1
        if charges.broken:
            raise ConnectionError("primary is down")
        return "primary"

    @app.agent("pay.charge", name="backup", priority=0)
    def backup(ctx: Any, data: Any) -> Any:
        charges.calls["backup"] += 1
        return "backup"

    app.apply(FLOW)
    return app


@pytest.fixture
def charges() -> Charges:
    return Charges()


@pytest.fixture
def pay(backend_url: str, charges: Charges, clock: FakeClock) -> Iterator[App]:
    a = make_app(backend_url, charges, clock)
    yield a
    a.close()


def run(app: App, n: int) -> list[str]:
    """One execution after the other, so each routing decision sees the outcomes before."""
    ids = []
    for _ in range(n):
        ids.append(app.start("one"))
        app.run_until_idle(concurrency=1)
    return ids


def breaker_of(app: App, agent: str) -> str:
    return next(a.breaker for a in app.agents() if a.agent == agent)


def test_breaker_opens_moves_traffic_probes_and_closes(pay: App, charges: Charges,
                                                       backend_url: str,
                                                       clock: FakeClock) -> None:
    app = pay
    ids = run(app, 8)
    assert all(app.status(e).status == "completed" for e in ids)  # nothing lost
    assert breaker_of(app, "primary") == "open"
    assert charges.calls["primary"] == 3  # the threshold, then no more calls
    moved = [d for e in ids[3:] for d in app.routing(e)]
    assert {d.agent for d in moved} == {"backup"}
    assert "excluded" in moved[-1].reason

    # a restart in the middle keeps the breaker's state
    app.close()
    again = make_app(backend_url, charges, clock)
    try:
        assert breaker_of(again, "primary") == "open"
        run(again, 2)
        assert charges.calls["primary"] == 3  # still open: still no call
        clock.advance(2.05)  # the cool-down passes; the agent is still broken
        run(again, 1)
        assert charges.calls["primary"] == 4  # one probe, which fails
        assert breaker_of(again, "primary") == "open"
        charges.broken = False
        clock.advance(2.05)
        last = run(again, 3)
        assert breaker_of(again, "primary") == "closed"
        assert [d.agent for d in again.routing(last[-1])] == ["primary"]
        moves = [(t.from_state, t.to_state) for t in again.store.breaker_transitions()
                 if t.agent == "primary"]
        assert moves == [("closed", "open"), ("open", "half_open"), ("half_open", "open"),
                         ("open", "half_open"), ("half_open", "closed")]
        # statistics: incremental == rebuilt from the decisions
        checked = again.recalculate_stats(write=False)
        assert checked and all(c.agree for c in checked), checked
        primary = next(a for a in again.agents() if a.agent == "primary")
        assert primary.stats["failures"] == 4 and primary.stats["successes"] >= 1
        assert primary.stats["p95_ms"] is not None
    finally:
        again.close()


def test_reset_by_hand_closes_and_is_recorded(pay: App, charges: Charges) -> None:
    app = pay
    run(app, 4)
    assert breaker_of(app, "primary") == "open"
    moved = app.reset_breaker("primary")
    assert [(t.from_state, t.to_state, t.reason) for t in moved] == [
        ("open", "closed", "reset by hand")]
    assert breaker_of(app, "primary") == "closed"
    last = app.store.breaker_transitions()[-1]
    assert last.actor == app.actor.id
    charges.broken = False
    [eid] = run(app, 1)
    assert [d.agent for d in app.routing(eid)] == ["primary"]


def test_all_breakers_open_the_step_waits_and_is_not_lost(app: App, clock: FakeClock) -> None:
    mended = threading.Event()

    def down(ctx: Any, data: Any) -> Any:
        if not mended.is_set():
            raise RuntimeError("down")
        return "ok"

    # two agents: an open breaker never excludes the only agent of a capability
    for name in ("only", "other"):
        app.agent("x.only", name=name, failure_threshold=1, cooldown="300ms")(down)

    app.apply({"name": "w", "steps": [{"id": "s", "agent": "x.only",
                                       "retry": {"max_attempts": 5, "initial": "10ms"}}]})
    eid = app.start("w")
    kinds = lambda: [e.event_type for e in app.history(eid)]  # noqa: E731
    with Background(app, concurrency=1, until_idle=True) as worker:
        # the first attempt fails and opens one breaker; its retry (due in 10 ms) goes to
        # the other agent, fails and opens the other
        wait_for(lambda: "step.retry_scheduled" in kinds(), what="the first failure")
        clock.advance(0.01)
        wait_for(lambda: kinds().count("step.retry_scheduled") == 2, what="the second")
        clock.advance(0.05)
        # the retry finds every breaker open: it waits for the cool-down instead of failing
        wait_for(lambda: "step.deferred" in kinds(), what="the step deferred")
        mended.set()
        clock.advance(0.3)  # the cool-down passes: a probe goes through, and succeeds
        worker.join()  # idle: nothing is left to do
    assert app.status(eid).status == "completed"
    assert "step.deferred" in kinds()  # it waited for the breaker instead of failing
