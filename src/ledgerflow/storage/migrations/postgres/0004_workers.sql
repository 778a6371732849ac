-- ledgerflow schema v4 (PostgreSQL): execution leases and the worker registry.

-- The worker driving an execution holds it under a lease: the owner, an epoch bumped by
-- every claim (a takeover makes the old owner's writes stale), and when it lapses unless
-- renewed by the owner's heartbeats.
ALTER TABLE executions ADD COLUMN lease_owner TEXT COLLATE "C";
ALTER TABLE executions ADD COLUMN lease_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN lease_expires_at TEXT COLLATE "C";
-- handed over for a capability only other workers offer: until the lease time, only a
-- worker offering it claims the execution
ALTER TABLE executions ADD COLUMN lease_needs TEXT COLLATE "C";
CREATE INDEX executions_unfinished ON executions (created_at, id)
    WHERE status IN ('pending', 'running', 'waiting', 'paused');
CREATE INDEX executions_by_lease ON executions (lease_owner)
    WHERE status IN ('pending', 'running', 'waiting', 'paused');
CREATE INDEX wakeups_by_time ON wakeups (created_at);

-- Every worker that ran: who, where, since when, last heard from.
CREATE TABLE workers (
    id            TEXT COLLATE "C" PRIMARY KEY,  -- host:pid
    host          TEXT COLLATE "C" NOT NULL,
    pid           BIGINT NOT NULL,
    status        TEXT COLLATE "C" NOT NULL
                  CHECK (status IN ('running', 'stopping', 'stopped')),
    capabilities  TEXT COLLATE "C" NOT NULL,     -- JSON list of the capabilities it offers
    concurrency   BIGINT NOT NULL,
    lease_seconds DOUBLE PRECISION NOT NULL,
    started_at    TEXT COLLATE "C" NOT NULL,
    heartbeat_at  TEXT COLLATE "C" NOT NULL,
    stopped_at    TEXT COLLATE "C"
);
