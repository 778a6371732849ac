"""The named queries: shared.sql lives once and each dialect reads it in its own placeholders."""

from __future__ import annotations

import pytest

from ledgerflow.storage import queries

DIALECTS = ("sqlite", "postgres")

# What one store does in statements of its own has no counterpart by that name in the other.
ONLY: dict[str, set[str]] = {
    # a claim is a SELECT, then a lease taken per row (the worker lock keeps others out)
    "sqlite": {"claimable_executions", "take_lease",
               # the commit watcher reads new ledger rows by rowid (PostgreSQL notifies)
               "ledger_last_rowid", "ledger_heads_after",
               # a guard that leaves the status's indexes alone (PostgreSQL compares the
               # values: an update that changes no indexed column rewrites no index)
               "update_execution_same_status"},
    "postgres": {
        "claim_executions",  # one UPDATE over rows locked FOR UPDATE SKIP LOCKED
        "lock_definition_name", "lock_execution_ids",  # advisory locks
        "executions_all_tenant_after",  # the executions of a tenant are read in pages
        # many writers: a repair of the statistics holds their increments back; a read
        # of several tables asks for one snapshot (SQLite's BEGIN gives it)
        "lock_stats", "read_snapshot",
        "begin_read_snapshot", "end_read_snapshot",  # the same, inside a pipeline
        # a batch's updates of one table in one statement, over a JSON array
        "update_executions", "update_steps", "update_decision_outcomes",
    },
}


def test_both_backends_resolve_the_same_names() -> None:
    sqlite, postgres = (set(queries.load(d)) for d in DIALECTS)
    assert sqlite - postgres == ONLY["sqlite"]
    assert postgres - sqlite == ONLY["postgres"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_name_is_defined_once(dialect: str) -> None:
    shared, own = queries.blocks(queries.SHARED), queries.blocks(dialect)
    assert shared.keys().isdisjoint(own)
    assert set(queries.load(dialect)) == shared.keys() | own.keys()


def test_a_name_in_shared_and_a_dialect_file_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'q' is defined in both shared\.sql and sqlite\.sql"):
        queries.merge({"p": "SELECT 1;", "q": "SELECT 2;"}, {"q": "SELECT 3;"}, "sqlite")


def test_a_name_twice_in_one_file_is_refused() -> None:
    text = "-- name: q\nSELECT 1;\n\n-- name: q\nSELECT 2;\n"
    with pytest.raises(ValueError, match=r"x\.sql: query 'q' is defined twice"):
        queries.parse(text, "x.sql")


def test_an_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="no SQL dialect 'oracle'"):
        queries.load("oracle")


@pytest.mark.parametrize(("name", "sqlite", "postgres"), [
    ("insert_wakeup",
     "INSERT INTO wakeups (execution_id, reason, created_at, tenant_id) VALUES (?, ?, ?, ?);",
     "INSERT INTO wakeups (execution_id, reason, created_at, tenant_id) "
     "VALUES (%s, %s, %s, %s);"),
    ("telemetry_of_execution",
     "SELECT * FROM telemetry WHERE execution_id = ? AND id > ? ORDER BY id LIMIT ?;",
     "SELECT * FROM telemetry WHERE execution_id = %s AND id > %s ORDER BY id LIMIT %s;"),
    ("worker_status",
     "UPDATE workers SET status = :status, heartbeat_at = :at,\n"
     "    stopped_at = CASE WHEN :status = 'stopped' THEN :at ELSE stopped_at END,\n"
     "    stuck = CASE WHEN :status = 'stopped' THEN '[]' ELSE stuck END\n"
     "WHERE id = :id;",
     "UPDATE workers SET status = %(status)s, heartbeat_at = %(at)s,\n"
     "    stopped_at = CASE WHEN %(status)s = 'stopped' THEN %(at)s ELSE stopped_at END,\n"
     "    stuck = CASE WHEN %(status)s = 'stopped' THEN '[]' ELSE stuck END\n"
     "WHERE id = %(id)s;"),
    ("update_heartbeat",
     "UPDATE step_runs SET heartbeat_at = :heartbeat_at, heartbeat = :heartbeat\n"
     "WHERE execution_id = :execution_id AND step_id = :step_id AND epoch = :epoch\n"
     "  AND status = 'running';",
     "UPDATE step_runs SET heartbeat_at = %(heartbeat_at)s, heartbeat = %(heartbeat)s\n"
     "WHERE execution_id = %(execution_id)s AND step_id = %(step_id)s AND epoch = %(epoch)s\n"
     "  AND status = 'running';"),
])
def test_shared_queries_in_each_dialect(name: str, sqlite: str, postgres: str) -> None:
    assert queries.load("sqlite")[name] == sqlite
    assert queries.load("postgres")[name] == postgres


def test_dialect_queries_stay_as_written() -> None:
    assert "FOR UPDATE SKIP LOCKED" in queries.load("postgres")["claim_executions"]
    assert queries.load("postgres")["lock_execution_ids"] == (
        queries.blocks("postgres")["lock_execution_ids"])
    assert queries.load("sqlite")["take_lease"] == queries.blocks("sqlite")["take_lease"]


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT x::text, ? FROM t WHERE a = :a AND b = :b_2",
     "SELECT x::text, %s FROM t WHERE a = %(a)s AND b = %(b_2)s"),
    ("SELECT CAST(:v AS text)::bigint", "SELECT CAST(%(v)s AS text)::bigint"),
    ("SELECT 'why? :x', ? WHERE n LIKE 'ab%'", "SELECT 'why? :x', %s WHERE n LIKE 'ab%%'"),
    ("SELECT 'it''s ?:x' || :y", "SELECT 'it''s ?:x' || %(y)s"),
    ('SELECT "odd?:col" FROM t WHERE id = ?', 'SELECT "odd?:col" FROM t WHERE id = %s'),
    ("-- why? :x at 5%\nSELECT a % 2 FROM t WHERE id = ?",
     "-- why? :x at 5%%\nSELECT a %% 2 FROM t WHERE id = %s"),
    ("SELECT /* :x ? */ ?", "SELECT /* :x ? */ %s"),
    ("SELECT 1", "SELECT 1"),
])
def test_to_pyformat(sql: str, expected: str) -> None:
    assert queries.to_pyformat(sql) == expected
    assert queries.as_written(sql) == sql
