-- ledgerflow schema v12 (SQLite): the tenant a worker works for, and its unfinished executions.

-- The tenant whose executions the worker claims (``ledgerflow worker --tenant``); NULL: it
-- works every tenant's (``--all-tenants``, and every worker before this migration).
ALTER TABLE workers ADD COLUMN tenant_scope TEXT;

-- A worker of one tenant claims that tenant's unfinished executions, oldest first: read
-- from here instead of skipping every other tenant's in ``executions_unfinished``.
CREATE INDEX executions_unfinished_by_tenant ON executions (tenant_id, created_at, id)
    WHERE status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
      AND status <> 'expired';
