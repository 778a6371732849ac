"""Values no database row can hold, passed to the Python API: an integer beyond 64 bits,
text that is not UTF-8 (undecodable bytes read with surrogate escapes). A read for one
finds nothing, the same on both backends; a write of one is refused with one clear line."""

from __future__ import annotations

import pytest

from ledgerflow import App, errors
from tests.support import Agents

FLOW = {"name": "flow", "steps": [{"id": "a", "agent": "t.echo", "output": "a"}]}
HUGE = 2**70


@pytest.fixture
def eid(app: App) -> str:
    app.apply(FLOW)
    done = app.start("flow")
    app.run_until_idle()
    return done


def test_reads_for_unstorable_values_find_nothing(app: App, eid: str) -> None:
    with pytest.raises(errors.NotFound, match=f"has no state version {HUGE}"):
        app.state(eid, HUGE)
    with pytest.raises(errors.WorkflowNotFound, match=f"version {HUGE} not found"):
        app.start("flow", version=HUGE)
    with pytest.raises(errors.ExecutionNotFound):
        app.status("id-\udcff")
    with pytest.raises(errors.WorkflowNotFound):
        app.start("flow-\udcff")
    assert app.logs(eid, after=HUGE) == []
    assert [e.id for e in app.list(limit=HUGE)] == [eid]  # a limit past 64 bits: no limit
    with pytest.raises(errors.NotFound, match=f"no ledger entry {HUGE}"):
        app.fork(eid, HUGE)


def test_writes_of_unstorable_values_are_refused_whole(app: App, agents: Agents,
                                                       eid: str) -> None:
    with pytest.raises(errors.LedgerflowError, match="UTF-8") as info:
        app.start("flow", execution_id="id-\udcff")
    assert "\n" not in str(info.value)
    with pytest.raises(errors.InputValidationError, match="input cannot be stored: "):
        app.start("flow", input={"n": HUGE})
    assert [e.id for e in app.list()] == [eid]
    assert all(r.ok for r in app.verify_all())
