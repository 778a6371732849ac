-- ledgerflow schema v2 (SQLite): sessions, signals, forks, wake-ups and retention.

-- A session's deadline (TTL), and where a fork came from.
ALTER TABLE executions ADD COLUMN expires_at TEXT;
ALTER TABLE executions ADD COLUMN forked_from TEXT;
ALTER TABLE executions ADD COLUMN forked_at_seq INTEGER;
CREATE INDEX executions_by_expiry ON executions (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX executions_by_origin ON executions (forked_from) WHERE forked_from IS NOT NULL;

-- Signals sent to an execution, kept until a wait step or handler consumes them.
CREATE TABLE signals (
    execution_id  TEXT NOT NULL REFERENCES executions (id),
    seq           INTEGER NOT NULL,             -- the ledger entry that recorded it
    name          TEXT NOT NULL,
    data          TEXT NOT NULL,                -- canonical JSON
    received_at   TEXT NOT NULL,
    consumed_by   TEXT,                         -- the wait step that took it
    consumed_at   TEXT,
    handled       INTEGER NOT NULL DEFAULT 0,   -- its handler runs were created
    PRIMARY KEY (execution_id, seq)
);

-- A change made outside the worker (control, signal, start) asks workers to look again.
CREATE TABLE wakeups (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id  TEXT NOT NULL,
    reason        TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- What retention removed: enough to prove the removed chain existed and how it ended.
CREATE TABLE tombstones (
    execution_id      TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    workflow          TEXT NOT NULL,
    workflow_version  INTEGER NOT NULL,
    final_status      TEXT NOT NULL,
    head_seq          INTEGER NOT NULL,
    head_hash         TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    finished_at       TEXT,
    removed_at        TEXT NOT NULL,
    removed_by        TEXT NOT NULL
);
CREATE INDEX tombstones_by_tenant ON tombstones (tenant_id, removed_at);

CREATE TRIGGER tombstones_no_update BEFORE UPDATE ON tombstones
BEGIN
    SELECT RAISE(ABORT, 'tombstones are append-only: UPDATE refused');
END;

CREATE TRIGGER tombstones_no_delete BEFORE DELETE ON tombstones
BEGIN
    SELECT RAISE(ABORT, 'tombstones are append-only: DELETE refused');
END;

-- Retention removes whole finished executions, and only after their tombstone exists.
DROP TRIGGER ledger_entries_no_delete;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
WHEN NOT EXISTS (SELECT 1 FROM tombstones t
                 JOIN executions e ON e.id = t.execution_id
                 WHERE t.execution_id = OLD.execution_id
                   AND t.head_seq = e.head_seq AND t.head_hash = e.head_hash
                   AND e.status IN ('completed', 'failed', 'cancelled', 'expired'))
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only: DELETE refused');
END;
