"""One atomic change of one execution, accumulated from a view and built into a storage
``Change`` (rows + ledger entries) plus the view that results once it commits.

Pure: no I/O. Every status change goes through ``set_step``/``set_status``, which check the
lifecycle table and add exactly one ledger event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledgerflow._frozen import evolve, evolved, maker
from ledgerflow.engine.model import lifecycle
from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.engine.model.state_texts import StateTexts
from ledgerflow.engine.model.tally import LiveTally
from ledgerflow.engine.model.timers import Timer
from ledgerflow.engine.model.view import ExecutionView, step_seen
from ledgerflow.ledger import chain, state_patches, values
from ledgerflow.ledger.canonical import format_timestamp, payload_sha256
from ledgerflow.storage.base import Change
from ledgerflow.storage.rows import (
    DecisionRow,
    LedgerRow,
    SignalRow,
    StateVersionRow,
    StepRow,
)

_STEP_STATUS = {s.value: s for s in StepStatus}
_LEDGER_ROW = maker(LedgerRow)  # a ledger row at a time, two or more a step


@dataclass(frozen=True, kw_only=True, slots=True)
class Dispatch:
    """A step attempt to hand to an agent once the change that started it has committed."""

    execution_id: str
    tenant_id: str
    workflow: str
    step_id: str
    capability: str
    agent: str
    attempt: int
    epoch: int
    input: Any
    state_text: str
    timeout: float | None
    # since when the attempt could have started (its needs done, its retry due): the
    # schedule-to-start latency is from then to now
    ready_since: str | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.execution_id}:{self.step_id}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Built:
    change: Change
    view: ExecutionView
    dispatches: tuple[Dispatch, ...]
    timers: tuple[Timer, ...]
    handoff: str | None = None  # a capability only other workers offer is needed now


# the other objects made at every step, built without their frozen ``__init__`` (``_frozen``)
_HEADER = maker(chain.ChainHeader)
_EVENT = maker(chain.EventSpec)
_STATE_VERSION = maker(StateVersionRow)
_CHANGE = maker(Change)
_VIEW = maker(ExecutionView)
_BUILT = maker(Built)


def text(value: Any, root: str = "value") -> str:
    """The text a value is stored as (``values.encode``; raises ``LedgerError`` naming the
    path from ``root`` for a value that cannot be stored)."""
    return values.encode(value, root)


def value_sha256(value: Any) -> str:
    """The SHA-256 of a value's RFC 8785 form: what the ledger records and verify checks."""
    return payload_sha256(value)


