"""The PostgreSQL store: psycopg 3 with a connection pool, READ COMMITTED, one transaction
per ``commit`` batch.

Many processes may share the database. A change's guard is one statement that re-checks
the execution's version and head hash on the row it updates (a concurrent writer of the
same row makes it wait, then fail), so the guard holds across processes as it does on
SQLite's single writer. A batch (``postgres_batch``) sends BEGIN with every guard in one
round trip, the new rows by COPY, then the other rows with COMMIT (pipelined).
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from ledgerflow import errors
from ledgerflow.storage import (
    migrations,
    postgres_alive,
    postgres_batch,
    postgres_listen,
    postgres_retention,
    postgres_schema,
    postgres_updates,
    queries,
    unstorable,
)
from ledgerflow.storage.access_tables import AccessTables
from ledgerflow.storage.agent_rows import OutcomeRow
from ledgerflow.storage.agent_tables import AgentTables
from ledgerflow.storage.base import AgentWrites, Change, Closer
from ledgerflow.storage.idempotency_tables import IdempotencyTables
from ledgerflow.storage.lease_tables import LeaseTables
from ledgerflow.storage.locks import WorkerLock
from ledgerflow.storage.notices import (
    LEDGER_CHANNEL,
    LedgerNotice,
    parse_ledger_payload,
)
from ledgerflow.storage.postgres_listen import NotificationListener
from ledgerflow.storage.postgres_rows import Conn, build
from ledgerflow.storage.postgres_url import PostgresTarget, connection_error, parse_url
from ledgerflow.storage.rows import (
    ClaimRow,
    DefinitionRow,
    ExecutionRow,
    StepRow,
    TombstoneRow,
)
from ledgerflow.storage.sql_reads import SharedReads

PAGE = 500  # rows per round trip of iter_executions
LISTEN_WAIT = 5.0  # seconds watch_ledger waits for its LISTEN before it returns anyway


def _configure(conn: Conn) -> None:
    """The guards rely on READ COMMITTED (a waiting UPDATE re-checks the row it waited for),
    whatever the server's default_transaction_isolation says."""
    conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED


# row-level security (migration 0013): the tenant each pooled connection is set to, so that
# a connection changes its setting only when a store of another tenant (or none) takes it
SCOPE = "SELECT set_config('app.tenant_id', %s, false)"
_SCOPES: weakref.WeakKeyDictionary[Conn, str] = weakref.WeakKeyDictionary()


class NoWorkerLock(WorkerLock):
    """``worker_lock()`` on PostgreSQL: nothing to hold, several workers may share it."""

    exclusive = False

    def __init__(self, target: PostgresTarget) -> None:
        super().__init__(Path(target.dbname))

    def acquire(self) -> None:
        return None

    def release(self) -> None:
        return None


