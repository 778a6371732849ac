"""What the engine hands a store: the changes ``Store.commit`` applies (each under its
guard), the agent statistics and breaker moves ``Store.write_agents`` adds, and the filter of
a list or a count of executions (``storage.base`` holds the contract that takes them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledgerflow.storage.rows import (
    DecisionRow,
    ExecutionRow,
    LedgerRow,
    SignalRow,
    StateVersionRow,
    StepRow,
)

if TYPE_CHECKING:  # annotations only: the rows load on first use (``rows``)
    from ledgerflow.storage.agent_rows import (
        BreakerRow,
        BreakerTransitionRow,
        OutcomeRow,
        StatsRow,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Change:
    """Everything one state change of one execution writes, applied atomically.

    ``expected_version`` and ``expected_head_hash`` are the execution row's version and
    ledger head the change was computed from; both must still hold for it to apply (the
    head hash makes the guard unforgeable: two writers cannot produce the same one).
    ``expected_version`` None means the execution is new and is inserted with ``new_steps``;
    an update must give both (an update without ``expected_head_hash`` never applies).
    ``lease`` (a worker's change): the execution must still be leased to that (owner,
    epoch), else the guard fails — a worker whose lease was taken over writes nothing.
    A new execution is inserted with the lease columns of its row.
    ``expected_status``: the execution's status the change was computed from, when known.
    A change that keeps an unfinished status then lets a store leave the status and lease
    columns alone, and with them every index on them (SQLite rewrites the entries of each
    index on a column an UPDATE assigns, even to the same value: four pages a commit).
    A row the schema refuses (a replaced ledger entry, a broken constraint) is not a guard
    failure: ``commit`` rolls the whole batch back and raises ``errors.StorageError``.
    """

    execution: ExecutionRow
    expected_version: int | None
    expected_head_hash: str | None = None
    new_steps: Sequence[StepRow] = ()
    steps: Sequence[StepRow] = ()
    state_version: StateVersionRow | None = None
    ledger: Sequence[LedgerRow] = ()
    decisions: Sequence[DecisionRow] = field(default_factory=tuple)
    signals: Sequence[SignalRow] = ()  # signals received with this change
    signal_updates: Sequence[SignalRow] = ()  # signals consumed or handled by it
    wake: str | None = None  # made outside a worker: why workers should look again
    lease: tuple[str, int] | None = None  # a worker's write: (owner, epoch) must still hold
    expected_status: str | None = None  # the status it was computed from, when known


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentWrites:
    """Breaker, statistics and decision-outcome rows written with a batch of changes.
    ``stats`` are increments: each is ADDED to the stored totals (and histogram) with an
    atomic increment, so concurrent writers' increments all count; a breaker row replaces
    the stored one."""

    breakers: Sequence[BreakerRow] = ()
    transitions: Sequence[BreakerTransitionRow] = ()
    stats: Sequence[StatsRow] = ()
    outcomes: Sequence[OutcomeRow] = ()

    def __bool__(self) -> bool:
        return bool(self.breakers or self.transitions or self.stats or self.outcomes)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionFilter:
    """Which of a tenant's executions a list or a count takes: each given criterion must
    hold (``statuses``: any of them; times compare as stored, RFC 3339 UTC text).
    ``after`` is a page's cursor, the (created_at, id) of the last row of the page before;
    ``oldest_first`` turns the order (newest first by default)."""

    tenant_id: str
    status: str | None = None
    statuses: Sequence[str] = ()
    workflow: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    id_prefix: str | None = None
    after: tuple[str, str] | None = None
    oldest_first: bool = False
    limit: int = 50
