-- Named queries only the PostgreSQL store has in its own words; the rest are in
-- shared.sql. Each block starts with "-- name: <name>". Placeholders are psycopg's (%s and
-- %(name)s). A parameter that may be NULL where its type cannot be inferred carries a cast.

-- name: lock_definition_name
-- Serialises put_definition of one name: the next version number is read, then used.
SELECT pg_advisory_xact_lock(hashtextextended('ledgerflow.definition:' || %s || ':' || %s, 0));

-- name: lock_execution_ids
-- Serialises inserting an id with retention removing it (which leaves a tombstone), in id
-- order so that two batches never wait on each other crosswise.
SELECT pg_advisory_xact_lock(hashtextextended('ledgerflow.execution:' || id, 0))
FROM (SELECT DISTINCT unnest(%s::text[]) AS id ORDER BY 1) AS ids;

-- name: definition_latest_version
SELECT COALESCE(MAX(version), 0) AS version FROM workflow_definitions
WHERE tenant_id = %s AND name = %s;

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
    -- a finished execution is nobody's: a rerun or retry makes it claimable at once (the
    -- statuses compared one by one: a list costs SQLite a temporary table per row)
    lease_owner = CASE WHEN %(status)s <> 'completed' AND %(status)s <> 'failed'
                            AND %(status)s <> 'cancelled' AND %(status)s <> 'expired'
                           THEN lease_owner END,
    lease_expires_at = CASE WHEN %(status)s <> 'completed' AND %(status)s <> 'failed'
                                 AND %(status)s <> 'cancelled' AND %(status)s <> 'expired'
                                THEN lease_expires_at END,
    -- a change made outside a worker (a signal, an operator) may need any worker
    lease_needs = CASE WHEN %(guard_owner)s::text IS NULL THEN NULL ELSE lease_needs END
WHERE id = %(id)s AND version = %(expected_version)s
  AND head_hash = %(expected_head_hash)s
  AND (%(guard_owner)s::text IS NULL
       OR (lease_owner = %(guard_owner)s::text AND lease_epoch = %(guard_epoch)s::bigint));

-- name: update_executions
-- update_execution for many changes in one statement (storage/postgres_updates.py): each
-- element of the JSON array is one change, each id at most once; the ids whose guard held
-- come back.
UPDATE executions AS e SET status = v.status, result = v.result, error = v.error,
    state = v.state, state_sha256 = v.state_sha256, state_version = v.state_version,
    head_seq = v.head_seq, head_hash = v.head_hash, version = v.version,
    recoveries = v.recoveries, started_at = v.started_at, finished_at = v.finished_at,
    updated_at = v.updated_at,
    lease_owner = CASE WHEN v.status <> 'completed' AND v.status <> 'failed'
                            AND v.status <> 'cancelled' AND v.status <> 'expired'
                           THEN e.lease_owner END,
    lease_expires_at = CASE WHEN v.status <> 'completed' AND v.status <> 'failed'
                                 AND v.status <> 'cancelled' AND v.status <> 'expired'
                                THEN e.lease_expires_at END,
    lease_needs = CASE WHEN v.guard_owner IS NULL THEN NULL ELSE e.lease_needs END
FROM json_to_recordset(%s::json) AS v (id text, status text, result text, error text,
    state text, state_sha256 text, state_version bigint, head_seq bigint, head_hash text,
    version bigint, recoveries bigint, started_at text, finished_at text, updated_at text,
    expected_version bigint, expected_head_hash text, guard_owner text, guard_epoch bigint)
WHERE e.id = v.id AND e.version = v.expected_version AND e.head_hash = v.expected_head_hash
  AND (v.guard_owner IS NULL
       OR (e.lease_owner = v.guard_owner AND e.lease_epoch = v.guard_epoch))
RETURNING e.id;