class PostgresStore(AccessTables, AgentTables, IdempotencyTables, LeaseTables, SharedReads):
    """``Store`` on a PostgreSQL database. See ``storage.base`` for the contract."""

    dialect = "postgres"
    _tenant = ""  # the tenant row-level security limits this store to ("": none)

    def __init__(self, url: str, *, migrate: bool = False) -> None:
        self.url = url
        self.target = parse_url(url)
        self._q = queries.load("postgres")
        # called inside every write transaction just before COMMIT (fault-injection tests)
        self.before_commit_hook: Callable[[], None] | None = None
        self.commits = 0  # write transactions committed (benchmarks report it)
        self._count_lock = threading.Lock()
        with self._connect() as conn:  # one plain connection first: clear errors, migrations
            try:
                postgres_schema.prepare(conn, self.target, migrate=migrate)
            except psycopg.Error as exc:
                raise self._translate(exc, "read the schema") from exc
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            self.target.conninfo, connection_class=psycopg.Connection[DictRow],
            kwargs={"autocommit": True, "row_factory": dict_row}, configure=_configure,
            min_size=self.target.pool_min_size, max_size=self.target.pool_max_size,
            # a connection the server dropped (restart, failover) is replaced before use,
            # seen without a round trip
            check=postgres_alive.check_alive, name="ledgerflow", open=True)

    # connections ------------------------------------------------------------------------
    def _connect(self) -> Conn:
        try:
            conn = psycopg.Connection.connect(
                self.target.conninfo, autocommit=True, row_factory=dict_row)
        except psycopg.OperationalError as exc:
            raise connection_error(self.target, exc) from exc
        _configure(conn)
        return conn

    def close(self) -> None:
        self._pool.close()

    def scoped(self, tenant_id: str) -> PostgresStore:
        view = copy.copy(self)
        view._tenant = tenant_id
        return view

    @contextmanager
    def _connection(self, doing: str) -> Iterator[Conn]:
        try:
            with self._pool.connection() as conn:
                if _SCOPES.get(conn, "") != self._tenant:
                    # session-wide, set outside any transaction: it holds until changed
                    conn.execute(SCOPE, (self._tenant,))
                    _SCOPES[conn] = self._tenant
                yield conn
        except psycopg.Error as exc:
            raise self._translate(exc, doing) from exc
        except PoolTimeout as exc:
            raise errors.ConnectionLost(
                f"no connection to {self.target.describe()} within "
                f"{self._pool.timeout:g} s: {exc}") from exc

    @contextmanager
    def _transaction(self, doing: str = "write") -> Iterator[Conn]:
        with self._connection(doing) as conn:
            try:
                with conn.transaction():
                    yield conn
                    if self.before_commit_hook is not None:
                        self.before_commit_hook()
            except UnicodeEncodeError as exc:
                raise unstorable.refused(exc, self.target.describe()) from exc
            self._committed()

    @contextmanager
    def _snapshot(self) -> Iterator[Conn]:
        with self._connection("read") as conn, conn.transaction():
            conn.execute(self._q["read_snapshot"], ())
            yield conn

    def _read_together(self, reads: Sequence[tuple[str, dict[str, Any]]]
                       ) -> list[list[DictRow]]:
        """One round trip: the snapshot's BEGIN, every read and COMMIT in one pipeline."""
        with self._connection("read") as conn:
            try:
                with conn.pipeline():
                    conn.execute(self._q["begin_read_snapshot"], ())
                    cursors = [conn.execute(self._q[name], params) for name, params in reads]
                    conn.execute(self._q["end_read_snapshot"], ())
            except psycopg.Error:
                if conn.info.transaction_status == pq.TransactionStatus.INERROR:
                    with suppress(psycopg.Error):  # back to the pool idle
                        conn.execute("ROLLBACK", ())
                raise
            return [cur.fetchall() for cur in cursors]

    def _hold_stats(self, conn: Conn) -> None:
        conn.execute(self._q["lock_stats"], ())

    def _committed(self) -> None:
        with self._count_lock:
            self.commits += 1

    def _translate(self, exc: psycopg.Error, doing: str) -> errors.StorageError:
        diag = exc.diag
        text = diag.message_primary or " ".join(str(exc).split())
        if isinstance(exc, psycopg.errors.UniqueViolation) and \
                diag.table_name == "ledger_entries":
            text = f"ledger_entries is append-only: an entry with this seq exists ({text})"
        if isinstance(exc, psycopg.OperationalError) and (
                exc.sqlstate is None or exc.sqlstate[:2] in ("08", "57")):
            return errors.ConnectionLost(
                f"lost the connection to {self.target.describe()} while trying to {doing}: "
                f"{text}")
        return errors.StorageError(f"{self.target.describe()}: failed to {doing}: {text}")

    def _read(self, name: str, params: Sequence[Any] | dict[str, Any]) -> list[DictRow]:
        storable = unstorable.for_read(params)  # a bigint comparison, a LIMIT: 64 bits
        if storable is None:
            return []  # text that is not UTF-8: no stored row holds it
        with self._connection(f"read ({name})") as conn:
            return conn.execute(self._q[name], storable).fetchall()

    def _executemany(self, conn: Conn, sql: str, rows: Sequence[Any]) -> None:
        with conn.cursor() as cur:
            cur.executemany(sql, rows)

    def _write_steps(self, conn: Conn, steps: Sequence[StepRow]) -> None:
        postgres_updates.steps(self, conn, steps)  # one statement, not one per row

    def _write_outcomes(self, conn: Conn, outcomes: Sequence[OutcomeRow]) -> None:
        postgres_updates.outcomes(self, conn, outcomes)

    def worker_lock(self, tenant_id: str | None = None) -> WorkerLock:
        """Nothing to lock: on PostgreSQL several workers may share the database."""
        return NoWorkerLock(self.target)

    # migrations -------------------------------------------------------------------------
    def pending_migrations(self) -> list[migrations.Migration]:
        with self._connection("read the migrations") as conn:
            return migrations.check_applied("postgres", postgres_schema.applied(conn))

    def schema(self) -> str:
        """The schema as normalised SQL-like text, ordered, for the snapshot test."""
        with self._connection("read the schema") as conn:
            return postgres_schema.dump(conn)

    # definitions ------------------------------------------------------------------------
    def put_definition(
        self, tenant_id: str, name: str, sha256: str, spec: str, created_at: str
    ) -> tuple[DefinitionRow, bool]:
        with self._transaction() as conn:
            conn.execute(self._q["lock_definition_name"], (tenant_id, name))
            row = conn.execute(self._q["definition_by_sha"], (tenant_id, name, sha256))
            found = row.fetchone()
            if found is not None:
                return build(DefinitionRow, found), False
            latest = conn.execute(self._q["definition_latest_version"], (tenant_id, name))
            top = latest.fetchone()
            version = int(top["version"] if top else 0) + 1
            conn.execute(self._q["insert_definition"],
                         (tenant_id, name, version, sha256, spec, created_at))
        return (
            DefinitionRow(tenant_id=tenant_id, name=name, version=version, sha256=sha256,
                          spec=spec, created_at=created_at),
            True,
        )

    def list_definitions(self, tenant_id: str) -> list[DefinitionRow]:
        return [build(DefinitionRow, r) for r in self._read("definitions_latest_all",
                                                            (tenant_id,))]

    # executions -------------------------------------------------------------------------
    def commit(self, changes: Sequence[Change], *, together: bool = False,
               agents: AgentWrites | None = None) -> list[bool]:
        if not changes and not agents:
            return []
        with self._connection("write") as conn:
            results = postgres_batch.write(self, conn, changes, together, agents)
        if results is None:
            return [False] * len(changes)
        self._committed()
        return results

    def _ids(self, ids: Sequence[str]) -> Any:
        return list(ids)

    def _notify(self, conn: Conn, notices: Sequence[str]) -> None:
        for notice in notices:
            conn.execute(postgres_listen.NOTIFY, (notice,))

    def listen(self, on_message: Callable[[str | None], None]) -> NotificationListener:
        return NotificationListener(self.target.conninfo, self.target.describe(), on_message)

    def watch_ledger(self, on_commit: Callable[[LedgerNotice | None], None]) -> Closer:
        """One connection listening on ``ledgerflow_ledger``: writers notify it in the
        committing transaction. Returns once it listens (or after ``LISTEN_WAIT``
        seconds); after each reconnection ``on_commit(None)``: what was sent while it was
        away is lost, so readers look again."""

        def heard(payload: str | None) -> None:
            if payload is None:
                on_commit(None)
                return
            for notice in parse_ledger_payload(payload):
                on_commit(notice)

        listener = NotificationListener(
            self.target.conninfo, self.target.describe(), heard, channel=LEDGER_CHANNEL,
            what="ledger commits", meanwhile="live streams wait until it is back",
            announce_first=False)
        if not listener.listening.wait(LISTEN_WAIT):  # slow: say "look again" once it is
            listener.announce_first = True
        return listener

    def executions_with_status(self, statuses: Sequence[str]) -> list[ExecutionRow]:
        rows = self._read("executions_in_statuses", {"statuses": list(statuses)})
        return [build(ExecutionRow, r) for r in rows]

    def iter_executions(self, tenant_id: str) -> Iterator[ExecutionRow]:
        """Oldest first, a page at a time (each page is read on its own)."""
        page = self._read("executions_all_tenant", {"tenant_id": tenant_id, "limit": PAGE})
        while page:
            yield from (build(ExecutionRow, r) for r in page)
            if len(page) < PAGE:
                return
            last = page[-1]
            page = self._read("executions_all_tenant_after", {
                "tenant_id": tenant_id, "limit": PAGE, "after_at": last["created_at"],
                "after_id": last["id"]})

    # leases -----------------------------------------------------------------------------
    def claim_executions(self, owner: str, *, now: str, expires_at: str, limit: int,
                         steal: bool = False,
                         capabilities: Sequence[str] = (),
                         tenant_id: str | None = None) -> list[ClaimRow]:
        with self._transaction("claim executions") as conn:
            rows = conn.execute(self._q["claim_executions"], {
                "owner": owner, "now": now, "expires_at": expires_at, "limit": limit,
                "steal": steal, "capabilities": list(capabilities),
                "tenant_id": tenant_id}).fetchall()
        return [build(ClaimRow, r) for r in rows]

    # ledger and state versions ----------------------------------------------------------
    # wake-ups ---------------------------------------------------------------------------
    # retention --------------------------------------------------------------------------
    def remove_executions(self, tombstones: Sequence[TombstoneRow]) -> list[str]:
        with self._transaction() as conn:
            return postgres_retention.remove(conn, self._q, tombstones)
