-- ledgerflow schema v11 (sqlite): a placeholder holding this number for a migration made on
-- another branch at the same time; at the merge that migration replaces this file.
SELECT 1;
