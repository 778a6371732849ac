"""The embedded SQLite store: WAL, ``synchronous=FULL`` by default, ``BEGIN IMMEDIATE``.

One writer connection serialised by a lock (the group-commit writer and control calls share
it); readers get one connection per thread, which WAL lets run beside the writer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ledgerflow import errors
from ledgerflow.storage import (
    binding,
    migrations,
    queries,
    sqlite_errors,
    sqlite_retention,
    unstorable,
)
from ledgerflow.storage import rows as row_types  # its agent rows: loaded on first use
from ledgerflow.storage.access_tables import AccessTables
from ledgerflow.storage.agent_tables import AgentTables
from ledgerflow.storage.base import AgentWrites, Change, Closer
from ledgerflow.storage.idempotency_tables import IdempotencyTables
from ledgerflow.storage.lease_tables import LeaseTables
from ledgerflow.storage.locks import WorkerLock
from ledgerflow.storage.notices import LedgerNotice
from ledgerflow.storage.rows import DefinitionRow, ExecutionRow, TombstoneRow
from ledgerflow.storage.sql_reads import SharedReads
from ledgerflow.storage.sqlite_rows import build as _build
from ledgerflow.storage.sqlite_rows import row_factory as _row_factory
from ledgerflow.storage.sqlite_url import parse_url

if TYPE_CHECKING:  # annotations only: these load on first use (``rows``, ``watch_ledger``)
    from ledgerflow.storage.agent_rows import ClaimRow
    from ledgerflow.storage.sqlite_watch import CommitWatcher


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is open: SQLite has already rolled back by itself after some errors
    (a full disk, out of memory), and a second ROLLBACK would hide the first error."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


# the statuses in which update_execution clears the lease: a change to one of them needs it
_FINISHED = frozenset(("completed", "failed", "cancelled", "expired"))


class _GuardFailed(Exception):
    """A change of an all-or-nothing batch failed its guard: roll the batch back."""


class SqliteStore(AccessTables, AgentTables, IdempotencyTables, LeaseTables, SharedReads):
    """``Store`` on one SQLite file. See ``storage.base`` for the contract."""

    dialect = "sqlite"

    def __init__(self, url: str, *, migrate: bool = False, create: bool = True) -> None:
        self.url = url
        self.options = parse_url(url)
        self.path = self.options.path
        self._q = queries.load("sqlite")
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._readers: list[sqlite3.Connection] = []
        self._watchers: list[CommitWatcher] = []
        # called inside every write transaction just before COMMIT (fault-injection tests)
        self.before_commit_hook: Callable[[], None] | None = None
        self.commits = 0  # write transactions committed (benchmarks report it)
        if self.path.is_dir():
            raise errors.ConfigurationError(
                f"{self.path} is a folder, not a database file; name a file in it "
                f"(sqlite:///{self.path / 'ledgerflow.db'})")
        existed = self.path.exists() and self.path.stat().st_size > 0
        if not existed and not create:
            raise errors.NotFound(f"database {self.path} does not exist", kind="database",
                                  id=str(self.path))
        if not existed and not self.path.parent.is_dir():
            # a mistyped folder must not become a new, empty database that looks like the
            # old one lost: a new database file is made only in a folder that exists
            raise errors.ConfigurationError(
                f"folder {self.path.parent} of database {self.path} does not exist; create "
                "it first, or correct the path in the database URL"
            )
        self._writer = self._connect()
        pending = self._pending_migrations()
        if existed and self._has_foreign_tables():
            raise errors.StorageError(
                f"{self.path} is an SQLite database but not a ledgerflow one (it has tables "
                "and no schema_migrations); use a new file or a ledgerflow database"
            )
        if pending and existed and self._applied() and not migrate:
            names = [f"{m.version:04d}_{m.name}" for m in pending]
            raise errors.MigrationRequired(
                f"database {self.path} has {len(pending)} pending migration(s) "
                f"({', '.join(names)}); migrate it first", url=url, pending=names,
            )
        if pending:
            self._apply_migrations(pending)

    # connections ------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=0
            )
            conn.row_factory = _row_factory
            conn.execute(f"PRAGMA busy_timeout = {self.options.busy_timeout_ms}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.options.synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise sqlite_errors.unopenable(exc, self.path) from exc
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._write_lock:
                self._readers.append(conn)
        return conn

    def scoped(self, tenant_id: str) -> SqliteStore:
        return self  # no row-level security in SQLite: the queries' tenant filter alone

    def close(self) -> None:
        with self._write_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self._writer.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._translate(exc, "begin a write transaction") from exc
            try:
                yield conn
            except sqlite3.Error as exc:  # a refused write: nothing of the batch stays
                _rollback(conn)
                raise self._translate(exc, "write") from exc
            except (OverflowError, UnicodeEncodeError) as exc:
                _rollback(conn)
                raise unstorable.refused(exc, str(self.path)) from exc
            except BaseException:
                _rollback(conn)
                raise
            if self.before_commit_hook is not None:
                self.before_commit_hook()
            try:
                conn.execute("COMMIT")
                self.commits += 1
            except sqlite3.Error as exc:
                _rollback(conn)
                raise self._translate(exc, "commit") from exc

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        conn = self._reader()
        try:
            conn.execute("BEGIN")  # WAL: the first read fixes what every later one sees
            yield conn
        except sqlite3.Error as exc:
            raise self._translate(exc, "read") from exc
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _translate(self, exc: sqlite3.Error, doing: str) -> errors.StorageError:
        return sqlite_errors.translate(exc, self.path, doing, self.options.busy_timeout_ms)

    def _read(self, name: str, params: Sequence[Any] | dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return self._reader().execute(self._q[name], params).fetchall()
        except sqlite3.Error as exc:
            raise self._translate(exc, f"read ({name})") from exc
        except (OverflowError, UnicodeEncodeError):
            storable = unstorable.for_read(params)
            return [] if storable is None else self._read(name, storable)

    def _executemany(self, conn: sqlite3.Connection, sql: str, rows: Sequence[Any]) -> None:
        conn.executemany(sql, rows)

    def worker_lock(self, tenant_id: str | None = None) -> WorkerLock:
        """The lock a worker holds while it drives this database's executions of
        ``tenant_id`` (None: every tenant's); not yet acquired."""
        return WorkerLock(self.path, tenant_id)

    # migrations -------------------------------------------------------------------------
    def _applied(self) -> dict[int, str]:
        exists = self._writer.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (migrations.TRACKING_TABLE,),
        ).fetchone()
        if not exists:
            return {}
        rows = self._writer.execute(
            f"SELECT version, checksum FROM {migrations.TRACKING_TABLE}"
        ).fetchall()
        return {r["version"]: r["checksum"] for r in rows}

    def _has_foreign_tables(self) -> bool:
        """Tables and no tracking table: not a ledgerflow database. The tracking table is
        committed before any migration, so a file an interrupted ``init`` left (with no
        table, or the tracking table and some migrations) is completed, never refused."""
        row = self._writer.execute(
            "SELECT count(*) AS n, coalesce(sum(name = ?), 0) AS tracked FROM sqlite_master "
            "WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", (migrations.TRACKING_TABLE,),
        ).fetchone()
        return bool(row["n"]) and not row["tracked"]

    def _pending_migrations(self) -> list[migrations.Migration]:
        return migrations.check_applied("sqlite", self._applied())

    def pending_migrations(self) -> list[migrations.Migration]:
        return self._pending_migrations()

    def _apply_migrations(self, pending: Sequence[migrations.Migration]) -> None:
        with self._transaction() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {migrations.TRACKING_TABLE} ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, "
                "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
            )
        for migration in pending:
            try:
                with self._transaction() as conn:
                    for statement in migrations.split_statements(migration.sql):
                        conn.execute(statement)
                    conn.execute(
                        f"INSERT INTO {migrations.TRACKING_TABLE} (version, name, checksum) "
                        "VALUES (?, ?, ?)",
                        (migration.version, migration.name, migration.checksum),
                    )
            except errors.DatabaseFull as exc:  # nothing of it stays: init may run again
                raise exc.prefixed(f"migration {migration.version:04d} not applied: ") from exc
            except (sqlite3.Error, errors.StorageError) as exc:
                raise errors.MigrationError(
                    f"migration {migration.version:04d}_{migration.name}.sql failed on "
                    f"{self.path}: {exc}"
                ) from exc

    def schema(self) -> str:
        """The schema as SQL text, ordered, for the snapshot test."""
        rows = self._reader().execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
        return "\n".join(r["sql"].strip() + ";" for r in rows) + "\n"

    # definitions ------------------------------------------------------------------------
    def put_definition(
        self, tenant_id: str, name: str, sha256: str, spec: str, created_at: str
    ) -> tuple[DefinitionRow, bool]:
        with self._transaction() as conn:
            found = conn.execute(self._q["definition_by_sha"], (tenant_id, name, sha256))
            row = found.fetchone()
            if row is not None:
                return _build(DefinitionRow, row), False
            latest = conn.execute(self._q["definition_latest_version"], (tenant_id, name))
            version = int(next(iter(latest.fetchone().values()))) + 1
            conn.execute(
                self._q["insert_definition"],
                (tenant_id, name, version, sha256, spec, created_at),
            )
        return (
            DefinitionRow(
                tenant_id=tenant_id,
                name=name,
                version=version,
                sha256=sha256,
                spec=spec,
                created_at=created_at,
            ),
            True,
        )

    def list_definitions(self, tenant_id: str) -> list[DefinitionRow]:
        rows = self._read("definitions_latest_all", (tenant_id,))
        return [_build(DefinitionRow, r) for r in rows]

    # executions -------------------------------------------------------------------------
    def commit(self, changes: Sequence[Change], *, together: bool = False,
               agents: AgentWrites | None = None) -> list[bool]:
        if not changes and not agents:
            return []
        try:
            with self._transaction() as conn:
                # Each change's guard is its first statement: a change that fails it has
                # written nothing, so no savepoint is needed. The rows of every change that
                # passed go in with one executemany per table for the whole batch.
                results = [self._guard(conn, change) for change in changes]
                if together and not all(results):
                    raise _GuardFailed
                applied = [c for c, ok in zip(changes, results, strict=True) if ok]
                self._write_rows(conn, applied)
                if agents:
                    self.write_agent_rows(conn, agents)
        except _GuardFailed:
            return [False] * len(changes)
        if any(c.ledger for c in applied):
            for watcher in list(self._watchers):
                watcher.poke()
        return results

    def _guard(self, conn: sqlite3.Connection, change: Change) -> bool:
        row = change.execution
        if change.expected_version is None:
            insert = binding.statement("sqlite", "insert_execution", ExecutionRow)
            try:  # inserts nothing for an id a tombstone holds: it stays taken
                inserted = conn.execute(insert.sql, insert.values(row)).rowcount == 1
            except sqlite3.IntegrityError:
                taken = conn.execute(self._q["execution_by_id_any_tenant"], (row.id,))
                if taken.fetchone() is not None:
                    return False  # the id is taken: the guard failed
                raise  # a broken row (unknown definition, bad status): a real error
            return inserted
        name = "update_execution_same_status" if change.expected_status == row.status \
            and row.status not in _FINISHED else "update_execution"
        update = binding.statement("sqlite", name, ExecutionRow, binding.GUARD)
        owner, epoch = change.lease or (None, 0)
        values = update.values(row, change.expected_version, change.expected_head_hash,
                               owner, epoch)
        return bool(conn.execute(update.sql, values).rowcount == 1)

    def executions_with_status(self, statuses: Sequence[str]) -> list[ExecutionRow]:
        rows = self._read("executions_in_statuses", {"statuses": json.dumps(list(statuses))})
        return [_build(ExecutionRow, r) for r in rows]

    def iter_executions(self, tenant_id: str) -> Iterator[ExecutionRow]:
        for row in self._read("executions_all_tenant", (tenant_id,)):
            yield _build(ExecutionRow, row)

    # leases -----------------------------------------------------------------------------
    def claim_executions(self, owner: str, *, now: str, expires_at: str, limit: int,
                         steal: bool = False,
                         capabilities: Sequence[str] = (),
                         tenant_id: str | None = None) -> list[ClaimRow]:
        with self._transaction() as conn:  # the single writer: nobody claims meanwhile
            found = conn.execute(self._q["claimable_executions"], {
                "owner": owner, "now": now, "steal": steal, "limit": limit,
                "capabilities": json.dumps(list(capabilities)),
                "tenant_id": tenant_id}).fetchall()
            claims = []
            for row in found:
                epoch = conn.execute(self._q["take_lease"], {
                    "owner": owner, "expires_at": expires_at, "id": row["id"]}).fetchone()
                claims.append(row_types.ClaimRow(execution_id=row["id"],
                                       lease_epoch=int(epoch["lease_epoch"]),
                                       previous_owner=row["lease_owner"],
                                       status=row["status"]))
        return claims

    def _ids(self, ids: Sequence[str]) -> Any:
        return json.dumps(list(ids))

    def listen(self, on_message: Callable[[str | None], None]) -> None:
        """No notifications on SQLite: its one worker polls."""
        return None

    def watch_ledger(self, on_commit: Callable[[LedgerNotice | None], None]) -> Closer:
        """A thread with a connection of its own that sees every process's ledger commits
        (``sqlite_watch``, loaded now: a command that only reads never needs it); this
        store's own commits poke it at once."""
        from ledgerflow.storage import sqlite_watch

        conn = self._connect()
        try:
            watcher = sqlite_watch.CommitWatcher(conn, self._q, on_commit,
                                                 on_close=self._watchers.remove)
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc, "watch the ledger") from exc
        self._watchers.append(watcher)
        return watcher

    # ledger and state versions ----------------------------------------------------------
    # wake-ups ---------------------------------------------------------------------------
    # retention --------------------------------------------------------------------------
    def remove_executions(self, tombstones: Sequence[TombstoneRow]) -> list[str]:
        with self._transaction() as conn:
            return sqlite_retention.remove(conn, self._q, tombstones)
