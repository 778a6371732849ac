-- ledgerflow schema v13 (SQLite): every tenant-owned row names its tenant, as executions,
-- definitions and tombstones already did. Rows written before take their execution's.
-- (Telemetry may belong to no execution: its tenant may be NULL.)
ALTER TABLE step_runs ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE step_runs SET tenant_id = (
    SELECT e.tenant_id FROM executions e WHERE e.id = step_runs.execution_id);

ALTER TABLE state_versions ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE state_versions SET tenant_id = (
    SELECT e.tenant_id FROM executions e WHERE e.id = state_versions.execution_id);

ALTER TABLE routing_decisions ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE routing_decisions SET tenant_id = (
    SELECT e.tenant_id FROM executions e WHERE e.id = routing_decisions.execution_id);

ALTER TABLE signals ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE signals SET tenant_id = (
    SELECT e.tenant_id FROM executions e WHERE e.id = signals.execution_id);

ALTER TABLE wakeups ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE wakeups SET tenant_id = (
    SELECT e.tenant_id FROM executions e WHERE e.id = wakeups.execution_id);

ALTER TABLE telemetry ADD COLUMN tenant_id TEXT;
UPDATE telemetry SET tenant_id = (
    SELECT e.tenant_id FROM executions e WHERE e.id = telemetry.execution_id);

-- the ledger is append-only: its UPDATE guard steps aside for this one backfill, in this
-- migration's transaction, and is back before it commits
ALTER TABLE ledger_entries ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
DROP TRIGGER ledger_entries_no_update;
UPDATE ledger_entries SET tenant_id = (
    SELECT e.tenant_id FROM executions e WHERE e.id = ledger_entries.execution_id);
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only: UPDATE refused');
END;
