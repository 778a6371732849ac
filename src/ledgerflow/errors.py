"""One exception tree for everything ledgerflow raises on purpose.

::

    LedgerflowError                  base; ``str(exc)`` is one line a user can act on
    ├── ConfigurationError           bad URL, bad setting, unsupported option
    ├── DefinitionError              a workflow definition is invalid (carries every problem)
    ├── ExpressionError              a CEL expression failed to evaluate
    ├── NotFound                     an unknown id or name (another tenant's object too)
    │   ├── WorkflowNotFound
    │   └── ExecutionNotFound
    │       └── ExecutionRemoved     removed by retention; ``tombstone`` says how it ended
    ├── Conflict                     the request contradicts what is stored
    │   ├── IdempotencyConflict      same execution id, different input
    │   └── InvalidTransition        a lifecycle move that is not allowed
    ├── InputValidationError         execution input does not match the input schema
    ├── AgentError                   no agent for a capability, bad agents module
    ├── StorageError                 the database failed or is in an unexpected shape
    │   ├── MigrationRequired        the database has pending migrations
    │   ├── MigrationError           a migration failed or was edited after it was applied
    │   └── WorkerLockHeld           another worker already owns this embedded database
    └── LedgerError                  an operation on the ledger was refused
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledgerflow.engine.reports.records import Tombstone


class LedgerflowError(Exception):
    """Base of every error ledgerflow raises on purpose."""


class ConfigurationError(LedgerflowError):
    """A setting, URL or option is invalid."""


class DefinitionError(LedgerflowError):
    """A workflow definition is invalid. ``problems`` lists every problem with its path."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {count} {noun}:\n{lines}")


class ExpressionError(LedgerflowError):
    """A CEL expression failed to evaluate (names the expression and the reason)."""


class NotFound(LedgerflowError):
    """An unknown id or name."""


class WorkflowNotFound(NotFound):
    """No workflow definition with that name (or version)."""


class ExecutionNotFound(NotFound):
    """No execution with that id."""


class ExecutionRemoved(ExecutionNotFound):
    """The execution was removed by retention; ``tombstone`` is what was kept of it."""

    def __init__(self, message: str, tombstone: Tombstone) -> None:
        self.tombstone = tombstone
        super().__init__(message)


class Conflict(LedgerflowError):
    """The request contradicts what is stored."""


class IdempotencyConflict(Conflict):
    """An execution id was reused with a different input."""


class InvalidTransition(Conflict):
    """A lifecycle transition that the transition table does not allow."""


class InputValidationError(LedgerflowError):
    """Execution input does not match the definition's input schema."""


class AgentError(LedgerflowError):
    """No agent offers a capability, or an agents module cannot be loaded."""


class StorageError(LedgerflowError):
    """The database failed or holds something unexpected."""


class ConnectionLost(StorageError):
    """The database could not be reached or dropped the connection (a restart, a network
    failure): nothing is wrong with the data; try again."""


class MigrationRequired(StorageError):
    """The database exists but has pending migrations."""


class MigrationError(StorageError):
    """A migration failed, or an applied migration was edited afterwards."""


class WorkerLockHeld(StorageError):
    """Another worker process already drives this embedded database."""


class LedgerError(LedgerflowError):
    """An operation on the ledger was refused."""
