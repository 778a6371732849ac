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

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ledgerflow import errors
from ledgerflow.definition.model import Definition, OutputMode, OutputTarget, Step, StepType
from ledgerflow.engine.model.graph import graph_of
from ledgerflow.engine.model.lifecycle import (
    SETTLED_OK,
    STEP_FAILURES,
    ExecutionStatus,
    StepStatus,
)
from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.transition import Dispatch, Timer, Transition, sha256_text, text
from ledgerflow.engine.rules import actions, signals
from ledgerflow.ledger import canonical
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.rows import DecisionRow


@dataclass(frozen=True, kw_only=True, slots=True)
class Choice:
    """A routing decision: the chosen agent, every candidate's score, and why."""

    agent: str | None  # None: every agent's breaker refuses calls until ``retry_at``
    candidates: Sequence[dict[str, Any]]
    reason: str
    retry_at: float | None = None  # epoch seconds
    handoff: bool = False  # only other workers offer the capability: hand the execution over


class Chooser(Protocol):
    """Routes a capability to an agent; ``avoid`` (the agent whose attempt just failed) is
    passed over when another agent can take the step."""

    def __call__(self, capability: str, avoid: str | None = None) -> Choice | None: ...
E = ExecutionStatus
S = StepStatus
LIVE = frozenset({E.RUNNING, E.WAITING})  # steps may be dispatched
RECORDING = LIVE | {E.PAUSED}  # outcomes of running steps are recorded
DEFER_SECONDS = 1.0  # wait when no breaker says when a probe may go
WAITING_TYPES = frozenset({StepType.WAIT, StepType.SLEEP})  # run without an agent


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
    """Skip or dispatch every runnable step, then finish the execution if it is done.

    ``after``: only that step's dependents can have become runnable (a completion), so
    only they are looked at; None looks at every step.
    """
    if tr.status not in LIVE:
        return
    graph = graph_of(tr.view.definition)
    if after is None:
        work = [sid for sid in tr.step_ids() if signals.is_run(sid)] + list(graph.order)
    else:
        work = list(graph.dependents.get(after, ()))
    blocked = _has_failure(tr) or tr.hold
    while work and not blocked:
        step = step_spec(tr, work.pop(0))
        if not _runnable(tr, step):
            continue
        _start(tr, step, choose)
        status = tr.step(step.id).status
        if status == S.SKIPPED:
            work.extend(graph.dependents[step.id])
        blocked = status in STEP_FAILURES
    finish_if_done(tr)
    settle(tr)


def settle(tr: Transition) -> None:
    """``waiting`` while only wait and sleep steps run, ``running`` otherwise."""
    if tr.status not in LIVE or (tr.status is E.RUNNING
                                 and not graph_of(tr.view.definition).waits):
        return
    running = [sid for sid in tr.step_ids() if tr.step(sid).status == S.RUNNING]
    idle = bool(running) and all(step_spec(tr, sid).type in WAITING_TYPES for sid in running)
    wanted = E.WAITING if idle else E.RUNNING
    if wanted is not tr.status:
        waits = [step_spec(tr, sid).options.get("signal") for sid in running]
        tr.set_status(wanted, "execution.waiting" if idle else "execution.woken",
                      {"steps": running, "signals": [w for w in waits if w]} if idle else None)


def record_outcome(tr: Transition, outcome: Outcome, choose: Chooser) -> bool:
    """An attempt ended: record its output, or retry or fail it on its error. False
    (nothing recorded) if the attempt is not current."""
    if outcome.error is None:
        return complete_step(tr, outcome.step_id, outcome.epoch, outcome.output,
                             outcome.output_text, choose)
    return fail_attempt(tr, outcome.step_id, outcome.epoch, outcome.error, choose)


def complete_step(tr: Transition, step_id: str, epoch: int, output: Any, output_text: str,
                  choose: Chooser) -> bool:
    """Record a step's output, whose canonical text ``output_text`` is reused as it is for
    the step row, the ledger payload and the state document. False (nothing recorded) if
    the attempt is not current."""
    row = tr.step(step_id)
    if row.status != S.RUNNING or row.epoch != epoch or tr.status not in RECORDING:
        return False
    step = step_spec(tr, step_id)
    tr.outputs[step_id] = output
    payload: dict[str, Any] = {"output": output}
    members = {"output": output_text}  # the payload's canonical text, member by member
    new_state = None
    if step.output is not None:
        new_state = apply_output(tr.state, step.output, output)
        state_text = _state_text(tr.state, step.output, output, output_text, new_state)
        state_sha = sha256_text(state_text)
        version = tr.view.row.state_version + 1
        payload.update(state_version=version, state_sha256=state_sha)
        members.update(state_version=str(version),
                       state_sha256=canonical.encode_string(state_sha))
    index = tr.set_step(
        step_id, S.COMPLETED, "step.completed", payload,
        payload_text=canonical.object_text(members),
        output=output_text, error=None, finished_at=tr.now_text, ready_at=None,
    )
    if new_state is not None:
        tr.set_state(new_state, state_text, state_sha, index)
    advance(tr, choose, after=step_id)
    return True


def _state_text(state: Any, target: OutputTarget, output: Any, output_text: str,
                new_state: Any) -> str:
    """The canonical text of ``new_state`` (``state`` with ``output`` applied at
    ``target``), with the output's known text in place where the output sits whole. A
    mapping merged member by member is encoded again."""
    if target.mode is OutputMode.MERGE and isinstance(output, dict):
        return text(new_state)
    spliced = canonical.splice(apply_output(state, target, canonical.SLOT), output_text)
    return spliced if spliced is not None else text(new_state)