-- name: update_steps
-- update_step for many step runs in one statement, each (execution_id, step_id) at most once.
UPDATE step_runs AS s SET status = v.status, attempt = v.attempt, epoch = v.epoch,
    agent = v.agent, output = v.output, error = v.error, ready_at = v.ready_at,
    started_at = v.started_at, finished_at = v.finished_at, waiting_for = v.waiting_for
FROM json_to_recordset(%s::json) AS v (execution_id text, step_id text, status text,
    attempt bigint, epoch bigint, agent text, output text, error text, ready_at text,
    started_at text, finished_at text, waiting_for text)
WHERE s.execution_id = v.execution_id AND s.step_id = v.step_id;

-- name: update_decision_outcomes
-- update_decision_outcome for many attempts in one statement, each at most once.
UPDATE routing_decisions AS d SET outcome = v.outcome, duration_ms = v.duration_ms,
    duration_us = v.duration_us, duration_bucket = v.bucket, finished_at = v.finished_at
FROM json_to_recordset(%s::json) AS v (execution_id text, step_id text, epoch bigint,
    outcome text, duration_ms double precision, duration_us bigint, bucket bigint,
    finished_at text)
WHERE d.execution_id = v.execution_id AND d.step_id = v.step_id AND d.epoch = v.epoch;

