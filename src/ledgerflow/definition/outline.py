"""A stored definition's steps as reads need them, without compiling the definition.

``from_mapping`` compiles every expression (CEL) and checks the input schema (JSON Schema);
for a read such as an execution's status that costs more than the read itself. A stored
spec passed ``from_mapping`` when it was applied, so its outline takes it as it is: each
step's id, its type (``task`` when not written), the signal a wait step takes and the
capability a task step asks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledgerflow.definition.model import StepType

# the types whose steps count as waiting (``StepKind.waiting`` of ``engine.rules.kinds``, which
# a test holds equal): a read needs this fact, not the rules that load with the kinds
WAITING_TYPES = frozenset({StepType.WAIT, StepType.SLEEP})


@dataclass(frozen=True, kw_only=True, slots=True)
class StepOutline:
    id: str
    type: StepType
    signal: str | None = None  # the signal a wait step takes
    needs: tuple[str, ...] = ()  # the steps it waits for
    agent: str | None = None  # the capability a task step asks for


def outline(spec: Mapping[str, Any]) -> tuple[StepOutline, ...]:
    """The steps of a stored (already validated) spec, in order."""
    return tuple(StepOutline(id=s["id"], type=StepType(s.get("type", StepType.TASK)),
                             signal=s.get("signal"), needs=tuple(s.get("needs", ())),
                             agent=s.get("agent"))
                 for s in spec["steps"])
