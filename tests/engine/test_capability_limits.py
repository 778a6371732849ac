"""Per-capability limits: with ``limits={"t.a": 1}`` and 4 slots, at most one ``t.a`` handler
runs at once; the other ``t.a`` steps stay pending in the admission queue (``status`` says
for what) while ``t.b`` steps, of the same executions and of executions started after them,
run; everything completes. Deterministic: each ``t.a`` handler blocks until the test lets it
go, and the handlers count who runs under a lock."""

from __future__ import annotations

import queue
import threading
from typing import Any

import pytest

from ledgerflow import App, errors
from tests.support import SAFETY, wait_for

BOTH = {"name": "both", "steps": [{"id": "a", "agent": "t.a"}, {"id": "b", "agent": "t.b"}]}
ONLY_B = {"name": "only_b", "steps": [{"id": "b", "agent": "t.b"}]}
CAPPED = 3  # executions with a t.a step


def test_a_limited_capability_runs_one_at_a_time_and_never_blocks_the_others(
        backend_url: str) -> None:
    app = App(backend_url)
    lock = threading.Lock()
    running = {"t.a": 0, "most": 0}
    entered: queue.Queue[str] = queue.Queue()
    release: dict[str, threading.Event] = {}  # execution id -> what its t.a handler awaits

    def gate(execution_id: str) -> threading.Event:
        return release.setdefault(execution_id, threading.Event())  # atomic

    @app.agent("t.a")
    def a(ctx: Any, data: Any) -> Any:
        with lock:
            running["t.a"] += 1
            running["most"] = max(running["most"], running["t.a"])
        entered.put(ctx.execution_id)
        try:
            assert gate(ctx.execution_id).wait(SAFETY)
        finally:
            with lock:
                running["t.a"] -= 1
        return "a"

    @app.agent("t.b")
    def b(ctx: Any, data: Any) -> Any:
        return "b"

    app.apply(BOTH)
    app.apply(ONLY_B)
    try:
        app.launch(concurrency=4, limits={"t.a": 1})
        capped = [app.start("both") for _ in range(CAPPED)]
        after = [app.start("only_b") for _ in range(2)]  # queued behind the capped ones
        first = entered.get(timeout=SAFETY)

        def b_done() -> bool:
            return all(_step(app, eid, "b").status == "completed" for eid in capped) and \
                all(app.status(eid).status == "completed" for eid in after)

        wait_for(b_done, what="every t.b step, while t.a steps wait")
        for eid in capped:
            if eid != first:
                step = _step(app, eid, "a")
                assert step.status == "pending"
                assert step.waiting == "ready, waiting for a free slot of t.a (1 at a time " \
                    "in its worker)"
        order = [first]
        while len(order) < CAPPED:  # let each t.a go: the next one enters only then
            gate(order[-1]).set()
            order.append(entered.get(timeout=SAFETY))
        gate(order[-1]).set()
        wait_for(lambda: all(app.status(eid).status == "completed" for eid in capped),
                 what="every execution")
        assert sorted(order) == sorted(capped)
        assert running["most"] == 1
        [worker] = app.workers()
        assert worker.limits == {"t.a": 1}
    finally:
        for event in release.values():
            event.set()
        app.close()


def _step(app: App, execution_id: str, step_id: str) -> Any:
    return next(s for s in app.status(execution_id).steps if s.id == step_id)


@pytest.mark.parametrize(("limits", "says"), [
    ({"t.a": 0}, "limit of 't.a' must be a whole number of 1 or more"),
    ({"t.a": "2"}, "limit of 't.a' must be a whole number"),
    ({"t.zz": 1}, "limit of 't.zz': no agent of this worker offers it (it offers "),
])
def test_a_bad_limit_is_refused_before_the_worker_starts(db_url: str, limits: dict[str, Any],
                                                          says: str) -> None:
    with App(db_url) as app:
        app.agent("t.a")(lambda ctx, data: None)
        with pytest.raises(errors.ConfigurationError) as info:
            app.worker(limits=limits)
        assert says in str(info.value)
