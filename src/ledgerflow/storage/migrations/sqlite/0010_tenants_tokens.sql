-- ledgerflow schema v10 (SQLite): tenants and the API tokens that act for them.

-- A tenant owns definitions, executions and tokens (their tenant_id). ``default``, the
-- embedded tenant, needs no row: it is added when it first gets a token.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);

-- A token is stored as the SHA-256 of its secret, found by ``lookup`` (the first characters
-- of the secret's random part) and compared in constant time. The secret itself is shown
-- once, when the token is made. A ``system`` token belongs to no tenant (it manages them).
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants (id),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role = 'viewer' OR role = 'operator' OR role = 'admin'
                                       OR role = 'metrics' OR role = 'system'),
    lookup        TEXT NOT NULL UNIQUE,
    sha256        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT,
    CHECK ((role = 'system') = (tenant_id IS NULL))
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id, created_at);
