"""``sleep`` steps: run until their time (``for`` a duration from when they begin, or
``until`` a timestamp, which may be an expression) and complete with
``{"slept_until": ...}``; a time already past ends the sleep at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledgerflow import errors
from ledgerflow.definition.durations import MAX_SECONDS
from ledgerflow.definition.model import Step
from ledgerflow.engine.model import timers
from ledgerflow.engine.model.timers import TimerKind
from ledgerflow.engine.model.transition import Transition, text
from ledgerflow.engine.rules import step_runs
from ledgerflow.engine.rules.dispatching import Chooser
from ledgerflow.engine.rules.kinds.base import StepKind

DEADLINE = TimerKind.WAKE


def begin(tr: Transition, step: Step, choose: Chooser, /) -> None:
    try:
        due = _sleep_until(tr, step)
    except errors.ExpressionError as exc:
        step_runs.fail_now(tr, step.id, f"until: {exc}")
        return
    row = step_runs.begin_run(tr, step, "step.sleeping", due, {})
    step_runs.arm(tr, DEADLINE, step.id, row.epoch, due)
    if due <= tr.now:
        wake(tr, step, row.epoch)


def wake(tr: Transition, step: Step, epoch: int, /) -> bool:
    """The sleep is over: the step completes (False if that attempt is no longer current)."""
    row = tr.step(step.id)
    if row.ready_at is None:
        return False
    output = {"slept_until": row.ready_at}
    return step_runs.record_output(tr, step.id, epoch, output, text(output))


def _sleep_until(tr: Transition, step: Step) -> datetime:
    if "for" in step.options:
        due = timers.due_after(tr.now, float(step.options["for"]))
        if due is None:
            raise errors.ExpressionError(f"for: {step.options['for']} s is longer than a "
                                         "timer can wait")
        return due
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
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise errors.ExpressionError(f"{value!r} is out of range in UTC") from None
    if moment - tr.now > timedelta(seconds=MAX_SECONDS):
        raise errors.ExpressionError(
            f"{value!r} is more than 36500d (100 years) away, longer than ledgerflow "
            "schedules")
    if not timers.holds(moment):
        raise errors.ExpressionError(f"{value!r} is later than a timer can wait for")
    return moment


KIND = StepKind(needs_agent=False, holds_handler=False, waiting=True, deadline=DEADLINE,
                begin=begin, deadline_passed=wake)
