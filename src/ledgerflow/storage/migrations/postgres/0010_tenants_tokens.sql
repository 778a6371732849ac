-- ledgerflow schema v10 (PostgreSQL): tenants and the API tokens that act for them.

-- A tenant owns definitions, executions and tokens (their tenant_id). ``default``, the
-- embedded tenant, needs no row: it is added when it first gets a token.
CREATE TABLE tenants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    created_at  TEXT COLLATE "C" NOT NULL
);

-- A token is stored as the SHA-256 of its secret, found by ``lookup`` (the first characters
-- of the secret's random part) and compared in constant time. The secret itself is shown
-- once, when the token is made. A ``system`` token belongs to no tenant (it manages them).
CREATE TABLE api_tokens (
    id            TEXT COLLATE "C" PRIMARY KEY,
    tenant_id     TEXT COLLATE "C" REFERENCES tenants (id),
    name          TEXT COLLATE "C" NOT NULL,
    role          TEXT COLLATE "C" NOT NULL CHECK (role = 'viewer' OR role = 'operator'
                        OR role = 'admin' OR role = 'metrics' OR role = 'system'),
    lookup        TEXT COLLATE "C" NOT NULL UNIQUE,
    sha256        TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C",
    last_used_at  TEXT COLLATE "C",
    revoked_at    TEXT COLLATE "C",
    CHECK ((role = 'system') = (tenant_id IS NULL))
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id, created_at);
