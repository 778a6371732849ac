"""What a committed change adds to the Prometheus counters (``telemetry.metrics``): its
ledger entries, the executions it ended, the step attempts it finished, the retries it
scheduled, the routing decisions it made. Read from the change itself, after its commit,
so a counter never counts what did not happen."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ledgerflow.engine.model.transition import Built

if TYPE_CHECKING:
    from ledgerflow.telemetry.metrics import Prometheus

ENDINGS = {"execution.completed": "completed", "execution.failed": "failed",
           "execution.cancelled": "cancelled", "execution.expired": "expired"}
ATTEMPT_ENDS = {"completed", "failed"}  # a step row's status once its attempt ended
RETRY = "step.retry_scheduled"


def _seconds(start: str | None, end: str | None) -> float | None:
    if start is None or end is None:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


class Counted:
    def __init__(self, metrics: Prometheus) -> None:
        self.metrics = metrics

    def committed(self, result: Built) -> None:
        m = self.metrics
        change = result.change
        row = change.execution
        workflow = row.workflow
        agents = {s.step_id: s.agent or "-" for s in change.steps}
        for entry in change.ledger:
            event = entry.event_type
            m.ledger_entries.labels(event).inc()
            ended = ENDINGS.get(event)
            if ended is not None:
                m.executions_finished.labels(workflow, ended).inc()
                took = _seconds(row.created_at, row.finished_at or entry.occurred_at)
                if took is not None:
                    m.execution_duration.labels(workflow, ended).observe(max(took, 0.0))
            elif event == "execution.started":
                m.executions_started.labels(workflow).inc()
            elif event == "execution.recovered":
                m.recovered.inc()
            elif event == RETRY:  # an attempt failed; another follows
                agent = agents.get(entry.step_id or "", "-")
                m.step_retries.labels(agent).inc()
                m.steps_finished.labels(workflow, agent, "failed").inc()
            elif event == "step.completed" or event == "step.failed":
                outcome = "completed" if event == "step.completed" else "failed"
                agent = agents.get(entry.step_id or "", "-")
                m.steps_finished.labels(workflow, agent, outcome).inc()
                step = next((s for s in change.steps if s.step_id == entry.step_id), None)
                took = None if step is None else _seconds(step.started_at, step.finished_at)
                if took is not None:
                    m.step_duration.labels(agent, outcome).observe(max(took, 0.0))
        for d in change.decisions:
            m.routing_decisions.labels(d.capability, d.agent).inc()
        for started in result.dispatches:
            waited = _seconds(started.ready_since, row.updated_at)
            if waited is not None:
                m.schedule_to_start.labels(started.capability).observe(max(waited, 0.0))

    def batch(self, backend: str, size: int, seconds: float) -> None:
        self.metrics.commit_seconds.labels(backend).observe(seconds)
        self.metrics.batch_size.labels(backend).observe(size)
