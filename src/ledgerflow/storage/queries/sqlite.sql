-- Named queries only the SQLite store has in its own words; the rest are in shared.sql.
-- Each block starts with "-- name: <name>".

-- name: definition_latest_version
SELECT COALESCE(MAX(version), 0) FROM workflow_definitions WHERE tenant_id = ? AND name = ?;

-- name: definitions_latest_all
SELECT d.tenant_id, d.name, d.version, d.sha256, d.spec, d.created_at
FROM workflow_definitions d
WHERE d.tenant_id = ? AND d.version = (
    SELECT MAX(version) FROM workflow_definitions x
    WHERE x.tenant_id = d.tenant_id AND x.name = d.name)
ORDER BY d.name;

-- name: insert_execution
-- Inserts nothing when a tombstone holds the id: a removed execution's id is never reused.
INSERT INTO executions (id, tenant_id, workflow, workflow_version, definition_sha256, status,
    input, input_sha256, result, error, state, state_sha256, state_version, head_seq,
    head_hash, version, recoveries, created_at, started_at, finished_at, updated_at,
    expires_at, forked_from, forked_at_seq, lease_owner, lease_epoch, lease_expires_at)
SELECT :id, :tenant_id, :workflow, :workflow_version, :definition_sha256, :status,
    :input, :input_sha256, :result, :error, :state, :state_sha256, :state_version, :head_seq,
    :head_hash, :version, :recoveries, :created_at, :started_at, :finished_at, :updated_at,
    :expires_at, :forked_from, :forked_at_seq, :lease_owner, :lease_epoch, :lease_expires_at
WHERE NOT EXISTS (SELECT 1 FROM tombstones WHERE execution_id = :id);

-- name: update_execution
UPDATE executions SET status = :status, result = :result, error = :error, state = :state,
    state_sha256 = :state_sha256, state_version = :state_version, head_seq = :head_seq,
    head_hash = :head_hash, version = :version, recoveries = :recoveries,
    started_at = :started_at, finished_at = :finished_at, updated_at = :updated_at,
    -- a finished execution is nobody's: a rerun or retry makes it claimable at once (the
    -- statuses compared one by one: a list costs SQLite a temporary table per row)
    lease_owner = CASE WHEN :status <> 'completed' AND :status <> 'failed'
                            AND :status <> 'cancelled' AND :status <> 'expired'
                           THEN lease_owner END,
    lease_expires_at = CASE WHEN :status <> 'completed' AND :status <> 'failed'
                                 AND :status <> 'cancelled' AND :status <> 'expired'
                                THEN lease_expires_at END,
    -- a change made outside a worker (a signal, an operator) may need any worker
    lease_needs = CASE WHEN :guard_owner IS NULL THEN NULL ELSE lease_needs END
WHERE id = :id AND version = :expected_version AND head_hash = :expected_head_hash
  AND (:guard_owner IS NULL OR (lease_owner = :guard_owner AND lease_epoch = :guard_epoch));

-- name: update_execution_same_status
-- update_execution for a change that keeps an unfinished status: status and the lease
-- columns are not assigned, so no index on them is rewritten (SQLite rewrites the entries
-- of every index on an assigned column, even when its value stays the same).
UPDATE executions SET result = :result, error = :error, state = :state,
    state_sha256 = :state_sha256, state_version = :state_version, head_seq = :head_seq,
    head_hash = :head_hash, version = :version, recoveries = :recoveries,
    started_at = :started_at, finished_at = :finished_at, updated_at = :updated_at,
    lease_needs = CASE WHEN :guard_owner IS NULL THEN NULL ELSE lease_needs END
WHERE id = :id AND version = :expected_version AND head_hash = :expected_head_hash
  AND status = :status
  AND (:guard_owner IS NULL OR (lease_owner = :guard_owner AND lease_epoch = :guard_epoch));

