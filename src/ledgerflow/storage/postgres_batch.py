"""One ``commit`` batch on PostgreSQL, in one transaction: BEGIN and the guards, the new
rows by ``COPY``, then the updated rows, agent rows, notifications and COMMIT.

The new rows of a batch (step runs, state versions, routing decisions, ledger entries,
signals) were one pipelined ``executemany`` per table, where psycopg's pipeline machinery
cost the worker about 26 µs of CPU per row; ``COPY ... FROM STDIN`` formats a row in C
(about 4 µs, profiled). COPY cannot run in pipeline mode, so the statements BEGIN and
COMMIT open and close the transaction inside two pipelines: BEGIN with every guard in the
first round trip, each table's COPY in two more, the rest with COMMIT in the last.
Triggers and constraints apply to COPY as to INSERT. COPY refuses a table row-level
security holds the connection to (an ordinary role: ``FORCE ROW LEVEL SECURITY``), so for
such a role the new rows go as before, pipelined INSERTs in the last round trip.

Measured (2 shared cores, PostgreSQL 15, superuser; six runs of each, alternated):
``benchmarks/pg.py``'s realistic workload at full size (1,000 executions of 10 steps),
one worker: median 870 → 1,095 steps/s, worker CPU 0.61 → 0.51 ms and server CPU 0.35 →
0.28 ms per step; two workers: median 1,425 → 1,454 steps/s (the two cores are taken).
``App.run_until_idle`` in one process: 0.55 → 0.53 ms of CPU per step (5 runs of 6 lower).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import pq
from psycopg.rows import DictRow

from ledgerflow.storage import binding, postgres_listen, postgres_updates, queries
from ledgerflow.storage.base import AgentWrites, Change
from ledgerflow.storage.notices import WAKE, WORK, ledger_notices, ledger_payloads
from ledgerflow.storage.postgres_rows import Conn
from ledgerflow.storage.sql_reads import Appended, appended_rows

if TYPE_CHECKING:
    from ledgerflow.storage.postgres import PostgresStore

# an insert COPY can take: its columns, then as many plain placeholders naming them in order
_INSERT = re.compile(r"\s*INSERT INTO (?P<table>\w+) \((?P<columns>[\w\s,]+)\)\s*"
                     r"VALUES \((?P<values>(?:[^()]|\(\w+\))*)\);?\s*")


# whether row-level security holds this connection to any of the tables: COPY FROM refuses
# such a table (an ordinary role, held by FORCE ROW LEVEL SECURITY: migration 0013), INSERT
# goes through the policy. Asked in every batch's first round trip: no round trip of its own,
# and a role given or denied BYPASSRLS meanwhile is seen at once.
HELD = "SELECT bool_or(row_security_active(t)) AS held FROM unnest(%s::text[]) AS t"


@dataclass(frozen=True, slots=True)
class CopyIn:
    table: str
    sql: str  # COPY table (columns) FROM STDIN
    values: Callable[..., tuple[Any, ...]]  # (row, tenant_id) -> the values in that order


@cache
def copy_statement(name: str, row: type) -> CopyIn:
    """The ``COPY ... FROM STDIN`` that writes what the named insert of ``row`` (and its
    tenant) writes, and the row's values in its columns' order."""
    sql = queries.load("postgres")[name]
    found = _INSERT.fullmatch(sql)
    columns = [c.strip() for c in found["columns"].split(",")] if found else []
    if not found or [v.strip() for v in found["values"].split(",")] != [
            f"%({c})s" for c in columns]:
        raise ValueError(f"{name}: not an insert of plain values COPY can take")
    bound = binding.statement("postgres", name, row, ("tenant_id",))
    return CopyIn(found["table"], f"COPY {found['table']} ({', '.join(columns)}) FROM STDIN",
                  bound.values)


@cache
def copied_tables() -> list[str]:
    """The tables a batch's COPYs write (what ``HELD`` asks about)."""
    return [copy_statement(name, row).table for name, row, _ in appended_rows([])]


def copy_rows(conn: Conn, appended: Appended) -> None:
    """Each table's new rows with one COPY (outside pipeline mode: two round trips each)."""
    with conn.cursor() as cur:
        for name, row, owned in appended:
            if owned:
                into = copy_statement(name, row)
                with cur.copy(into.sql) as copy:
                    for obj, tenant_id in owned:
                        copy.write_row(into.values(obj, tenant_id))


def write(store: PostgresStore, conn: Conn, changes: Sequence[Change], together: bool,
          agents: AgentWrites | None) -> list[bool] | None:
    """The batch, committed; None when ``together`` and a guard failed (nothing written).
    Each change's guard is its first statement: a change that fails it has written
    nothing, so no savepoint is needed. On an error the transaction is rolled back."""
    try:
        with conn.pipeline():
            conn.execute("BEGIN", ())
            held = conn.execute(HELD, (copied_tables(),))
            held_by = postgres_updates.guards(store, conn, changes)
        results = held_by()
        if together and not all(results):
            conn.execute("ROLLBACK", ())
            return None
        applied = [c for c, ok in zip(changes, results, strict=True) if ok]
        copying = not _held(held)
        if copying:
            copy_rows(conn, appended_rows(applied))
        with conn.pipeline() as pipe:
            if copying:
                store._write_updates(conn, applied)
            else:  # pipelined INSERTs, in this round trip
                store._write_rows(conn, applied)
            if agents:
                store.write_agent_rows(conn, agents)
            store._notify(conn, _notifications(applied))
            for payload in ledger_payloads(ledger_notices(applied)):
                conn.execute(postgres_listen.NOTIFY_LEDGER, (payload,))
            if store.before_commit_hook is not None:
                pipe.sync()  # every row is written when the hook runs
                store.before_commit_hook()
            conn.execute("COMMIT", ())
    except BaseException:
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:
            with suppress(psycopg.Error):  # a lost connection: the pool drops it
                conn.execute("ROLLBACK", ())
        raise
    return results


def _held(cur: psycopg.Cursor[DictRow]) -> bool:
    row = cur.fetchone()
    return bool(row and row["held"])


def _notifications(applied: Sequence[Change]) -> list[str]:
    """What a batch tells listening workers: new executions nobody holds, changes made
    outside a worker (their holder reloads them)."""
    notes = [WAKE + c.execution.id for c in applied if c.wake]
    if any(c.expected_version is None and c.execution.lease_owner is None for c in applied):
        notes.append(WORK)
    return notes
