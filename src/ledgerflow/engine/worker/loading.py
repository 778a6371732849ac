"""Loading an execution's view for the worker, quarantining the ones that cannot load."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ledgerflow import errors
from ledgerflow.engine.definitions import Definitions
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import ExecutionRows

log = logging.getLogger("ledgerflow.worker")


class ViewLoader:
    def __init__(self, store: Store, definitions: Definitions) -> None:
        self._store = store
        self._definitions = definitions
        self.quarantined: set[str] = set()

    def quarantine(self, execution_id: str, why: object) -> None:
        self.quarantined.add(execution_id)
        log.error("execution %s skipped: %s", execution_id, why)

    def load(self, execution_id: str) -> ExecutionView | None:
        """The execution's view, or None if it is unknown or cannot be loaded (``load_many``)."""
        return self.load_many([execution_id])[execution_id]

    def load_many(self, ids: Iterable[str]) -> dict[str, ExecutionView | None]:
        """The view of each execution of ``ids``, read together in one call of the store;
        None for one that is unknown or cannot be loaded.

        A corrupted execution (bad JSON, unloadable definition) is skipped with an error
        logged, never allowed to stop the worker from serving every other execution. A
        lost connection is not corruption: it propagates (the worker retries).
        """
        views: dict[str, ExecutionView | None] = dict.fromkeys(ids)
        wanted = [i for i in views if i not in self.quarantined]
        if wanted:
            for execution_id, rows in self._store.load_whole_executions(wanted).items():
                views[execution_id] = self._view(rows)
        return views

    def _view(self, rows: ExecutionRows) -> ExecutionView | None:
        row = rows.execution
        try:
            definition = self._definitions.get(row.tenant_id, row.workflow,
                                               row.workflow_version)
            return ExecutionView.from_rows(row, definition, rows.steps, rows.signals)
        except errors.ConnectionLost:
            raise
        except (errors.StorageError, errors.DefinitionError, errors.NotFound) as exc:
            self.quarantine(row.id, exc)
            return None
