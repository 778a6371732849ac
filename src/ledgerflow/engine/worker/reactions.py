"""Which rule each worker event applies, and the heartbeats of running attempts.

Pure except for ``Heartbeats.flush``, which hands the latest heartbeats to storage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.timers import Timer, TimerKind
from ledgerflow.engine.model.transition import Transition, text
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.rules import actions, flow, recovery
from ledgerflow.engine.rules.dispatching import Chooser
from ledgerflow.engine.rules.step_runs import arm, step_spec
from ledgerflow.engine.worker.events import Activate, Event, Expire, Heartbeat, TimerFired
from ledgerflow.ledger import values
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import HeartbeatRow

Rule = Callable[[Transition], object]


class Heartbeats:
    """The last heartbeat of each running attempt; new ones are written in batches."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, int], float] = {}
        self._unwritten: dict[tuple[str, str, int], Heartbeat] = {}

    def beat(self, event: Heartbeat) -> None:
        key = (event.execution_id, event.step_id, event.epoch)
        self._last[key] = event.at
        self._unwritten[key] = event  # only the latest per attempt is written

    def last(self, execution_id: str, step_id: str, epoch: int) -> float | None:
        return self._last.get((execution_id, step_id, epoch))

    def flush(self, store: Store) -> None:
        if not self._unwritten:
            return
        rows = []
        for (eid, sid, epoch), event in self._unwritten.items():
            try:
                details = values.decode(text(event.details))
            except Exception:  # details that are not JSON are shown as text
                details = repr(event.details)
            rows.append(HeartbeatRow(
                execution_id=eid, step_id=sid, epoch=epoch,
                heartbeat_at=format_timestamp(datetime.fromtimestamp(event.at, UTC)),
                heartbeat=text({"epoch": epoch, "details": details})))
        self._unwritten.clear()
        store.record_heartbeats(rows)

    def forget(self, execution_id: str, step_id: str, epoch: int) -> None:
        self._last.pop((execution_id, step_id, epoch), None)


def rule_for(event: Event, choose: Chooser, beats: Heartbeats, *, stopping: bool,
             recovery_limit: int, running_here: Callable[[str], set[tuple[str, int]]]
             ) -> Rule | None:
    """The rule applying ``event`` to its execution; None when a stopping worker should
    not start anything new from it."""
    if isinstance(event, Activate) and event.how == "recover":
        return lambda tr: recovery.recover(tr, choose, recovery_limit)
    if isinstance(event, Activate) and event.how == "reattach":
        here = running_here(event.execution_id)
        return lambda tr: recovery.reattach(tr, choose, here)
    if isinstance(event, Outcome):
        beats.forget(event.execution_id, event.step_id, event.epoch)
        return lambda tr: flow.record_outcome(tr, event, choose)
    if isinstance(event, TimerFired):
        return _timer_rule(event.timer, choose, beats)
    if isinstance(event, Expire):
        expires_at = event.expires_at
        return lambda tr: actions.expire(tr, expires_at)
    if stopping:
        return None
    return lambda tr: recovery.refresh(tr, choose)


def _timer_rule(timer: Timer, choose: Chooser, beats: Heartbeats) -> Rule:
    if timer.kind is TimerKind.HEARTBEAT:
        return lambda tr: _check_heartbeat(tr, timer, choose, beats)
    if timer.kind is TimerKind.RETRY:
        return lambda tr: flow.advance(tr, choose)
    return lambda tr: flow.deadline_passed(tr, timer.step_id, timer.epoch, choose)


def _check_heartbeat(tr: Transition, timer: Timer, choose: Chooser,
                     beats: Heartbeats) -> None:
    """Fail an attempt whose heartbeats stopped; else look again when the next is due."""
    row = tr.step(timer.step_id)
    if row.status != "running" or row.epoch != timer.epoch:
        return
    limit = step_spec(tr, timer.step_id).heartbeat_timeout or 0.0
    started = datetime.fromisoformat((row.started_at or tr.now_text).replace("Z", "+00:00"))
    last = beats.last(tr.execution_id, timer.step_id, timer.epoch)
    since = datetime.fromtimestamp(last, UTC) if last is not None else started
    due = since + timedelta(seconds=limit)
    if due > tr.now:
        arm(tr, TimerKind.HEARTBEAT, timer.step_id, timer.epoch, due)
        return
    beats.forget(tr.execution_id, timer.step_id, timer.epoch)
    what = "no heartbeat" if last is None else "no heartbeat since the last one"
    flow.fail_attempt(tr, timer.step_id, timer.epoch,
                       f"heartbeat timeout: {what} for {limit}s", choose)


def record_stale(store: Store, load: Callable[[str], ExecutionView | None], now: datetime,
                 actor: Actor, event: Outcome) -> None:
    """A result of an attempt made under a lease that is no longer current (another worker
    took the execution over and runs the step again): its rejection is recorded in the
    ledger, the result is never applied. Guarded by the version only (the holder reloads)."""
    for _ in range(3):
        view = load(event.execution_id)
        if view is None:
            return
        tr = Transition.begin(view, now, actor)
        reject_stale(tr, event, actor.id)
        if store.commit([tr.build().change])[0]:
            return


def reject_stale(tr: Transition, event: Outcome, worker: str) -> None:
    tr.record("step.stale_completion_rejected", from_state=None, to_state=None,
              step_id=event.step_id, payload={
                  "epoch": event.epoch, "worker": worker, "outcome": str(event.kind),
                  "held_by": tr.view.row.lease_owner, "lease_epoch": tr.view.row.lease_epoch})
