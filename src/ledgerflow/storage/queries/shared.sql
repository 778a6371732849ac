-- Named queries the same in every dialect. Each block starts with "-- name: <name>".
-- Placeholders are SQLite's (? and :name); queries.load translates them for PostgreSQL
-- (%s and %(name)s). A name defined here is defined in no dialect file.

-- name: definition_by_sha
SELECT tenant_id, name, version, sha256, spec, created_at FROM workflow_definitions
WHERE tenant_id = ? AND name = ? AND sha256 = ?;

-- name: insert_definition
INSERT INTO workflow_definitions (tenant_id, name, version, sha256, spec, created_at)
VALUES (?, ?, ?, ?, ?, ?);

-- name: definition_version
SELECT tenant_id, name, version, sha256, spec, created_at FROM workflow_definitions
WHERE tenant_id = ? AND name = ? AND version = ?;

-- name: definition_latest
SELECT tenant_id, name, version, sha256, spec, created_at FROM workflow_definitions
WHERE tenant_id = ? AND name = ? ORDER BY version DESC LIMIT 1;

-- name: insert_step
INSERT INTO step_runs (execution_id, step_id, status, attempt, epoch, agent, output, error,
    ready_at, started_at, finished_at, waiting_for, tenant_id)
VALUES (:execution_id, :step_id, :status, :attempt, :epoch, :agent, :output, :error,
    :ready_at, :started_at, :finished_at, :waiting_for, :tenant_id);

-- name: update_step
UPDATE step_runs SET status = :status, attempt = :attempt, epoch = :epoch, agent = :agent,
    output = :output, error = :error, ready_at = :ready_at, started_at = :started_at,
    finished_at = :finished_at, waiting_for = :waiting_for
WHERE execution_id = :execution_id AND step_id = :step_id;

-- name: insert_state_version
INSERT INTO state_versions (execution_id, version, seq, state, sha256, created_at, kind,
    tenant_id)
VALUES (:execution_id, :version, :seq, :state, :sha256, :created_at, :kind, :tenant_id);

-- name: insert_decision
INSERT INTO routing_decisions (execution_id, step_id, epoch, attempt, capability, agent,
    candidates, reason, decided_at, tenant_id)
VALUES (:execution_id, :step_id, :epoch, :attempt, :capability, :agent, :candidates,
    :reason, :decided_at, :tenant_id);

-- name: insert_ledger_entry
INSERT INTO ledger_entries (execution_id, seq, event_type, step_id, occurred_at, prev_hash,
    entry_hash, body, payload, tenant_id)
VALUES (:execution_id, :seq, :event_type, :step_id, :occurred_at, :prev_hash, :entry_hash,
    :body, :payload, :tenant_id);

-- name: execution_by_id
SELECT * FROM executions WHERE tenant_id = ? AND id = ?;

-- name: execution_by_id_any_tenant
SELECT * FROM executions WHERE id = ?;

-- name: execution_ids_by_prefix
-- A range over the primary key (every id from the prefix up to the prefix followed by the
-- highest code point): both backends compare ids byte-wise (SQLite's BINARY, PostgreSQL's
-- "C"), so it is exactly the ids that start with the prefix, read from the primary-key
-- index. The tenant is compared as an expression so that no planner prefers the indexes
-- that start with tenant_id (every execution of one tenant) over the key range.
SELECT id FROM executions
WHERE id >= :low AND id < :high AND tenant_id || '' = :tenant_id
ORDER BY id LIMIT :limit;

-- name: steps_of_execution
SELECT * FROM step_runs WHERE execution_id = ? ORDER BY rowid;

-- name: ledger_of_execution
SELECT * FROM ledger_entries WHERE execution_id = ? ORDER BY seq;

-- name: state_version_from_snapshot
-- a version and the versions its document is rebuilt from: from the last full one on
SELECT * FROM state_versions
WHERE execution_id = :execution_id AND version <= :version
  AND version >= (SELECT COALESCE(MAX(version), 0) FROM state_versions
                  WHERE execution_id = :execution_id AND version <= :version AND kind = 'full')
ORDER BY version;

-- name: state_versions_of_execution
SELECT * FROM state_versions WHERE execution_id = ? ORDER BY version;

-- name: ledger_page_of_execution
SELECT * FROM ledger_entries WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?;

