"""The unfinished-execution indexes: they hold exactly the unfinished executions, the worker's
queries read them, and updating an execution builds no temporary table for them."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import psycopg

from ledgerflow.engine.model.lifecycle import ExecutionStatus
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage import queries
from ledgerflow.storage.base import Store
from ledgerflow.storage.sqlite import SqliteStore
from tests.storage.conftest import Changes, at

NOW, LATER = format_timestamp(at(0)), format_timestamp(at(10))
UNFINISHED = {s.value for s in ExecutionStatus if not s.terminal}

# the queries a worker runs to find its work: each reads one of the indexes of unfinished
# executions (which one is the planner's choice)
INDEXES = ("executions_unfinished", "executions_by_lease", "executions_unfinished_by_tenant")
FINDERS = {"sqlite": ("claimable_executions", "renew_leases", "worker_load", "release_leases"),
           "postgres": ("claim_executions", "renew_leases", "worker_load", "release_leases")}


def one_execution_per_status(store: Store, changes: Changes, owner: str | None) -> None:
    """An execution in each status, named after it, held by ``owner``."""
    for status in ExecutionStatus:
        new = changes.new(status.value)
        row = replace(new.execution, status=status.value, lease_owner=owner,
                      lease_expires_at=LATER if owner else None)
        assert store.commit([replace(new, execution=row)]) == [True]


def test_claims_take_every_unfinished_status_and_no_finished_one(
        store: Store, changes: Changes) -> None:
    one_execution_per_status(store, changes, owner=None)
    claimed = store.claim_executions("w1", now=NOW, expires_at=LATER, limit=100)
    assert {c.execution_id for c in claimed} == UNFINISHED


def test_renewal_extends_the_leases_of_unfinished_executions_only(
        store: Store, changes: Changes) -> None:
    one_execution_per_status(store, changes, owner="w1")
    assert set(store.renew_leases("w1", expires_at=LATER, at=NOW)) == UNFINISHED


def test_release_hands_back_the_unfinished_leases_or_those_named(
        store: Store, changes: Changes) -> None:
    one_execution_per_status(store, changes, owner="w1")
    assert store.release_leases("w1", ["running", "paused", "completed"]) == 3  # as named
    assert store.release_leases("w2") == 0
    assert store.release_leases("w1") == len(UNFINISHED) - 2
    claimed = store.claim_executions("w2", now=NOW, expires_at=LATER, limit=100)
    assert {c.execution_id for c in claimed} == UNFINISHED


def test_sqlite_release_by_id_looks_executions_up_by_id(tmp_path: Path) -> None:
    path = tmp_path / "release.db"
    SqliteStore(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    try:
        sql = queries.load("sqlite")["release_leases_of"]
        plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}",
                            {**plain(re.findall(r":(\w+)", sql)), "ids": "[]"}).fetchall()
    finally:
        conn.close()
    assert "SEARCH executions USING INDEX sqlite_autoindex_executions_1 (id=?)" in \
        " ".join(str(step[3]) for step in plan)


def plain(params: list[str]) -> dict[str, object]:
    return {name: None for name in params}


def test_sqlite_finders_read_the_unfinished_indexes(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    SqliteStore(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    try:
        named = queries.load("sqlite")
        for name in FINDERS["sqlite"]:
            sql = named[name]
            plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}",
                                plain(re.findall(r":(\w+)", sql))).fetchall()
            used = " ".join(str(step[3]) for step in plan)
            assert any(f"USING INDEX {index}" in used for index in INDEXES), (name, used)
    finally:
        conn.close()


def test_sqlite_guard_builds_no_temporary_table_per_index(tmp_path: Path) -> None:
    """A constant IN list in an index's WHERE (or in the guard) costs a temporary table per
    updated row; the one left is the status CHECK of the first schema, built once."""
    path = tmp_path / "guard.db"
    SqliteStore(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    try:
        sql = queries.load("sqlite")["update_execution"]
        program = conn.execute(f"EXPLAIN {sql}", plain(re.findall(r":(\w+)", sql))).fetchall()
    finally:
        conn.close()
    assert [op[1] for op in program].count("OpenEphemeral") <= 1


def test_sqlite_guard_keeping_the_status_rewrites_no_index(tmp_path: Path) -> None:
    """SQLite rewrites the entries of every index on a column an UPDATE assigns, even to
    the same value: the guard of a change that keeps the status assigns none of them (the
    full guard rewrites each, which is what the narrow one spares a commit)."""
    path = tmp_path / "narrow.db"
    SqliteStore(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    try:
        ops = {}
        for name in ("update_execution", "update_execution_same_status"):
            sql = queries.load("sqlite")[name]
            program = conn.execute(f"EXPLAIN {sql}", plain(re.findall(r":(\w+)", sql)))
            ops[name] = [op[1] for op in program.fetchall()]
    finally:
        conn.close()
    assert ops["update_execution"].count("IdxInsert") > 0
    assert ops["update_execution_same_status"].count("IdxInsert") == 0
    assert ops["update_execution_same_status"].count("IdxDelete") == 0


def test_postgres_finders_read_the_unfinished_indexes(pg_url: str) -> None:
    named = queries.load("postgres")
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET enable_seqscan = off")  # an empty table: make an index possible
        for name in FINDERS["postgres"]:
            sql = named[name]
            params: dict[str, object] = {k: "w1" for k in re.findall(r"%\((\w+)\)s", sql)}
            params.update({k: [] for k in ("capabilities", "ids") if k in params})
            params.update({k: False for k in ("steal", "all") if k in params})
            params.update({k: 1 for k in ("limit",) if k in params})
            # a worker of one tenant, and one of every tenant (tenant_id NULL)
            for tenant in ("acme", None) if "tenant_id" in params else ("w1",):
                params.update({k: tenant for k in ("tenant_id",) if k in params})
                plan = "\n".join(str(r[0]) for r in conn.execute(f"EXPLAIN {sql}", params))
                assert any(index in plan for index in INDEXES), (name, tenant, plan)

