CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id, created_at);
CREATE INDEX breaker_transitions_by_agent ON breaker_transitions (capability, agent, id);
CREATE INDEX executions_by_expiry ON executions (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX executions_by_lease ON executions (lease_owner)
    WHERE status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
      AND status <> 'expired';
CREATE INDEX executions_by_origin ON executions (forked_from) WHERE forked_from IS NOT NULL;
CREATE INDEX executions_by_status ON executions (tenant_id, status, created_at);
CREATE INDEX executions_by_workflow ON executions (tenant_id, workflow, created_at);
CREATE INDEX executions_unfinished ON executions (created_at, id)
    WHERE status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
      AND status <> 'expired';
CREATE INDEX executions_unfinished_by_tenant ON executions (tenant_id, created_at, id)
    WHERE status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
      AND status <> 'expired';
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
CREATE INDEX routing_decisions_by_outcome ON routing_decisions (finished_at)
    WHERE outcome IS NOT NULL;
CREATE INDEX step_runs_waiting_for ON step_runs (waiting_for) WHERE waiting_for IS NOT NULL;
CREATE INDEX telemetry_by_execution ON telemetry (execution_id, id);
CREATE INDEX tombstones_by_tenant ON tombstones (tenant_id, removed_at);
CREATE INDEX wakeups_by_time ON wakeups (created_at);
CREATE TABLE agent_stat_buckets (
    capability  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (capability, agent, slot, bucket)
);
CREATE TABLE agent_stats (
    capability   TEXT NOT NULL,
    agent        TEXT NOT NULL,
    total        INTEGER NOT NULL,
    successes    INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    duration_us  INTEGER NOT NULL,          -- sum of the durations, whole microseconds
    last_update  TEXT NOT NULL,             -- the latest outcome's time
    updated_at   TEXT NOT NULL,             -- when the row was last written
    slot         INTEGER NOT NULL,          -- the totals are the sum over the slots
    PRIMARY KEY (capability, agent, slot)
);
CREATE TABLE agents (
    worker_id   TEXT NOT NULL,              -- host:pid
    capability  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    weight      REAL NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    seen_at     TEXT NOT NULL,              -- its worker's last sign of life
    PRIMARY KEY (worker_id, capability, agent)
);
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants (id),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role = 'viewer' OR role = 'operator' OR role = 'admin'
                                       OR role = 'metrics' OR role = 'system'),
    lookup        TEXT NOT NULL UNIQUE,
    sha256        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT,
    CHECK ((role = 'system') = (tenant_id IS NULL))
);
CREATE TABLE breaker_transitions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    capability   TEXT NOT NULL,
    agent        TEXT NOT NULL,
    from_state   TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    actor        TEXT NOT NULL,
    occurred_at  TEXT NOT NULL
);
CREATE TABLE breakers (
    capability  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
    data        TEXT NOT NULL,              -- the whole breaker state, JSON
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (capability, agent)
);
CREATE TABLE executions (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    workflow           TEXT NOT NULL,
    workflow_version   INTEGER NOT NULL,
    definition_sha256  TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN
        ('pending', 'running', 'completed', 'failed', 'paused', 'waiting', 'cancelled', 'expired')),
    input              TEXT NOT NULL,
    input_sha256       TEXT NOT NULL,
    result             TEXT,
    error              TEXT,
    state              TEXT NOT NULL,       -- current state document, canonical JSON
    state_sha256       TEXT NOT NULL,
    state_version      INTEGER NOT NULL,
    head_seq           INTEGER NOT NULL,
    head_hash          TEXT NOT NULL,
    version            INTEGER NOT NULL,    -- optimistic concurrency: +1 on every change
    recoveries         INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    started_at         TEXT,
    finished_at        TEXT,
    updated_at         TEXT NOT NULL, expires_at TEXT, forked_from TEXT, forked_at_seq INTEGER, lease_owner TEXT, lease_epoch INTEGER NOT NULL DEFAULT 0, lease_expires_at TEXT, lease_needs TEXT,
    FOREIGN KEY (tenant_id, workflow, workflow_version)
        REFERENCES workflow_definitions (tenant_id, name, version)
);
CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state = 'in_flight' OR state = 'done'),
    status        INTEGER,
    body          TEXT,
    content_type  TEXT,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL, headers TEXT,
    PRIMARY KEY (tenant_id, key),
    CHECK ((state = 'done') = (status IS NOT NULL AND body IS NOT NULL))
);
CREATE TABLE ledger_entries (
    execution_id  TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    event_type    TEXT NOT NULL,
    step_id       TEXT,
    occurred_at   TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    entry_hash    TEXT NOT NULL,
    body          TEXT NOT NULL,                -- the exact canonical bytes that were hashed
    payload       TEXT, tenant_id TEXT NOT NULL DEFAULT '',                         -- canonical payload; may be erased, never edited
    PRIMARY KEY (execution_id, seq)
);
CREATE TABLE removed_outcomes (
    capability   TEXT NOT NULL,
    agent        TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    bucket       INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    duration_us  INTEGER NOT NULL,
    last_at      TEXT NOT NULL,
    PRIMARY KEY (capability, agent, outcome, bucket)
);
CREATE TABLE routing_decisions (
    execution_id  TEXT NOT NULL REFERENCES executions (id),
    step_id       TEXT NOT NULL,
    epoch         INTEGER NOT NULL,
    attempt       INTEGER NOT NULL,
    capability    TEXT NOT NULL,
    agent         TEXT NOT NULL,
    candidates    TEXT NOT NULL,                -- JSON: every candidate with its score
    reason        TEXT NOT NULL,
    decided_at    TEXT NOT NULL, outcome TEXT
    CHECK (outcome IS NULL OR outcome IN ('success', 'failure')), duration_ms REAL, finished_at TEXT, duration_us INTEGER, duration_bucket INTEGER, tenant_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (execution_id, step_id, epoch)
);
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE signals (
    execution_id  TEXT NOT NULL REFERENCES executions (id),
    seq           INTEGER NOT NULL,             -- the ledger entry that recorded it
    name          TEXT NOT NULL,
    data          TEXT NOT NULL,                -- canonical JSON
    received_at   TEXT NOT NULL,
    consumed_by   TEXT,                         -- the wait step that took it
    consumed_at   TEXT,
    handled       INTEGER NOT NULL DEFAULT 0, tenant_id TEXT NOT NULL DEFAULT '',   -- its handler runs were created
    PRIMARY KEY (execution_id, seq)
);
CREATE TABLE state_versions (
    execution_id  TEXT NOT NULL REFERENCES executions (id),
    version       INTEGER NOT NULL,
    seq           INTEGER NOT NULL,             -- the ledger entry that made this version
    state         TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'full'
    CHECK (kind = 'full' OR kind = 'patch'), tenant_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (execution_id, version)
);
CREATE TABLE step_runs (
    execution_id  TEXT NOT NULL REFERENCES executions (id),
    step_id       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
        ('pending', 'running', 'completed', 'failed', 'skipped', 'cancelled', 'interrupted')),
    attempt       INTEGER NOT NULL DEFAULT 0,   -- attempts started (retries count, recoveries do not)
    epoch         INTEGER NOT NULL DEFAULT 0,   -- dispatch epoch: fences late completions
    agent         TEXT,
    output        TEXT,
    error         TEXT,
    ready_at      TEXT,                         -- a pending retry is due at this time
    started_at    TEXT,
    finished_at   TEXT, heartbeat_at TEXT, heartbeat TEXT, waiting_for TEXT, tenant_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (execution_id, step_id)
);
CREATE TABLE telemetry (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL
        CHECK (kind IN ('interaction', 'telemetry', 'error', 'decision', 'transition')),
    execution_id  TEXT,
    step_id       TEXT,
    message       TEXT NOT NULL,
    fields        TEXT NOT NULL,            -- JSON
    occurred_at   TEXT NOT NULL
, tenant_id TEXT);
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);
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
CREATE TABLE wakeups (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id  TEXT NOT NULL,
    reason        TEXT NOT NULL,
    created_at    TEXT NOT NULL
, tenant_id TEXT NOT NULL DEFAULT '');
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
, limits TEXT NOT NULL DEFAULT '{}', stuck TEXT NOT NULL DEFAULT '[]', tenant_scope TEXT);
CREATE TABLE workflow_definitions (
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    sha256      TEXT NOT NULL,
    spec        TEXT NOT NULL,              -- RFC 8785 canonical JSON of the definition
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name, version),
    UNIQUE (tenant_id, name, sha256)
);
CREATE TRIGGER breaker_transitions_no_delete BEFORE DELETE ON breaker_transitions
BEGIN
    SELECT RAISE(ABORT, 'breaker_transitions is append-only: DELETE refused');
