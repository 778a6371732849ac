"""A batch's new rows go to PostgreSQL by COPY where row-level security does not hold the
connection, by INSERT where it does: the same columns either way, text that COPY's format
escapes read back as written, and the ordinary role's batches still committed."""

from __future__ import annotations

import dataclasses

import psycopg

from ledgerflow.storage import binding, open_store, postgres_batch
from ledgerflow.storage.base import Store
from ledgerflow.storage.sql_reads import appended_rows
from tests.storage.conftest import Changes, activation

# the characters COPY's text format escapes, a NULL's own spelling and text that is not ASCII
AWKWARD = "tab\there\nnewline\r\\N backslash \\. end é ✓"


def test_each_new_row_copies_into_the_columns_its_insert_names() -> None:
    for name, row, _ in appended_rows([]):
        into = postgres_batch.copy_statement(name, row)
        bound = binding.statement("postgres", name, row, ("tenant_id",))
        columns = into.sql.removeprefix(f"COPY {into.table} (").removesuffix(") FROM STDIN")
        insert = bound.sql.split("(", 1)[1].split(")", 1)[0]
        assert columns.split(", ") == [c.strip() for c in insert.split(",")]
        assert into.values is bound.values


def test_text_copy_escapes_reads_back_as_written(store: Store, changes: Changes) -> None:
    new = changes.new("e1", input={"note": AWKWARD})
    entries = tuple(dataclasses.replace(e, payload=AWKWARD) for e in new.ledger)
    assert store.commit([dataclasses.replace(new, ledger=entries)]) == [True]
    assert [e.payload for e in store.load_ledger("e1")] == [AWKWARD] * len(entries)
    started = activation(changes.view("e1")).change
    assert store.commit([started]) == [True]
    assert [d.candidates for d in store.load_decisions("e1")] == [
        d.candidates for d in started.decisions]


def test_a_role_held_to_row_level_security_writes_its_rows_by_insert(owner_url: str) -> None:
    store = open_store(owner_url, migrate=True)
    try:
        changes = Changes(store)
        first, second = changes.new("e1"), changes.new("e2")
        assert store.commit([first, second]) == [True, True]
        started = activation(changes.view("e1")).change
        assert store.commit([started]) == [True]
        assert store.load_ledger("e1") == [*first.ledger, *started.ledger]
        assert store.load_ledger("e2") == list(second.ledger)
        assert len(store.load_decisions("e1")) == len(started.decisions) == 1
        with psycopg.connect(owner_url) as conn:
            held = conn.execute(postgres_batch.HELD, (postgres_batch.copied_tables(),))
            assert held.fetchone() == (True,)
    finally:
        store.close()
