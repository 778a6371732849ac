"""Execution ids the engine makes (``start`` without an id, ``fork``) are UUIDs of version 7:
they sort in the order the executions were made, so the rows of the executions in flight sit
together at the end of every index keyed by execution (benchmarks/run.py measures it)."""

from __future__ import annotations

import uuid
from pathlib import Path

from ledgerflow import App

FLOW = {"name": "one", "steps": [{"id": "a", "agent": "t.ok", "output": "a"}]}


def test_started_and_forked_ids_are_version_7_in_the_order_made(tmp_path: Path) -> None:
    with App(f"sqlite:///{tmp_path / 'ids.db'}") as app:
        app.agent("t.ok")(lambda ctx, data: {"ok": True})
        app.apply(FLOW)
        made = [app.start("one", {"n": n}) for n in range(200)]  # many in one millisecond
        app.run_until_idle()
        made.append(app.fork(made[0], at_seq=None))
        assert {uuid.UUID(i).version for i in made} == {7}
        assert made == sorted(made)
        assert len(set(made)) == len(made)
        # a caller's own id is kept as given, whatever its form
        assert app.start("one", {}, execution_id="order-42") == "order-42"
