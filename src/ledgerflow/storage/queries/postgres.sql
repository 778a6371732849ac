-- Named queries for the PostgreSQL store. Each block starts with "-- name: <name>".
-- The same names as sqlite.sql; placeholders are psycopg's (%s and %(name)s). A parameter
-- that may be NULL where its type cannot be inferred carries a cast.

-- name: lock_definition_name
-- Serialises put_definition of one name: the next version number is read, then used.
SELECT pg_advisory_xact_lock(hashtextextended('ledgerflow.definition:' || %s || ':' || %s, 0));

-- name: lock_execution_ids
-- Serialises inserting an id with retention removing it (which leaves a tombstone), in id
-- order so that two batches never wait on each other crosswise.
SELECT pg_advisory_xact_lock(hashtextextended('ledgerflow.execution:' || id, 0))
FROM (SELECT DISTINCT unnest(%s::text[]) AS id ORDER BY 1) AS ids;

-- name: definition_by_sha
SELECT tenant_id, name, version, sha256, spec, created_at FROM workflow_definitions
WHERE tenant_id = %s AND name = %s AND sha256 = %s;

-- name: definition_latest_version
SELECT COALESCE(MAX(version), 0) AS version FROM workflow_definitions
WHERE tenant_id = %s AND name = %s;

-- name: insert_definition
INSERT INTO workflow_definitions (tenant_id, name, version, sha256, spec, created_at)
VALUES (%s, %s, %s, %s, %s, %s);

-- name: definition_version
SELECT tenant_id, name, version, sha256, spec, created_at FROM workflow_definitions
WHERE tenant_id = %s AND name = %s AND version = %s;

-- name: definition_latest
SELECT tenant_id, name, version, sha256, spec, created_at FROM workflow_definitions
WHERE tenant_id = %s AND name = %s ORDER BY version DESC LIMIT 1;

-- name: definitions_latest_all
SELECT DISTINCT ON (name) tenant_id, name, version, sha256, spec, created_at
FROM workflow_definitions
WHERE tenant_id = %s
ORDER BY name, version DESC;

-- name: insert_execution
-- Inserts nothing when a tombstone holds the id (a removed execution's id is never reused)
-- or when the id is taken; a broken row (unknown definition, bad status) still raises.
INSERT INTO executions (id, tenant_id, workflow, workflow_version, definition_sha256, status,
    input, input_sha256, result, error, state, state_sha256, state_version, head_seq,
    head_hash, version, recoveries, created_at, started_at, finished_at, updated_at,
    expires_at, forked_from, forked_at_seq, lease_owner, lease_epoch, lease_expires_at)
SELECT %(id)s::text, %(tenant_id)s::text, %(workflow)s::text, %(workflow_version)s::bigint,
    %(definition_sha256)s::text, %(status)s::text, %(input)s::text, %(input_sha256)s::text,
    %(result)s::text, %(error)s::text, %(state)s::text, %(state_sha256)s::text,
    %(state_version)s::bigint, %(head_seq)s::bigint, %(head_hash)s::text,
    %(version)s::bigint, %(recoveries)s::bigint, %(created_at)s::text,
    %(started_at)s::text, %(finished_at)s::text, %(updated_at)s::text,
    %(expires_at)s::text, %(forked_from)s::text, %(forked_at_seq)s::bigint,
    %(lease_owner)s::text, %(lease_epoch)s::bigint, %(lease_expires_at)s::text
WHERE NOT EXISTS (SELECT 1 FROM tombstones WHERE execution_id = %(id)s)
ON CONFLICT (id) DO NOTHING;

-- name: update_execution
UPDATE executions SET status = %(status)s, result = %(result)s, error = %(error)s,
    state = %(state)s, state_sha256 = %(state_sha256)s, state_version = %(state_version)s,
    head_seq = %(head_seq)s, head_hash = %(head_hash)s, version = %(version)s,
    recoveries = %(recoveries)s, started_at = %(started_at)s, finished_at = %(finished_at)s,
    updated_at = %(updated_at)s,
    -- a finished execution is nobody's: a rerun or retry makes it claimable at once
    lease_owner = CASE WHEN %(status)s IN ('pending', 'running', 'waiting', 'paused') THEN lease_owner END,
    lease_expires_at = CASE WHEN %(status)s IN ('pending', 'running', 'waiting', 'paused') THEN lease_expires_at END
WHERE id = %(id)s AND version = %(expected_version)s
  AND head_hash = %(expected_head_hash)s
  AND (%(guard_owner)s::text IS NULL
       OR (lease_owner = %(guard_owner)s::text AND lease_epoch = %(guard_epoch)s::bigint));

-- name: insert_step
INSERT INTO step_runs (execution_id, step_id, status, attempt, epoch, agent, output, error,
    ready_at, started_at, finished_at)
VALUES (%(execution_id)s, %(step_id)s, %(status)s, %(attempt)s, %(epoch)s, %(agent)s,
    %(output)s, %(error)s, %(ready_at)s, %(started_at)s, %(finished_at)s);

-- name: update_step
UPDATE step_runs SET status = %(status)s, attempt = %(attempt)s, epoch = %(epoch)s,
    agent = %(agent)s, output = %(output)s, error = %(error)s, ready_at = %(ready_at)s,
    started_at = %(started_at)s, finished_at = %(finished_at)s
WHERE execution_id = %(execution_id)s AND step_id = %(step_id)s;

-- name: insert_state_version
INSERT INTO state_versions (execution_id, version, seq, state, sha256, created_at)
VALUES (%(execution_id)s, %(version)s, %(seq)s, %(state)s, %(sha256)s, %(created_at)s);

-- name: insert_decision
INSERT INTO routing_decisions (execution_id, step_id, epoch, attempt, capability, agent,
    candidates, reason, decided_at)
VALUES (%(execution_id)s, %(step_id)s, %(epoch)s, %(attempt)s, %(capability)s, %(agent)s,
    %(candidates)s, %(reason)s, %(decided_at)s);

-- name: insert_ledger_entry
INSERT INTO ledger_entries (execution_id, seq, event_type, step_id, occurred_at, prev_hash,
    entry_hash, body, payload)
VALUES (%(execution_id)s, %(seq)s, %(event_type)s, %(step_id)s, %(occurred_at)s,
    %(prev_hash)s, %(entry_hash)s, %(body)s, %(payload)s);

-- name: executions_filtered
SELECT * FROM executions
WHERE tenant_id = %(tenant_id)s
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(workflow)s::text IS NULL OR workflow = %(workflow)s)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;

