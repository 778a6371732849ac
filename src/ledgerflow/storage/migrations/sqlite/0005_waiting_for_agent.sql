-- ledgerflow schema v5 (SQLite): steps waiting for an agent.

-- The capability a pending step waits for: no worker that routed it offered one. Set with
-- its one step.waiting_for_agent ledger entry, cleared when an agent takes the step, so a
-- worker routing it again does not record the wait twice.
ALTER TABLE step_runs ADD COLUMN waiting_for TEXT;
