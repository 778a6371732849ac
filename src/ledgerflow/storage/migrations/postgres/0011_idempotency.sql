-- ledgerflow schema v11 (PostgreSQL): the answers the API gave to requests with an
-- Idempotency-Key, so that a retried request gets the same answer instead of acting twice.

-- One row per (tenant, key). ``in_flight``: a request holds the key (its answer is not known
-- yet); ``done``: its answer (status, body, content type) replays until ``expires_at``.
-- ``fingerprint`` is the SHA-256 of the request's method, path and body: the same key with
-- another request is refused. A system token's keys have tenant_id '(system)'.
CREATE TABLE idempotency_keys (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    fingerprint   TEXT COLLATE "C" NOT NULL,
    state         TEXT COLLATE "C" NOT NULL CHECK (state = 'in_flight' OR state = 'done'),
    status        INTEGER,
    body          TEXT COLLATE "C",
    content_type  TEXT COLLATE "C",
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, key),
    CHECK ((state = 'done') = (status IS NOT NULL AND body IS NOT NULL))
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
