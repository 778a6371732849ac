-- ledgerflow schema v8 (SQLite): reserved for a change developed alongside v9; changes nothing.
SELECT 1;