-- name: versions_made_between
-- which state version each ledger entry in (after, upto] made
SELECT seq, version FROM state_versions
WHERE execution_id = ? AND seq > ? AND seq <= ? ORDER BY version;

-- name: decisions_of_execution
SELECT * FROM routing_decisions WHERE execution_id = ? ORDER BY decided_at, step_id, epoch;

-- name: completed_durations
SELECT started_at, finished_at FROM executions
WHERE tenant_id = ? AND workflow = ? AND status = 'completed' AND started_at IS NOT NULL
ORDER BY finished_at DESC LIMIT ?;

-- name: insert_signal
INSERT INTO signals (execution_id, seq, name, data, received_at, consumed_by, consumed_at,
    handled, tenant_id)
VALUES (:execution_id, :seq, :name, :data, :received_at, :consumed_by, :consumed_at,
    :handled, :tenant_id);

-- name: update_signal
UPDATE signals SET consumed_by = :consumed_by, consumed_at = :consumed_at, handled = :handled
WHERE execution_id = :execution_id AND seq = :seq;

-- name: signals_of_execution
SELECT * FROM signals WHERE execution_id = ? ORDER BY seq;

-- name: insert_wakeup
INSERT INTO wakeups (execution_id, reason, created_at, tenant_id) VALUES (?, ?, ?, ?);

-- name: wakeups_after
SELECT id, execution_id FROM wakeups WHERE id > ? ORDER BY id LIMIT ?;

-- name: last_wakeup
SELECT COALESCE(MAX(id), 0) AS id FROM wakeups;

-- name: prune_wakeups
DELETE FROM wakeups WHERE created_at < ?;

