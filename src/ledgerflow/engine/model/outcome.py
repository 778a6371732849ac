"""How one attempt of a step ended: the single value that travels from the pool thread that
ran the handler, through the writer's queue, into the rules that record it.

The output's canonical text is computed once, in the pool thread (so the encoding costs the
writer thread nothing), and reused as it is for the step row's ``output``, the ledger payload
and the state document. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledgerflow.engine.model.transition import Dispatch


class OutcomeKind(StrEnum):
    """How an attempt ended, as its pool thread saw it. A deadline that passes first (a
    timeout, a lost heartbeat) is decided by the writer's timers, not by an outcome."""

    COMPLETED = "completed"  # the handler returned a value that has a canonical JSON form
    FAILED = "failed"  # it raised, its value has no JSON form, or its agent is not loaded


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """One ended attempt of ``step_id`` (``epoch`` tells attempts apart).

    ``error`` is None exactly when it completed; ``output_text`` is then the stored text of
    ``output`` and ``output_canonical`` its RFC 8785 text (``"null"`` for a failure).
    ``duration_ms`` is the time the attempt took in its pool thread, encoding included.
    """

    execution_id: str
    step_id: str
    epoch: int
    capability: str
    agent: str
    output: Any = None
    output_text: str = "null"
    output_canonical: str = "null"
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def kind(self) -> OutcomeKind:
        return OutcomeKind.COMPLETED if self.error is None else OutcomeKind.FAILED

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def of(cls, attempt: Dispatch, *, output: Any = None, output_text: str = "null",
           output_canonical: str = "null", error: str | None = None,
           duration_ms: float = 0.0) -> Outcome:
        """The outcome of ``attempt``, named by its dispatch."""
        return cls(execution_id=attempt.execution_id, step_id=attempt.step_id,
                   epoch=attempt.epoch, capability=attempt.capability, agent=attempt.agent,
                   output=output, output_text=output_text,
                   output_canonical=output_canonical, error=error,
                   duration_ms=duration_ms)
