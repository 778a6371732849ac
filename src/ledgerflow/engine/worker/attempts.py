"""Running one attempt in a pool thread: call the agent, encode its output, time it, and hand
the ``Outcome`` to the writer's queue. Handler threads never write to the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledgerflow.clock import Clock
from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.model.lifecycle import StepStatus
from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.transition import Dispatch, text
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.worker.context import StepContext
from ledgerflow.engine.worker.events import Event, Heartbeat


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
        output, error = self._call(dispatch, context)
        output_text = "null"
        if error is None:
            try:  # here, so the writer thread never encodes an output
                output_text = text(output)
            except Exception as exc:
                output = None
                error = f"output is not JSON-serialisable ({type(exc).__name__}: {exc})"
        self._put(Outcome.of(dispatch, output=output, output_text=output_text, error=error,
                             duration_ms=(self._clock.monotonic() - started) * 1000.0))

    def _call(self, dispatch: Dispatch, context: StepContext) -> tuple[Any, str | None]:
        """The handler's output, or None and the error that ended the attempt."""
        spec = self._registry.get(dispatch.capability, dispatch.agent)
        if spec is None:
            return None, f"agent {dispatch.agent!r} is not loaded in this worker"
        try:
            return spec.handler(context, dispatch.input), None
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}"


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

    def forget(self, event: Outcome) -> StepContext | None:
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