END;
CREATE TRIGGER breaker_transitions_no_update BEFORE UPDATE ON breaker_transitions
BEGIN
    SELECT RAISE(ABORT, 'breaker_transitions is append-only: UPDATE refused');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
WHEN NOT EXISTS (SELECT 1 FROM tombstones t
                 JOIN executions e ON e.id = t.execution_id
                 WHERE t.execution_id = OLD.execution_id
                   AND t.head_seq = e.head_seq AND t.head_hash = e.head_hash
                   AND e.status IN ('completed', 'failed', 'cancelled', 'expired'))
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only: DELETE refused');
END;
CREATE TRIGGER ledger_entries_no_replace BEFORE INSERT ON ledger_entries
WHEN EXISTS (SELECT 1 FROM ledger_entries
             WHERE execution_id = NEW.execution_id AND seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only: an entry with this seq exists');
END;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only: UPDATE refused');
END;
CREATE TRIGGER tombstones_no_delete BEFORE DELETE ON tombstones
BEGIN
    SELECT RAISE(ABORT, 'tombstones are append-only: DELETE refused');
END;
CREATE TRIGGER tombstones_no_update BEFORE UPDATE ON tombstones
BEGIN
    SELECT RAISE(ABORT, 'tombstones are append-only: UPDATE refused');
END;
