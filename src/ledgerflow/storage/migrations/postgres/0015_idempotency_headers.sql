-- ledgerflow schema v15 (PostgreSQL): a replayed answer keeps the headers that name what the
-- first request made (Location, ETag) beside its content type: a JSON object, lower-case
-- names; NULL in rows kept before (their content_type column still says the type).
ALTER TABLE idempotency_keys ADD COLUMN headers TEXT;