def fail_attempt(tr: Transition, step_id: str, epoch: int, error: str, choose: Chooser) -> bool:
    """An attempt failed (raised, timed out): retry after backoff or fail the step."""
    row = tr.step(step_id)
    if row.status != S.RUNNING or row.epoch != epoch or tr.status not in RECORDING:
        return False
    step = step_spec(tr, step_id)
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


def finish_if_done(tr: Transition) -> None:
    if tr.status not in LIVE:
        return
    statuses = {sid: tr.step_status(sid) for sid in tr.step_ids()}
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
        tr.result = text(result)  # once: the execution row and the ledger payload share it
        tr.set_status(E.COMPLETED, "execution.completed", {"result": result},
                      payload_text=canonical.object_text({"result": tr.result}))


def execution_result(definition: Definition, outputs: dict[str, Any],
                     statuses: dict[str, StepStatus]) -> Any:
    ends = graph_of(definition).ends
    if len(ends) == 1:
        return outputs.get(ends[0])
    return {sid: outputs.get(sid) for sid in ends if statuses[sid] is S.COMPLETED}


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
    return any(tr.step(sid).status in STEP_FAILURES for sid in tr.step_ids())


def step_spec(tr: Transition, step_id: str) -> Step:
    """The definition of a step run: a graph step, or a signal handler's run."""
    found = graph_of(tr.view.definition).steps.get(step_id)
    return found if found is not None else signals.spec(tr.view.definition, step_id)


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
    if step.type is StepType.TASK:
        dispatch(tr, step, choose, attempt=row.attempt + 1, event="step.started")
        return
    from ledgerflow.engine.rules import waits  # waits completes steps through this module

    if step.type is StepType.WAIT:
        waits.begin_wait(tr, step, choose)
    elif step.type is StepType.SLEEP:
        waits.begin_sleep(tr, step, choose)
    else:
        fail_now(tr, step.id, f"step type {step.type!s} is not supported by this engine yet")


def fail_now(tr: Transition, step_id: str, error: str) -> None:
    tr.set_step(step_id, S.FAILED, "step.failed", {"error": error},
                error=error, finished_at=tr.now_text)


def dispatch(tr: Transition, step: Step, choose: Chooser, *, attempt: int, event: str) -> None:
    if step.agent is None:
        fail_now(tr, step.id, "a task step needs an agent")
        return
    try:
        if signals.is_run(step.id):
            data = signals.signal_data(tr.signals, step.id)
        else:
            data = step.input.evaluate(tr.expression_context()) if step.input else {}
    except errors.ExpressionError as exc:
        fail_now(tr, step.id, f"input: {exc}")
        return
    row = tr.step(step.id)
    choice = choose(step.agent, avoid=row.agent if row.error is not None else None)
    if choice is None:
        fail_now(tr, step.id, f"no agent offers capability {step.agent!r} in this worker; "
                  "load an agents module that registers it (worker --agents MODULE)")
        return
    if choice.agent is None:
        _defer(tr, step, choice)
        return
    epoch = row.epoch + 1
    payload = {"agent": choice.agent, "epoch": epoch, "input": data}
    deadline = tr.now + timedelta(seconds=step.timeout) if step.timeout is not None else None
    # the attempt's deadline is stored, so a timeout survives a restart (arm_timers)
    tr.set_step(step.id, S.RUNNING, event, payload, attempt=attempt, epoch=epoch,
                agent=choice.agent, started_at=tr.now_text, finished_at=None,
                ready_at=format_timestamp(deadline) if deadline is not None else None)
    tr.decisions.append(DecisionRow(
        execution_id=tr.execution_id, step_id=step.id, epoch=epoch, attempt=attempt,
        capability=step.agent, agent=choice.agent,
        candidates=json.dumps(list(choice.candidates), separators=(",", ":")),
        reason=choice.reason, decided_at=tr.now_text,
    ))
    execution = tr.view.row
    tr.dispatches.append(Dispatch(
        execution_id=execution.id, tenant_id=execution.tenant_id, workflow=execution.workflow,
        step_id=step.id,
        capability=step.agent, agent=choice.agent, attempt=attempt, epoch=epoch, input=data,
        state_text=tr.current_state_text(), timeout=step.timeout,
    ))
    if deadline is not None:
        tr.timers.append(Timer(due=deadline, execution_id=execution.id, step_id=step.id,
                               epoch=epoch, kind="timeout"))
    if step.heartbeat_timeout is not None:
        tr.timers.append(Timer(due=tr.now + timedelta(seconds=step.heartbeat_timeout),
                               execution_id=execution.id, step_id=step.id, epoch=epoch,
                               kind="heartbeat"))


def _defer(tr: Transition, step: Step, choice: Choice) -> None:
    """No agent may take the step now (open breakers): it waits, never lost."""
    due = datetime.fromtimestamp(choice.retry_at, UTC) if choice.retry_at is not None \
        else tr.now + timedelta(seconds=DEFER_SECONDS)
    due = max(due, tr.now + timedelta(milliseconds=10))
    row = tr.step(step.id)
    due_text = format_timestamp(due)
    if row.status == S.PENDING:
        tr.record("step.deferred", from_state=S.PENDING, to_state=S.PENDING, step_id=step.id,
                  payload={"reason": choice.reason, "retry_at": due_text})
        tr.changed_steps[step.id] = replace(row, ready_at=due_text)
    else:  # a running step being recovered goes back to the queue
        tr.set_step(step.id, S.PENDING, "step.deferred",
                    {"reason": choice.reason, "retry_at": due_text}, ready_at=due_text)
    tr.timers.append(Timer(due=due, execution_id=tr.execution_id, step_id=step.id,
                           epoch=tr.step(step.id).epoch, kind="retry"))
    if choice.handoff:
        tr.handoff = step.agent
