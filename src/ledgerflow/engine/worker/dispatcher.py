"""The handler threads of one worker, behind its slots and admission queue (``admission``).

A step is routed, recorded ``running`` and handed to a handler only when a slot is free (of
its capability too, where the worker limits it); a batch that frees slots (an outcome, a
timeout) admits queued executions in the same transaction. So breakers and statistics act
on the next step, not on a batch routed long before a handler could run it.

Handlers run on the worker's daemon threads (``threads``, reused between attempts) or,
for ``async def`` handlers, as tasks on one event loop thread owned by the worker. An
attempt past its timeout gives its slot back at once and is told through
``ctx.cancelled`` (an async one is cancelled); a thread that ignores it cannot be stopped,
but being a daemon it never keeps the process from exiting. Until it returns it is
reported stuck: in the log, and with the worker's heartbeats (``ledgerflow workers``
lists it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.transition import Dispatch
from ledgerflow.engine.worker.admission import Slots
from ledgerflow.engine.worker.asyncloop import EventLoopThread, is_async
from ledgerflow.engine.worker.attempts import AttemptRunner, RunningAttempts
from ledgerflow.engine.worker.context import StepContext
from ledgerflow.engine.worker.threads import HandlerThreads
from ledgerflow.ledger.canonical import format_timestamp

log = logging.getLogger("ledgerflow.worker")


@dataclass(frozen=True, kw_only=True, slots=True)
class Abandoned:
    """An attempt whose timeout passed while its handler still ran: its slot was given back;
    its thread, until it returns, is reported stuck (the log, the heartbeats)."""

    execution_id: str
    step_id: str
    epoch: int
    agent: str
    since: str  # when it timed out

    def to_dict(self) -> dict[str, str]:
        return {"execution": self.execution_id, "step": self.step_id, "agent": self.agent,
                "since": self.since}


class Dispatcher(Slots):
    """Slots, admission and handlers for the writer thread; only ``start`` and the
    runner's results touch other threads."""

    def __init__(self, registry: AgentRegistry, runner: AttemptRunner, concurrency: int,
                 limits: Mapping[str, int]) -> None:
        super().__init__(concurrency, limits)
        self._registry = registry
        self._runner = runner
        self.attempts = RunningAttempts()
        self.abandoned: dict[tuple[str, str, int], Abandoned] = {}
        self._tasks: dict[tuple[str, str, int], Future[None]] = {}
        self._loop: EventLoopThread | None = None
        self._threads = HandlerThreads()

    # running handlers -----------------------------------------------------------------
    def start(self, dispatch: Dispatch, context: StepContext) -> None:
        """Hand a committed dispatch to its handler: a daemon thread, or the event loop."""
        self.take(dispatch.capability)
        self.attempts.add(dispatch, context)
        spec = self._registry.get(dispatch.capability, dispatch.agent)
        key = (dispatch.execution_id, dispatch.step_id, dispatch.epoch)
        if spec is not None and is_async(spec.handler):
            if self._loop is None:
                self._loop = EventLoopThread()
            task = self._loop.submit(self._runner.run_async(dispatch, context, spec.handler))
            self._tasks[key] = task
            # cancelled before it began, a task never reports: say it ended
            task.add_done_callback(lambda done: self._runner.cancelled(dispatch)
                                   if done.cancelled() else None)
            context.on_cancel(lambda: self._loop.cancel(task) if self._loop else None)
            return
        self._threads.submit(self._runner.run, dispatch, context)

    def finished(self, outcome: Outcome) -> bool:
        """An attempt's result arrived: True (and its slot is free) the first time; False
        for an attempt already given up (timed out) or a requeued event."""
        key = (outcome.execution_id, outcome.step_id, outcome.epoch)
        self._tasks.pop(key, None)
        late = self.abandoned.pop(key, None)
        if late is not None:
            log.info("the handler of step %s of execution %s (agent %s) returned after its "
                     "timeout; its result was not recorded", late.step_id,
                     late.execution_id, late.agent)
        context = self.attempts.forget(outcome)
        if context is None:
            return False
        self.give_back(context.capability)
        return True

    def give_up(self, execution_id: str, step_id: str, epoch: int,
                now: datetime) -> StepContext | None:
        """The attempt's timeout passed: its slot is free at once, it is told through
        ``ctx.cancelled`` (an async one is cancelled), and it is reported until it returns.
        None if it was not running here."""
        context = self.attempts.pop(execution_id, step_id, epoch)
        if context is None:
            return None
        self.give_back(context.capability)
        context.cancel()
        key = (execution_id, step_id, epoch)
        if key not in self._tasks:  # a task ends when cancelled; a thread may never end
            self.abandoned[key] = Abandoned(execution_id=execution_id, step_id=step_id,
                                            epoch=epoch, agent=context.agent,
                                            since=format_timestamp(now))
            log.warning("step %s of execution %s (agent %s) timed out; its handler thread "
                        "is still running and cannot be stopped: its slot is given back and "
                        "it was told through ctx.cancelled", step_id, execution_id,
                        context.agent)
        return context

    def stuck(self) -> list[dict[str, str]]:
        """The handlers past their timeout still running, as the heartbeat publishes them."""
        return [late.to_dict() for late in self.abandoned.values()]

    def close(self) -> None:
        """End the idle handler threads and stop the event loop; handler threads still
        running are left to die with the process (they are daemon threads)."""
        for late in self.abandoned.values():
            log.warning("exiting while the handler of step %s of execution %s (agent %s) "
                        "still runs after its timeout", late.step_id, late.execution_id,
                        late.agent)
        self._threads.close()
        if self._loop is not None:
            self._loop.close()
            self._loop = None

