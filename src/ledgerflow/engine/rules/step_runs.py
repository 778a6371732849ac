"""What happens to one step run, whatever its kind: it begins, records its output, fails
an attempt or fails at once, takes a signal. Pure rules over a ``Transition``.

These only record; none of them moves the graph on. ``rules.flow`` wraps them
(``complete_step``, ``fail_attempt``) to advance after an outcome, and the step kinds
(``rules.kinds``) use them directly, so the kinds sit below the graph rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ledgerflow._frozen import maker
from ledgerflow.definition.model import OutputMode, OutputTarget, Step
from ledgerflow.engine.model import timers
from ledgerflow.engine.model.graph import graph_of
from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.engine.model.state_texts import StateTexts
from ledgerflow.engine.model.timers import Timer, TimerKind
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.rules import signals
from ledgerflow.ledger import canonical, values
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.rows import SignalRow, StepRow, parse_column

E = ExecutionStatus
S = StepStatus
_TIMER = maker(Timer)  # a timer or two at most steps, made without the frozen ``__init__``
LIVE = frozenset({E.RUNNING, E.WAITING})  # steps may be dispatched
RECORDING = LIVE | {E.PAUSED}  # outcomes of running steps are recorded


def step_spec(tr: Transition, step_id: str) -> Step:
    """The definition of a step run: a graph step, or a signal handler's run."""
    found = graph_of(tr.view.definition).steps.get(step_id)
    return found if found is not None else signals.spec(tr.view.definition, step_id)


def arm(tr: Transition, kind: TimerKind, step_id: str, epoch: int, due: datetime) -> None:
    """Ask to be woken at ``due`` about attempt ``epoch`` of a step."""
    tr.timers.append(_TIMER(due=due, execution_id=tr.execution_id, step_id=step_id,
                            epoch=epoch, kind=kind))


def begin_run(tr: Transition, step: Step, event: str, deadline: datetime | None,
              payload: dict[str, Any]) -> StepRow:
    """A step that runs without an agent starts its next attempt; its ``deadline`` is
    stored in ``ready_at`` (and in the event as ``until``) so it survives restarts."""
    row = tr.step(step.id)
    deadline_text = format_timestamp(deadline) if deadline is not None else None
    tr.set_step(step.id, S.RUNNING, event, {**payload, "until": deadline_text},
                attempt=row.attempt + 1, epoch=row.epoch + 1, agent=None,
                started_at=tr.now_text, ready_at=deadline_text, finished_at=None)
    return tr.step(step.id)


def current(tr: Transition, step_id: str, epoch: int) -> bool:
    """Whether attempt ``epoch`` of a step is the one running and its outcome counts."""
    row = tr.step(step_id)
    return row.status == S.RUNNING and row.epoch == epoch and tr.status in RECORDING


def record_output(tr: Transition, step_id: str, epoch: int, output: Any,
                  output_text: str, output_canonical: str | None = None) -> bool:
    """Record a step's output (as read back from ``output_text``, its stored text) and its
    ``output`` target's new state document, reusing ``output_text`` and the RFC 8785 text
    ``output_canonical`` (made here unless given) as they are for the step row, the ledger
    payload and the state document. False (nothing recorded) if the attempt is not
    current."""
    if not current(tr, step_id, epoch):
        return False
    step = step_spec(tr, step_id)
    tr.outputs[step_id] = output
    if output_canonical is None:
        output_canonical = canonical.canonical_text(output)
    payload: dict[str, Any] = {"output": output}
    stored = {"output": output_text}  # the payload's texts, member by member
    hashed = {"output": output_canonical}
    new_state = None
    texts = None
    if step.output is not None:
        new_state = apply_output(tr.state, step.output, output)
        texts = _member_texts(tr, step.output, new_state, output, output_text,
                              output_canonical)
        state_text = texts.stored_text()
        state_sha = canonical.sha256_hex(texts.canonical_text().encode("utf-8"))
        if len(state_text) > values.MAX_BYTES:  # too large: encoded whole, which names it
            texts = None
            template = _template(tr.state, step.output, output)
            state_text = _spliced(template, values.encode, output_text, new_state)
            state_sha = canonical.sha256_hex(_spliced(
                template, canonical.canonical_text, output_canonical, new_state).encode("utf-8"))
        version = tr.view.row.state_version + 1
        payload.update(state_version=version, state_sha256=state_sha)
        members = {"state_version": str(version),
                   "state_sha256": canonical.encode_string(state_sha)}
        stored.update(members)
        hashed.update(members)
    index = tr.set_step(
        step_id, S.COMPLETED, "step.completed", payload,
        payload_text=values.object_text(stored),
        payload_canonical=canonical.object_text(hashed),
        output=output_text, error=None, finished_at=tr.now_text, ready_at=None,
    )
    if new_state is not None:
        tr.set_state(new_state, state_text, state_sha, index, texts)
    return True


