"""A bad execution fails alone: what the writer does when applying a rule to ONE execution
raises, or when a batch's commit fails because of one execution's part.

Such an execution fails with a one-line reason in its ledger (``execution.failed``), and
the worker goes on with the others. A group commit that fails is committed again change by
change, so the other executions' changes are kept; only the ones that fail alone are
failed. When even failing it cannot be built or written (a paused execution, a broken
row), it is quarantined: the worker skips it until it restarts, and says so in one log line
and in the execution's telemetry (``status`` shows it). A lost connection is never poison:
it propagates, and the worker retries the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ledgerflow import errors
from ledgerflow.clock import Clock
from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.transition import Built, Transition
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.rules import poison
from ledgerflow.engine.worker.events import Event, TimerFired
from ledgerflow.engine.worker.leases import Leases
from ledgerflow.engine.worker.loading import ViewLoader
from ledgerflow.engine.worker.telemetry import WorkerTelemetry
from ledgerflow.ledger import values
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.base import AgentWrites, Store

log = logging.getLogger("ledgerflow.worker")
Part = tuple[Event, Built, ExecutionView]
Result = Built | bool  # committed (this change), False: its guard failed, True: set aside


def unexpected(exc: BaseException) -> bool:
    """True for an error that belongs to one execution, not to the database or the
    process: not a lost connection or another error worth retrying as it is."""
    return isinstance(exc, Exception) and not getattr(exc, "retryable", False)


def step_of(event: Event) -> str | None:
    if isinstance(event, Outcome):
        return event.step_id
    if isinstance(event, TimerFired):
        return event.timer.step_id
    return None


class Poison:
    def __init__(self, store: Store, loader: ViewLoader, clock: Clock, actor: Actor,
                 leases: Leases, telemetry: WorkerTelemetry) -> None:
        self._store = store
        self._loader = loader
        self._clock = clock
        self._actor = actor
        self._guard = leases.guard
        self._telemetry = telemetry

    def failing(self, event: Event, exc: BaseException, doing: str) -> list[Part]:
        """The change that fails ``event``'s execution because ``doing`` raised ``exc``
        (built from the stored execution), or none once it is quarantined instead."""
        if not unexpected(exc):
            raise exc
        execution_id = event.execution_id
        reason = _reason(exc, doing)
        if isinstance(exc, errors.CorruptedRow):  # failing it would write on a broken row
            self.quarantine(execution_id, reason)
            return []
        log.error("execution %s fails: %s", execution_id, reason)
        try:
            view = self._loader.load(execution_id)
            if view is None or view.status.terminal:
                return []
            tr = Transition.begin(view, self._clock.now(), self._actor)
            poison.fail_execution(tr, reason, step_of(event))
            return [(event, tr.build(), view)]
        except errors.ConnectionLost:
            raise
        except Exception as again:
            self.quarantine(execution_id, _unwritable(reason, again))
            return []

    def quarantine(self, execution_id: str, reason: str) -> None:
        self._loader.quarantine(execution_id, reason)
        self._telemetry.quarantined(execution_id, reason)

    def commit(self, parts: Sequence[Part], agents: AgentWrites | None) -> list[Result]:
        """Commit the changes of ``parts`` in one transaction (group commit), or, when that
        fails because of some of them, apart (``commit_apart``)."""
        changes = [self._guard(built.change, built.view.id) for _, built, _ in parts]
        try:
            committed = self._store.commit(changes, agents=agents)
        except Exception as exc:
            if not unexpected(exc):
                raise
            return self.commit_apart(parts, agents, exc)
        return [built if ok else False for (_, built, _), ok in zip(parts, committed,
                                                                     strict=True)]

    def commit_apart(self, parts: Sequence[Part], agents: AgentWrites | None,
                     exc: BaseException) -> list[Result]:
        """The batch ``parts`` failed with ``exc``: commit each change alone; one that
        fails alone fails its execution. Raises ``exc`` when every change fails alone
        (then it is the database, not an execution)."""
        log.warning("a batch of %d change(s) failed (%s); committing them one by one",
                    len(parts), values.describe(exc))
        results: list[Result | BaseException] = []
        for _, built, _ in parts:
            try:
                results.append(self._commit(built, agents))
                agents = None  # written once, with the first change that commits
            except errors.ConnectionLost:
                raise
            except Exception as alone:
                results.append(alone)
        if len(parts) > 1 and all(isinstance(r, BaseException) for r in results):
            raise exc
        return [self._fail(part, r) if isinstance(r, BaseException) else r
                for part, r in zip(parts, results, strict=True)]

    def _commit(self, built: Built, agents: AgentWrites | None) -> Result:
        change = self._guard(built.change, built.view.id)
        [ok] = self._store.commit([change], agents=agents)
        return built if ok else False

    def _fail(self, part: Part, exc: BaseException) -> Result:
        event = part[0]
        doing = "write the change of"
        failing = self.failing(event, exc, doing)
        if not failing:
            return True
        try:
            return self._commit(failing[0][1], None)
        except errors.ConnectionLost:
            raise
        except Exception as again:
            self.quarantine(event.execution_id, _unwritable(_reason(exc, doing), again))
            return True


def _reason(exc: BaseException, doing: str) -> str:
    return f"the worker could not {doing} it: {values.describe(exc)}"


def _unwritable(reason: str, again: BaseException) -> str:
    return f"{reason}; failing it did not work either: {values.describe(again)}"
