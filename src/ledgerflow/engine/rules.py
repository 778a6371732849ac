"""How an execution moves: the graph rules, applied to a ``Transition``. Pure.

* a pending step whose needs are all completed or skipped is runnable; its ``when`` (if any)
  decides between dispatching it and skipping it;
* a failed attempt retries after the policy's backoff while attempts remain, else the step
  fails; once a step has failed nothing new is dispatched, and when nothing is running the
  execution fails with that step's error;
* when every step is completed or skipped the execution completes with a result: the output
  of the single final step, or ``{step_id: output}`` when the graph has several ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledgerflow import errors
from ledgerflow.definition.model import Definition, OutputMode, OutputTarget, Step, StepType
from ledgerflow.engine.graph import graph_of
from ledgerflow.engine.lifecycle import (
    SETTLED_OK,
    STEP_FAILURES,
    ExecutionStatus,
    StepStatus,
)
from ledgerflow.engine.transition import Dispatch, Timer, Transition, sha256_text, text
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.rows import DecisionRow


@dataclass(frozen=True, kw_only=True, slots=True)
class Choice:
    """A routing decision: the chosen agent, every candidate's score, and why."""

    agent: str
    candidates: Sequence[dict[str, Any]]
    reason: str


Chooser = Callable[[str], Choice | None]
E = ExecutionStatus
S = StepStatus


def activate(tr: Transition, choose: Chooser) -> None:
    """A pending execution starts running and dispatches its first steps (else no-op)."""
    if tr.status is not E.PENDING:
        return
    tr.set_status(E.RUNNING, "execution.started")
    advance(tr, choose)


def advance(tr: Transition, choose: Chooser, after: str | None = None) -> None:
    """Skip or dispatch every runnable step, then finish the execution if it is done.

    ``after``: only that step's dependents can have become runnable (a completion), so
    only they are looked at; None looks at every step.
    """
    if tr.status is not E.RUNNING:
        return
    graph = graph_of(tr.view.definition)
    work = list(graph.order if after is None else graph.dependents[after])
    blocked = _has_failure(tr) or tr.hold
    while work and not blocked:
        step = graph.steps[work.pop(0)]
        if not _runnable(tr, step):
            continue
        _start(tr, step, choose)
        status = tr.step(step.id).status
        if status == S.SKIPPED:
            work.extend(graph.dependents[step.id])
        blocked = status in STEP_FAILURES
    finish_if_done(tr)


def complete_step(tr: Transition, step_id: str, epoch: int, output: Any, output_text: str,
                  choose: Chooser) -> bool:
    """Record a step's output. False (nothing recorded) if the attempt is not current."""
    row = tr.step(step_id)
    if row.status != S.RUNNING or row.epoch != epoch or tr.status is not E.RUNNING:
        return False
    step = graph_of(tr.view.definition).steps[step_id]
    tr.outputs[step_id] = output
    payload: dict[str, Any] = {"output": output}
    new_state = None
    if step.output is not None:
        new_state = apply_output(tr.state, step.output, output)
        state_text = text(new_state)
        payload["state_version"] = tr.view.row.state_version + 1
        payload["state_sha256"] = sha256_text(state_text)
    index = tr.set_step(
        step_id, S.COMPLETED, "step.completed", payload,
        output=output_text, error=None, finished_at=tr.now_text, ready_at=None,
    )
    if new_state is not None:
        tr.set_state(new_state, state_text, index)
    advance(tr, choose, after=step_id)
    return True


def fail_attempt(tr: Transition, step_id: str, epoch: int, error: str, choose: Chooser) -> bool:
    """An attempt failed (raised, timed out): retry after backoff or fail the step."""
    row = tr.step(step_id)
    if row.status != S.RUNNING or row.epoch != epoch or tr.status is not E.RUNNING:
        return False
    step = graph_of(tr.view.definition).steps[step_id]
    if row.attempt < step.retry.max_attempts:
        delay = step.retry.delay_before(row.attempt + 1)
        due = tr.now + timedelta(seconds=delay)
        due_text = format_timestamp(due)
        tr.set_step(
            step_id, S.PENDING, "step.retry_scheduled",
            {"error": error, "retry_at": due_text, "next_attempt": row.attempt + 1},
            error=error, ready_at=due_text,
        )
        tr.timers.append(Timer(due=due, execution_id=tr.execution_id, step_id=step_id,
                               epoch=row.epoch, kind="retry"))
    else:
        tr.set_step(step_id, S.FAILED, "step.failed", {"error": error},
                    error=error, finished_at=tr.now_text)
    advance(tr, choose)
    return True


def recover(tr: Transition, choose: Chooser, limit: int) -> None:
    """Resume an execution found running when a worker starts.

    Steps that were running are dispatched again under a new epoch (at-least-once), except
    ``at_most_once`` steps, which become interrupted. Each such recovery is counted; past
    ``limit`` the execution fails instead of looping forever.
    """
    running = [sid for sid in tr.view.steps if tr.step_status(sid) is S.RUNNING]
    if running:
        tr.recoveries += 1
        if tr.recoveries > limit:
            reason = (
                f"recovered {tr.recoveries} times (limit {limit}): a process keeps dying "
                f"while running step(s) {', '.join(running)}"
            )
            for sid in running:
                tr.set_step(sid, S.FAILED, "step.failed", {"error": reason},
                            error=reason, finished_at=tr.now_text)
            tr.error = reason
            tr.set_status(E.FAILED, "execution.failed", {"error": reason})
            return
        tr.set_status(E.RUNNING, "execution.recovered",
                      {"recoveries": tr.recoveries, "steps": running})
        for sid in running:
            _recover_step(tr, graph_of(tr.view.definition).steps[sid], choose)
    for sid, row in tr.view.steps.items():
        if row.status == S.PENDING and row.ready_at is not None:
            tr.timers.append(_retry_timer(tr, sid))
    advance(tr, choose)


