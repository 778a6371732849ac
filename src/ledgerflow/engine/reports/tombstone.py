"""A removed execution's tombstone, as the read model hands it out. It imports nothing of
ledgerflow, so ``errors`` can name it (``ExecutionRemoved.tombstone``) without a cycle."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Tombstone:
    """What retention kept of a removed execution: how it ended and its chain's head."""

    execution_id: str
    tenant_id: str
    workflow: str
    workflow_version: int
    final_status: str
    head_seq: int
    head_hash: str
    created_at: str
    finished_at: str | None
    removed_at: str
    removed_by: str

    @classmethod
    def from_row(cls, row: Any) -> Tombstone:
        """From storage's tombstone row (any dataclass with these fields)."""
        return cls(**asdict(row))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line saying the execution is gone and what its tombstone proves."""
        return (f"execution {self.execution_id} ({self.workflow} v{self.workflow_version}, "
                f"{self.final_status}) was removed by retention on {self.removed_at}; "
                f"last seq {self.head_seq}, head hash {self.head_hash}")
