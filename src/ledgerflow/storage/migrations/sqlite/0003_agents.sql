-- ledgerflow schema v3 (SQLite): agents, circuit breakers, statistics, heartbeats, telemetry.

-- The agents live workers offer: who is alive where.
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

-- One circuit breaker per capability and agent, rewritten with every transition.
CREATE TABLE breakers (
    capability  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
    data        TEXT NOT NULL,              -- the whole breaker state, JSON
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (capability, agent)
);

-- Every breaker transition: an append-only audit.
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
CREATE INDEX breaker_transitions_by_agent ON breaker_transitions (capability, agent, id);

CREATE TRIGGER breaker_transitions_no_update BEFORE UPDATE ON breaker_transitions
BEGIN
    SELECT RAISE(ABORT, 'breaker_transitions is append-only: UPDATE refused');
END;

CREATE TRIGGER breaker_transitions_no_delete BEFORE DELETE ON breaker_transitions
BEGIN
    SELECT RAISE(ABORT, 'breaker_transitions is append-only: DELETE refused');
END;

-- Per-agent statistics, updated with each outcome; rebuildable from routing_decisions.
CREATE TABLE agent_stats (
    capability  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    data        TEXT NOT NULL,              -- the statistics, JSON
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (capability, agent)
);

-- How each routed attempt ended (the statistics are rebuilt from these).
ALTER TABLE routing_decisions ADD COLUMN outcome TEXT
    CHECK (outcome IS NULL OR outcome IN ('success', 'failure'));
ALTER TABLE routing_decisions ADD COLUMN duration_ms REAL;
ALTER TABLE routing_decisions ADD COLUMN finished_at TEXT;
CREATE INDEX routing_decisions_by_outcome ON routing_decisions (finished_at)
    WHERE outcome IS NOT NULL;

-- The last heartbeat of a running attempt.
ALTER TABLE step_runs ADD COLUMN heartbeat_at TEXT;
ALTER TABLE step_runs ADD COLUMN heartbeat TEXT;

-- Telemetry: step logs, engine events, errors, decisions, transitions (never the ledger).
CREATE TABLE telemetry (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL
        CHECK (kind IN ('interaction', 'telemetry', 'error', 'decision', 'transition')),
    execution_id  TEXT,
    step_id       TEXT,
    message       TEXT NOT NULL,
    fields        TEXT NOT NULL,            -- JSON
    occurred_at   TEXT NOT NULL
);
CREATE INDEX telemetry_by_execution ON telemetry (execution_id, id);
