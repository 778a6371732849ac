"""``App`` embedded in a larger program: given an open store, shared between tenants, and
returning public read-model types (never storage rows). On both backends."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import ledgerflow
from ledgerflow import App, errors
from ledgerflow.storage.base import Store

FLOW = {
    "name": "greet",
    "steps": [
        {"id": "hello", "agent": "e.hello", "input": {"who": "${input.who}"},
         "output": "greeting"},
        {"id": "shout", "agent": "e.shout", "needs": ["hello"], "output": "loud"},
    ],
}


def _agents(app: App) -> None:
    @app.agent("e.hello")
    def hello(ctx: Any, data: Any) -> Any:
        return f"hello {data['who']}"

    @app.agent("e.shout")
    def shout(ctx: Any, data: Any) -> Any:
        return ctx.state["greeting"].upper()


def test_an_app_given_an_open_store_uses_it_and_leaves_it_open(store: Store) -> None:
    with App(store) as app:
        _agents(app)
        app.apply(FLOW)
        eid = app.start("greet", {"who": "ada"})
        app.run_until_idle()
        assert app.execution(eid).status == "completed"
        assert app.db_url == store.url
    # the app did not open the store, so leaving it did not close it
    assert store.load_execution("default", eid) is not None


def test_tenants_share_one_store_and_never_see_each_other(store: Store) -> None:
    app = App(store)
    _agents(app)
    acme, umbrella = app.for_tenant("acme"), app.for_tenant("umbrella")
    # one database: the same store, or on PostgreSQL a view of it that row-level
    # security holds to the tenant, on the same connections
    assert acme.store.url == store.url and umbrella.store.url == store.url
    assert (acme.store is store) == (umbrella.store is store) == store.url.startswith("sqlite")
    assert acme.registry is app.registry and acme.definitions is app.definitions
    acme.apply(FLOW)
    with pytest.raises(errors.WorkflowNotFound):
        umbrella.start("greet", {"who": "x"})
    umbrella.apply(FLOW)
    mine = acme.start("greet", {"who": "acme"})
    theirs = umbrella.start("greet", {"who": "umbrella"})
    app.run_until_idle(all_tenants=True)  # one worker drives every tenant's executions
    assert acme.execution(mine).result == "HELLO ACME"  # the last step's output
    assert umbrella.state(theirs).state["loud"] == "HELLO UMBRELLA"
    for view, other in ((acme, theirs), (umbrella, mine), (app, mine)):
        with pytest.raises(errors.ExecutionNotFound):
            view.execution(other)
        with pytest.raises(errors.ExecutionNotFound):
            view.pause(other)
    assert [e.id for e in acme.list()] == [mine]
    assert [d.name for d in app.workflows()] == []
    acme.close()  # a view never closes the shared store
    assert umbrella.execution(theirs).status == "completed"
    app.close()


def test_a_reused_id_in_another_tenant_is_refused_not_revealed(store: Store) -> None:
    app = App(store)
    acme, umbrella = app.for_tenant("acme"), app.for_tenant("umbrella")
    acme.apply(FLOW)
    umbrella.apply(FLOW)
    acme.start("greet", {"who": "a"}, execution_id="shared-id")
    with pytest.raises(errors.IdempotencyConflict) as raised:
        umbrella.start("greet", {"who": "a"}, execution_id="shared-id")
    assert "acme" not in str(raised.value)


READ_MODEL = (ledgerflow.ExecutionSummary, ledgerflow.DefinitionInfo,
              ledgerflow.StateVersion, ledgerflow.RoutingDecision, ledgerflow.LogRecord,
              ledgerflow.Tombstone, ledgerflow.BreakerTransition, ledgerflow.ExecutionUpdate,
              ledgerflow.HistoryEntry, ledgerflow.ExecutionReport, ledgerflow.WorkerInfo,
              ledgerflow.AgentInfo, ledgerflow.Applied, ledgerflow.CleanupReport)


@pytest.mark.parametrize("kind", READ_MODEL, ids=lambda k: k.__name__)
def test_read_model_types_are_frozen_and_render_to_dicts(kind: type) -> None:
    assert dataclasses.is_dataclass(kind)
    assert kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert callable(kind.to_dict)


def test_what_app_returns_is_parsed_public_values(store: Store) -> None:
    app = App(store)
    _agents(app)
    updates: list[ledgerflow.ExecutionUpdate] = []
    assert app.apply(FLOW).to_dict() == {
        "name": "greet", "version": 1, "sha256": app.workflows()[0].sha256, "created": True}
    eid = app.start("greet", {"who": "ada"})
    app.run_until_idle(listener=updates.append)
    summary = app.execution(eid)
    assert isinstance(summary, ledgerflow.ExecutionSummary)
    assert summary.input == {"who": "ada"} and summary.head_seq == len(app.history(eid))
    assert set(summary.to_dict()) == {"id", "workflow", "workflow_version", "status",
                                      "created_at", "started_at", "finished_at", "error"}
    state = app.state(eid, 1)
    assert isinstance(state, ledgerflow.StateVersion) and state.state == {}
    (first, second) = app.routing(eid)
    assert first.candidates[0]["agent"] == first.agent and second.step_id == "shout"
    assert updates[-1].terminal and updates[-1].steps_done == updates[-1].steps_total == 2
    assert all(isinstance(r, ledgerflow.LogRecord) for r in app.logs(eid))
    assert app.metrics(eid).steps_done == 2
