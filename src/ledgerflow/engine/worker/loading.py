"""Loading an execution's view for the worker, quarantining the ones that cannot load."""

from __future__ import annotations

import logging

from ledgerflow import errors
from ledgerflow.engine.definitions import Definitions
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.storage.base import Store

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
        """The execution's view, or None if it is unknown or cannot be loaded.

        A corrupted execution (bad JSON, unloadable definition) is skipped with an error
        logged, never allowed to stop the worker from serving every other execution. A
        lost connection is not corruption: it propagates (the worker retries).
        """
        if execution_id in self.quarantined:
            return None
        row = self._store.load_execution_any_tenant(execution_id)
        if row is None:
            return None
        steps = self._store.load_steps(row.id)
        signals = self._store.load_signals(row.id)
        try:
            definition = self._definitions.get(row.tenant_id, row.workflow,
                                               row.workflow_version)
            return ExecutionView.from_rows(row, definition, steps, signals)
        except errors.ConnectionLost:
            raise
        except (errors.StorageError, errors.DefinitionError, errors.NotFound) as exc:
            self.quarantine(execution_id, exc)
            return None