-- name: executions_expired
-- Of one tenant, or of every tenant when :tenant_id is NULL (a worker's scope).
SELECT * FROM executions
WHERE expires_at IS NOT NULL AND expires_at <= :now
  AND status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
  AND status <> 'expired'
  AND (CAST(:tenant_id AS TEXT) IS NULL OR tenant_id = :tenant_id)
ORDER BY expires_at, id LIMIT :limit;

-- name: forks_of_execution
SELECT id FROM executions WHERE forked_from = ? ORDER BY created_at, id;

-- name: insert_tombstone
INSERT INTO tombstones (execution_id, tenant_id, workflow, workflow_version, final_status,
    head_seq, head_hash, created_at, finished_at, removed_at, removed_by)
VALUES (:execution_id, :tenant_id, :workflow, :workflow_version, :final_status, :head_seq,
    :head_hash, :created_at, :finished_at, :removed_at, :removed_by);

-- name: delete_ledger_of_execution
DELETE FROM ledger_entries WHERE execution_id = ?;

-- name: delete_steps_of_execution
DELETE FROM step_runs WHERE execution_id = ?;

-- name: delete_state_versions_of_execution
DELETE FROM state_versions WHERE execution_id = ?;

-- name: delete_decisions_of_execution
DELETE FROM routing_decisions WHERE execution_id = ?;

-- name: delete_signals_of_execution
DELETE FROM signals WHERE execution_id = ?;

-- name: delete_execution
DELETE FROM executions WHERE id = ? AND head_seq = ? AND head_hash = ?
  AND status IN ('completed', 'failed', 'cancelled', 'expired');

-- name: tombstones_of_tenant
SELECT * FROM tombstones WHERE tenant_id = ? ORDER BY removed_at, execution_id;

-- name: tombstone_by_id
SELECT * FROM tombstones WHERE tenant_id = ? AND execution_id = ?;

-- name: upsert_agent
INSERT INTO agents (worker_id, capability, agent, priority, weight, host, pid, started_at,
    seen_at)
VALUES (:worker_id, :capability, :agent, :priority, :weight, :host, :pid, :started_at,
    :seen_at)
ON CONFLICT (worker_id, capability, agent) DO UPDATE SET priority = excluded.priority,
    weight = excluded.weight, seen_at = excluded.seen_at;

-- name: delete_agents_of_worker
DELETE FROM agents WHERE worker_id = ?;

-- name: touch_agents_of_worker
UPDATE agents SET seen_at = ? WHERE worker_id = ?;

-- name: agents_all
SELECT * FROM agents ORDER BY capability, agent, worker_id;

-- name: upsert_breaker
INSERT INTO breakers (capability, agent, state, data, version, updated_at)
VALUES (:capability, :agent, :state, :data, :version, :updated_at)
ON CONFLICT (capability, agent) DO UPDATE SET state = excluded.state, data = excluded.data,
    version = excluded.version, updated_at = excluded.updated_at;

-- name: breakers_all
SELECT * FROM breakers ORDER BY capability, agent;

-- name: insert_breaker_transition
INSERT INTO breaker_transitions (capability, agent, from_state, to_state, reason, actor,
    occurred_at)
VALUES (:capability, :agent, :from_state, :to_state, :reason, :actor, :occurred_at);

-- name: breaker_transitions_recent
SELECT * FROM breaker_transitions ORDER BY id DESC LIMIT ?;

-- name: add_stats
-- Adds to the totals (never overwrites them): concurrent workers' increments all count.
INSERT INTO agent_stats (capability, agent, slot, total, successes, failures, duration_us,
    last_update, updated_at)
VALUES (:capability, :agent, :slot, :total, :successes, :failures, :duration_us,
    :last_update, :updated_at)
ON CONFLICT (capability, agent, slot) DO UPDATE SET total = agent_stats.total + excluded.total,
    successes = agent_stats.successes + excluded.successes,
    failures = agent_stats.failures + excluded.failures,
    duration_us = agent_stats.duration_us + excluded.duration_us,
    last_update = CASE WHEN excluded.last_update > agent_stats.last_update
                       THEN excluded.last_update ELSE agent_stats.last_update END,
    updated_at = excluded.updated_at;

-- name: add_stat_buckets
-- Adds to the histogram (never overwrites it): concurrent workers' increments all count.
INSERT INTO agent_stat_buckets (capability, agent, slot, bucket, count)
VALUES (:capability, :agent, :slot, :bucket, :count)
ON CONFLICT (capability, agent, slot, bucket) DO UPDATE
SET count = agent_stat_buckets.count + excluded.count;

-- name: stats_all
-- Every agent's totals: the sum over its slots.
SELECT capability, agent, CAST(sum(total) AS BIGINT) AS total,
    CAST(sum(successes) AS BIGINT) AS successes, CAST(sum(failures) AS BIGINT) AS failures,
    CAST(sum(duration_us) AS BIGINT) AS duration_us, max(last_update) AS last_update,
    max(updated_at) AS updated_at
FROM agent_stats GROUP BY capability, agent ORDER BY capability, agent;

-- name: stat_buckets_all
SELECT capability, agent, bucket, CAST(sum(count) AS BIGINT) AS count
FROM agent_stat_buckets GROUP BY capability, agent, bucket HAVING sum(count) <> 0
ORDER BY capability, agent, bucket;

-- name: delete_stats
DELETE FROM agent_stats;

-- name: delete_stat_buckets
DELETE FROM agent_stat_buckets;

-- name: removed_outcomes_all
SELECT * FROM removed_outcomes ORDER BY capability, agent, outcome, bucket;

-- name: remove_outcomes_of_execution
-- Retention: the outcomes of an execution's decisions, summed before they are deleted.
INSERT INTO removed_outcomes (capability, agent, outcome, bucket, count, duration_us,
    last_at)
SELECT capability, agent, outcome, duration_bucket, count(*), sum(duration_us),
    max(finished_at)
FROM routing_decisions WHERE execution_id = ? AND outcome IS NOT NULL
GROUP BY capability, agent, outcome, duration_bucket
ON CONFLICT (capability, agent, outcome, bucket) DO UPDATE
SET count = removed_outcomes.count + excluded.count,
    duration_us = removed_outcomes.duration_us + excluded.duration_us,
    last_at = CASE WHEN excluded.last_at > removed_outcomes.last_at
                   THEN excluded.last_at ELSE removed_outcomes.last_at END;

-- name: update_decision_outcome
UPDATE routing_decisions SET outcome = :outcome, duration_ms = :duration_ms,
    duration_us = :duration_us, duration_bucket = :bucket, finished_at = :finished_at
WHERE execution_id = :execution_id AND step_id = :step_id AND epoch = :epoch;

-- name: decision_outcomes
SELECT capability, agent, outcome, duration_ms, finished_at FROM routing_decisions
WHERE outcome IS NOT NULL ORDER BY finished_at, execution_id, step_id, epoch;

-- name: update_heartbeat
UPDATE step_runs SET heartbeat_at = :heartbeat_at, heartbeat = :heartbeat
WHERE execution_id = :execution_id AND step_id = :step_id AND epoch = :epoch
  AND status = 'running';

-- name: insert_telemetry
-- Its tenant is its execution's (none without one): the flusher need not know it.
INSERT INTO telemetry (kind, execution_id, step_id, message, fields, occurred_at, tenant_id)
VALUES (:kind, :execution_id, :step_id, :message, :fields, :occurred_at,
    (SELECT e.tenant_id FROM executions e WHERE e.id = :execution_id));

-- name: telemetry_of_execution
SELECT * FROM telemetry WHERE execution_id = ? AND id > ? ORDER BY id LIMIT ?;

-- name: telemetry_last_of_execution
SELECT * FROM telemetry WHERE execution_id = ? AND kind = ? AND message = ?
ORDER BY id DESC LIMIT 1;

-- name: telemetry_newest_of_execution
SELECT COALESCE(MAX(id), 0) AS id FROM telemetry WHERE execution_id = ?;

-- name: telemetry_all
SELECT * FROM telemetry WHERE id > ? ORDER BY id LIMIT ?;

-- name: insert_tenant_telemetry
-- A record of the tenant's that no execution owns (a verification run).
INSERT INTO telemetry (kind, execution_id, step_id, message, fields, occurred_at, tenant_id)
VALUES (:kind, NULL, NULL, :message, :fields, :occurred_at, :tenant_id);

-- name: telemetry_last_of_tenant
SELECT * FROM telemetry WHERE execution_id IS NULL AND tenant_id = ? AND kind = ?
  AND message = ? ORDER BY id DESC LIMIT 1;

-- leases and the worker registry ---------------------------------------------------------

-- name: renew_leases
UPDATE executions SET lease_expires_at = :expires_at
WHERE lease_owner = :owner
  AND status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
  AND status <> 'expired'
RETURNING id, lease_epoch;

-- name: upsert_worker
INSERT INTO workers (id, host, pid, status, capabilities, concurrency, lease_seconds,
    started_at, heartbeat_at, stopped_at, limits, stuck, tenant_scope)
VALUES (:id, :host, :pid, :status, :capabilities, :concurrency, :lease_seconds,
    :started_at, :heartbeat_at, :stopped_at, :limits, :stuck, :tenant_scope)
ON CONFLICT (id) DO UPDATE SET status = excluded.status, capabilities = excluded.capabilities,
    concurrency = excluded.concurrency, lease_seconds = excluded.lease_seconds,
    started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
    stopped_at = excluded.stopped_at, limits = excluded.limits, stuck = excluded.stuck,
    tenant_scope = excluded.tenant_scope;

-- name: worker_heartbeat
-- Heard from, with the handlers it reports stuck past their timeout (a JSON list).
UPDATE workers SET heartbeat_at = :at, stuck = :stuck WHERE id = :id;

-- name: worker_status
UPDATE workers SET status = :status, heartbeat_at = :at,
    stopped_at = CASE WHEN :status = 'stopped' THEN :at ELSE stopped_at END,
    stuck = CASE WHEN :status = 'stopped' THEN '[]' ELSE stuck END
WHERE id = :id;

-- name: list_workers
SELECT * FROM workers ORDER BY started_at, id;

-- name: worker_load
-- Per lease owner: unfinished executions held, handlers running, the oldest running start.
SELECT e.lease_owner AS worker_id, COUNT(DISTINCT e.id) AS executions,
    COUNT(s.step_id) AS running, MIN(s.started_at) AS oldest
FROM executions e LEFT JOIN step_runs s ON s.execution_id = e.id AND s.status = 'running'
    AND s.agent IS NOT NULL  -- a handler runs (not a wait or a sleep)
WHERE e.lease_owner IS NOT NULL
  AND e.status <> 'completed' AND e.status <> 'failed' AND e.status <> 'cancelled'
  AND e.status <> 'expired'
GROUP BY e.lease_owner;

-- name: running_steps_by_owner
-- The steps running in executions held under a lease, by holder, oldest first.
SELECT e.lease_owner AS worker_id, s.execution_id, s.step_id, s.agent, s.started_at
FROM executions e JOIN step_runs s ON s.execution_id = e.id AND s.status = 'running'
    AND s.agent IS NOT NULL
WHERE e.lease_owner IS NOT NULL
  AND e.status <> 'completed' AND e.status <> 'failed' AND e.status <> 'cancelled'
  AND e.status <> 'expired'
ORDER BY s.started_at, s.execution_id, s.step_id LIMIT ?;

-- tenants and tokens -------------------------------------------------------------------------

-- name: insert_tenant
-- Nothing for a tenant that exists already (the caller reads the rowcount).
INSERT INTO tenants (id, created_at) VALUES (:id, :created_at) ON CONFLICT (id) DO NOTHING;

-- name: tenants_all
SELECT * FROM tenants ORDER BY id;

-- name: tenant_by_id
SELECT * FROM tenants WHERE id = ?;

-- name: insert_token
INSERT INTO api_tokens (id, tenant_id, name, role, lookup, sha256, created_at, created_by,
    expires_at, last_used_at, revoked_at)
VALUES (:id, :tenant_id, :name, :role, :lookup, :sha256, :created_at, :created_by,
    :expires_at, :last_used_at, :revoked_at);

-- name: token_by_lookup
SELECT * FROM api_tokens WHERE lookup = ?;

-- name: token_by_id
SELECT * FROM api_tokens WHERE id = ?;

-- name: tokens_of_tenant
SELECT * FROM api_tokens WHERE tenant_id = ? ORDER BY created_at, id;

-- name: tokens_system
SELECT * FROM api_tokens WHERE tenant_id IS NULL ORDER BY created_at, id;

-- name: revoke_token
-- Revoking twice keeps the first moment.
UPDATE api_tokens SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL;

-- name: token_used
-- At most one write per token per minute: ``stale`` is a minute before ``at``.
UPDATE api_tokens SET last_used_at = :at
WHERE id = :id AND (last_used_at IS NULL OR last_used_at < :stale);

-- idempotency keys ------------------------------------------------------------------------

-- name: claim_idempotency_key
-- Insert an in-flight claim, or take over an expired row of the same key; nothing when an
-- unexpired row holds the key (the caller reads the rowcount, then the row). Atomic: of two
-- racing claims one inserts, the other waits for it and then finds the key held.
INSERT INTO idempotency_keys (tenant_id, key, fingerprint, state, status, body,
    content_type, headers, created_at, expires_at)
VALUES (:tenant_id, :key, :fingerprint, 'in_flight', NULL, NULL, NULL, NULL, :created_at,
    :expires_at)
ON CONFLICT (tenant_id, key) DO UPDATE SET fingerprint = excluded.fingerprint,
    state = 'in_flight', status = NULL, body = NULL, content_type = NULL, headers = NULL,
    created_at = excluded.created_at, expires_at = excluded.expires_at
WHERE idempotency_keys.expires_at <= excluded.created_at;

-- name: idempotency_key
SELECT * FROM idempotency_keys WHERE tenant_id = ? AND key = ?;

-- name: finish_idempotency_key
-- Only the claim made at ``claimed_at`` and still in flight (not one taken over since).
UPDATE idempotency_keys SET state = 'done', status = :status, body = :body,
    content_type = :content_type, headers = :headers, expires_at = :expires_at
WHERE tenant_id = :tenant_id AND key = :key AND state = 'in_flight'
  AND created_at = :claimed_at;

-- name: release_idempotency_key
DELETE FROM idempotency_keys
WHERE tenant_id = :tenant_id AND key = :key AND state = 'in_flight'
  AND created_at = :claimed_at;

-- name: purge_idempotency_keys
DELETE FROM idempotency_keys WHERE expires_at <= :now;

-- metrics --------------------------------------------------------------------------------

-- name: waiting_for_agents
-- Steps ready to start that no agent has taken, by tenant and capability (a metrics scrape).
SELECT tenant_id, waiting_for, COUNT(*) AS n FROM step_runs
WHERE waiting_for IS NOT NULL AND status = 'pending'
GROUP BY tenant_id, waiting_for;

-- name: execution_counts
-- Executions by tenant, workflow and status, every tenant (a metrics scrape).
SELECT tenant_id, workflow, status, COUNT(*) AS n FROM executions
GROUP BY tenant_id, workflow, status;
