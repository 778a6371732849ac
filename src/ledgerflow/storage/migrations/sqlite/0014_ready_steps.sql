-- ledgerflow schema v14 (SQLite): steps waiting for an agent, counted cheaply (the metric
-- ledgerflow_ready_steps is read on every scrape; few rows wait, so the index is small).
CREATE INDEX step_runs_waiting_for ON step_runs (waiting_for) WHERE waiting_for IS NOT NULL;
