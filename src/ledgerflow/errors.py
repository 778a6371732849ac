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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

if TYPE_CHECKING:
    from ledgerflow.engine.reports.tombstone import Tombstone

PathPart = str | int
E = TypeVar("E", bound=BaseException)


def _name(value: object) -> str | None:
    # a status or action enum member as its plain name: what a program compares and prints
    return None if value is None else str(value)


def _rebuild(cls: type[E], args: tuple[Any, ...], state: dict[str, Any]) -> E:
    # without __init__: its keyword attributes come from ``state``, not from ``args``
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class LedgerflowError(Exception):
    """Base of every error ledgerflow raises on purpose."""

    retryable: ClassVar[bool] = False  # True: nothing is wrong with the request; call again

    def prefixed(self, prefix: str) -> Self:
        """The same error (class and attributes) with ``prefix`` before its message, for a
        caller that adds where it happened (``"source: "``)."""
        return _rebuild(type(self), (f"{prefix}{self}",), self.__dict__)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled with its attributes (process pools, multiprocessing), whatever __init__ takes
        return _rebuild, (type(self), self.args, self.__dict__)


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


class InvalidValue(LedgerflowError, ValueError):
    """A value does not parse; ``str(exc)`` says why and how to write it. Definitions
    report these as ``DefinitionError`` problems, with their paths."""


class DurationError(InvalidValue):
    """A value is not a valid duration; ``value`` is what was given."""

    def __init__(self, message: str, *, value: object = None) -> None:
        self.value = value
        super().__init__(message)