-- name: executions_in_statuses
SELECT * FROM executions WHERE status = ANY (%(statuses)s::text[])
ORDER BY created_at, id;

-- name: execution_by_id
SELECT * FROM executions WHERE tenant_id = %s AND id = %s;

-- name: execution_by_id_any_tenant
SELECT * FROM executions WHERE id = %s;

-- name: executions_all_tenant
-- One page; the next starts after the (created_at, id) of the last row.
SELECT * FROM executions WHERE tenant_id = %(tenant_id)s
ORDER BY created_at, id LIMIT %(limit)s;

-- name: executions_all_tenant_after
SELECT * FROM executions
WHERE tenant_id = %(tenant_id)s AND (created_at, id) > (%(after_at)s, %(after_id)s)
ORDER BY created_at, id LIMIT %(limit)s;

-- name: steps_of_execution
SELECT * FROM step_runs WHERE execution_id = %s ORDER BY rowid;

-- name: ledger_of_execution
SELECT * FROM ledger_entries WHERE execution_id = %s ORDER BY seq;

-- name: state_version
SELECT * FROM state_versions WHERE execution_id = %s AND version = %s;

-- name: state_versions_of_execution
SELECT * FROM state_versions WHERE execution_id = %s ORDER BY version;

-- name: decisions_of_execution
SELECT * FROM routing_decisions WHERE execution_id = %s
ORDER BY decided_at, step_id, epoch;

-- name: completed_durations
SELECT started_at, finished_at FROM executions
WHERE tenant_id = %s AND workflow = %s AND status = 'completed' AND started_at IS NOT NULL
ORDER BY finished_at DESC LIMIT %s;

-- name: insert_signal
INSERT INTO signals (execution_id, seq, name, data, received_at, consumed_by, consumed_at,
    handled)
VALUES (%(execution_id)s, %(seq)s, %(name)s, %(data)s, %(received_at)s, %(consumed_by)s,
    %(consumed_at)s, %(handled)s);

-- name: update_signal
UPDATE signals SET consumed_by = %(consumed_by)s, consumed_at = %(consumed_at)s,
    handled = %(handled)s
WHERE execution_id = %(execution_id)s AND seq = %(seq)s;

-- name: signals_of_execution
SELECT * FROM signals WHERE execution_id = %s ORDER BY seq;

-- name: insert_wakeup
INSERT INTO wakeups (execution_id, reason, created_at) VALUES (%s, %s, %s);

-- name: wakeups_after
SELECT id, execution_id FROM wakeups WHERE id > %s ORDER BY id LIMIT %s;

-- name: last_wakeup
SELECT COALESCE(MAX(id), 0) AS id FROM wakeups;

-- name: prune_wakeups
DELETE FROM wakeups WHERE created_at < %s;

-- name: executions_expired
SELECT * FROM executions
WHERE expires_at IS NOT NULL AND expires_at <= %s
  AND status IN ('pending', 'running', 'waiting', 'paused')
ORDER BY expires_at, id LIMIT %s;

-- name: forks_of_execution
SELECT id FROM executions WHERE forked_from = %s ORDER BY created_at, id;

