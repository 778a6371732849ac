"""Running one attempt in a pool thread: call the agent, time it, and hand the outcome to
the writer's queue. Handler threads never write to the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledgerflow.clock import Clock
from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.model.lifecycle import StepStatus
from ledgerflow.engine.model.transition import Dispatch, text
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.worker.context import StepContext
from ledgerflow.engine.worker.events import Completed, Event, Heartbeat


class AttemptRunner:
    def __init__(self, registry: AgentRegistry, put: Callable[[Event], None],
                 clock: Clock) -> None:
        self._registry = registry
        self._put = put
        self._clock = clock

    def heartbeat(self, dispatch: Dispatch, details: Any) -> None:
        """``ctx.heartbeat``: never blocks, the writer records it."""
        self._put(Heartbeat(execution_id=dispatch.execution_id, step_id=dispatch.step_id,
                            epoch=dispatch.epoch, details=details,
                            at=self._clock.now().timestamp()))

    def run(self, dispatch: Dispatch, context: StepContext) -> None:
        started = self._clock.monotonic()
        outcome = self._call(dispatch, context)
        self._put(Completed(execution_id=dispatch.execution_id, step_id=dispatch.step_id,
                            epoch=dispatch.epoch, capability=dispatch.capability,
                            agent=dispatch.agent,
                            duration_ms=(self._clock.monotonic() - started) * 1000.0, **outcome))

    def _call(self, dispatch: Dispatch, context: StepContext) -> dict[str, Any]:
        spec = self._registry.get(dispatch.capability, dispatch.agent)
        if spec is None:
            return {"error": f"agent {dispatch.agent!r} is not loaded in this worker"}
        try:
            output = spec.handler(context, dispatch.input)
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
        try:
            return {"output": output, "output_text": text(output)}
        except Exception as exc:
            return {"error": f"output is not JSON-serialisable ({type(exc).__name__}: {exc})"}


class RunningAttempts:
    """The contexts of the attempts running in this worker, by execution and (step, epoch)."""

    def __init__(self) -> None:
        self._by_execution: dict[str, dict[tuple[str, int], StepContext]] = {}

    def add(self, dispatch: Dispatch, context: StepContext) -> None:
        self._by_execution.setdefault(dispatch.execution_id, {})[
            (dispatch.step_id, dispatch.epoch)] = context

    def get(self, execution_id: str, step_id: str, epoch: int) -> StepContext | None:
        return self._by_execution.get(execution_id, {}).get((step_id, epoch))

    def keys(self, execution_id: str) -> set[tuple[str, int]]:
        return set(self._by_execution.get(execution_id, {}))

    def forget(self, event: Completed) -> StepContext | None:
        """The attempt's context, removed (None if it was already: a requeued event)."""
        running = self._by_execution.get(event.execution_id)
        if running is None:
            return None
        context = running.pop((event.step_id, event.epoch), None)
        if not running:
            del self._by_execution[event.execution_id]
        return context

    def cancel_stale(self, execution_id: str, view: ExecutionView | None) -> None:
        """Tell running handlers whose attempt is no longer current (the execution was
        cancelled, expired, reset or lost to another worker) through ``ctx.cancelled``."""
        for (sid, epoch), context in self._by_execution.get(execution_id, {}).items():
            row = view.steps.get(sid) if view is not None else None
            if row is None or row.status != StepStatus.RUNNING or row.epoch != epoch:
                context.cancel()
