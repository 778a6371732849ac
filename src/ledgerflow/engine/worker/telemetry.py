"""What a worker tells the telemetry buffer: step logs (``ctx.log``), engine events,
errors, routing decisions and breaker transitions. Never blocks a step: records go to a
bounded buffer that a background thread writes in batches (``telemetry.buffer``); when it
is full, records are dropped and counted. The ledger never goes through here."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ledgerflow.clock import Clock
from ledgerflow.engine.model.lifecycle import QUARANTINED
from ledgerflow.engine.model.transition import Built, Dispatch
from ledgerflow.engine.worker.counted import Counted
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import TelemetryRow
from ledgerflow.telemetry.buffer import BufferStats, Record, TelemetryBuffer

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from ledgerflow.telemetry.metrics import Prometheus

log = logging.getLogger("ledgerflow.telemetry")
ERROR_EVENTS = frozenset({"step.failed", "step.retry_scheduled", "step.interrupted",
                          "execution.failed"})


def _fields_text(fields: dict[str, Any] | None) -> str:
    try:
        return json.dumps(fields or {}, separators=(",", ":"), default=repr)
    except (TypeError, ValueError):
        return json.dumps({"repr": repr(fields)})


class WorkerTelemetry:
    def __init__(self, store: Store, clock: Clock, capacity: int,
                 metrics: Prometheus | None = None) -> None:
        self._clock = clock
        self._store = store
        self.buffer = TelemetryBuffer(capacity, self._sink)
        self._counted = None if metrics is None else Counted(metrics)

    def scraped(self, slots: Callable[[], tuple[int, int]],
                taken_over: Callable[[], int] = lambda: 0) -> Iterable[Metric]:
        """What a scrape reads off the worker as it is: its slots (``slots()``: busy,
        free), the telemetry records its buffer dropped, and the executions it took over
        from a holder whose lease expired (``taken_over()``)."""
        from prometheus_client.core import CounterMetricFamily

        from ledgerflow.telemetry.metrics import gauge

        busy, free = slots()
        yield gauge("ledgerflow_worker_slots", "Handler slots of this worker, by state.",
                    ["state"], [(["busy"], busy), (["free"], free)])
        dropped = CounterMetricFamily("ledgerflow_telemetry_dropped", "Telemetry records "
                                      "dropped (buffer full, closed, or a sink error).")
        dropped.add_metric([], self.buffer.stats().dropped)
        yield dropped
        expired = CounterMetricFamily("ledgerflow_lease_expirations", "Executions this "
                                      "worker claimed after their holder's lease expired.")
        expired.add_metric([], taken_over())
        yield expired

    def _sink(self, batch: list[Record]) -> None:
        self._store.write_telemetry([
            TelemetryRow(kind=r.kind, execution_id=r.execution_id, step_id=r.step_id,
                         message=r.message, fields=_fields_text(r.fields),
                         occurred_at=r.occurred_at)
            for r in batch])

    def _now(self) -> str:
        return format_timestamp(self._clock.now())

    def start(self) -> None:
        self.buffer.start()

    def close(self) -> BufferStats:
        self.buffer.close()
        stats = self.buffer.stats()
        if stats.dropped:
            log.warning("telemetry: %d of %d record(s) dropped (%d written)", stats.dropped,
                        stats.produced, stats.written)
        return stats

    # producers ----------------------------------------------------------------------------
    def step_log(self, dispatch: Dispatch, message: str, fields: dict[str, Any]) -> None:
        """``ctx.log``: an interaction of the handler."""
        self.buffer.record("interaction", dispatch.execution_id, dispatch.step_id, message,
                           {"attempt": dispatch.attempt, **fields}, self._now())

    def committed(self, result: Built) -> None:
        """Engine events, errors and routing decisions of a committed change."""
        record = self.buffer.record
        eid = result.view.id
        for entry in result.change.ledger:
            event = entry.event_type
            if event in ERROR_EVENTS:
                record("error", eid, entry.step_id, event, _payload(entry.payload),
                       entry.occurred_at)
            elif event.startswith("execution."):
                record("telemetry", eid, None, event, None, entry.occurred_at)
        for d in result.change.decisions:
            record("decision", eid, d.step_id, f"{d.capability} → {d.agent}",
                   {"reason": d.reason, "attempt": d.attempt, "epoch": d.epoch},
                   d.decided_at)
        if self._counted is not None:
            self._counted.committed(result)

    def committed_batch(self, size: int, seconds: float) -> None:
        """A group commit of ``size`` changes took ``seconds``."""
        if self._counted is not None:
            self._counted.batch(self._store.url.split(":", 1)[0], size, seconds)

    def quarantined(self, execution_id: str, reason: str) -> None:
        """The worker set an execution aside (it can neither move on nor fail)."""
        self.buffer.record("error", execution_id, None, QUARANTINED, {"error": reason},
                           self._now())

    def breaker(self, capability: str, agent: str, old: str, new: str, reason: str) -> None:
        if self._counted is not None:
            self._counted.metrics.circuit_transitions.labels(agent, new).inc()
        self.buffer.record("transition", None, None, f"breaker {agent} ({capability}): "
                           f"{old} → {new}", {"capability": capability, "agent": agent,
                                              "from": old, "to": new, "reason": reason},
                           self._now())


def _payload(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else {"value": value}
