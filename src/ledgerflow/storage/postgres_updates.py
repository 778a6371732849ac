"""A commit batch's updates on PostgreSQL as one statement per table: the changes' values go
as one JSON array that ``json_to_recordset`` turns back into rows on the server.

A pipelined statement per row cost the worker about 14 µs of CPU in psycopg's pipeline
machinery (a step updates four rows: its execution, two step runs, one decision), and the
server a statement's start-up each; one JSON text is encoded in C (orjson). Measured with
``benchmarks/pg.py``'s realistic workload (1,000 × 10 steps, three runs each, alternated):
one worker's CPU per step 0.33–0.35 → 0.28–0.29 ms, its steps/s +0–3 % (the server's part
of each batch is the same); two workers 2,943 → 3,199 steps/s in one pair. Writing the new
rows this way too (``json_populate_recordset`` instead of COPY) was measured and dropped:
0.04 ms more server CPU per step. Rows that update the same row twice in one batch (an
execution changed twice) go in rounds, each of distinct keys and in the batch's order, so
a later round sees the earlier one. A value JSON cannot carry as the column holds it (text
that is not UTF-8 or holds NUL, an integer beyond 64 bits, a float that is not finite)
sends that table's rows one statement each, as before, with the errors those give.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Sequence
from functools import cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import psycopg
from psycopg.rows import DictRow

from ledgerflow.storage import binding, queries
from ledgerflow.storage.agent_rows import OutcomeRow
from ledgerflow.storage.base import Change
from ledgerflow.storage.postgres_rows import Conn
from ledgerflow.storage.rows import ExecutionRow, StepRow

if TYPE_CHECKING:
    from ledgerflow.storage.postgres import PostgresStore

T = TypeVar("T")
_LARGEST = 2 ** 63 - 1
_RECORD = re.compile(r"json_to_recordset\(%s::json\) AS v \((?P<columns>[^)]*)\)")


@cache
def columns(name: str) -> tuple[str, ...]:
    """The keys each element of the named statement's JSON array carries: its record's
    columns, as the SQL declares them (a key the rows lacked would be read as NULL)."""
    found = _RECORD.search(queries.load("postgres")[name])
    if found is None:
        raise ValueError(f"{name}: no json_to_recordset(%s::json) AS v (...) to read")
    return tuple(c.split()[0] for c in found["columns"].split(","))


def rounds(items: Sequence[T], key: Callable[[T], Hashable]) -> list[list[int]]:
    """The indexes of ``items`` in rounds of distinct keys: a key met again goes to the
    next round, in order."""
    result: list[list[int]] = []
    left = list(range(len(items)))
    while left:
        seen: set[Hashable] = set()
        now: list[int] = []
        later: list[int] = []
        for i in left:
            k = key(items[i])
            (later if k in seen else now).append(i)
            seen.add(k)
        result.append(now)
        left = later
    return result


def encoded(rows: list[dict[str, Any]]) -> str | None:
    """``rows`` as one JSON array, or None when a value would not come back as stored."""
    for row in rows:
        for value in row.values():
            if isinstance(value, float) and not math.isfinite(value):
                return None  # JSON has no NaN or infinity (orjson writes null)
            if isinstance(value, int) and not -_LARGEST - 1 <= value <= _LARGEST:
                return None
            if isinstance(value, str) and "\x00" in value:
                return None  # no text column holds NUL: refused as a parameter would be
    try:
        return orjson.dumps(rows).decode("utf-8")
    except orjson.JSONEncodeError:  # a lone surrogate: not UTF-8
        return None


# executions: the guards ----------------------------------------------------------------
def guards(store: PostgresStore, conn: Conn, changes: Sequence[Change]) -> Callable[[], list[bool]]:
    """Each change's guard, queued in the pipeline: the insert of a new execution, the
    guarded update of one known (``update_executions``, a round a statement). Returns
    what says, once the pipeline is synced, which guards held."""
    new_ids = [c.execution.id for c in changes if c.expected_version is None]
    if new_ids:  # serialised with retention's removal of the same ids
        conn.execute(store._q["lock_execution_ids"], (new_ids,))
    counted: list[tuple[int, psycopg.Cursor[DictRow]]] = []  # a row count each
    returned: list[tuple[list[int], psycopg.Cursor[DictRow]]] = []  # the ids that held
    insert = binding.statement("postgres", "insert_execution", ExecutionRow)
    for i, change in enumerate(changes):
        if change.expected_version is None:
            counted.append((i, cur := conn.cursor()))
            cur.execute(insert.sql, insert.values(change.execution))
    known = [i for i, c in enumerate(changes) if c.expected_version is not None]
    for indexes in rounds(known, lambda i: changes[i].execution.id):
        round_ = [known[j] for j in indexes]
        text = encoded([_guarded(changes[i]) for i in round_])
        if text is None:  # one statement each, as before
            update = binding.statement("postgres", "update_execution", ExecutionRow,
                                       binding.GUARD)
            for i in round_:
                owner, epoch = changes[i].lease or (None, 0)
                counted.append((i, cur := conn.cursor()))
                cur.execute(update.sql, update.values(
                    changes[i].execution, changes[i].expected_version,
                    changes[i].expected_head_hash, owner, epoch))
            continue
        returned.append((round_, cur := conn.cursor()))
        cur.execute(store._q["update_executions"], (text,))

    def held() -> list[bool]:
        results = [False] * len(changes)
        for i, cur in counted:
            results[i] = cur.rowcount == 1
        for round_, cur in returned:
            updated = {row["id"] for row in cur.fetchall()}
            for i in round_:
                results[i] = changes[i].execution.id in updated
        return results

    return held


_GUARD = ("expected_version", "expected_head_hash", "guard_owner", "guard_epoch")


@cache
def _new_row() -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The columns of ``update_executions`` an execution row gives, and their getter."""
    names = tuple(c for c in columns("update_executions") if c not in _GUARD)
    return names, attrgetter(*names)


