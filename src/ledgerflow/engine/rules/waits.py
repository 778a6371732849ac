"""Steps that run without an agent, and signals. Pure rules over a ``Transition``.

* a ``wait`` step runs until a signal of its name arrives and completes with the signal's
  data; a signal that arrived earlier and was not consumed is taken at once; an optional
  ``timeout`` fails the wait (and its retry policy applies);
* a ``sleep`` step runs until its time (``for`` a duration or ``until`` a timestamp) and
  completes with ``{"slept_until": ...}``;
* each signal runs the definition's handlers for its name (``on:``) whose ``when`` holds,
  as step runs of their own (``rules.signals``).

Deadlines live in the step row's ``ready_at``, so they survive restarts (``recovery.arm_timers``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ledgerflow import errors
from ledgerflow.definition.model import Step, StepType
from ledgerflow.engine.model.graph import graph_of
from ledgerflow.engine.model.lifecycle import StepStatus
from ledgerflow.engine.model.transition import Timer, Transition, text
from ledgerflow.engine.rules import flow, signals
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.rows import SignalRow, StepRow, parse_column

S = StepStatus


def begin_wait(tr: Transition, step: Step, choose: flow.Chooser) -> None:
    name = step.options["signal"]
    deadline = tr.now + timedelta(seconds=step.timeout) if step.timeout is not None else None
    row = _begin(tr, step, "step.waiting", deadline, {"signal": name})
    if deadline is not None:
        tr.timers.append(Timer(due=deadline, execution_id=tr.execution_id, step_id=step.id,
                               epoch=row.epoch, kind="timeout"))
    waiting = first_unconsumed(tr, name)
    if waiting is not None:
        _consume(tr, step.id, waiting, choose)


def begin_sleep(tr: Transition, step: Step, choose: flow.Chooser) -> None:
    try:
        due = _sleep_until(tr, step)
    except errors.ExpressionError as exc:
        flow.fail_now(tr, step.id, f"until: {exc}")
        return
    row = _begin(tr, step, "step.sleeping", due, {})
    tr.timers.append(Timer(due=due, execution_id=tr.execution_id, step_id=step.id,
                           epoch=row.epoch, kind="wake"))
    if due <= tr.now:
        wake(tr, step.id, row.epoch, choose)


def wake(tr: Transition, step_id: str, epoch: int, choose: flow.Chooser) -> bool:
    """A sleep is over: the step completes (False if that attempt is no longer current)."""
    row = tr.step(step_id)
    if row.ready_at is None:
        return False
    output = {"slept_until": row.ready_at}
    return flow.complete_step(tr, step_id, epoch, output, text(output), choose)


def match_signals(tr: Transition, choose: flow.Chooser) -> None:
    """Hand every received signal to its handlers (once) and to a wait step waiting for it."""
    for seq in sorted(tr.signals):
        signal = tr.signals[seq]
        if not signal.handled:
            _start_handlers(tr, signal)
        if signal.consumed_by is None:
            step_id = _waiting_for(tr, signal.name)
            if step_id is not None:
                _consume(tr, step_id, signal, choose)


def first_unconsumed(tr: Transition, name: str) -> SignalRow | None:
    for seq in sorted(tr.signals):
        signal = tr.signals[seq]
        if signal.name == name and signal.consumed_by is None:
            return signal
    return None


# internals ------------------------------------------------------------------------------
def _begin(tr: Transition, step: Step, event: str, deadline: datetime | None,
           payload: dict[str, Any]) -> StepRow:
    row = tr.step(step.id)
    deadline_text = format_timestamp(deadline) if deadline is not None else None
    tr.set_step(step.id, S.RUNNING, event, {**payload, "until": deadline_text},
                attempt=row.attempt + 1, epoch=row.epoch + 1, agent=None,
                started_at=tr.now_text, ready_at=deadline_text, finished_at=None)
    return tr.step(step.id)


def _sleep_until(tr: Transition, step: Step) -> datetime:
    if "for" in step.options:
        return tr.now + timedelta(seconds=float(step.options["for"]))
    until = step.options["until"]
    value = until.evaluate(tr.expression_context())
    if not isinstance(value, str):
        raise errors.ExpressionError(f"{until.source!r} gave {value!r}, expected a timestamp")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise errors.ExpressionError(f"{value!r} is not an ISO-8601 timestamp") from exc
    if moment.tzinfo is None:
        raise errors.ExpressionError(f"{value!r} has no time zone (add Z or +00:00)")
    return moment


def _consume(tr: Transition, step_id: str, signal: SignalRow, choose: flow.Chooser) -> None:
    tr.update_signal(replace(signal, consumed_by=step_id, consumed_at=tr.now_text))
    data = parse_column(signal.data, f"data of signal {signal.seq}")
    flow.complete_step(tr, step_id, tr.step(step_id).epoch, data, signal.data, choose)


def _waiting_for(tr: Transition, name: str) -> str | None:
    graph = graph_of(tr.view.definition)
    for sid in graph.order:
        step = graph.steps[sid]
        if (step.type is StepType.WAIT and step.options.get("signal") == name
                and tr.step_status(sid) is S.RUNNING):
            return sid
    return None


def _start_handlers(tr: Transition, signal: SignalRow) -> None:
    """Create a run for each handler of the signal whose ``when`` holds; one ledger entry
    says where the signal went and which handlers passed (and why)."""
    tr.update_signal(replace(signal, handled=1))
    found = tr.view.definition.on.get(signal.name, ())
    if not found:
        return  # only wait steps take this signal
    data = parse_column(signal.data, f"data of signal {signal.seq}")
    context = {**tr.expression_context(), "signal": {"name": signal.name, "data": data}}
    routed: list[dict[str, Any]] = []
    passed: list[dict[str, Any]] = []
    for index, handler in enumerate(found):
        if handler.when is not None:
            try:
                decision = handler.when.evaluate(context)
            except errors.ExpressionError as exc:
                passed.append({"handler": index, "agent": handler.agent, "error": str(exc)})
                continue
            if decision is not True:
                passed.append({"handler": index, "agent": handler.agent,
                               "when": handler.when.source})
                continue
        run = signals.run_id(signal.name, index, signal.seq)
        tr.add_step(StepRow(execution_id=tr.execution_id, step_id=run, status=str(S.PENDING)))
        routed.append({"handler": index, "agent": handler.agent, "run": run})
    tr.record("signal.routed", from_state=tr.status, to_state=tr.status,
              payload={"signal": signal.name, "seq": signal.seq, "routed": routed,
                       "passed": passed})
