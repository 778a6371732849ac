"""The database refuses to change a ledger row, whoever asks (invariant 5 of DESIGN.md).

SQLite: raw ``sqlite3`` on the store's own file; the triggers of ``0001_initial.sql`` must
refuse UPDATE, DELETE and every replacing insert, and still accept a plain append.

PostgreSQL: a raw connection to the store's database; the triggers must refuse UPDATE,
DELETE (but retention's, behind a matching tombstone) and TRUNCATE, also in a session that
silences ordinary triggers; INSERT ... ON CONFLICT and MERGE cannot overwrite; tombstones and
breaker transitions are append-only too; and two stores racing on one execution cannot
both append to its chain.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from ledgerflow import errors
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage import open_store
from ledgerflow.storage.base import AgentWrites, Change, Store
from ledgerflow.storage.rows import BreakerTransitionRow, TombstoneRow
from ledgerflow.storage.sqlite import SqliteStore
from tests.conftest import PgServer
from tests.storage.conftest import TENANT, Changes, activation, at, completion, snapshot
from tests.storage.test_retention_store import finished, running, stone

EID = "e1"
TRIGGERS = {"ledger_entries_no_update", "ledger_entries_no_delete",
            "ledger_entries_no_replace"}


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A raw autocommit connection, closed on the way out."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.row_factory = sqlite3.Row
        yield conn


def entries(path: Path) -> list[dict[str, Any]]:
    with connect(path) as conn:
        rows = conn.execute("SELECT * FROM ledger_entries ORDER BY execution_id, seq")
        return [dict(r) for r in rows.fetchall()]


def build(store: Store) -> None:
    """One execution with a few ledger entries, written by the store itself."""
    changes = Changes(store)
    new = changes.new(EID, now=at(1))
    started = activation(changes.view_of_new(new), at(2))
    done = completion(started.view, "first", {"n": 1}, at(3))
    assert store.commit([new, started.change, done.change]) == [True, True, True]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    store = SqliteStore(f"sqlite:///{path}")
    try:
        build(store)
    finally:
        store.close()
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """Overrides the backend-parametrised fixture: this module is about SQLite only."""
    s = SqliteStore(f"sqlite:///{tmp_path / 'ledger.db'}")
    build(s)
    yield s
    s.close()


def test_the_schema_has_the_append_only_triggers(db: Path) -> None:
    with connect(db) as conn:
        rows = conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
        found = {(r["name"], r["tbl_name"]) for r in rows.fetchall()}
    assert found == {(name, "ledger_entries") for name in TRIGGERS} | {
        ("tombstones_no_update", "tombstones"), ("tombstones_no_delete", "tombstones"),
        ("breaker_transitions_no_update", "breaker_transitions"),
        ("breaker_transitions_no_delete", "breaker_transitions")}


REFUSED = {
    "update": ("UPDATE ledger_entries SET payload = '{\"forged\":true}' WHERE seq = 2",
               "UPDATE refused"),
    "update-erase-payload": ("UPDATE ledger_entries SET payload = NULL WHERE seq = 2",
                             "UPDATE refused"),
    "update-seq": ("UPDATE ledger_entries SET seq = seq + 100", "UPDATE refused"),
    "delete-one": ("DELETE FROM ledger_entries WHERE seq = 2", "DELETE refused"),
    "delete-all": ("DELETE FROM ledger_entries", "DELETE refused"),
    "insert-or-replace": (
        "INSERT OR REPLACE INTO ledger_entries (execution_id, seq, event_type, step_id, "
        "occurred_at, prev_hash, entry_hash, body, payload) SELECT execution_id, seq, "
        "event_type, step_id, occurred_at, prev_hash, entry_hash, body, '{\"forged\":true}' "
        "FROM ledger_entries WHERE seq = 2",
        "an entry with this seq exists"),
    "replace-into": (
        "REPLACE INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 2",
        "an entry with this seq exists"),
    "insert-or-ignore": (
        "INSERT OR IGNORE INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 2",
        "an entry with this seq exists"),
    "plain-insert-of-a-taken-seq": (
        "INSERT INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 2",
        "an entry with this seq exists"),
    "upsert": (
        "INSERT INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 2 "
        "ON CONFLICT (execution_id, seq) DO UPDATE SET payload = NULL",
        "an entry with this seq exists"),
}


@pytest.mark.parametrize(("sql", "message"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_change_to_a_ledger_row_is_refused(db: Path, sql: str, message: str) -> None:
    before = entries(db)
    with connect(db) as conn, pytest.raises(sqlite3.IntegrityError) as caught:
        conn.execute(sql)
    assert "ledger_entries is append-only" in str(caught.value)
    assert message in str(caught.value)
    assert entries(db) == before


def test_replace_is_refused_with_recursive_triggers_on(db: Path) -> None:
    before = entries(db)
    with connect(db) as conn:
        conn.execute("PRAGMA recursive_triggers = ON")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("INSERT OR REPLACE INTO ledger_entries "
                         "SELECT * FROM ledger_entries WHERE seq = 1")
    assert entries(db) == before


def test_a_refused_statement_inside_a_transaction_leaves_nothing(db: Path) -> None:
    before = entries(db)
    with connect(db) as conn:
        conn.execute("BEGIN")
        conn.execute("UPDATE executions SET status = 'failed'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM ledger_entries WHERE seq = 3")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT status FROM executions").fetchone()["status"] == "running"
    assert entries(db) == before


def test_a_plain_insert_of_a_new_seq_still_works(db: Path) -> None:
    before = entries(db)
    last = before[-1]
    appended = {**last, "seq": last["seq"] + 1, "prev_hash": last["entry_hash"],
                "entry_hash": "e" * 64}
    with connect(db) as conn:
        conn.execute(
            "INSERT INTO ledger_entries (execution_id, seq, event_type, step_id, occurred_at, "
            "prev_hash, entry_hash, body, payload, tenant_id) VALUES (:execution_id, :seq, "
            ":event_type, :step_id, :occurred_at, :prev_hash, :entry_hash, :body, :payload, "
            ":tenant_id)", appended)
    assert entries(db) == [*before, appended]


def test_the_same_seq_in_another_execution_is_a_new_entry(db: Path) -> None:
    before = entries(db)
    copy = {**before[0], "execution_id": "e2"}
    with connect(db) as conn:
        conn.execute("INSERT INTO ledger_entries SELECT :execution_id, :seq, :event_type, "
                     ":step_id, :occurred_at, :prev_hash, :entry_hash, :body, :payload, "
                     ":tenant_id", copy)
    assert len(entries(db)) == len(before) + 1


def _colliding(store: Store) -> Change:
    """A change whose guard holds but whose ledger rows reuse seqs already written."""
    row = store.load_execution(TENANT, EID)
    assert row is not None
    old = store.load_ledger(EID)
    return Change(execution=replace(row, version=row.version + 1),
                  expected_version=row.version, expected_head_hash=row.head_hash,
                  ledger=tuple(replace(e, payload='{"forged":true}') for e in old[:2]))


def test_the_stores_own_commit_cannot_overwrite_an_entry(store: SqliteStore) -> None:
    changes = Changes(store)
    before = snapshot(store, TENANT, EID)
    innocent = changes.new("e2", now=at(9))
    with pytest.raises((sqlite3.IntegrityError, errors.StorageError), match="append-only"):
        store.commit([innocent, _colliding(store)])
    # the whole batch rolled back, the innocent change with it
    assert snapshot(store, TENANT, EID) == before
    assert store.load_execution(TENANT, "e2") is None
    assert store.commit([innocent]) == [True]  # and the store is still usable


def test_a_refused_ledger_write_surfaces_as_a_storage_error(store: SqliteStore) -> None:
    with pytest.raises(errors.StorageError, match="append-only"):
        store.commit([_colliding(store)])


# PostgreSQL ---------------------------------------------------------------------------------

PG_TRIGGERS = {
    ("ledger_entries", "ledger_entries_no_update"), ("ledger_entries", "ledger_entries_no_delete"),
    ("ledger_entries", "ledger_entries_no_truncate"),
    ("tombstones", "tombstones_no_update"), ("tombstones", "tombstones_no_delete"),
    ("tombstones", "tombstones_no_truncate"),
    ("breaker_transitions", "breaker_transitions_no_update"),
    ("breaker_transitions", "breaker_transitions_no_delete"),
    ("breaker_transitions", "breaker_transitions_no_truncate"),
}


@contextmanager
def pg_connect(url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A raw autocommit connection to the store's database, closed on the way out."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def pg_entries(url: str) -> list[dict[str, Any]]:
    with pg_connect(url) as conn:
        return conn.execute("SELECT * FROM ledger_entries ORDER BY execution_id, seq").fetchall()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    """A PostgreSQL store holding one execution with a few ledger entries."""
    s = open_store(pg_url)
    build(s)
    yield s
    s.close()


@dataclass(frozen=True, kw_only=True, slots=True)
class Frozen:
    """A database the refusal tests share: each asserts that nothing changed."""

    url: str
    tombstone: TombstoneRow  # of an execution retention removed
    transitions: list[BreakerTransitionRow]


@pytest.fixture(scope="module")
def frozen(pg_server: PgServer) -> Iterator[Frozen]:
    name = pg_server.create()
    store = open_store(pg_server.url(name))
    try:
        build(store)  # EID, running, a few ledger entries
        gone = stone(finished(Changes(store), "gone", start=50))
        assert store.remove_executions([gone]) == ["gone"]
        moved = BreakerTransitionRow(capability="c", agent="a", from_state="closed",
                                     to_state="open", reason="failures", actor="test",
                                     occurred_at=format_timestamp(at(1)))
        store.write_agents(AgentWrites(transitions=[moved]))
        yield Frozen(url=store.url, tombstone=gone, transitions=store.breaker_transitions())
    finally:
        store.close()
        pg_server.drop(name)


@pytest.fixture
def pg_db(frozen: Frozen) -> Iterator[str]:
    """The shared database; its ledger, tombstones and transitions are checked unchanged."""
    before = pg_entries(frozen.url)
    yield frozen.url
    store = open_store(frozen.url)
    try:
        assert store.list_tombstones(TENANT) == [frozen.tombstone]
        assert store.breaker_transitions() == frozen.transitions
    finally:
        store.close()
    assert pg_entries(frozen.url) == before


def test_postgres_has_the_append_only_triggers_and_they_fire_always(pg_db: str) -> None:
    with pg_connect(pg_db) as conn:
        rows = conn.execute(
            "SELECT r.relname, t.tgname, t.tgenabled FROM pg_trigger t "
            "JOIN pg_class r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal").fetchall()
    assert {(r["relname"], r["tgname"]) for r in rows} == PG_TRIGGERS
    assert {r["tgenabled"] for r in rows} == {"A"}  # even with session_replication_role


_COPY_OF_SEQ_2 = "INSERT INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 2"
PG_REFUSED = {
    "update": ("UPDATE ledger_entries SET payload = '{\"forged\":true}' WHERE seq = 2",
               "UPDATE refused"),
    "update-erase-payload": ("UPDATE ledger_entries SET payload = NULL WHERE seq = 2",
                             "UPDATE refused"),
    "update-seq": ("UPDATE ledger_entries SET seq = seq + 100", "UPDATE refused"),
    "delete-one": ("DELETE FROM ledger_entries WHERE seq = 2", "DELETE refused"),
    "delete-all": ("DELETE FROM ledger_entries", "DELETE refused"),
    "truncate": ("TRUNCATE ledger_entries", "TRUNCATE refused"),
    "truncate-with-others": ("TRUNCATE wakeups, ledger_entries", "TRUNCATE refused"),
    "upsert": (f"{_COPY_OF_SEQ_2} ON CONFLICT (execution_id, seq) DO UPDATE SET payload = NULL",
               "UPDATE refused"),
    "upsert-excluded": (
        "INSERT INTO ledger_entries (execution_id, seq, event_type, step_id, occurred_at, "
        "prev_hash, entry_hash, body, payload, tenant_id) SELECT execution_id, seq, event_type, "
        "step_id, occurred_at, prev_hash, entry_hash, body, '{\"forged\":true}', tenant_id "
        "FROM ledger_entries "
        "WHERE seq = 2 ON CONFLICT ON CONSTRAINT ledger_entries_pkey "
        "DO UPDATE SET payload = excluded.payload", "UPDATE refused"),
    "merge-update": (
        "MERGE INTO ledger_entries l USING (SELECT 'e1' AS id, 2 AS seq) s "
        "ON l.execution_id = s.id AND l.seq = s.seq WHEN MATCHED THEN UPDATE SET payload = NULL",
        "UPDATE refused"),
    "merge-delete": (
        "MERGE INTO ledger_entries l USING (SELECT 'e1' AS id, 2 AS seq) s "
        "ON l.execution_id = s.id AND l.seq = s.seq WHEN MATCHED THEN DELETE",
        "DELETE refused"),
    "plain-insert-of-a-taken-seq": (_COPY_OF_SEQ_2, "ledger_entries_pkey"),
}


@pytest.mark.parametrize(("sql", "message"), list(PG_REFUSED.values()), ids=list(PG_REFUSED))
def test_postgres_refuses_a_change_to_a_ledger_row(pg_db: str, sql: str, message: str) -> None:
    before = pg_entries(pg_db)
    with pg_connect(pg_db) as conn, pytest.raises(psycopg.IntegrityError) as caught:
        conn.execute(sql)
    if message != "ledger_entries_pkey":
        assert "ledger_entries is append-only" in str(caught.value)
    assert message in str(caught.value)
    assert pg_entries(pg_db) == before


def test_postgres_on_conflict_do_nothing_leaves_the_entry_as_it_was(pg_db: str) -> None:
    before = pg_entries(pg_db)
    with pg_connect(pg_db) as conn:
        cur = conn.execute(
            "INSERT INTO ledger_entries (execution_id, seq, event_type, step_id, occurred_at, "
            "prev_hash, entry_hash, body, payload, tenant_id) SELECT execution_id, seq, "
            "event_type, step_id, occurred_at, prev_hash, entry_hash, body, "
            "'{\"forged\":true}', tenant_id FROM ledger_entries WHERE seq = 2 "
            "ON CONFLICT DO NOTHING")
        assert cur.rowcount == 0
    assert pg_entries(pg_db) == before


@pytest.mark.parametrize("sql", [
    "UPDATE ledger_entries SET payload = NULL",
    "DELETE FROM ledger_entries",
    "TRUNCATE ledger_entries",
])
def test_postgres_triggers_fire_in_a_replica_role_session(pg_db: str, sql: str) -> None:
    """``session_replication_role = replica`` silences ordinary triggers, not these."""
    before = pg_entries(pg_db)
    with pg_connect(pg_db) as conn:
        conn.execute("SET session_replication_role = replica")
        with pytest.raises(psycopg.IntegrityError, match="append-only"):
            conn.execute(sql)
    assert pg_entries(pg_db) == before


def test_postgres_temporary_tables_cannot_fake_a_tombstone(pg_db: str) -> None:
    """The DELETE rule reads the real tombstones and executions, not a session's temporary
    tables of the same names (which PostgreSQL would otherwise look at first)."""
    before = pg_entries(pg_db)
    with pg_connect(pg_db) as conn:
        conn.execute("CREATE TEMP TABLE executions AS SELECT * FROM public.executions")
        conn.execute("UPDATE pg_temp.executions SET status = 'completed'")
        conn.execute("CREATE TEMP TABLE tombstones AS SELECT * FROM public.tombstones")
        conn.execute(
            "INSERT INTO pg_temp.tombstones SELECT id, tenant_id, workflow, workflow_version, "
            "'completed', head_seq, head_hash, created_at, NULL, 'now', 'x' "
            "FROM pg_temp.executions")
        with pytest.raises(psycopg.IntegrityError, match="DELETE refused"):
            conn.execute("DELETE FROM ledger_entries")
    assert pg_entries(pg_db) == before


def test_postgres_a_refused_statement_inside_a_transaction_leaves_nothing(pg_db: str) -> None:
    before = pg_entries(pg_db)
    with pg_connect(pg_db) as conn:
        with pytest.raises(psycopg.IntegrityError, match="append-only"), conn.transaction():
            conn.execute("UPDATE executions SET status = 'failed'")
            conn.execute("DELETE FROM ledger_entries WHERE seq = 3")
        row = conn.execute("SELECT status FROM executions").fetchone()
        assert row is not None and row["status"] == "running"
    assert pg_entries(pg_db) == before


def test_postgres_a_plain_insert_of_a_new_seq_still_works(pg_store: Store) -> None:
    pg_db = pg_store.url
    before = pg_entries(pg_db)
    last = before[-1]
    appended = {**last, "seq": last["seq"] + 1, "prev_hash": last["entry_hash"],
                "entry_hash": "e" * 64}
    with pg_connect(pg_db) as conn:
        conn.execute(
            "INSERT INTO ledger_entries (execution_id, seq, event_type, step_id, occurred_at, "
            "prev_hash, entry_hash, body, payload, tenant_id) VALUES (%(execution_id)s, "
            "%(seq)s, %(event_type)s, %(step_id)s, %(occurred_at)s, %(prev_hash)s, "
            "%(entry_hash)s, %(body)s, %(payload)s, %(tenant_id)s)", appended)
    assert pg_entries(pg_db) == [*before, appended]


def test_postgres_the_stores_own_commit_cannot_overwrite_an_entry(pg_store: Store) -> None:
    changes = Changes(pg_store)
    before = snapshot(pg_store, TENANT, EID)
    innocent = changes.new("e2", now=at(9))
    with pytest.raises(errors.StorageError, match="append-only"):
        pg_store.commit([innocent, _colliding(pg_store)])
    assert snapshot(pg_store, TENANT, EID) == before  # the whole batch rolled back
    assert pg_store.load_execution(TENANT, "e2") is None
    assert pg_store.commit([innocent]) == [True]  # and the store is still usable


# PostgreSQL: retention's exception, tombstones and breaker transitions ------------------------

def _insert_stone(conn: psycopg.Connection[dict[str, Any]], row: TombstoneRow) -> None:
    values = asdict(row)
    conn.execute(f"INSERT INTO tombstones ({', '.join(values)}) "
                 f"VALUES ({', '.join(f'%({n})s' for n in values)})", values)


def _ledger_count(conn: psycopg.Connection[dict[str, Any]], execution_id: str) -> int:
    row = conn.execute("SELECT count(*) AS n FROM ledger_entries WHERE execution_id = %s",
                       (execution_id,)).fetchone()
    return int(row["n"]) if row else 0


@pytest.fixture
def pg_changes(pg_url: str) -> Iterator[Changes]:
    s = open_store(pg_url)
    yield Changes(s)
    s.close()


def test_postgres_a_ledger_delete_needs_a_matching_tombstone(pg_changes: Changes) -> None:
    url = pg_changes.store.url
    done = finished(pg_changes, "done")
    busy = running(pg_changes, "busy", start=10)
    finished(pg_changes, "other", start=20)
    with pg_connect(url) as conn:
        with pytest.raises(psycopg.IntegrityError, match="append-only: DELETE refused"):
            conn.execute("DELETE FROM ledger_entries WHERE execution_id = 'done'")
        _insert_stone(conn, replace(stone(done), head_seq=done.head_seq - 1))  # stale head
        _insert_stone(conn, stone(busy))  # matches the head, but the execution is running
        for eid in ("done", "busy"):
            with pytest.raises(psycopg.IntegrityError, match="DELETE refused"):
                conn.execute("DELETE FROM ledger_entries WHERE execution_id = %s", (eid,))
        assert _ledger_count(conn, "done") > 0 and _ledger_count(conn, "busy") > 0


def test_postgres_a_matching_tombstone_lets_the_delete_through(pg_changes: Changes) -> None:
    """The other side of the rule: what ``remove_executions`` relies on."""
    url = pg_changes.store.url
    done = finished(pg_changes, "done")
    finished(pg_changes, "other", start=10)
    with pg_connect(url) as conn:
        _insert_stone(conn, stone(done))
        conn.execute("DELETE FROM ledger_entries WHERE execution_id = 'done'")
        assert _ledger_count(conn, "done") == 0
        with pytest.raises(psycopg.IntegrityError, match="DELETE refused"):
            conn.execute("DELETE FROM ledger_entries")  # 'other' has no tombstone
        assert _ledger_count(conn, "other") > 0


@pytest.mark.parametrize(("sql", "message"), [
    ("UPDATE tombstones SET head_hash = 'forged'", "UPDATE refused"),
    ("UPDATE tombstones SET removed_by = 'someone else'", "UPDATE refused"),
    ("DELETE FROM tombstones", "DELETE refused"),
    ("TRUNCATE tombstones", "TRUNCATE refused"),
    ("INSERT INTO tombstones SELECT * FROM tombstones "
     "ON CONFLICT (execution_id) DO UPDATE SET removed_by = 'x'", "UPDATE refused"),
])
def test_postgres_tombstones_cannot_be_changed(pg_db: str, sql: str, message: str) -> None:
    with pg_connect(pg_db) as conn, pytest.raises(psycopg.IntegrityError) as caught:
        conn.execute(sql)
    assert "tombstones are append-only" in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(("sql", "message"), [
    ("UPDATE breaker_transitions SET to_state = 'closed'", "UPDATE refused"),
    ("DELETE FROM breaker_transitions", "DELETE refused"),
    ("TRUNCATE breaker_transitions", "TRUNCATE refused"),
])
def test_postgres_breaker_transitions_cannot_be_changed(pg_db: str, sql: str,
                                                        message: str) -> None:
    with pg_connect(pg_db) as conn, pytest.raises(psycopg.IntegrityError) as caught:
        conn.execute(sql)
    assert "breaker_transitions is append-only" in str(caught.value)
    assert message in str(caught.value)


def test_postgres_a_removal_the_database_refuses_removes_nothing(pg_changes: Changes) -> None:
    """One transaction: tombstones and deletions of a batch go in together or not at all."""
    store = pg_changes.store
    rows = [finished(pg_changes, f"e{i}", start=10 * i) for i in range(3)]
    before = [snapshot(store, TENANT, r.id) for r in rows]
    with pg_connect(store.url) as conn:  # the last execution row of the batch is pinned
        conn.execute(
            "CREATE FUNCTION pin_e2() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF OLD.id = 'e2' THEN RAISE EXCEPTION 'e2 is pinned'; END IF; RETURN OLD; END $$")
        conn.execute("CREATE TRIGGER refuse_e2 BEFORE DELETE ON executions "
                     "FOR EACH ROW EXECUTE FUNCTION pin_e2()")
    with pytest.raises(errors.StorageError, match="e2 is pinned"):
        store.remove_executions([stone(r) for r in rows])
    assert [snapshot(store, TENANT, r.id) for r in rows] == before
    assert store.list_tombstones(TENANT) == []
    with pg_connect(store.url) as conn:
        conn.execute("DROP TRIGGER refuse_e2 ON executions")
    assert store.remove_executions([stone(r) for r in rows]) == ["e0", "e1", "e2"]


# PostgreSQL: two stores racing on one execution ----------------------------------------------

def test_postgres_racing_writers_cannot_fork_the_chain(pg_url: str) -> None:
    """Two stores (as two worker processes would) commit changes computed from the same
    head at the same moment: exactly one applies, and the ledger stays one chain."""
    stores = [open_store(pg_url) for _ in range(2)]
    try:
        changes = Changes(stores[0])
        assert stores[0].commit([changes.new(EID, now=at(1))]) == [True]
        view = changes.view(EID)
        rivals = [activation(view, at(2 + i)).change for i in range(2)]
        go = threading.Barrier(2)

        def race(i: int) -> list[bool]:
            go.wait()
            return stores[i].commit([rivals[i]])

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(race, range(2)))
        assert sorted(results) == [[False], [True]]
        winner = rivals[results.index([True])]
        stored = snapshot(stores[1], TENANT, EID)
        assert stored.execution == winner.execution
        assert [e.seq for e in stored.ledger] == list(range(1, winner.execution.head_seq + 1))
        assert stored.ledger[-len(winner.ledger):] == list(winner.ledger)
    finally:
        for s in stores:
            s.close()


def test_postgres_racing_inserts_of_one_new_id_insert_it_once(pg_url: str) -> None:
    stores = [open_store(pg_url) for _ in range(4)]
    try:
        firsts = [Changes(s).new("same", input={"n": i}, now=at(i)) for i, s in enumerate(stores)]
        go = threading.Barrier(len(stores))

        def race(i: int) -> list[bool]:
            go.wait()
            return stores[i].commit([firsts[i]])

        with ThreadPoolExecutor(len(stores)) as pool:
            results = list(pool.map(race, range(len(stores))))
        assert sorted(results) == [[False]] * (len(stores) - 1) + [[True]]
        winner = firsts[results.index([True])]
        assert stores[0].load_execution(TENANT, "same") == winner.execution
        assert stores[0].load_ledger("same") == list(winner.ledger)
    finally:
        for s in stores:
            s.close()
