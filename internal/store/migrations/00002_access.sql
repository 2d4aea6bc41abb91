-- Access (DESIGN.md C15): API keys, login sessions and the audit log.
-- One text for SQLite and PostgreSQL: times are unix seconds (BIGINT), ids
-- are text generated in Go. Secrets are never stored, only their SHA-256
-- (hex): keys and session tokens are 32 random bytes, so a fast hash is as
-- good as a slow one against guessing, and a stolen table grants nothing.

-- +goose Up
CREATE TABLE api_keys (
    key_id       TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write', 'ingest')),
    -- The first characters of the secret ("kz_abcd1234"), to tell keys apart in lists.
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    -- The user the key acts for (its role caps what the key may do); NULL
    -- for a service key, whose scope alone decides.
    user_id      TEXT REFERENCES users (user_id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Every change made through the API, the UI or the CLI. audit_id sorts in
-- the order the entries were written (it starts with the time in
-- microseconds), so it is also the paging cursor. before and after are the
-- object as JSON (NULL for a creation or a deletion).
CREATE TABLE audit_log (
    audit_id    TEXT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, audit_id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE api_keys;