-- name: executions_finished_before
-- Pages by (end time, id): after_at/after_id are the last row of the previous page.
SELECT * FROM executions
WHERE tenant_id = %(tenant_id)s
  AND status IN ('completed', 'failed', 'cancelled', 'expired')
  AND COALESCE(finished_at, updated_at) < %(before)s
  AND (%(after_at)s::text IS NULL
       OR (COALESCE(finished_at, updated_at), id) > (%(after_at)s, %(after_id)s))
ORDER BY COALESCE(finished_at, updated_at), id LIMIT %(limit)s;

-- name: insert_tombstone
INSERT INTO tombstones (execution_id, tenant_id, workflow, workflow_version, final_status,
    head_seq, head_hash, created_at, finished_at, removed_at, removed_by)
VALUES (%(execution_id)s, %(tenant_id)s, %(workflow)s, %(workflow_version)s,
    %(final_status)s, %(head_seq)s, %(head_hash)s, %(created_at)s, %(finished_at)s,
    %(removed_at)s, %(removed_by)s);

-- name: delete_ledger_of_execution
DELETE FROM ledger_entries WHERE execution_id = %s;

-- name: delete_steps_of_execution
DELETE FROM step_runs WHERE execution_id = %s;

-- name: delete_state_versions_of_execution
DELETE FROM state_versions WHERE execution_id = %s;

-- name: delete_decisions_of_execution
DELETE FROM routing_decisions WHERE execution_id = %s;

-- name: delete_signals_of_execution
DELETE FROM signals WHERE execution_id = %s;

-- name: delete_execution
DELETE FROM executions WHERE id = %s AND head_seq = %s AND head_hash = %s
  AND status IN ('completed', 'failed', 'cancelled', 'expired');

-- name: tombstones_of_tenant
SELECT * FROM tombstones WHERE tenant_id = %s ORDER BY removed_at, execution_id;

-- name: tombstone_by_id
SELECT * FROM tombstones WHERE tenant_id = %s AND execution_id = %s;

-- name: execution_head
-- Locks the row: nothing changes it between this check and its removal.
SELECT e.tenant_id, e.workflow, e.workflow_version, e.status, e.head_seq, e.head_hash,
    EXISTS (SELECT 1 FROM tombstones t WHERE t.execution_id = e.id) AS tombstoned
FROM executions e WHERE e.id = %s FOR UPDATE OF e;

-- name: upsert_agent
INSERT INTO agents (worker_id, capability, agent, priority, weight, host, pid, started_at,
    seen_at)
VALUES (%(worker_id)s, %(capability)s, %(agent)s, %(priority)s, %(weight)s, %(host)s,
    %(pid)s, %(started_at)s, %(seen_at)s)
ON CONFLICT (worker_id, capability, agent) DO UPDATE SET priority = excluded.priority,
    weight = excluded.weight, seen_at = excluded.seen_at;

-- name: delete_agents_of_worker
DELETE FROM agents WHERE worker_id = %s;

-- name: touch_agents_of_worker
UPDATE agents SET seen_at = %s WHERE worker_id = %s;

-- name: agents_all
SELECT * FROM agents ORDER BY capability, agent, worker_id;

-- name: upsert_breaker
INSERT INTO breakers (capability, agent, state, data, version, updated_at)
VALUES (%(capability)s, %(agent)s, %(state)s, %(data)s, %(version)s, %(updated_at)s)
ON CONFLICT (capability, agent) DO UPDATE SET state = excluded.state, data = excluded.data,
    version = excluded.version, updated_at = excluded.updated_at;

-- name: breakers_all
SELECT * FROM breakers ORDER BY capability, agent;

-- name: insert_breaker_transition
INSERT INTO breaker_transitions (capability, agent, from_state, to_state, reason, actor,
    occurred_at)
VALUES (%(capability)s, %(agent)s, %(from_state)s, %(to_state)s, %(reason)s, %(actor)s,
    %(occurred_at)s);

-- name: breaker_transitions_recent
SELECT * FROM breaker_transitions ORDER BY id DESC LIMIT %s;

-- name: upsert_stats
INSERT INTO agent_stats (capability, agent, data, updated_at)
VALUES (%(capability)s, %(agent)s, %(data)s, %(updated_at)s)
ON CONFLICT (capability, agent) DO UPDATE SET data = excluded.data,
    updated_at = excluded.updated_at;

-- name: stats_all
SELECT * FROM agent_stats ORDER BY capability, agent;

-- name: update_decision_outcome
UPDATE routing_decisions SET outcome = %(outcome)s, duration_ms = %(duration_ms)s,
    finished_at = %(finished_at)s
WHERE execution_id = %(execution_id)s AND step_id = %(step_id)s AND epoch = %(epoch)s;