-- name: executions_filtered
-- A page, newest first: after the cursor (the last row's created_at and id) when given.
SELECT * FROM executions
WHERE tenant_id = %(tenant_id)s
  AND (%(statuses)s::text[] IS NULL OR status = ANY (%(statuses)s::text[]))
  AND (%(workflow)s::text IS NULL OR workflow = %(workflow)s)
  AND (%(created_after)s::text IS NULL OR created_at > %(created_after)s)
  AND (%(created_before)s::text IS NULL OR created_at < %(created_before)s)
  AND (%(id_low)s::text IS NULL OR (id >= %(id_low)s AND id < %(id_high)s))
  AND (%(after_created)s::text IS NULL
       OR (created_at, id) < (%(after_created)s::text, %(after_id)s::text))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;

-- name: executions_filtered_oldest
SELECT * FROM executions
WHERE tenant_id = %(tenant_id)s
  AND (%(statuses)s::text[] IS NULL OR status = ANY (%(statuses)s::text[]))
  AND (%(workflow)s::text IS NULL OR workflow = %(workflow)s)
  AND (%(created_after)s::text IS NULL OR created_at > %(created_after)s)
  AND (%(created_before)s::text IS NULL OR created_at < %(created_before)s)
  AND (%(id_low)s::text IS NULL OR (id >= %(id_low)s AND id < %(id_high)s))
  AND (%(after_created)s::text IS NULL
       OR (created_at, id) > (%(after_created)s::text, %(after_id)s::text))
ORDER BY created_at, id
LIMIT %(limit)s;

-- name: executions_counted
-- How many executions of the filter are in each status.
SELECT status, COUNT(*) AS n FROM executions
WHERE tenant_id = %(tenant_id)s
  AND (%(statuses)s::text[] IS NULL OR status = ANY (%(statuses)s::text[]))
  AND (%(workflow)s::text IS NULL OR workflow = %(workflow)s)
  AND (%(created_after)s::text IS NULL OR created_at > %(created_after)s)
  AND (%(created_before)s::text IS NULL OR created_at < %(created_before)s)
  AND (%(id_low)s::text IS NULL OR (id >= %(id_low)s AND id < %(id_high)s))
GROUP BY status;

-- name: executions_in_statuses
SELECT * FROM executions WHERE status = ANY (%(statuses)s::text[])
ORDER BY created_at, id;

-- name: executions_all_tenant
-- One page; the next starts after the (created_at, id) of the last row.
SELECT * FROM executions WHERE tenant_id = %(tenant_id)s
ORDER BY created_at, id LIMIT %(limit)s;

-- name: executions_all_tenant_after
SELECT * FROM executions
WHERE tenant_id = %(tenant_id)s AND (created_at, id) > (%(after_at)s, %(after_id)s)
ORDER BY created_at, id LIMIT %(limit)s;

-- name: executions_finished_before
-- Pages by (end time, id): after_at/after_id are the last row of the previous page.
SELECT * FROM executions
WHERE tenant_id = %(tenant_id)s
  AND status IN ('completed', 'failed', 'cancelled', 'expired')
  AND COALESCE(finished_at, updated_at) < %(before)s
  AND (%(after_at)s::text IS NULL
       OR (COALESCE(finished_at, updated_at), id) > (%(after_at)s, %(after_id)s))
ORDER BY COALESCE(finished_at, updated_at), id LIMIT %(limit)s;

-- name: execution_head
-- Locks the row: nothing changes it between this check and its removal.
SELECT e.tenant_id, e.workflow, e.workflow_version, e.status, e.head_seq, e.head_hash,
    EXISTS (SELECT 1 FROM tombstones t WHERE t.execution_id = e.id) AS tombstoned
FROM executions e WHERE e.id = %s FOR UPDATE OF e;

-- leases and the worker registry ---------------------------------------------------------

-- name: claim_executions
-- Unfinished executions nobody holds (or whose lease lapsed), oldest first; concurrent
-- claimers skip each other's rows. Each claim bumps the lease epoch. ``tenant_id``: one
-- tenant's executions only (NULL: every tenant's).
WITH claimable AS (
    SELECT id, lease_owner FROM executions
    WHERE status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
      AND status <> 'expired'
      AND (%(tenant_id)s::text IS NULL OR tenant_id = %(tenant_id)s::text)
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

-- name: release_leases
-- Every lease of ``owner`` (a worker stopping), found through the unfinished executions'
-- lease index (a finished execution holds no lease). ``needs``: handed over for a
-- capability; only its offerers claim it (with ``until`` NULL, until a change made outside
-- a worker clears it).
UPDATE executions SET lease_owner = NULL, lease_expires_at = %(until)s,
    lease_needs = %(needs)s
WHERE lease_owner = %(owner)s
  AND status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
  AND status <> 'expired';

-- name: release_leases_of
-- The leases of ``owner`` on the executions ``ids``, found by id.
UPDATE executions SET lease_owner = NULL, lease_expires_at = %(until)s,
    lease_needs = %(needs)s
WHERE id = ANY (%(ids)s::text[]) AND lease_owner = %(owner)s;

-- loading executions for work: each of them whole, in one round trip (a pipeline) --------

-- name: begin_read_snapshot
-- A read-only transaction whose reads see one moment, begun inside a pipeline (where
-- ``read_snapshot`` after psycopg's BEGIN would cost a round trip of its own).
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;

-- name: end_read_snapshot
COMMIT;

-- name: executions_of_ids
SELECT * FROM executions WHERE id = ANY (%(ids)s::text[]);

-- name: steps_of_executions
-- Each execution's steps in the order of ``steps_of_execution``.
SELECT * FROM step_runs WHERE execution_id = ANY (%(ids)s::text[])
ORDER BY execution_id, rowid;

-- name: signals_of_executions
-- Each execution's signals in the order of ``signals_of_execution``.
SELECT * FROM signals WHERE execution_id = ANY (%(ids)s::text[]) ORDER BY execution_id, seq;

-- agent statistics -------------------------------------------------------------------------

-- name: lock_stats
-- Holds off every worker's increments while the statistics are replaced (a repair): what
-- they add waits, and is added to the replaced totals.
LOCK TABLE agent_stats, agent_stat_buckets IN SHARE ROW EXCLUSIVE MODE;

-- name: read_snapshot
-- The reads after it in this transaction see one moment.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;

-- name: ledger_entries_of_types
-- the newest %(newest)s entries of these event types, newest first (the seq index, backwards)
SELECT * FROM ledger_entries
WHERE execution_id = %(execution_id)s AND event_type = ANY (%(types)s::text[])
ORDER BY seq DESC LIMIT %(newest)s;
