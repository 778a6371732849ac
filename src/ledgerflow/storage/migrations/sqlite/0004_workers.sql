-- ledgerflow schema v4 (SQLite): execution leases and the worker registry.

-- The worker driving an execution holds it under a lease: the owner, an epoch bumped by
-- every claim (a takeover makes the old owner's writes stale), and when it lapses unless
-- renewed by the owner's heartbeats.
ALTER TABLE executions ADD COLUMN lease_owner TEXT;
ALTER TABLE executions ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN lease_expires_at TEXT;
-- handed over for a capability only other workers offer: until the lease time, only a
-- worker offering it claims the execution
ALTER TABLE executions ADD COLUMN lease_needs TEXT;
CREATE INDEX executions_unfinished ON executions (created_at, id)
    WHERE status IN ('pending', 'running', 'waiting', 'paused');
CREATE INDEX executions_by_lease ON executions (lease_owner)
    WHERE status IN ('pending', 'running', 'waiting', 'paused');
CREATE INDEX wakeups_by_time ON wakeups (created_at);

-- Every worker that ran: who, where, since when, last heard from.
CREATE TABLE workers (
    id            TEXT PRIMARY KEY,           -- host:pid
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('running', 'stopping', 'stopped')),
    capabilities  TEXT NOT NULL,              -- JSON list of the capabilities it offers
    concurrency   INTEGER NOT NULL,
    lease_seconds REAL NOT NULL,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,
    stopped_at    TEXT
);
