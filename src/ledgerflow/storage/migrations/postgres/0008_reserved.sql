-- ledgerflow schema v8 (PostgreSQL): reserved for a change developed alongside v9; changes nothing.
SELECT 1;
