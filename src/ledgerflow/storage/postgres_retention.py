"""Retention on PostgreSQL: remove whole finished executions, each behind its tombstone.

Runs inside the store's write transaction, with the rules of the SQLite one: an execution
is removed only when it is still exactly what its tombstone describes and has no tombstone
yet. Its row is locked while it is checked, so no writer changes it between the check and
the removal; the ids are also locked as ``commit`` locks the ids of new executions, so an
id is never inserted again beside its removal. The tombstone goes in first: the ledger's
DELETE trigger refuses the rows without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from ledgerflow.storage.postgres_rows import Conn
from ledgerflow.storage.rows import TombstoneRow
from ledgerflow.storage.sqlite_retention import still_matches

# children first: their rows reference the execution row; the outcomes of its decisions
# are summed into removed_outcomes first, so the agent statistics still add up to them
_DELETES = ("delete_ledger_of_execution", "delete_steps_of_execution",
            "delete_state_versions_of_execution", "remove_outcomes_of_execution",
            "delete_decisions_of_execution", "delete_signals_of_execution")


def remove(conn: Conn, q: dict[str, str], tombstones: Sequence[TombstoneRow]) -> list[str]:
    """Remove each still-matching execution with its tombstone; returns the removed ids."""
    if not tombstones:
        return []
    conn.execute(q["lock_execution_ids"], ([t.execution_id for t in tombstones],))
    removed: list[str] = []
    for stone in tombstones:
        ident = (stone.execution_id,)
        if not still_matches(conn.execute(q["execution_head"], ident).fetchone(), stone):
            continue  # changed, gone, already tombstoned or not finished: left alone
        with conn.pipeline(), conn.cursor() as cur:
            cur.execute(q["insert_tombstone"], asdict(stone))
            for name in _DELETES:
                cur.execute(q[name], ident)
            cur.execute(q["delete_execution"],
                        (stone.execution_id, stone.head_seq, stone.head_hash))
        removed.append(stone.execution_id)
    return removed
