"""The workflow definition model: frozen values built by ``definition.validate``.

A ``Definition`` is immutable. Its ``spec`` is the normalised JSON document it was built
from, and ``sha256`` is the SHA-256 of that document's RFC 8785 canonical form, so the
same content loaded from YAML, JSON or the Python builder has the same hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

# Signal handler runs are step runs named ``on.<signal>.<index>@<seq>``: a step id may not
# begin with this prefix, or its runs and the handlers' would be mistaken for each other.
HANDLER_RUN_PREFIX = "on."


class StepType(StrEnum):
    TASK = "task"
    WAIT = "wait"
    SLEEP = "sleep"
    WORKFLOW = "workflow"


class BackoffKind(StrEnum):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"


class OutputMode(StrEnum):
    SET = "set"  # state[path] = output
    APPEND = "append"  # state[path] is a list; output is appended
    MERGE = "merge"  # state[path] is an object; output (an object) is merged into it


class Evaluable(Protocol):
    """A compiled expression or input template; evaluated over the step's context."""

    @property
    def source(self) -> str: ...

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """Evaluate over ``{"input": ..., "state": ..., "steps": {id: {"output": ...}}}``.

        Returns plain JSON values (dict, list, str, int, float, bool, None). Raises
        ``errors.ExpressionError`` naming the expression when evaluation fails.
        """
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    max_attempts: int = 1
    backoff: BackoffKind = BackoffKind.EXPONENTIAL
    initial: float = 1.0  # seconds before the second attempt
    max: float = 60.0  # upper bound of any delay, seconds

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (2, 3, ...) after attempt - 1 failed."""
        if self.backoff is BackoffKind.FIXED:
            return min(self.initial, self.max)
        # a float power, capped: a thousandth retry overflows to inf, never raises
        return float(min(self.initial * 2.0 ** min(max(attempt - 2, 0), 1023), self.max))


@dataclass(frozen=True, kw_only=True, slots=True)
class OutputTarget:
    path: tuple[str, ...]  # dotted state path split into keys, e.g. ("case", "kyc")
    mode: OutputMode = OutputMode.SET


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    id: str
    type: StepType = StepType.TASK
    agent: str | None = None  # capability asked for (task steps)
    needs: tuple[str, ...] = ()
    when: Evaluable | None = None
    input: Evaluable | None = None  # template of the step input; None means {}
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None  # seconds per attempt
    heartbeat_timeout: float | None = None  # an attempt silent this long is failed
    output: OutputTarget | None = None
    at_most_once: bool = False
    description: str = ""
    # type-specific settings kept for later step types (wait: signal, sleep: for/until, ...)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class SignalHandler:
    """Runs ``agent`` for each ``signal`` received (when ``when`` holds over the step context
    plus ``signal: {name, data}``); its output goes to ``output`` like a step's."""

    signal: str
    agent: str
    output: OutputTarget | None = None
    when: Evaluable | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Definition:
    name: str
    description: str = ""
    ttl: float | None = None  # seconds
    input_schema: Mapping[str, Any] | None = None
    steps: tuple[Step, ...]
    on: Mapping[str, tuple[SignalHandler, ...]] = field(default_factory=dict)
    spec: Mapping[str, Any]  # normalised JSON document (the canonical source)
    sha256: str

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.steps)
