"""What the shared-query mixins of the stores (``SharedReads``, ``AgentTables``,
``LeaseTables``, ``AccessTables``, ``IdempotencyTables``) need from the store they are mixed
into."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any


class SqlMixin:
    _q: dict[str, str]  # named queries of the store's dialect
    dialect: str

    def _read(self, name: str, params: Sequence[Any] | dict[str, Any]) -> list[Any]:
        """Run a named read; dict rows."""
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[Any]:
        """A write transaction on the store's connection."""
        raise NotImplementedError

    def _snapshot(self) -> AbstractContextManager[Any]:
        """A read-only transaction on a connection: every read in it sees one moment."""
        raise NotImplementedError

    def _read_together(self, reads: Sequence[tuple[str, dict[str, Any]]]) -> list[list[Any]]:
        """Several named reads that see one moment; their dict rows, in order."""
        with self._snapshot() as conn:
            return [conn.execute(self._q[name], params).fetchall() for name, params in reads]

    def _ids(self, ids: Sequence[str]) -> Any:
        """A list of ids as the dialect's queries take it (``release_leases_of``,
        ``executions_of_ids``)."""
        raise NotImplementedError

    def _hold_stats(self, conn: Any) -> None:
        """Inside a write transaction: other writers' additions to the agent statistics
        wait until it ends. Nothing to do where one writer at a time is all there is."""
        return None

    def _executemany(self, conn: Any, sql: str, rows: Sequence[Any]) -> None:
        """A statement for each row (the one call whose shape differs by driver)."""
        raise NotImplementedError

    def _notify(self, conn: Any, notices: Sequence[str]) -> None:
        """Tell listening workers (``storage.notices``), on commit of ``conn``'s
        transaction. Nobody listens by default: workers poll."""
        return None
