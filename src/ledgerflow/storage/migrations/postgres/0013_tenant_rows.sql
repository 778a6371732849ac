-- ledgerflow schema v13 (PostgreSQL): every tenant-owned row names its tenant, as
-- executions, definitions and tombstones already did (rows written before take their
-- execution's), and row-level security is the backstop of the tenant filter every query
-- has: a connection that sets app.tenant_id (the server, acting for a token's tenant) sees
-- and writes that tenant's rows only. A connection that sets none (a worker, the command
-- line, migrations) is not limited. FORCE: the tables' owner is held to it too. (A
-- superuser is never held to row-level security: run the server as an ordinary role.)
ALTER TABLE step_runs ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE step_runs s SET tenant_id = e.tenant_id FROM executions e WHERE e.id = s.execution_id;
ALTER TABLE step_runs ALTER COLUMN tenant_id SET NOT NULL;

ALTER TABLE state_versions ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE state_versions s SET tenant_id = e.tenant_id FROM executions e
WHERE e.id = s.execution_id;
ALTER TABLE state_versions ALTER COLUMN tenant_id SET NOT NULL;

ALTER TABLE routing_decisions ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE routing_decisions s SET tenant_id = e.tenant_id FROM executions e
WHERE e.id = s.execution_id;
ALTER TABLE routing_decisions ALTER COLUMN tenant_id SET NOT NULL;

ALTER TABLE signals ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE signals s SET tenant_id = e.tenant_id FROM executions e WHERE e.id = s.execution_id;
ALTER TABLE signals ALTER COLUMN tenant_id SET NOT NULL;

ALTER TABLE wakeups ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE wakeups s SET tenant_id = e.tenant_id FROM executions e WHERE e.id = s.execution_id;
ALTER TABLE wakeups ALTER COLUMN tenant_id SET NOT NULL;

ALTER TABLE telemetry ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE telemetry s SET tenant_id = e.tenant_id FROM executions e WHERE e.id = s.execution_id;

-- the ledger is append-only: its UPDATE guard steps aside for this one backfill, in this
-- migration's transaction, and is back before it commits
ALTER TABLE ledger_entries ADD COLUMN tenant_id TEXT COLLATE "C";
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update;
UPDATE ledger_entries s SET tenant_id = e.tenant_id FROM executions e
WHERE e.id = s.execution_id;
ALTER TABLE ledger_entries ENABLE ALWAYS TRIGGER ledger_entries_no_update;
ALTER TABLE ledger_entries ALTER COLUMN tenant_id SET NOT NULL;

-- whether a row of tenant_id is visible and writable on this connection
CREATE FUNCTION ledgerflow_tenant_allows(tenant_id TEXT) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.tenant_id', true), '') IS NULL
        OR tenant_id = current_setting('app.tenant_id', true)
$$;

ALTER TABLE executions ENABLE ROW LEVEL SECURITY;
ALTER TABLE executions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON executions
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE workflow_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_definitions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON workflow_definitions
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE tombstones ENABLE ROW LEVEL SECURITY;
ALTER TABLE tombstones FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON tombstones
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE step_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE step_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON step_runs
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE state_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE state_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON state_versions
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE routing_decisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE routing_decisions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON routing_decisions
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE ledger_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON ledger_entries
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE signals ENABLE ROW LEVEL SECURITY;
ALTER TABLE signals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON signals
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE wakeups ENABLE ROW LEVEL SECURITY;
ALTER TABLE wakeups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON wakeups
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE telemetry ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON idempotency_keys
    USING (ledgerflow_tenant_allows(tenant_id)) WITH CHECK (ledgerflow_tenant_allows(tenant_id));
