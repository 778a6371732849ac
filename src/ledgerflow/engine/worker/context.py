"""What a handler sees of the execution it works for."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ledgerflow.clock import SystemClock
from ledgerflow.engine.model.transition import Dispatch
from ledgerflow.ledger import values

log = logging.getLogger("ledgerflow.agent")


class StepContext:
    """Passed as the first argument to every handler.

    ``idempotency_key`` is stable across retries and recoveries of the same step (execution
    id + step id): pass it to downstream systems so a re-run after a crash does not repeat
    a side effect. ``state`` is a private copy of the state document as of dispatch.
    """

    __slots__ = ("_beat", "_cancelled", "_dispatch", "_log", "_on_cancel", "_state", "started")

    def __init__(self, dispatch: Dispatch,
                 on_heartbeat: Callable[[Dispatch, Any], None] | None = None,
                 started: datetime | None = None,
                 on_log: Callable[[Dispatch, str, dict[str, Any]], None] | None = None) -> None:
        self._log = on_log
        self._dispatch = dispatch
        # when the attempt was handed over (the worker passes its clock's time)
        self.started = started or SystemClock().now()
        self._state: Any = None
        self._cancelled = False
        self._beat = on_heartbeat
        self._on_cancel: Callable[[], object] | None = None

    @property
    def execution_id(self) -> str:
        return self._dispatch.execution_id

    @property
    def tenant_id(self) -> str:
        return self._dispatch.tenant_id

    @property
    def workflow(self) -> str:
        return self._dispatch.workflow

    @property
    def step_id(self) -> str:
        return self._dispatch.step_id

    @property
    def attempt(self) -> int:
        return self._dispatch.attempt

    @property
    def capability(self) -> str:
        return self._dispatch.capability

    @property
    def agent(self) -> str:
        return self._dispatch.agent

    @property
    def idempotency_key(self) -> str:
        return self._dispatch.idempotency_key

    @property
    def input(self) -> Any:
        return self._dispatch.input

    @property
    def state(self) -> Any:
        if self._state is None:
            self._state = values.decode(self._dispatch.state_text)
        return self._state

    @property
    def cancelled(self) -> bool:
        """True once this attempt's result is no longer wanted: the execution was cancelled
        or expired, or the step was reset. Long handlers should check it and return early
        (cooperative cancellation); whatever they return then is not recorded. It is also
        set when the attempt's timeout passes; an ``async def`` handler is then cancelled
        at its next ``await``."""
        return self._cancelled

    def cancel(self) -> None:
        """Called by the worker; handlers only read ``cancelled``."""
        self._cancelled = True
        if self._on_cancel is not None:
            self._on_cancel()

    def on_cancel(self, callback: Callable[[], object]) -> None:
        """Called by the worker: what else ``cancel`` does (cancel an async task)."""
        self._on_cancel = callback

    def heartbeat(self, details: Any = None) -> None:
        """Say this attempt is alive (with optional JSON ``details``, such as progress).

        Never blocks. ``status`` shows the last one; a step with ``heartbeat_timeout``
        whose heartbeats stop for that long is failed and retried by its retry policy.
        """
        if self._beat is not None:
            self._beat(self._dispatch, details)

    def log(self, message: str, **fields: Any) -> None:
        """A log line of this attempt (``ledgerflow logs ID``). Never blocks the step: it
        goes to the worker's telemetry buffer, which may drop (and count) under a flood."""
        if self._log is not None:
            self._log(self._dispatch, message, fields)
        else:
            log.info("%s/%s: %s %s", self.execution_id, self.step_id, message, fields or "")