def _member_texts(tr: Transition, target: OutputTarget, new_state: dict[str, Any],
                  output: Any, output_text: str, output_canonical: str) -> StateTexts:
    """The member texts of ``new_state``, where ``target`` changed one top-level member
    (the old members' texts known, or made now, once: a worker carries them from step to
    step; a state that was no object had none)."""
    if tr.state_texts is not None:
        texts = tr.state_texts
    else:
        texts = StateTexts.of(tr.state if isinstance(tr.state, dict) else {})
    key = target.path[0]
    if len(target.path) == 1 and target.mode is OutputMode.SET:
        return texts.with_member(key, output_text, output_canonical)
    # deeper, appended or merged: that member's text, the output's reused where it sits
    member = new_state[key]
    template = _template(tr.state, target, output)
    holder = None if template is None else template[key]
    return texts.with_member(
        key, _spliced(holder, values.encode, output_text, member),
        _spliced(holder, canonical.canonical_text, output_canonical, member))


def _template(state: Any, target: OutputTarget, output: Any) -> Any:
    """``state`` with ``canonical.SLOT`` where ``output`` sits whole at ``target``, or None
    for a mapping merged member by member (encoded again whole)."""
    if target.mode is OutputMode.MERGE and isinstance(output, dict):
        return None
    return apply_output(state, target, canonical.SLOT)


def _spliced(template: Any, encoder: Callable[[Any], str], part: str, new_state: Any) -> str:
    """The text of ``new_state`` by ``encoder``, with ``part`` (the output's known text)
    in place of the template's slot when there is one."""
    spliced = None if template is None else canonical.splice_text(encoder(template), part)
    return spliced if spliced is not None else encoder(new_state)


def record_failure(tr: Transition, step_id: str, epoch: int, error: str) -> bool:
    """An attempt failed (raised, timed out): schedule the next one after the policy's
    backoff while attempts remain, else the step fails. False if the attempt is not
    current."""
    if not current(tr, step_id, epoch):
        return False
    row = tr.step(step_id)
    step = step_spec(tr, step_id)
    if row.attempt < step.retry.max_attempts:
        try:
            delay: float | None = step.retry.delay_before(row.attempt + 1)
        except OverflowError:  # an exponential backoff past any float
            delay = None
        due = None if delay is None else timers.due_after(tr.now, delay)
        if due is None:
            fail_now(tr, step_id, f"{error} (not retried: its backoff before attempt "
                     f"{row.attempt + 1} is longer than a timer can wait)")
            return True
        due_text = format_timestamp(due)
        tr.set_step(
            step_id, S.PENDING, "step.retry_scheduled",
            {"error": error, "retry_at": due_text, "next_attempt": row.attempt + 1},
            error=error, ready_at=due_text,
        )
        arm(tr, TimerKind.RETRY, step_id, row.epoch, due)
    else:
        fail_now(tr, step_id, error)
    return True


def fail_now(tr: Transition, step_id: str, error: str) -> None:
    """The step fails without a retry (a bad definition at run time, a broken input)."""
    tr.set_step(step_id, S.FAILED, "step.failed", {"error": error},
                error=error, finished_at=tr.now_text)


def first_unconsumed(tr: Transition, name: str) -> SignalRow | None:
    """The oldest signal called ``name`` no step has taken yet."""
    for seq in sorted(tr.signals):
        signal = tr.signals[seq]
        if signal.name == name and signal.consumed_by is None:
            return signal
    return None


def consume(tr: Transition, step_id: str, signal: SignalRow) -> bool:
    """A running step takes a signal: the signal is marked consumed and the step completes
    with its data. False if the step's attempt was not current (nothing completed)."""
    tr.update_signal(replace(signal, consumed_by=step_id, consumed_at=tr.now_text))
    data = parse_column(signal.data, f"data of signal {signal.seq}")
    return record_output(tr, step_id, tr.step(step_id).epoch, data, signal.data)


def apply_output(state: Any, target: OutputTarget, output: Any) -> Any:
    """A new state document with ``output`` placed at ``target`` (the old one is untouched)."""
    root: dict[str, Any] = dict(state) if isinstance(state, dict) else {}
    node = root
    for key in target.path[:-1]:
        child = node.get(key)
        node[key] = dict(child) if isinstance(child, dict) else {}
        node = node[key]
    last = target.path[-1]
    if target.mode is OutputMode.SET:
        node[last] = output
    elif target.mode is OutputMode.APPEND:
        existing = node.get(last)
        node[last] = [*(existing if isinstance(existing, list) else []), output]
    else:
        existing = node.get(last)
        merged = dict(existing) if isinstance(existing, dict) else {}
        if isinstance(output, dict):
            merged.update(output)
        else:
            merged["value"] = output
        node[last] = merged
    return root
