"""Operator actions, committed: load an execution, apply an operator rule (``rules.actions``),
commit it under the optimistic guard (execution version + ledger head).

A guard that fails because a worker moved the execution on is retried on the fresh rows.
A guard that fails because another operator acted on it first is an
``errors.ConcurrentChange``: one wins, the other is told what happened, since its command was
based on a state that no longer holds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from ledgerflow import definition as defs
from ledgerflow import errors
from ledgerflow.clock import Clock
from ledgerflow.engine.control import editing, lookup
from ledgerflow.engine.definitions import Definitions
from ledgerflow.engine.model.graph import graph_of
from ledgerflow.engine.model.ids import new_execution_id
from ledgerflow.engine.model.lifecycle import OPERATOR_EVENTS, OperatorAction, StepStatus
from ledgerflow.engine.model.transition import Transition, text
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.rules import starting
from ledgerflow.ledger import values
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import ExecutionRow, LedgerRow, parse_column, rebuilt_version

T = TypeVar("T")
ATTEMPTS = 20  # guard failures caused by workers, retried on fresh rows


class Controller:
    def __init__(self, store: Store, definitions: Definitions, clock: Clock, actor: Actor,
                 tenant: str) -> None:
        self.store = store
        self.definitions = definitions
        self.clock = clock
        self.actor = actor
        self.tenant = tenant

    def row(self, execution_id: str) -> ExecutionRow:
        """The execution's row, by its id or an unambiguous prefix (``lookup``)."""
        return lookup.execution_row(self.store, self.tenant, execution_id)

    def view(self, execution_id: str) -> ExecutionView:
        row = self.row(execution_id)
        definition = self.definitions.get(row.tenant_id, row.workflow, row.workflow_version)
        return ExecutionView.from_rows(row, definition, self.store.load_steps(row.id),
                                       self.store.load_signals(row.id))

    def apply(self, execution_id: str, action: str, rule: Callable[[Transition], T],
              *, strict: bool = True, expected_seq: int | None = None) -> T:
        """Apply ``rule``, the operator ``action`` (an ``OperatorAction`` name), and commit
        it. ``strict``: an operator action in between is an ``errors.ConcurrentChange``
        rather than something to retry over. A guard that keeps failing is an
        ``errors.ExecutionBusy``. ``expected_seq``: act only on the execution as of that
        ledger head (an ``errors.VersionMismatch`` otherwise, also when it moves on between
        reading and committing, since the guard then fails and the retry reads the new
        head)."""
        act = OperatorAction(action)
        for _ in range(ATTEMPTS):
            view = self.view(execution_id)
            if expected_seq is not None and view.row.head_seq != expected_seq:
                raise errors.VersionMismatch(
                    f"cannot {act.verb} execution {view.id}: it is at version "
                    f"{view.row.head_seq}, not {expected_seq} as read; read it again",
                    execution_id=view.id, expected=expected_seq,
                    current_version=view.row.head_seq)
            tr = Transition.begin(view, self.clock.now(), self.actor)
            value = rule(tr)
            if not tr.changed:
                return value
            if self.store.commit([tr.build().change])[0]:
                return value
            if strict:
                self._check_operators(view, act)
        raise errors.ExecutionBusy(
            f"execution {execution_id} kept changing while trying to {act.words}; "
            "try again", execution_id=execution_id, action=act,
        )

    def _check_operators(self, seen: ExecutionView, action: OperatorAction) -> None:
        since = [e for e in self.store.load_ledger(seen.id) if e.seq > seen.row.head_seq]
        by_operator = [e for e in since if e.event_type in OPERATOR_EVENTS]
        if by_operator:
            last = by_operator[-1]
            now = self.store.load_execution(self.tenant, seen.id)
            status = now.status if now is not None else None
            raise errors.ConcurrentChange(
                f"cannot {action.verb} execution {seen.id}: it was changed at the same time "
                f"({last.event_type}, ledger seq {last.seq}) and is now {status or 'gone'}; "
                "check its status before acting again", execution_id=seen.id, action=action,
                current_status=status, seq=last.seq, event_type=last.event_type,
            )

    # forks ------------------------------------------------------------------------------
    def fork(self, execution_id: str, at_seq: int | None, input_patch: Any = None) -> str:
        """A new execution with the original's state and finished steps as of ledger entry
        ``at_seq`` (the head when None), linked both ways, recorded in both ledgers."""
        fork_id = new_execution_id()
        for _ in range(ATTEMPTS):
            view = self.view(execution_id)
            row = view.row
            seq = row.head_seq if at_seq is None else at_seq
            if not 1 <= seq <= row.head_seq:
                raise errors.NotFound(
                    f"execution {execution_id} has no ledger entry {seq} "
                    f"(entries 1..{row.head_seq})", kind="ledger entry", id=str(seq),
                    execution_id=row.id,
                )
            entries = [e for e in self.store.load_ledger(row.id) if e.seq <= seq]
            value = copy.deepcopy(view.input)
            if input_patch is not None:  # an object: anything else would replace the input
                value = editing.merge_patch(value, input_patch, instead="",
                                            what="the input patch, a JSON merge patch")
                value = values.accept(value, "input", "the forked input")
            defs.check_input(view.definition, value)
            origin = starting.Origin(
                execution_id=row.id, seq=seq, entry_hash=entries[-1].entry_hash,
                state=self._state_at(row.id, seq), steps=_steps_at(view, entries),
            )
            change = starting.new_execution(
                tenant_id=self.tenant, execution_id=fork_id,
                row=self.definitions.row(self.tenant, row.workflow, row.workflow_version),
                definition=view.definition, input=value, now=self.clock.now(),
                actor=self.actor, origin=origin,
            )
            tr = Transition.begin(view, self.clock.now(), self.actor)
            tr.record("execution.forked", from_state=tr.status, to_state=tr.status,
                      payload={"fork": fork_id, "at_seq": seq, "input_patch": input_patch})
            if all(self.store.commit([tr.build().change, change], together=True)):
                return fork_id
        raise errors.ExecutionBusy(f"execution {execution_id} kept changing while forking; "
                                   "try again", execution_id=execution_id,
                                   action=OperatorAction.FORK)

    def _state_at(self, execution_id: str, seq: int) -> Any:
        versions = [v for v in self.store.list_state_versions(execution_id) if v.seq <= seq]
        found = rebuilt_version(versions)
        return parse_column(found.state, f"state version {found.version}")


def _steps_at(view: ExecutionView,
              entries: list[LedgerRow]) -> dict[str, tuple[StepStatus, str | None]]:
    """Graph steps completed or skipped as of the last of ``entries`` (with outputs)."""
    graph = graph_of(view.definition)
    last: dict[str, LedgerRow] = {}
    for entry in entries:
        if entry.step_id in graph.steps:
            last[entry.step_id] = entry
    had: dict[str, tuple[StepStatus, str | None]] = {}
    for sid, entry in last.items():
        if entry.event_type == "step.completed":
            payload = parse_column(entry.payload, f"ledger entry {entry.seq}") or {}
            had[sid] = (StepStatus.COMPLETED, text(payload.get("output")))
        elif entry.event_type == "step.skipped":
            had[sid] = (StepStatus.SKIPPED, None)
    return had
