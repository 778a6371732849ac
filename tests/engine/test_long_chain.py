"""Long chains: hundreds of steps in one execution end as short ones do. The graph rules keep
counts of the step statuses instead of looking at every step after each outcome
(``engine.model.tally``), so these check the counts against what the steps did: the right
result, the right skips, the failure of the right step, and a ledger that verifies."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ledgerflow import App, errors

STEPS = 300


def chain(name: str, steps: int, fail_at: int | None = None) -> dict[str, Any]:
    """``s0 <- s1 <- …``: each step takes the status of the one before in its input; every
    seventh step (``i % 7 == 3``) has a ``when`` that is false (skipped), every other odd
    step one that is true; at ``fail_at`` the ``when`` gives a number (the step fails)."""
    out = []
    for i in range(steps):
        step: dict[str, Any] = {"id": f"s{i}", "agent": "chain.count"}
        if i:
            step["needs"] = [f"s{i - 1}"]
            step["input"] = {"prev": f"${{steps.s{i - 1}.status}}", "n": i}
        if i == fail_at:
            step["when"] = "input.skip ? 1 : 2"
        elif i % 7 == 3:
            step["when"] = "input.skip"
        elif i % 2:
            step["when"] = "!input.skip && size(steps) > 0"
        out.append(step)
    return {"name": name, "steps": out}


@pytest.fixture
def counted(app: App) -> App:
    @app.agent("chain.count")
    def count(ctx: Any, data: Any) -> Any:
        return {"step": ctx.step_id, **(data or {})}

    return app


def test_a_long_chain_completes_with_the_last_output_and_verifies(counted: App) -> None:
    counted.apply(chain("long", STEPS))
    eid = counted.start("long", {"skip": False})
    counted.run_until_idle()
    report = counted.status(eid)
    assert report.status == "completed"
    skipped = {f"s{i}" for i in range(STEPS) if i % 7 == 3}
    statuses = {s.id: s.status for s in report.steps}
    assert {sid for sid, s in statuses.items() if s == "skipped"} == skipped
    assert Counter(statuses.values()) == {"completed": STEPS - len(skipped),
                                          "skipped": len(skipped)}
    last = STEPS - 1  # 299: its predecessor 298 ran (298 % 7 == 4)
    assert counted.result(eid) == {"step": f"s{last}", "prev": "completed", "n": last}
    events = [(e.event_type, e.step_id) for e in counted.history(eid)]
    assert events[-1] == ("execution.completed", None)
    assert events.count(("execution.completed", None)) == 1
    assert sum(1 for t, _ in events if t == "step.completed") == STEPS - len(skipped)
    assert sum(1 for t, _ in events if t == "step.skipped") == len(skipped)
    assert counted.verify(eid).ok


def test_a_step_after_a_skipped_one_sees_it_skipped(counted: App) -> None:
    counted.apply(chain("seen", 12))
    eid = counted.start("seen", {"skip": False})
    counted.run_until_idle()
    outputs = {e.step_id: e.payload["output"] for e in counted.history(eid)
               if e.event_type == "step.completed"}
    assert outputs["s4"] == {"step": "s4", "prev": "skipped", "n": 4}  # s3 was skipped
    assert outputs["s11"] == {"step": "s11", "prev": "skipped", "n": 11}  # s10 too


def test_a_failure_deep_in_a_long_chain_fails_the_execution_with_that_step(
        counted: App) -> None:
    counted.apply(chain("broken", 200, fail_at=150))
    eid = counted.start("broken", {"skip": False})
    counted.run_until_idle()
    report = counted.status(eid)
    assert report.status == "failed"
    statuses = {s.id: s.status for s in report.steps}
    assert statuses["s150"] == "failed"
    assert all(statuses[f"s{i}"] == "pending" for i in range(151, 200))
    assert all(statuses[f"s{i}"] in ("completed", "skipped") for i in range(150))
    with pytest.raises(errors.ExecutionFailed) as failed:
        counted.result(eid, timeout=0)
    assert failed.value.step_id == "s150"
    assert "gave int 2, expected true or false" in str(failed.value)
    events = [(e.event_type, e.step_id) for e in counted.history(eid)]
    assert events[-2:] == [("step.failed", "s150"), ("execution.failed", None)]
    assert counted.verify(eid).ok


def test_a_long_chain_of_steps_done_as_they_begin_completes(app: App) -> None:
    """Sleeps whose time has passed complete as they begin: each one's dependants are
    advanced from at once, in one transaction, however long the chain."""
    steps = 1500  # beyond Python's default recursion limit
    app.apply({"name": "naps", "steps": [
        {"id": f"z{i}", "type": "sleep", "for": 0, **({"needs": [f"z{i - 1}"]} if i else {})}
        for i in range(steps)]})
    eid = app.start("naps")
    app.run_until_idle()
    report = app.status(eid)
    assert report.status == "completed", report
    events = [(e.event_type, e.step_id) for e in app.history(eid)]
    done = [sid for kind, sid in events if kind == "step.completed"]
    assert done == [f"z{i}" for i in range(steps)]  # in chain order
    assert events[-1] == ("execution.completed", None)
    assert app.verify(eid).ok
