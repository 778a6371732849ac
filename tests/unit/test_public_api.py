"""The public API is a tested list: adding or removing a name is a deliberate change."""

from __future__ import annotations

import ledgerflow


def test_all_is_exactly_the_public_api() -> None:
    assert sorted(ledgerflow.__all__) == [
        "Actor", "AgentInfo", "AgentRegistry", "App", "Applied", "BreakerTransition",
        "CleanupReport", "CopyReport", "Definition", "DefinitionInfo", "ExecutionReport",
        "ExecutionStatus", "ExecutionSummary", "ExecutionUpdate", "HistoryEntry",
        "LedgerflowError", "Listing", "LogRecord", "Metrics", "Prometheus", "Recalculated",
        "RoutingDecision",
        "StateVersion", "StepContext", "StepStatus", "Store", "Tombstone", "VerifyResult",
        "Worker", "WorkerInfo", "WorkerReport", "WorkflowBuilder", "__version__", "agent",
        "copy_deployment", "errors", "load_agents", "open_store",
    ]
    for name in ledgerflow.__all__:
        assert hasattr(ledgerflow, name), name


def test_builder_definition_runs_like_yaml(tmp_path: object) -> None:
    wf = (ledgerflow.WorkflowBuilder("built")
          .step("one", agent="t.one", input={"x": "${input.x}"}, output="one")
          .step("two", agent="t.one", needs=["one"], when="input.x > 1")
          .build())
    app = ledgerflow.App(f"sqlite:///{tmp_path}/b.db")
    app.agent("t.one")(lambda ctx, data: data)
    try:
        app.apply(wf)
        eid = app.start("built", {"x": 1})
        app.run_until_idle()
        report = app.status(eid)
        assert report.status == "completed"
        assert [s.status for s in report.steps] == ["completed", "skipped"]
    finally:
        app.close()
