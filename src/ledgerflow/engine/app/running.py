"""Running and waiting from Python: a worker launched in a background thread of this
process (``Launched``, behind ``App.launch``) and waiting for an execution to end
(``Results``, behind ``App.result`` and ``App.run``).

A waiter is woken by this process's workers, which tell ``Results`` after every commit
that ends an execution, and otherwise looks at the store once a poll interval (an
execution that a worker in another process runs). Nothing spins: between looks it sleeps
on a condition.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ledgerflow import errors
from ledgerflow.clock import SystemClock
from ledgerflow.engine.model.lifecycle import ExecutionStatus
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.ledger import values
from ledgerflow.storage.rows import ExecutionRow, LedgerRow

if TYPE_CHECKING:
    from ledgerflow.engine.worker.loop import Worker

log = logging.getLogger("ledgerflow.worker")
# a caller's timeout is real seconds, whatever clock the engine runs on (a FakeClock moves
# the engine's time, not the caller's patience)
REAL = SystemClock()
STARTUP_LOOK = 0.01  # seconds between looks at a launched worker's start-up


class Results:
    """Where waiters for an execution's end sleep. Thread-safe."""

    def __init__(self, poll_interval: float) -> None:
        self._poll_interval = poll_interval
        self._changed = threading.Condition()
        self._ended = 0  # counts executions ended by this process's workers, and nudges
        # the executions waited for, with the row a worker here committed to end each
        # (None until then): the waiter takes it rather than reading it back
        self._rows: dict[str, ExecutionRow | None] = {}

    def heard(self, view: ExecutionView) -> None:
        """A worker of this process committed a change of ``view`` (its listener)."""
        if view.status.terminal:
            with self._changed:
                if view.id in self._rows:
                    self._rows[view.id] = view.row
                self.nudge()  # the condition's lock is reentrant

    def nudge(self) -> None:
        """Wake every waiter to look again."""
        with self._changed:
            self._ended += 1
            self._changed.notify_all()

    def heard_so_far(self) -> int:
        """A mark to pass to ``wait``: taken before reading the row it is given."""
        with self._changed:
            return self._ended

    def wait(self, row: ExecutionRow, seen: int, look: Callable[[], ExecutionRow],
             broken: Callable[[], Exception | None], timeout: float | None) -> ExecutionRow:
        """The execution's row once it has ended: ``row`` (read after ``seen`` was taken),
        else what ``look`` reads after each end heard or poll interval. A paused or waiting
        execution is waited for like a running one. Raises ``errors.ResultTimeout`` once
        ``timeout`` seconds have passed (None: no limit), and what ``broken`` returns (the
        error that stopped this process's launched worker) rather than waiting for nobody."""
        deadline = REAL.monotonic() + (timeout or 0.0)
        execution_id = row.id
        with self._changed:
            self._rows.setdefault(execution_id, None)
        try:
            return self._until_ended(row, seen, look, broken, timeout, deadline)
        finally:
            with self._changed:
                self._rows.pop(execution_id, None)

    def _until_ended(self, row: ExecutionRow, seen: int, look: Callable[[], ExecutionRow],
                     broken: Callable[[], Exception | None], timeout: float | None,
                     deadline: float) -> ExecutionRow:
        execution_id = row.id
        while True:
            if ExecutionStatus(row.status).terminal:
                return row
            failure = broken()
            if failure is not None:
                raise failure
            left = self._poll_interval
            if timeout is not None:
                left = min(left, deadline - REAL.monotonic())
                if left <= 0:
                    raise errors.ResultTimeout(
                        f"execution {execution_id} did not end within {timeout:g} s "
                        f"(it is {row.status}); it goes on: wait again, or longer",
                        execution_id=execution_id, status=row.status, timeout=timeout)
            with self._changed:
                if self._ended == seen:  # else an end was heard since the look: look again
                    self._changed.wait(left)
                seen = self._ended
                committed = self._rows.get(execution_id)
            row = committed if committed is not None else look()


def failure(row: ExecutionRow, ledger: list[LedgerRow]) -> errors.ExecutionFailed:
    """Why an execution ended without a result, from the ledger entry that ended it."""
    status = row.status
    payload = _ending_payload(status, ledger)
    step_id = payload.get("step_id") if status == ExecutionStatus.FAILED else None
    if status == ExecutionStatus.FAILED:
        error = row.error or payload.get("error")
        message = f"execution {row.id} failed: {error}"
    elif status == ExecutionStatus.CANCELLED:
        error = payload.get("reason")
        message = f"execution {row.id} was cancelled" + (f": {error}" if error else "")
    else:
        error = None
        message = f"execution {row.id} {status} before it finished"
    return errors.ExecutionFailed(message, execution_id=row.id, status=status,
                                  step_id=step_id if isinstance(step_id, str) else None,
                                  error=error if isinstance(error, str) else None)


def _ending_payload(status: str, ledger: list[LedgerRow]) -> dict[str, Any]:
    for entry in reversed(ledger):
        if entry.event_type == f"execution.{status}":
            value = values.decode(entry.payload) if entry.payload is not None else None
            return value if isinstance(value, dict) else {}
    return {}


class Launched:
    """A worker running in a background thread of this process (``App.launch``).

    The thread is a daemon: a process that ends without ``stop`` (``App.close``) leaves
    the executions it held to be recovered by the next worker, as after a crash."""

    def __init__(self, worker: Worker, on_end: Callable[[], None]) -> None:
        self.worker = worker
        self.error: Exception | None = None  # what stopped the worker, if it failed
        self._on_end = on_end
        self._thread = threading.Thread(target=self._run, name="ledgerflow-worker",
                                        daemon=True)

    def start(self) -> None:
        """Start the thread and return once the worker is ready (its start-up recovery
        done), so that executions started from now on are activated at once. Raises what
        stopped the worker during its start-up (another worker holds an embedded
        database, ...)."""
        self._thread.start()
        while not self.worker.ready:
            self._thread.join(STARTUP_LOOK)
            if not self._thread.is_alive():
                if self.error is not None:
                    raise self.error
                return

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop dispatching, let running handlers finish and commit, then wait for the
        thread to end."""
        self.worker.stop()
        self._thread.join()

    def _run(self) -> None:
        try:
            self.worker.run()
        except Exception as exc:  # kept for whoever waits; the thread ends here
            log.error("the launched worker stopped: %s", exc)
            self.error = exc
        finally:
            self._on_end()  # waiters look again instead of waiting for nobody
