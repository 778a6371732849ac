"""One exception tree for everything ledgerflow raises on purpose.

``str(exc)`` is one line a user of any face can act on (a Python caller, the HTTP API, the
CLI): what failed, on which object, and what to do, in words; it never names a CLI command
or option (the CLI adds those itself). What a program needs is in attributes, set by
keyword: ids, the current status, the actions allowed, and ``retryable`` (the same call may
succeed if simply made again).

::

    LedgerflowError                  base; ``retryable`` (False unless a class says so)
    ├── ConfigurationError           bad URL, bad setting, unsupported option
    ├── DefinitionError              a workflow definition is invalid: source, problems
    ├── InvalidValue                 a value does not parse (also a ValueError)
    │   ├── DurationError            not a duration: value
    │   ├── ExpressionSyntaxError    not a CEL expression: source, reason, line, column
    │   └── TemplateSyntaxError      malformed ${...} parts: problems, referenced_steps
    ├── ExpressionError              a CEL expression failed to evaluate: expression
    ├── NotFound                     an unknown id or name (another tenant's too): kind, id
    │   ├── WorkflowNotFound         version
    │   └── ExecutionNotFound
    │       ├── ExecutionRemoved     removed by retention: tombstone
    │       └── AmbiguousExecutionId  an id prefix several executions share: candidates
    ├── Conflict                     the request contradicts what is stored: execution_id
    │   ├── IdempotencyConflict      same execution id, different input
    │   ├── InvalidTransition        not allowed in the current status: current_status,
    │   │                            action, allowed_actions, step_id, target_status
    │   ├── ConcurrentChange         another operator changed it first: action,
    │   │                            current_status, seq, event_type
    │   ├── VersionMismatch          it is no longer at the version the caller read:
    │   │                            expected, current_version
    │   └── ExecutionBusy            it kept changing under the command (retryable)
    ├── InputValidationError         input or a state edit is refused: problems, path
    ├── AgentError                   no agent, bad agent options or module: capability,
    │                                agent, module
    ├── ExecutionFailed              it ended without a result (failed, cancelled or
    │                                expired): execution_id, status, step_id, error
    ├── ResultTimeout                no end within the caller's timeout (also a
    │                                TimeoutError; retryable): execution_id, status,
    │                                timeout
    ├── StorageError                 the database failed or is in an unexpected shape
    │   ├── ConnectionLost           the database is unreachable for now (retryable)
    │   │   └── DatabaseFull             its disk is full: free space (retryable)
    │   ├── CorruptedRow             a row was changed outside ledgerflow: what
    │   ├── MigrationRequired        pending migrations: url, pending
    │   ├── MigrationError           a migration failed or was edited after it was applied
    │   ├── WorkerLockHeld           another worker drives this embedded database: path,
    │   │                            holder, tenant
    │   └── CopyFailed               a database copy stopped and was rolled back
    ├── LedgerError                  an operation on the ledger was refused
    │   └── UnstorableValue          a value the ledger cannot hold: reason (names its path)
    ├── Unauthorized                 no usable API token: reason
    ├── Forbidden                    the token's role may not do it: role, needed
    └── HttpProblem                  an HTTP answer a server route gives as it is: status,
                                     code, problems, retryable, headers, members
"""

from __future__ import annotations

from ledgerflow.errors.access import Forbidden, HttpProblem, Unauthorized
from ledgerflow.errors.core import (
    AgentError,
    AmbiguousExecutionId,
    ConcurrentChange,
    ConfigurationError,
    Conflict,
    DefinitionError,
    DurationError,
    ExecutionBusy,
    ExecutionFailed,
    ExecutionNotFound,
    ExecutionRemoved,
    ExpressionError,
    ExpressionSyntaxError,
    IdempotencyConflict,
    InputValidationError,
    InvalidTransition,
    InvalidValue,
    LedgerflowError,
    NotFound,
    ResultTimeout,
    TemplateSyntaxError,
    VersionMismatch,
    WorkflowNotFound,
)
from ledgerflow.errors.core import PathPart as PathPart  # a JSON path's part
from ledgerflow.errors.storage import (
    ConnectionLost,
    CopyFailed,
    CorruptedRow,
    DatabaseFull,
    LedgerError,
    MigrationError,
    MigrationRequired,
    StorageError,
    UnstorableValue,
    WorkerLockHeld,
)

__all__ = [
    "AgentError", "AmbiguousExecutionId", "ConcurrentChange", "ConfigurationError", "Conflict",
    "ConnectionLost", "CopyFailed", "CorruptedRow", "DatabaseFull", "DefinitionError",
    "DurationError", "ExecutionBusy", "ExecutionFailed", "ExecutionNotFound",
    "ExecutionRemoved", "ExpressionError", "ExpressionSyntaxError", "Forbidden", "HttpProblem",
    "IdempotencyConflict", "InputValidationError", "InvalidTransition", "InvalidValue",
    "LedgerError", "LedgerflowError", "MigrationError", "MigrationRequired", "NotFound",
    "ResultTimeout", "StorageError", "TemplateSyntaxError", "Unauthorized", "UnstorableValue",
    "VersionMismatch", "WorkerLockHeld", "WorkflowNotFound",
]
