"""Retention on SQLite: remove whole finished executions, each behind its tombstone.

Runs inside the store's write transaction. An execution is removed only when it is still
exactly what its tombstone describes (same tenant, workflow, finished status and ledger
head) and has no tombstone yet; anything else is left alone and not reported removed. The
tombstone goes in first: the ledger's DELETE trigger refuses the rows without it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from ledgerflow.storage.rows import TombstoneRow

FINISHED = frozenset({"completed", "failed", "cancelled", "expired"})

# children first: their rows reference the execution row; the outcomes of its decisions
# are summed into removed_outcomes first, so the agent statistics still add up to them
_DELETES = ("delete_ledger_of_execution", "delete_steps_of_execution",
            "delete_state_versions_of_execution", "remove_outcomes_of_execution",
            "delete_decisions_of_execution", "delete_signals_of_execution")


def still_matches(found: dict[str, Any] | None, stone: TombstoneRow) -> bool:
    """The stored execution is finished and is the one the tombstone was made from."""
    if found is None or found["tombstoned"]:
        return False
    return (found["status"] in FINISHED
            and (found["tenant_id"], found["workflow"], found["workflow_version"],
                 found["status"], found["head_seq"], found["head_hash"])
            == (stone.tenant_id, stone.workflow, stone.workflow_version, stone.final_status,
                stone.head_seq, stone.head_hash))


def remove(conn: sqlite3.Connection, q: dict[str, str],
           tombstones: Sequence[TombstoneRow]) -> list[str]:
    """Remove each still-matching execution with its tombstone; returns the removed ids."""
    removed: list[str] = []
    for stone in tombstones:
        ident = (stone.execution_id,)
        if not still_matches(conn.execute(q["execution_head"], ident).fetchone(), stone):
            continue  # changed, gone, already tombstoned or not finished: left alone
        conn.execute(q["insert_tombstone"], asdict(stone))
        for name in _DELETES:
            conn.execute(q[name], ident)
        conn.execute(q["delete_execution"],
                     (stone.execution_id, stone.head_seq, stone.head_hash))
        removed.append(stone.execution_id)
    return removed
