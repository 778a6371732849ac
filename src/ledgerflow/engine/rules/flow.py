"""How an execution moves: the graph rules, applied to a ``Transition``. Pure.

* a pending step whose needs are all completed or skipped is runnable; its ``when`` (if any)
  decides between starting it and skipping it; its kind (``rules.kinds``) says how it
  starts (dispatched to an agent, waiting for a signal, sleeping);
* a failed attempt retries after the policy's backoff while attempts remain, else the step
  fails; once a step has failed nothing new is dispatched, and when nothing is running the
  execution fails with that step's error;
* when every step is completed or skipped the execution completes with a result: the output
  of the single final step, or ``{step_id: output}`` when the graph has several ends.

Outcomes are recorded by ``rules.step_runs``; the functions here add what follows from them
for the graph.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from ledgerflow import errors
from ledgerflow.definition.model import Step
from ledgerflow.engine.model.graph import graph_of
from ledgerflow.engine.model.lifecycle import (
    SETTLED_OK,
    STEP_FAILURES,
    ExecutionStatus,
    StepStatus,
)
from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.transition import Transition, text
from ledgerflow.engine.rules import actions, kinds, signals, step_runs
from ledgerflow.engine.rules.dispatching import Choice as Choice  # still flow.Choice to callers
from ledgerflow.engine.rules.dispatching import Chooser
from ledgerflow.engine.rules.step_runs import LIVE, fail_now, step_spec
from ledgerflow.ledger import values

E = ExecutionStatus
S = StepStatus


def expire_if_due(tr: Transition) -> bool:
    """A session past its ``expires_at`` ends ``expired`` before anything else runs."""
    deadline = tr.view.row.expires_at
    if deadline is None or deadline > tr.now_text or tr.status.terminal:
        return False
    actions.expire(tr, deadline)
    return True


def activate(tr: Transition, choose: Chooser) -> None:
    """A pending execution starts running and dispatches its first steps (else no-op)."""
    if tr.status is not E.PENDING or expire_if_due(tr):
        return
    tr.set_status(E.RUNNING, "execution.started")
    advance(tr, choose)


def advance(tr: Transition, choose: Chooser, after: str | None = None) -> None:
    """Skip or start every runnable step, then finish the execution if it is done.

    ``after``: only that step's dependents can have become runnable (a completion), so
    only they are looked at; None looks at every step. A step done as it began (a signal
    was waiting, a time passed) is advanced from at once, depth first, before the rest of
    the work: a frame per such step on an explicit stack, so a long chain of them needs no
    deeper Python stack than a short one.
    """
    if tr.status not in LIVE:
        return
    graph = graph_of(tr.view.definition)
    if after is None:
        work = deque([sid for sid in tr.step_ids() if signals.is_run(sid)])
        work.extend(graph.order)
    else:
        work = deque(graph.dependents.get(after, ()))
    frames = [_Frame(work, bool(tr.tally.failed() or tr.hold))]
    while frames:
        frame = frames[-1]
        if not frame.work or frame.blocked:
            frames.pop()
            finish_if_done(tr)
            settle(tr)
            continue
        step = step_spec(tr, frame.work.popleft())
        if not _runnable(tr, step):
            continue
        _start(tr, step, choose)
        status = tr.step(step.id).status
        if status == S.SKIPPED:
            frame.work.extend(graph.dependents[step.id])
        frame.blocked = status in STEP_FAILURES
        if status == S.COMPLETED and tr.status in LIVE:
            frames.append(_Frame(deque(graph.dependents.get(step.id, ())),
                                 bool(tr.tally.failed() or tr.hold)))


@dataclass(slots=True)
class _Frame:
    """What one ``advance`` still looks at, and whether a failure or a hold stopped it."""

    work: deque[str]
    blocked: bool


def settle(tr: Transition) -> None:
    """``waiting`` while only steps of waiting kinds run, ``running`` otherwise."""
    if tr.status not in LIVE or (tr.status is E.RUNNING and not any(
            kinds.of(t).waiting for t in graph_of(tr.view.definition).types)):
        return
    running_ids = tr.tally.running
    idle = bool(running_ids) and all(kinds.of(step_spec(tr, sid).type).waiting
                                     for sid in running_ids)
    wanted = E.WAITING if idle else E.RUNNING
    if wanted is not tr.status:
        running = [sid for sid in tr.step_ids() if sid in running_ids]  # in step run order
        specs = [step_spec(tr, sid) for sid in running]
        waits = [kinds.of(spec.type).consumes(spec) for spec in specs]
        tr.set_status(wanted, "execution.waiting" if idle else "execution.woken",
                      {"steps": running, "signals": [w for w in waits if w]} if idle else None)


def record_outcome(tr: Transition, outcome: Outcome, choose: Chooser) -> bool:
    """An attempt ended: record its output, or retry or fail it on its error. False
    (nothing recorded) if the attempt is not current."""
    if outcome.error is None:
        return complete_step(tr, outcome.step_id, outcome.epoch, outcome.output,
                             outcome.output_text, choose, outcome.output_canonical)
    return fail_attempt(tr, outcome.step_id, outcome.epoch, outcome.error, choose)


def complete_step(tr: Transition, step_id: str, epoch: int, output: Any, output_text: str,
                  choose: Chooser, output_canonical: str | None = None) -> bool:
    """Record a step's output, whose stored text ``output_text`` (and RFC 8785 text, if
    given) is reused as it is for the step row, the ledger payload and the state document.
    False (nothing recorded) if the attempt is not current."""
    if not step_runs.record_output(tr, step_id, epoch, output, output_text, output_canonical):
        return False
    advance(tr, choose, after=step_id)
    return True


def fail_attempt(tr: Transition, step_id: str, epoch: int, error: str, choose: Chooser) -> bool:
    """An attempt failed (raised, timed out): retry after backoff or fail the step."""
    if not step_runs.record_failure(tr, step_id, epoch, error):
        return False
    advance(tr, choose)
    return True


def deadline_passed(tr: Transition, step_id: str, epoch: int, choose: Chooser) -> bool:
    """The stored deadline of a running attempt passed; the step's kind says what that
    means (the attempt timed out, the sleep is over). False if that attempt is no longer
    current."""
    step = step_spec(tr, step_id)
    if not kinds.of(step.type).deadline_passed(tr, step, epoch):
        return False
    if tr.step_status(step_id) is S.COMPLETED:
        advance(tr, choose, after=step_id)
    else:
        advance(tr, choose)
    return True


def finish_if_done(tr: Transition) -> None:
    """Fail the execution once nothing runs after a step failed; complete it once every
    step is completed or skipped. Counts, not a look at every step (``model.tally``)."""
    if tr.status not in LIVE or tr.tally.running:
        return
    if tr.tally.failed():
        first = next(sid for sid in tr.step_ids() if tr.step(sid).status in STEP_FAILURES)
        message = f"step {first!r} failed: {tr.step(first).error}"
        tr.error = message
        tr.set_status(E.FAILED, "execution.failed", {"error": message, "step_id": first})
        return
    if tr.tally.all_settled_ok():
        result = execution_result(tr)
        tr.result = text(result)  # once: the execution row and the ledger payload share it
        tr.set_status(E.COMPLETED, "execution.completed", {"result": result},
                      payload_text=values.object_text({"result": tr.result}))


def execution_result(tr: Transition) -> Any:
    ends = graph_of(tr.view.definition).ends
    if len(ends) == 1:
        return tr.outputs.get(ends[0])
    return {sid: tr.outputs.get(sid) for sid in ends if tr.step(sid).status == S.COMPLETED}


# internals ------------------------------------------------------------------------------
def _runnable(tr: Transition, step: Step) -> bool:
    row = tr.step(step.id)
    if row.status != S.PENDING:
        return False
    if row.ready_at is not None and row.ready_at > tr.now_text:
        return False
    return all(tr.step(n).status in SETTLED_OK for n in step.needs)


def _start(tr: Transition, step: Step, choose: Chooser) -> None:
    if tr.step(step.id).attempt == 0 and step.when is not None:
        try:
            decision = step.when.evaluate(tr.expression_context())
        except errors.ExpressionError as exc:
            fail_now(tr, step.id, f"when: {exc}")
            return
        if not isinstance(decision, bool):
            fail_now(tr, step.id, f"when: {step.when.source!r} gave "
                      f"{type(decision).__name__} {decision!r}, expected true or false")
            return
        if not decision:
            tr.set_step(step.id, S.SKIPPED, "step.skipped", {"when": step.when.source},
                        finished_at=tr.now_text)
            return
    kinds.of(step.type).begin(tr, step, choose)
