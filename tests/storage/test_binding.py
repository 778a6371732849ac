"""Rows bound to their statements by position: the values go in the placeholders' order,
a name used twice is given twice, and what only looks like a placeholder stays."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields

import pytest

from ledgerflow.storage import binding, queries
from ledgerflow.storage.rows import ExecutionRow, LedgerRow


def test_colon_placeholders_become_question_marks_in_order() -> None:
    sql = ("SELECT ':x', a::text, \"b:c\" FROM t -- :d\n"
           "WHERE b = :b AND c = :c /* :e */ AND d = :b;")
    assert binding.positional(sql) == (
        "SELECT ':x', a::text, \"b:c\" FROM t -- :d\nWHERE b = ? AND c = ? /* :e */ AND d = ?;",
        ("b", "c", "b"))


def test_pyformat_placeholders_become_positional_and_a_literal_percent_stays() -> None:
    sql = "SELECT 'a%%' WHERE x = %(a)s::text AND y LIKE 'z%%' AND w = %(b)s OR v = %(a)s;"
    assert binding.positional(sql) == (
        "SELECT 'a%%' WHERE x = %s::text AND y LIKE 'z%%' AND w = %s OR v = %s;",
        ("a", "b", "a"))


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_the_guard_gets_the_row_then_the_extra_values_where_the_sql_names_them(
        dialect: str) -> None:
    bound = binding.statement(dialect, "update_execution", ExecutionRow, binding.GUARD)
    sql, order = binding.positional(queries.load(dialect)["update_execution"])
    assert bound.sql == sql
    row = ExecutionRow(**{f.name: f"<{f.name}>" for f in fields(ExecutionRow)})
    extra = {name: f"<extra {name}>" for name in binding.GUARD}
    expected = tuple(extra.get(n, f"<{n}>") for n in order)
    assert bound.values(row, *extra.values()) == expected
    assert "<expected_head_hash>" not in expected  # the extra value, not a field's


def test_a_ledger_row_is_written_and_read_back_by_position() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE ledger_entries (execution_id, seq, event_type, step_id, "
                 "occurred_at, prev_hash, entry_hash, body, payload, tenant_id)")
    bound = binding.statement("sqlite", "insert_ledger_entry", LedgerRow, ("tenant_id",))
    row = LedgerRow(execution_id="e", seq=3, event_type="step.completed", step_id="s",
                    occurred_at="t", prev_hash="p", entry_hash="h", body="{}", payload=None)
    conn.execute(bound.sql, bound.values(row, "acme"))  # the tenant: an extra value
    assert conn.execute("SELECT * FROM ledger_entries").fetchall() == [
        ("e", 3, "step.completed", "s", "t", "p", "h", "{}", None, "acme")]


def test_a_placeholder_that_is_no_field_is_refused() -> None:
    @dataclass
    class Narrow:
        execution_id: str

    with pytest.raises(ValueError, match=r"neither fields of Narrow"):
        binding.statement("sqlite", "insert_ledger_entry", Narrow)
