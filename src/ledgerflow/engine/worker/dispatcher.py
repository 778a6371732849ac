"""Handler slots, the admission queue and the handler threads of one worker.

A step is routed, recorded ``running`` and handed to a handler only when one of the worker's
``concurrency`` slots is free. While none is, the rules leave it ``pending`` (ready) and its
execution waits in the admission queue, first come first served; a batch that frees slots
(an outcome, a timeout) admits queued executions in the same transaction. So breakers and
statistics act on the next step, not on a batch routed long before a handler could run it.

Handlers run on daemon threads (one per attempt) or, for ``async def`` handlers, as tasks on
one event loop thread owned by the worker. An attempt past its timeout gives its slot back
at once and is told through ``ctx.cancelled`` (an async one is cancelled); a thread that
ignores it cannot be stopped, but being a daemon it never keeps the process from exiting.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.transition import Dispatch
from ledgerflow.engine.rules.dispatching import Choice, Chooser
from ledgerflow.engine.worker.asyncloop import EventLoopThread, is_async
from ledgerflow.engine.worker.attempts import AttemptRunner, RunningAttempts
from ledgerflow.engine.worker.context import StepContext

log = logging.getLogger("ledgerflow.worker")
QUEUED = Choice(agent=None, candidates=(), reason="waiting for a free handler slot",
                queued=True)


def queue_all(capability: str, avoid: str | None = None) -> Choice:
    """A chooser that admits nothing: every runnable step waits for the writer's admission
    (used off the writer thread, where slots cannot be taken)."""
    return QUEUED


@dataclass(frozen=True, kw_only=True, slots=True)
class Abandoned:
    """An attempt whose timeout passed while its handler still ran: its slot was given back;
    its thread (if it never returns) is reported until the worker exits."""

    execution_id: str
    step_id: str
    epoch: int
    agent: str
    since: float  # monotonic seconds of the timeout


class Dispatcher:
    """Slots and admission for the writer thread; only ``start`` and the runner's results
    touch other threads."""

    def __init__(self, registry: AgentRegistry, runner: AttemptRunner, concurrency: int) -> None:
        self._registry = registry
        self._runner = runner
        self.concurrency = concurrency
        self.inflight = 0  # attempts holding a slot
        self.reserved = 0  # slots taken by dispatches of the batch being built
        self.attempts = RunningAttempts()
        self.abandoned: dict[tuple[str, str, int], Abandoned] = {}
        self._queue: dict[str, None] = {}  # executions with steps waiting for a slot, in order
        self._current: str | None = None  # the execution whose rule is being applied
        self._tasks: dict[tuple[str, str, int], Future[None]] = {}
        self._loop: EventLoopThread | None = None

    # admission ------------------------------------------------------------------------
    @property
    def free(self) -> int:
        return self.concurrency - self.inflight - self.reserved

    def gate(self, choose: Chooser) -> Chooser:
        """``choose`` behind the slots: a step is routed only while a slot is free (the slot
        is reserved for the batch); otherwise its execution joins the admission queue."""

        def admitted(capability: str, avoid: str | None = None) -> Choice | None:
            if self.free <= 0:
                if self._current is not None:
                    self._queue[self._current] = None
                return QUEUED
            choice = choose(capability, avoid)
            if choice is not None and choice.agent is not None:
                self.reserved += 1
            return choice

        return admitted

    def applying(self, execution_id: str | None) -> None:
        """Name the execution whose rule runs next (its refused steps queue it)."""
        self._current = execution_id

    def enqueue(self, execution_id: str) -> None:
        self._queue[execution_id] = None

    def next_admission(self) -> str | None:
        """The execution queued longest, taken off the queue, while a slot is free."""
        if self.free <= 0 or not self._queue:
            return None
        execution_id = next(iter(self._queue))
        del self._queue[execution_id]
        return execution_id

    def requeue_first(self, execution_id: str) -> None:
        """An admission that found no slot after all keeps its place at the front."""
        self._queue = {execution_id: None, **self._queue}

    def forget(self, execution_id: str) -> None:
        self._queue.pop(execution_id, None)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def clear_queue(self) -> None:
        self._queue.clear()

    # running handlers -----------------------------------------------------------------
    def start(self, dispatch: Dispatch, context: StepContext) -> None:
        """Hand a committed dispatch to its handler: a daemon thread, or the event loop."""
        self.inflight += 1
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
        threading.Thread(target=self._runner.run, args=(dispatch, context), daemon=True,
                         name=f"ledgerflow-step-{dispatch.step_id}").start()

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
        if self.attempts.forget(outcome) is None:
            return False
        self.inflight -= 1
        return True

    def give_up(self, execution_id: str, step_id: str, epoch: int,
                now: float) -> StepContext | None:
        """The attempt's timeout passed: its slot is free at once, it is told through
        ``ctx.cancelled`` (an async one is cancelled), and it is reported until it returns.
        None if it was not running here."""
        context = self.attempts.pop(execution_id, step_id, epoch)
        if context is None:
            return None
        self.inflight -= 1
        context.cancel()
        key = (execution_id, step_id, epoch)
        if key not in self._tasks:  # a task ends when cancelled; a thread may never end
            self.abandoned[key] = Abandoned(execution_id=execution_id, step_id=step_id,
                                            epoch=epoch, agent=context.agent, since=now)
            log.warning("step %s of execution %s (agent %s) timed out; its handler thread "
                        "is still running and cannot be stopped: its slot is given back and "
                        "it was told through ctx.cancelled", step_id, execution_id,
                        context.agent)
        return context

    def stuck(self) -> list[Abandoned]:
        return list(self.abandoned.values())

    def close(self) -> None:
        """Stop the event loop; handler threads still running are left to die with the
        process (they are daemon threads)."""
        for late in self.abandoned.values():
            log.warning("exiting while the handler of step %s of execution %s (agent %s) "
                        "still runs after its timeout", late.step_id, late.execution_id,
                        late.agent)
        if self._loop is not None:
            self._loop.close()
            self._loop = None