def _recover_step(tr: Transition, step: Step, choose: Chooser) -> None:
    row = tr.step(step.id)
    if step.at_most_once:
        error = "interrupted: the process died while this at_most_once step was running"
        tr.set_step(step.id, S.INTERRUPTED, "step.interrupted", {"error": error},
                    error=error, finished_at=tr.now_text)
        return
    _dispatch(tr, step, choose, attempt=row.attempt, event="step.recovered")


def _retry_timer(tr: Transition, step_id: str) -> Timer:
    row = tr.step(step_id)
    assert row.ready_at is not None
    due = datetime.fromisoformat(row.ready_at.replace("Z", "+00:00"))
    return Timer(due=due, execution_id=tr.execution_id, step_id=step_id, epoch=row.epoch,
                 kind="retry")


def finish_if_done(tr: Transition) -> None:
    if tr.status is not E.RUNNING:
        return
    statuses = {sid: tr.step_status(sid) for sid in tr.view.steps}
    if any(s is S.RUNNING for s in statuses.values()):
        return
    failed = [sid for sid, s in statuses.items() if s in STEP_FAILURES]
    if failed:
        first = failed[0]
        message = f"step {first!r} failed: {tr.step(first).error}"
        tr.error = message
        tr.set_status(E.FAILED, "execution.failed", {"error": message, "step_id": first})
        return
    if all(s.settled_ok for s in statuses.values()):
        result = execution_result(tr.view.definition, tr.outputs, statuses)
        tr.result = text(result)
        tr.set_status(E.COMPLETED, "execution.completed", {"result": result})


def execution_result(definition: Definition, outputs: dict[str, Any],
                     statuses: dict[str, StepStatus]) -> Any:
    ends = graph_of(definition).ends
    if len(ends) == 1:
        return outputs.get(ends[0])
    return {sid: outputs[sid] for sid in ends if statuses[sid] is S.COMPLETED}


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


# internals ------------------------------------------------------------------------------
def _has_failure(tr: Transition) -> bool:
    return any(tr.step(sid).status in STEP_FAILURES for sid in tr.view.steps)


def _runnable(tr: Transition, step: Step) -> bool:
    row = tr.step(step.id)
    if row.status != S.PENDING:
        return False
    if row.ready_at is not None and row.ready_at > tr.now_text:
        return False
    return all(tr.step(n).status in SETTLED_OK for n in step.needs)


def _start(tr: Transition, step: Step, choose: Chooser) -> None:
    row = tr.step(step.id)
    if row.attempt == 0 and step.when is not None:
        try:
            decision = step.when.evaluate(tr.expression_context())
        except errors.ExpressionError as exc:
            _fail_now(tr, step.id, f"when: {exc}")
            return
        if not isinstance(decision, bool):
            _fail_now(tr, step.id, f"when: {step.when.source!r} gave "
                      f"{type(decision).__name__} {decision!r}, expected true or false")
            return
        if not decision:
            tr.set_step(step.id, S.SKIPPED, "step.skipped", {"when": step.when.source},
                        finished_at=tr.now_text)
            return
    _dispatch(tr, step, choose, attempt=row.attempt + 1, event="step.started")


def _fail_now(tr: Transition, step_id: str, error: str) -> None:
    tr.set_step(step_id, S.FAILED, "step.failed", {"error": error},
                error=error, finished_at=tr.now_text)


def _dispatch(tr: Transition, step: Step, choose: Chooser, *, attempt: int, event: str) -> None:
    if step.type is not StepType.TASK or step.agent is None:
        _fail_now(tr, step.id, f"step type {step.type!s} is not supported by this engine yet")
        return
    try:
        data = step.input.evaluate(tr.expression_context()) if step.input is not None else {}
    except errors.ExpressionError as exc:
        _fail_now(tr, step.id, f"input: {exc}")
        return
    choice = choose(step.agent)
    if choice is None:
        _fail_now(tr, step.id, f"no agent offers capability {step.agent!r} in this worker; "
                  "load an agents module that registers it (worker --agents MODULE)")
        return
    row = tr.step(step.id)
    epoch = row.epoch + 1
    payload = {"agent": choice.agent, "epoch": epoch, "input": data}
    tr.set_step(step.id, S.RUNNING, event, payload, attempt=attempt, epoch=epoch,
                agent=choice.agent, started_at=tr.now_text, ready_at=None, finished_at=None)
    tr.decisions.append(DecisionRow(
        execution_id=tr.execution_id, step_id=step.id, epoch=epoch, attempt=attempt,
        capability=step.agent, agent=choice.agent, candidates=text(list(choice.candidates)),
        reason=choice.reason, decided_at=tr.now_text,
    ))
    execution = tr.view.row
    tr.dispatches.append(Dispatch(
        execution_id=execution.id, tenant_id=execution.tenant_id, workflow=execution.workflow,
        step_id=step.id,
        capability=step.agent, agent=choice.agent, attempt=attempt, epoch=epoch, input=data,
        state_text=tr.current_state_text(), timeout=step.timeout,
    ))
    if step.timeout is not None:
        tr.timers.append(Timer(due=tr.now + timedelta(seconds=step.timeout),
                               execution_id=execution.id, step_id=step.id, epoch=epoch,
                               kind="timeout"))
