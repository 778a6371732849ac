"""How much work one evaluation may do, so a hostile expression cannot hold a worker.

Each comprehension iteration and each element a list or map literal produces costs one
step; concatenation costs the length of what it produces. Deep recursion is refused too.
"""

from __future__ import annotations

from ledgerflow.cel.errors import CelError

MAX_STEPS = 100_000
MAX_SIZE = 1_000_000
SPENT = "exceeded its evaluation budget"  # how a spent budget's message begins


class Budget:
    """The steps and produced size one evaluation has left."""

    __slots__ = ("size", "steps")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.size = MAX_SIZE

    def step(self, count: int = 1) -> None:
        self.steps -= count
        if self.steps < 0:
            raise CelError(f"{SPENT} of {MAX_STEPS:,} macro iterations and elements; "
                           "evaluate over less data, nest fewer macros, or move the work "
                           "into an agent")

    def grow(self, produced: int) -> None:
        self.size -= produced
        if self.size < 0:
            raise CelError(f"{SPENT} of {MAX_SIZE:,} produced characters, bytes or "
                           "list elements; move the work into an agent")