-- name: executions_filtered
-- A page, newest first: after the cursor (the last row's created_at and id) when given.
SELECT * FROM executions
WHERE tenant_id = :tenant_id
  AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
  AND (:workflow IS NULL OR workflow = :workflow)
  AND (:created_after IS NULL OR created_at > :created_after)
  AND (:created_before IS NULL OR created_at < :created_before)
  AND (:id_low IS NULL OR (id >= :id_low AND id < :id_high))
  AND (:after_created IS NULL OR (created_at, id) < (:after_created, :after_id))
ORDER BY created_at DESC, id DESC
LIMIT :limit;

-- name: executions_filtered_oldest
SELECT * FROM executions
WHERE tenant_id = :tenant_id
  AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
  AND (:workflow IS NULL OR workflow = :workflow)
  AND (:created_after IS NULL OR created_at > :created_after)
  AND (:created_before IS NULL OR created_at < :created_before)
  AND (:id_low IS NULL OR (id >= :id_low AND id < :id_high))
  AND (:after_created IS NULL OR (created_at, id) > (:after_created, :after_id))
ORDER BY created_at, id
LIMIT :limit;

-- name: executions_counted
-- How many executions of the filter are in each status.
SELECT status, COUNT(*) AS n FROM executions
WHERE tenant_id = :tenant_id
  AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
  AND (:workflow IS NULL OR workflow = :workflow)
  AND (:created_after IS NULL OR created_at > :created_after)
  AND (:created_before IS NULL OR created_at < :created_before)
  AND (:id_low IS NULL OR (id >= :id_low AND id < :id_high))
GROUP BY status;

-- name: executions_in_statuses
SELECT * FROM executions WHERE status IN (SELECT value FROM json_each(:statuses))
ORDER BY created_at, id;

-- name: executions_all_tenant
SELECT * FROM executions WHERE tenant_id = ? ORDER BY created_at, id;

-- name: executions_finished_before
-- Pages by (end time, id): :after_at/:after_id are the last row of the previous page.
SELECT * FROM executions
WHERE tenant_id = :tenant_id AND status IN ('completed', 'failed', 'cancelled', 'expired')
  AND COALESCE(finished_at, updated_at) < :before
  AND (:after_at IS NULL
       OR (COALESCE(finished_at, updated_at), id) > (:after_at, :after_id))
ORDER BY COALESCE(finished_at, updated_at), id LIMIT :limit;

-- name: execution_head
SELECT e.tenant_id, e.workflow, e.workflow_version, e.status, e.head_seq, e.head_hash,
    EXISTS (SELECT 1 FROM tombstones t WHERE t.execution_id = e.id) AS tombstoned
FROM executions e WHERE e.id = ?;

-- leases and the worker registry ---------------------------------------------------------

-- name: claimable_executions
-- Unfinished executions nobody holds (or whose lease lapsed), oldest first. ``steal``:
-- the caller holds the worker lock of its scope, so every other lease in it is a dead
-- process's. ``tenant_id``: one tenant's executions only (NULL: every tenant's).
SELECT id, lease_owner, status FROM executions
WHERE status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
  AND status <> 'expired'
  AND (:tenant_id IS NULL OR tenant_id = :tenant_id)
  AND ((lease_owner IS NULL AND (lease_needs IS NULL
                                 OR lease_needs IN (SELECT value FROM json_each(:capabilities))))
       OR lease_expires_at < :now OR (:steal AND lease_owner <> :owner))
ORDER BY created_at, id LIMIT :limit;

-- name: take_lease
UPDATE executions SET lease_owner = :owner, lease_epoch = lease_epoch + 1,
    lease_expires_at = :expires_at, lease_needs = NULL
WHERE id = :id RETURNING lease_epoch;

-- name: release_leases
-- Every lease of ``owner`` (a worker stopping), found through the unfinished executions'
-- lease index (a finished execution holds no lease). ``needs``: handed over for a
-- capability; only its offerers claim it (with ``until`` NULL, until a change made outside
-- a worker clears it).
UPDATE executions SET lease_owner = NULL, lease_expires_at = :until,
    lease_needs = :needs
WHERE lease_owner = :owner
  AND status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
  AND status <> 'expired';

-- name: release_leases_of
-- The leases of ``owner`` on the executions ``ids``, found by id.
UPDATE executions SET lease_owner = NULL, lease_expires_at = :until,
    lease_needs = :needs
WHERE id IN (SELECT value FROM json_each(:ids)) AND lease_owner = :owner;

-- loading executions for work: each of them whole, in one snapshot -------------------------

-- name: executions_of_ids
SELECT * FROM executions WHERE id IN (SELECT value FROM json_each(:ids));

-- name: steps_of_executions
-- Each execution's steps in the order of ``steps_of_execution``.
SELECT * FROM step_runs WHERE execution_id IN (SELECT value FROM json_each(:ids))
ORDER BY execution_id, rowid;

-- name: signals_of_executions
-- Each execution's signals in the order of ``signals_of_execution``.
SELECT * FROM signals WHERE execution_id IN (SELECT value FROM json_each(:ids))
ORDER BY execution_id, seq;

-- name: ledger_last_rowid
-- Where the commit watcher starts: entries after this one are news.
SELECT COALESCE(MAX(rowid), 0) AS last FROM ledger_entries;

-- name: ledger_heads_after
-- The commit watcher: each execution whose ledger grew past rowid :after, with its head.
SELECT e.tenant_id, l.execution_id, MAX(l.seq) AS head_seq, MAX(l.rowid) AS last
FROM ledger_entries l JOIN executions e ON e.id = l.execution_id
WHERE l.rowid > :after
GROUP BY l.execution_id, e.tenant_id
ORDER BY last;

-- name: ledger_entries_of_types
-- the newest :newest entries of these event types, newest first (the seq index, backwards)
SELECT * FROM ledger_entries
WHERE execution_id = :execution_id AND event_type IN (SELECT value FROM json_each(:types))
ORDER BY seq DESC LIMIT :newest;