-- name: decision_outcomes
SELECT capability, agent, outcome, duration_ms, finished_at FROM routing_decisions
WHERE outcome IS NOT NULL ORDER BY finished_at, execution_id, step_id, epoch;

-- name: update_heartbeat
UPDATE step_runs SET heartbeat_at = %(heartbeat_at)s, heartbeat = %(heartbeat)s
WHERE execution_id = %(execution_id)s AND step_id = %(step_id)s AND epoch = %(epoch)s
  AND status = 'running';

-- name: insert_telemetry
INSERT INTO telemetry (kind, execution_id, step_id, message, fields, occurred_at)
VALUES (%(kind)s, %(execution_id)s, %(step_id)s, %(message)s, %(fields)s, %(occurred_at)s);

-- name: telemetry_of_execution
SELECT * FROM telemetry WHERE execution_id = %s AND id > %s ORDER BY id LIMIT %s;

-- name: telemetry_all
SELECT * FROM telemetry WHERE id > %s ORDER BY id LIMIT %s;

-- leases and the worker registry ---------------------------------------------------------

-- name: claim_executions
-- Unfinished executions nobody holds (or whose lease lapsed), oldest first; concurrent
-- claimers skip each other's rows. Each claim bumps the lease epoch.
WITH claimable AS (
    SELECT id, lease_owner FROM executions
    WHERE status IN ('pending', 'running', 'waiting', 'paused')
      AND ((lease_owner IS NULL AND (lease_needs IS NULL
                                      OR lease_needs = ANY (%(capabilities)s::text[])))
           OR lease_expires_at < %(now)s
           OR (%(steal)s AND lease_owner <> %(owner)s))
    ORDER BY created_at, id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
UPDATE executions e SET lease_owner = %(owner)s, lease_epoch = e.lease_epoch + 1,
    lease_expires_at = %(expires_at)s, lease_needs = NULL
FROM claimable c WHERE e.id = c.id
RETURNING e.id AS execution_id, e.lease_epoch, c.lease_owner AS previous_owner, e.status;

-- name: renew_leases
UPDATE executions SET lease_expires_at = %(expires_at)s
WHERE lease_owner = %(owner)s AND status IN ('pending', 'running', 'waiting', 'paused')
RETURNING id, lease_epoch;

-- name: release_leases
-- ``needs``: handed over for a capability; until ``until`` only its offerers claim it.
UPDATE executions SET lease_owner = NULL, lease_expires_at = %(until)s,
    lease_needs = %(needs)s
WHERE lease_owner = %(owner)s AND (%(all)s OR id = ANY (%(ids)s::text[]));

-- name: upsert_worker
INSERT INTO workers (id, host, pid, status, capabilities, concurrency, lease_seconds,
    started_at, heartbeat_at, stopped_at)
VALUES (%(id)s, %(host)s, %(pid)s, %(status)s, %(capabilities)s, %(concurrency)s,
    %(lease_seconds)s, %(started_at)s, %(heartbeat_at)s, %(stopped_at)s)
ON CONFLICT (id) DO UPDATE SET status = excluded.status, capabilities = excluded.capabilities,
    concurrency = excluded.concurrency, lease_seconds = excluded.lease_seconds,
    started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
    stopped_at = excluded.stopped_at;

-- name: worker_heartbeat
UPDATE workers SET heartbeat_at = %(at)s WHERE id = %(id)s;

-- name: worker_status
UPDATE workers SET status = %(status)s, heartbeat_at = %(at)s,
    stopped_at = CASE WHEN %(status)s = 'stopped' THEN %(at)s ELSE stopped_at END
WHERE id = %(id)s;

-- name: list_workers
SELECT * FROM workers ORDER BY started_at, id;

-- name: worker_load
-- Per lease owner: unfinished executions held, handlers running, the oldest running start.
SELECT e.lease_owner AS worker_id, COUNT(DISTINCT e.id) AS executions,
    COUNT(s.step_id) AS running, MIN(s.started_at) AS oldest
FROM executions e LEFT JOIN step_runs s ON s.execution_id = e.id AND s.status = 'running'
    AND s.agent IS NOT NULL  -- a handler runs (not a wait or a sleep)
WHERE e.lease_owner IS NOT NULL AND e.status IN ('pending', 'running', 'waiting', 'paused')
GROUP BY e.lease_owner;

-- name: running_steps_by_owner
-- The steps running in executions held under a lease, by holder, oldest first.
SELECT e.lease_owner AS worker_id, s.execution_id, s.step_id, s.agent, s.started_at
FROM executions e JOIN step_runs s ON s.execution_id = e.id AND s.status = 'running'
    AND s.agent IS NOT NULL
WHERE e.lease_owner IS NOT NULL AND e.status IN ('pending', 'running', 'waiting', 'paused')
ORDER BY s.started_at, s.execution_id, s.step_id LIMIT %s;