class ExpressionSyntaxError(InvalidValue):
    """A CEL expression does not parse. Carries ``source``, ``reason``, ``line``, ``column``."""

    def __init__(self, *, source: str, reason: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        self.column = column
        where = f" at line {line}, column {column}" if line and column else ""
        super().__init__(f"invalid CEL expression {source!r}: {reason}{where}")


class TemplateSyntaxError(InvalidValue):
    """A template holds malformed ``${...}`` parts.

    ``problems`` lists ``(path, message)`` for every one, ``path`` being the keys and list
    indexes leading from the template's root to the bad string. ``referenced_steps`` holds
    the step ids used by the parts that did compile.
    """

    def __init__(self, *, problems: Sequence[tuple[tuple[PathPart, ...], str]],
                 referenced_steps: frozenset[str] = frozenset()) -> None:
        self.problems = tuple(problems)
        self.referenced_steps = referenced_steps
        super().__init__("; ".join(message for _, message in self.problems))


class ExpressionError(LedgerflowError):
    """A CEL expression failed to evaluate; ``expression`` is its source when known."""

    def __init__(self, message: str, *, expression: str | None = None) -> None:
        self.expression = expression
        super().__init__(message)


class NotFound(LedgerflowError):
    """An unknown id or name. ``kind`` says what was looked for (``"execution"``,
    ``"workflow"``, ``"state version"``, ``"ledger entry"``, ``"step"``, ``"breaker"``,
    ``"database"``), ``id`` which one, ``execution_id`` the execution it belongs to."""

    def __init__(self, message: str, *, kind: str | None = None, id: str | None = None,
                 execution_id: str | None = None) -> None:
        self.kind = kind
        self.id = id
        self.execution_id = execution_id
        super().__init__(message)


class WorkflowNotFound(NotFound):
    """No workflow definition with that name (``id``), or not that ``version``."""

    def __init__(self, message: str, *, id: str | None = None,
                 version: int | None = None) -> None:
        self.version = version
        super().__init__(message, kind="workflow", id=id)


class ExecutionNotFound(NotFound):
    """No execution with that id."""

    def __init__(self, message: str, *, id: str | None = None) -> None:
        super().__init__(message, kind="execution", id=id, execution_id=id)


class ExecutionRemoved(ExecutionNotFound):
    """The execution was removed by retention; ``tombstone`` is what was kept of it."""

    def __init__(self, message: str, tombstone: Tombstone) -> None:
        self.tombstone = tombstone
        super().__init__(message, id=tombstone.execution_id)


class AmbiguousExecutionId(ExecutionNotFound):
    """An id prefix (``id``) that several executions' ids start with; ``candidates`` are
    some of them, in id order."""

    def __init__(self, message: str, *, id: str | None = None,
                 candidates: Sequence[str] = ()) -> None:
        self.candidates = tuple(candidates)
        super().__init__(message, id=id)


class Conflict(LedgerflowError):
    """The request contradicts what is stored; ``execution_id`` when about one."""

    def __init__(self, message: str, *, execution_id: str | None = None) -> None:
        self.execution_id = execution_id
        super().__init__(message)


class IdempotencyConflict(Conflict):
    """An execution id was reused with a different input (or by another tenant)."""


class InvalidTransition(Conflict):
    """A lifecycle move that is not allowed. ``current_status`` is the execution's (or
    ``step_id``'s) status; ``action`` the operator action refused (None for an internal
    move to ``target_status``); ``allowed_actions`` the operator actions allowed in
    ``current_status`` (names as ``OperatorAction`` spells them)."""

    def __init__(self, message: str, *, execution_id: str | None = None,
                 current_status: str | None = None, action: str | None = None,
                 allowed_actions: Sequence[str] = (), step_id: str | None = None,
                 target_status: str | None = None) -> None:
        self.current_status = _name(current_status)
        self.action = _name(action)
        self.allowed_actions = tuple(str(a) for a in allowed_actions)
        self.step_id = step_id
        self.target_status = _name(target_status)
        super().__init__(message, execution_id=execution_id)


class ConcurrentChange(Conflict):
    """Another operator changed the execution between reading and writing it: ``action``
    was not applied. ``seq`` and ``event_type`` name the ledger entry that came first,
    ``current_status`` is the status now (None if the execution is gone)."""

    def __init__(self, message: str, *, execution_id: str | None = None,
                 action: str | None = None, current_status: str | None = None,
                 seq: int | None = None, event_type: str | None = None) -> None:
        self.action = _name(action)
        self.current_status = _name(current_status)
        self.seq = seq
        self.event_type = event_type
        super().__init__(message, execution_id=execution_id)


class VersionMismatch(Conflict):
    """The caller acts on the version it read (an HTTP ``If-Match``: the ledger head seq),
    and the execution has moved on since: nothing was applied. ``current_version`` is the
    version now; read the execution again and decide anew."""

    def __init__(self, message: str, *, execution_id: str | None = None,
                 expected: int | None = None, current_version: int | None = None) -> None:
        self.expected = expected
        self.current_version = current_version
        super().__init__(message, execution_id=execution_id)


class ExecutionBusy(Conflict):
    """The execution kept changing (workers moving it on) while ``action`` tried to
    commit; nothing was applied and the same call may succeed."""

    retryable = True

    def __init__(self, message: str, *, execution_id: str | None = None,
                 action: str | None = None) -> None:
        self.action = _name(action)
        super().__init__(message, execution_id=execution_id)


class InputValidationError(LedgerflowError):
    """Execution input does not match the definition's input schema, or a state edit
    cannot be applied. ``problems`` lists each mismatch (``path: message``); ``path`` is
    the state path of a refused edit."""

    def __init__(self, message: str, *, problems: Sequence[str] = (),
                 path: str | None = None) -> None:
        self.problems = tuple(problems)
        self.path = path
        super().__init__(message)


class AgentError(LedgerflowError):
    """No agent offers a capability, an agent's options are invalid, or an agents module
    cannot be loaded: ``capability``, ``agent`` and ``module`` say which, when known."""

    def __init__(self, message: str, *, capability: str | None = None,
                 agent: str | None = None, module: str | None = None) -> None:
        self.capability = capability
        self.agent = agent
        self.module = module
        super().__init__(message)


class ExecutionFailed(LedgerflowError):
    """Waiting for a result, the execution ended without one. ``status`` is how it ended
    (``"failed"``, ``"cancelled"`` or ``"expired"``); ``step_id`` the step whose failure
    failed it (None when no step did: a cancel, an expiry); ``error`` the reason it
    records (the failed step's error for a failure, the operator's reason for a cancel)."""

    def __init__(self, message: str, *, execution_id: str, status: str,
                 step_id: str | None = None, error: str | None = None) -> None:
        self.execution_id = execution_id
        self.status = _name(status)
        self.step_id = step_id
        self.error = error
        super().__init__(message)


class ResultTimeout(LedgerflowError, TimeoutError):
    """The execution did not end within ``timeout`` seconds of the caller's wait; it
    goes on (``status`` is where it stood), and waiting again may see it end."""

    retryable = True

    def __init__(self, message: str, *, execution_id: str, status: str,
                 timeout: float) -> None:
        self.execution_id = execution_id
        self.status = _name(status)
        self.timeout = timeout
        super().__init__(message)


class StorageError(LedgerflowError):
    """The database failed or holds something unexpected."""


class ConnectionLost(StorageError):
    """The database could not be reached or dropped the connection (a restart, a network
    failure): nothing is wrong with the data; try again."""

    retryable = True


class DatabaseFull(ConnectionLost):
    """The database cannot grow (its disk is full): nothing was written by the refused
    call, nothing is wrong with the data; free space and try again."""


class CorruptedRow(StorageError):
    """A stored row is not what ledgerflow wrote (it was changed outside ledgerflow);
    ``what`` names it. Verifying the ledgers tells which executions are affected."""

    def __init__(self, message: str, *, what: str | None = None) -> None:
        self.what = what
        super().__init__(message)


class MigrationRequired(StorageError):
    """The database exists but has ``pending`` migrations (``0003_name``); ``url`` is the
    database's URL (without its password)."""

    def __init__(self, message: str, *, url: str | None = None,
                 pending: Sequence[str] = ()) -> None:
        self.url = url
        self.pending = tuple(pending)
        super().__init__(message)


class MigrationError(StorageError):
    """A migration failed, or an applied migration was edited afterwards."""


class WorkerLockHeld(StorageError):
    """Another worker process (pid ``holder``; None: several workers of single tenants)
    already drives the embedded database at ``path``, in the scope a worker of ``tenant``
    (None: of every tenant) needs."""

    def __init__(self, message: str, *, path: str | None = None,
                 holder: str | None = None, tenant: str | None = None) -> None:
        self.path = path
        self.holder = holder
        self.tenant = tenant
        super().__init__(message)


class CopyFailed(StorageError):
    """A database copy stopped; its transaction was rolled back (the message says so)."""


class LedgerError(LedgerflowError):
    """An operation on the ledger was refused."""


class UnstorableValue(LedgerError):
    """A value the ledger cannot hold (``ledger.values.encode``); ``reason`` is the one line
    naming its path (``output.n: integer 2^60 is outside ±2^53``)."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class Unauthorized(LedgerflowError):
    """No usable token: ``reason`` is ``missing``, ``malformed``, ``unknown``, ``expired``
    or ``revoked`` (a server answers 401 for each, with the same words)."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class Forbidden(LedgerflowError):
    """The token's ``role`` may not do what needs ``needed`` (a server answers 403)."""

    def __init__(self, message: str, *, role: str, needed: str) -> None:
        self.role = role
        self.needed = needed
        super().__init__(message)


class HttpProblem(LedgerflowError):
    """An answer the HTTP API gives as it is (``If-Match`` failed, a body too large...):
    ``status``, ``code`` (its problem type), ``problems`` ({path, message} each),
    ``headers`` and ``members`` added to the problem body."""

    def __init__(self, status: int, code: str, detail: str, *,
                 problems: Sequence[dict[str, str]] = (), retryable: bool = False,
                 headers: dict[str, str] | None = None, **members: Any) -> None:
        self.status = status
        self.code = code
        self.problems = list(problems)
        self.problem_retryable = retryable
        self.headers = headers or {}
        self.members = members
        super().__init__(detail)
