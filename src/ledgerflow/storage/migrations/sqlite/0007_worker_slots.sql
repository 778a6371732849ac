-- ledgerflow schema v7 (SQLite): what a worker's slots are limited to, and what holds them.

-- The per-capability limits the worker was started with: a JSON object {capability: N},
-- at most N steps of that capability run at once in it ({} when none is set).
ALTER TABLE workers ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
-- Handlers past their timeout that never returned, as of the worker's last heartbeat: a
-- JSON list of {execution, step, agent, since (when it timed out)}. Their slots were given
-- back; their threads cannot be stopped and run until they return or the process exits.
ALTER TABLE workers ADD COLUMN stuck TEXT NOT NULL DEFAULT '[]';