@dataclass(kw_only=True, slots=True)
class Transition:
    view: ExecutionView
    tally: LiveTally  # of the step runs as changed so far
    now: datetime
    actor: chain.Actor
    now_text: str = ""
    status: ExecutionStatus = ExecutionStatus.PENDING
    events: list[chain.EventSpec] = field(default_factory=list)
    changed_steps: dict[str, StepRow] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    state: Any = None
    state_event: int | None = None  # index in events of the event that changed the state
    state_text: str | None = None  # stored text of ``state`` once it changed
    state_sha256: str | None = None  # ... and its SHA-256
    state_texts: StateTexts | None = None  # ``state``'s member texts, when known
    result: str | None = None
    error: str | None = None
    recoveries: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    dispatches: list[Dispatch] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)
    hold: bool = False  # record outcomes but dispatch nothing new (a worker shutting down)
    new_step_ids: list[str] = field(default_factory=list)  # rows to insert (handler runs)
    signals: dict[int, SignalRow] = field(default_factory=dict)  # by seq
    new_signals: list[tuple[int, str, str]] = field(default_factory=list)  # event, name, data
    signal_updates: dict[int, SignalRow] = field(default_factory=dict)
    wake: str | None = None  # changed outside a worker: ask workers to look again
    handoff: str | None = None  # a step needs a capability only other workers offer

    @classmethod
    def begin(cls, view: ExecutionView, now: datetime, actor: chain.Actor) -> Transition:
        row = view.row
        return cls(
            view=view,
            tally=LiveTally(view.tally),
            now=now,
            actor=actor,
            now_text=format_timestamp(now),
            status=view.status,
            outputs=dict(view.outputs),
            state=view.state,
            state_texts=view.state_texts,
            result=row.result,
            error=row.error,
            recoveries=row.recoveries,
            started_at=row.started_at,
            finished_at=row.finished_at,
            signals=dict(view.signals),
        )

    # reading --------------------------------------------------------------------------
    @property
    def execution_id(self) -> str:
        return self.view.row.id

    def step(self, step_id: str) -> StepRow:
        return self.changed_steps.get(step_id) or self.view.steps[step_id]

    def step_ids(self) -> list[str]:
        """Every step run of the execution: the graph's steps, then handler runs."""
        return [*self.view.steps, *self.new_step_ids]

    def step_status(self, step_id: str) -> StepStatus:
        status = self.step(step_id).status
        return _STEP_STATUS.get(status) or StepStatus(status)

    def expression_context(self) -> dict[str, Any]:
        """``input``, ``state`` and ``steps`` (the view's steps, as changed so far) for an
        expression; only the steps changed here are looked at again. Read only."""
        steps = self.view.steps_seen()
        changed = self._changes_seen(self.view.steps)
        if changed:
            steps = {**steps, **changed}
        return {"input": self.view.input, "state": self.state, "steps": steps}

    def _changes_seen(self, among: Mapping[str, StepRow]) -> dict[str, dict[str, Any]]:
        """The changed steps in ``among`` as expressions see them (an output changes only
        with its step row, so the other steps are seen as the view saw them)."""
        return {sid: step_seen(self.outputs, row) for sid, row in self.changed_steps.items()
                if sid in among}

    @property
    def changed(self) -> bool:
        return bool(self.events)

    # writing --------------------------------------------------------------------------
    def record(
        self,
        event_type: str,
        *,
        from_state: str | None,
        to_state: str | None,
        step_id: str | None = None,
        attempt: int | None = None,
        payload: Any = None,
        payload_text: str | None = None,
        payload_canonical: str | None = None,
    ) -> int:
        """Add one ledger event; ``payload_text`` and ``payload_canonical``: the payload's
        stored and RFC 8785 texts, if known (``chain.EventSpec``)."""
        self.events.append(
            _EVENT(
                event_type=event_type,
                from_state=from_state,
                to_state=to_state,
                step_id=step_id,
                attempt=attempt,
                actor=self.actor,
                payload=payload,
                payload_text=payload_text,
                payload_canonical=payload_canonical,
            )
        )
        return len(self.events) - 1

    def set_status(self, new: ExecutionStatus, event_type: str, payload: Any = None, *,
                   payload_text: str | None = None,
                   payload_canonical: str | None = None) -> None:
        """Move the execution to ``new`` (a checked transition) with one ledger event;
        ``payload_text`` as in ``record``."""
        old = self.status
        lifecycle.check_execution(self.execution_id, old, new)
        self.status = new
        if new is ExecutionStatus.RUNNING and self.started_at is None:
            self.started_at = self.now_text
        if new.terminal:
            self.finished_at = self.now_text
        self.record(event_type, from_state=old, to_state=new, payload=payload,
                    payload_text=payload_text, payload_canonical=payload_canonical)

    def set_step(
        self,
        step_id: str,
        new: StepStatus,
        event_type: str,
        payload: Any = None,
        *,
        payload_text: str | None = None,
        payload_canonical: str | None = None,
        **fields: Any,
    ) -> int:
        """Move a step to ``new`` (a checked transition) with one ledger event; ``fields``
        are the step row's other changes, ``payload_text`` as in ``record``."""
        current = self.step(step_id)
        old = _STEP_STATUS.get(current.status) or StepStatus(current.status)
        lifecycle.check_step(self.execution_id, step_id, old, new)
        fields["status"] = str(new)
        updated = evolved(current, fields)
        self.changed_steps[step_id] = updated
        self.tally.moved(step_id, current.status, updated.status)
        return self.record(
            event_type,
            from_state=old,
            to_state=new,
            step_id=step_id,
            attempt=updated.attempt or None,
            payload=payload,
            payload_text=payload_text,
            payload_canonical=payload_canonical,
        )

    def add_step(self, row: StepRow) -> None:
        """A new step run (a signal handler's), inserted with this change."""
        self.new_step_ids.append(row.step_id)
        self.changed_steps[row.step_id] = row
        self.tally.moved(row.step_id, None, row.status)

    def receive_signal(self, name: str, data: Any, payload: Any) -> None:
        """Record a signal; its row gets the seq of the ledger entry made here."""
        index = self.record("signal.received", from_state=self.status, to_state=self.status,
                            payload=payload)
        self.new_signals.append((index, name, text(data)))

    def update_signal(self, row: SignalRow) -> None:
        self.signals[row.seq] = row
        self.signal_updates[row.seq] = row

    def set_state(self, state: Any, state_text: str, sha256: str, event_index: int,
                  texts: StateTexts | None = None) -> None:
        """A new state document, with its stored text and its RFC 8785 SHA-256 (reused
        as they are for the execution row, the state version row and the ledger), made by
        the event at ``event_index``."""
        self.state = state
        self.state_texts = texts  # None: not known (made again when next needed)
        self.state_text = state_text
        self.state_sha256 = sha256
        self.state_event = event_index

    def current_state_text(self) -> str:
        return self.state_text if self.state_text is not None else self.view.row.state

    # building -------------------------------------------------------------------------
    def build(self) -> Built:
        view = self.view
        row = view.row
        header = _HEADER(
            tenant_id=row.tenant_id,
            execution_id=row.id,
            workflow_id=row.workflow,
            workflow_version=row.workflow_version,
            definition_sha256=row.definition_sha256,
        )
        entries = chain.append(header, row.head_seq, row.head_hash, self.events, self.now,
                               _LEDGER_ROW)
        state_text, state_sha, state_version = row.state, row.state_sha256, row.state_version
        version_row: StateVersionRow | None = None
        if self.state_event is not None and self.state_text is not None \
                and self.state_sha256 is not None:
            state_text, state_sha = self.state_text, self.state_sha256
            state_version += 1
            kind, stored = state_patches.stored(
                state_version, view.state, self.state, state_text,
                None if self.state_texts is None else self.state_texts.stored)
            version_row = _STATE_VERSION(
                execution_id=row.id,
                version=state_version,
                seq=entries[self.state_event].seq,
                kind=kind,
                state=stored,
                sha256=state_sha,
                created_at=self.now_text,
            )
        new_row = evolve(
            row,
            status=str(self.status),
            result=self.result,
            error=self.error,
            state=state_text,
            state_sha256=state_sha,
            state_version=state_version,
            head_seq=entries[-1].seq if entries else row.head_seq,
            head_hash=entries[-1].entry_hash if entries else row.head_hash,
            version=row.version + 1,
            recoveries=self.recoveries,
            started_at=self.started_at,
            finished_at=self.finished_at,
            updated_at=self.now_text,
        )
        new_ids = set(self.new_step_ids)
        received = [
            SignalRow(execution_id=row.id, seq=entries[index].seq, name=name, data=data,
                      received_at=self.now_text)
            for index, name, data in self.new_signals
        ]
        change = _CHANGE(
            execution=new_row,
            expected_version=row.version,
            expected_head_hash=row.head_hash,
            new_steps=tuple(self.changed_steps[sid] for sid in self.new_step_ids),
            steps=tuple(s for sid, s in self.changed_steps.items() if sid not in new_ids),
            state_version=version_row,
            ledger=tuple(entries),
            decisions=tuple(self.decisions),
            signals=tuple(received),
            signal_updates=tuple(self.signal_updates.values()),
            wake=self.wake,
            expected_status=row.status,
        )
        steps: Mapping[str, StepRow] = {**view.steps, **self.changed_steps}
        seen = view.seen  # kept up to date once an expression asked for it
        if seen is not None:
            seen = {**seen, **self._changes_seen(self.changed_steps)}
        signals = {**self.signals, **{g.seq: g for g in received}}
        new_view = _VIEW(
            row=new_row,
            definition=view.definition,
            input=view.input,
            state=self.state,
            state_texts=self.state_texts,
            steps=steps,
            outputs=self.outputs,
            signals=signals,
            tally=self.tally.frozen(),
            seen=seen,
        )
        return _BUILT(
            change=change,
            view=new_view,
            dispatches=tuple(self.dispatches),
            timers=tuple(self.timers),
            handoff=self.handoff,
        )
