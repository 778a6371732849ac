-- ledgerflow schema v11 (postgres): a placeholder holding this number for a migration made on
-- another branch at the same time; at the merge that migration replaces this file.
SELECT 1;
