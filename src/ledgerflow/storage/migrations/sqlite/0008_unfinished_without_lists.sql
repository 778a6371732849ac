-- ledgerflow schema v8 (SQLite): the unfinished-execution indexes say "not finished"
-- with comparisons instead of a list.

-- An index's WHERE is evaluated for the old and the new row on every update of an
-- execution; a constant IN list there made SQLite build a temporary table each time. The
-- rows they hold are the same: the status CHECK allows only the four finished statuses
-- besides the four unfinished ones. Queries that should use them repeat the same four terms.
DROP INDEX executions_unfinished;
DROP INDEX executions_by_lease;
CREATE INDEX executions_unfinished ON executions (created_at, id)
    WHERE status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
      AND status <> 'expired';
CREATE INDEX executions_by_lease ON executions (lease_owner)
    WHERE status <> 'completed' AND status <> 'failed' AND status <> 'cancelled'
      AND status <> 'expired';
