"""What the worker's writer thread consumes: its options, its report, and the events that
handler threads (an attempt's ``Outcome``), timers and polls put on its queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.timers import Timer
from ledgerflow.engine.model.transition import Built
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.worker.leases import LeaseOptions
from ledgerflow.telemetry.buffer import BufferStats

if TYPE_CHECKING:  # prometheus_client loads only in a worker that serves metrics
    from ledgerflow.telemetry.metrics import Prometheus

STOP_GRACE = 30.0


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkerOptions:
    concurrency: int = 8
    limits: Mapping[str, int] = field(default_factory=dict)  # capability -> at once, at most
    recovery_limit: int = 5
    poll_interval: float = 0.25
    batch_max: int = 512
    until_idle: bool = False
    stop_grace: float = STOP_GRACE  # seconds running handlers get to finish once stopped
    telemetry_capacity: int = 100_000  # records buffered before new ones are dropped
    metrics: Prometheus | None = None  # Prometheus counters to update (``--metrics-port``)
    leases: LeaseOptions = field(default_factory=LeaseOptions)
    tenant: str | None = None  # the tenant whose executions it works; None: every tenant's


@dataclass(frozen=True, kw_only=True, slots=True)
class Activate:
    """Pick an execution up: ``refresh`` (dispatch what is runnable), ``recover`` (just
    claimed: steps left running by a dead holder run again under a new epoch) or
    ``reattach`` (a commit's outcome is unknown after a lost connection: steps it may
    have started run again)."""

    execution_id: str
    how: str = "refresh"


@dataclass(frozen=True, kw_only=True, slots=True)
class Adopt:
    """An execution started and activated in this process, already committed."""

    built: Built

    @property
    def execution_id(self) -> str:
        return self.built.view.id


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerFired:
    timer: Timer

    @property
    def execution_id(self) -> str:
        return self.timer.execution_id


@dataclass(frozen=True, kw_only=True, slots=True)
class Refresh:
    """The execution was changed outside this worker (a control, a signal): reload it."""

    execution_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Expire:
    """The session is past its deadline."""

    execution_id: str
    expires_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Heartbeat:
    """A running attempt said it is alive."""

    execution_id: str
    step_id: str
    epoch: int
    details: Any
    at: float  # epoch seconds


Event = Heartbeat | Outcome | Activate | TimerFired | Adopt | Refresh | Expire
Listener = Callable[[ExecutionView], None]


@dataclass(kw_only=True, slots=True)
class WorkerReport:
    steps_run: int = 0
    commits: int = 0
    changes: int = 0
    recovered: int = 0
    telemetry: BufferStats | None = None  # produced / written / dropped, once stopped
