"""Running one attempt in a handler thread (or, for an ``async def`` handler, as a task on the
worker's event loop): call the agent, check and encode its output, time it, and hand the
``Outcome`` to the writer's queue. Handlers never write to the database.

Whatever a handler does ends its attempt only: any exception (``KeyboardInterrupt``,
``SystemExit`` and other ``BaseException`` included) or an output the ledger cannot hold
fails the attempt with a one-line reason, and its slot is given back like any other."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from ledgerflow import errors
from ledgerflow.clock import Clock
from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.model.lifecycle import StepStatus
from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.transition import Dispatch
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.worker.context import StepContext
from ledgerflow.engine.worker.events import Event, Heartbeat
from ledgerflow.ledger import canonical, values


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
        self._finish(dispatch, started, output, error)

    async def run_async(self, dispatch: Dispatch, context: StepContext,
                        handler: Callable[[Any, Any], Any]) -> None:
        """Await an ``async def`` handler on the worker's event loop. A cancelled task (its
        attempt timed out or is no longer wanted) ends the attempt as failed."""
        started = self._clock.monotonic()
        output: Any = None
        error: str | None = None
        try:
            output = await handler(context, dispatch.input)
        except asyncio.CancelledError:
            error = "cancelled: the attempt timed out or is no longer wanted"
        except BaseException as exc:
            error = values.describe(exc)
        self._finish(dispatch, started, output, error)

    def cancelled(self, dispatch: Dispatch) -> None:
        """An async attempt's task was cancelled (a second report of it is ignored)."""
        self._put(Outcome.of(dispatch, error="cancelled: the attempt timed out or is no "
                             "longer wanted"))

    def _finish(self, dispatch: Dispatch, started: float, output: Any,
                error: str | None) -> None:
        output_text = output_canonical = "null"
        if error is None:
            output, output_text, output_canonical, error = _stored(output)
        self._put(Outcome.of(dispatch, output=output, output_text=output_text,
                             output_canonical=output_canonical, error=error,
                             duration_ms=(self._clock.monotonic() - started) * 1000.0))

    def _call(self, dispatch: Dispatch, context: StepContext) -> tuple[Any, str | None]:
        """The handler's output, or None and the error that ended the attempt."""
        spec = self._registry.get(dispatch.capability, dispatch.agent)
        if spec is None:
            return None, f"agent {dispatch.agent!r} is not loaded in this worker"
        try:
            output = spec.handler(context, dispatch.input)
        except BaseException as exc:
            return None, values.describe(exc)
        if inspect.isawaitable(output):  # e.g. a plain function returning a coroutine
            if inspect.iscoroutine(output):
                output.close()  # never awaited: no warning at exit
            return None, ("the handler returned an awaitable; declare it with `async def` "
                          "so the worker awaits it on its event loop")
        return output, None


def _stored(output: Any) -> tuple[Any, str, str, str | None]:
    """The output as it will be read back once stored (decoded from its stored text: the
    handler may keep and change the object it returned, and a reloaded execution sees the
    same), that text, its RFC 8785 text, or the reason it cannot be stored. Encoded here,
    so the writer thread never encodes an output."""
    try:
        output, output_text = values.settle(output, "output")
        return output, output_text, canonical.canonical_text(output), None
    except errors.UnstorableValue as exc:
        error = exc.reason
    except BaseException as exc:
        error = f"output could not be encoded: {values.describe(exc)}"
    return None, "null", "null", f"the output cannot be stored: {error}"


class RunningAttempts:
    """The contexts of the attempts running in this worker, by execution and (step, epoch)."""

    def __init__(self) -> None:
        self._by_execution: dict[str, dict[tuple[str, int], StepContext]] = {}

    def add(self, dispatch: Dispatch, context: StepContext) -> None:
        self._by_execution.setdefault(dispatch.execution_id, {})[
            (dispatch.step_id, dispatch.epoch)] = context

    def get(self, execution_id: str, step_id: str, epoch: int) -> StepContext | None:
        return self._by_execution.get(execution_id, {}).get((step_id, epoch))

    def pop(self, execution_id: str, step_id: str, epoch: int) -> StepContext | None:
        running = self._by_execution.get(execution_id)
        if running is None:
            return None
        context = running.pop((step_id, epoch), None)
        if not running:
            del self._by_execution[execution_id]
        return context

    def keys(self, execution_id: str) -> set[tuple[str, int]]:
        return set(self._by_execution.get(execution_id, {}))

    def forget(self, event: Outcome) -> StepContext | None:
        """The attempt's context, removed (None if it was already: a requeued event)."""
        return self.pop(event.execution_id, event.step_id, event.epoch)

    def cancel_stale(self, execution_id: str, view: ExecutionView | None) -> None:
        """Tell running handlers whose attempt is no longer current (the execution was
        cancelled, expired, reset or lost to another worker) through ``ctx.cancelled``."""
        for (sid, epoch), context in self._by_execution.get(execution_id, {}).items():
            row = view.steps.get(sid) if view is not None else None
            if row is None or row.status != StepStatus.RUNNING or row.epoch != epoch:
                context.cancel()