def _guarded(change: Change) -> dict[str, Any]:
    """A change as ``update_executions`` reads it: its new row, and what its guard expects."""
    names, values = _new_row()
    owner, epoch = change.lease or (None, 0)
    record = dict(zip(names, values(change.execution), strict=True))
    record.update(expected_version=change.expected_version,
                  expected_head_hash=change.expected_head_hash, guard_owner=owner,
                  guard_epoch=epoch)
    return record


# step runs and routing decisions --------------------------------------------------------
def steps(store: PostgresStore, conn: Conn, rows: Sequence[StepRow]) -> None:
    """The step runs' updates (``update_steps``), queued."""
    _each_round(store, conn, rows, "update_steps", "update_step", StepRow,
                lambda s: (s.execution_id, s.step_id))


def outcomes(store: PostgresStore, conn: Conn, rows: Sequence[OutcomeRow]) -> None:
    """How routed attempts ended, into their decisions (``update_decision_outcomes``)."""
    _each_round(store, conn, rows, "update_decision_outcomes", "update_decision_outcome",
                OutcomeRow, lambda o: (o.execution_id, o.step_id, o.epoch))


def _each_round(store: PostgresStore, conn: Conn, rows: Sequence[T], name: str, one: str,
                row: type, key: Callable[[T], Hashable]) -> None:
    """``rows`` by the JSON statement ``name``, a round a statement; a round JSON cannot
    carry by ``one``, a statement a row."""
    keys = columns(name)
    values = attrgetter(*keys)
    for indexes in rounds(rows, key):
        text = encoded([dict(zip(keys, values(rows[i]), strict=True)) for i in indexes])
        if text is None:
            bound = binding.statement("postgres", one, row)
            store._executemany(conn, bound.sql, [bound.values(rows[i]) for i in indexes])
        else:
            conn.execute(store._q[name], (text,))
