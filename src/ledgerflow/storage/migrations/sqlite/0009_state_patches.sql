-- ledgerflow schema v9 (SQLite): a state version may be stored as the change from the
-- previous one.

-- kind 'full': state holds the document's text; 'patch': the change from the previous
-- version's document (ledger.state_patches). sha256 stays the full document's. Rows written
-- before are all full documents. (Comparisons, not an IN list: see 0008.)
ALTER TABLE state_versions ADD COLUMN kind TEXT NOT NULL DEFAULT 'full'
    CHECK (kind = 'full' OR kind = 'patch');
