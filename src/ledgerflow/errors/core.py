"""The base of ledgerflow's errors and those of definitions, values, lookups, conflicts,
inputs, agents and results (the tree: ``ledgerflow.errors``)."""

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
