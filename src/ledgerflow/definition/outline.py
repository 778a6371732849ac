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

# A step's type is kept as its spec writes it, a ``StepType`` value (``task`` when not
# written): a read compares it with these and loads neither the definition model nor the
# rules. The types whose steps count as waiting are the kinds' (``StepKind.waiting`` of
# ``engine.rules.kinds``; a test holds the two equal).
TASK = "task"
WAITING_TYPES = frozenset({"wait", "sleep"})


@dataclass(frozen=True, kw_only=True, slots=True)
class StepOutline:
    id: str
    type: str  # a ``StepType`` value
    signal: str | None = None  # the signal a wait step takes
    needs: tuple[str, ...] = ()  # the steps it waits for
    agent: str | None = None  # the capability a task step asks for


def outline(spec: Mapping[str, Any]) -> tuple[StepOutline, ...]:
    """The steps of a stored (already validated) spec, in order."""
    return tuple(StepOutline(id=s["id"], type=s.get("type", TASK),
                             signal=s.get("signal"), needs=tuple(s.get("needs", ())),
                             agent=s.get("agent"))
                 for s in spec["steps"])
