-- Tessera schema, version 1 (SQLite). Keep in step with migrations/postgres/0001_init.sql:
-- the two differ only in the bytes type (BLOB here, BYTEA there).
--
-- Each table has the columns used to find, compare-and-swap or expire a row, plus `data`: the
-- rest of the record as JSON. Columns that an atomic statement changes (redeemed_at, token_hash,
-- status, version, ...) live outside `data` so one UPDATE can change them.

CREATE TABLE clients (
    id   TEXT PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE auth_requests (
    id     TEXT PRIMARY KEY,
    expiry BIGINT NOT NULL,
    data   TEXT NOT NULL
);
CREATE INDEX auth_requests_expiry ON auth_requests (expiry);

CREATE TABLE auth_codes (
    id          TEXT PRIMARY KEY,
    expiry      BIGINT NOT NULL,
    redeemed_at BIGINT,
    issued      TEXT,
    data        TEXT NOT NULL
);
CREATE INDEX auth_codes_expiry ON auth_codes (expiry);

CREATE TABLE refresh_tokens (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    connector_id   TEXT NOT NULL,
    expires_at     BIGINT,
    token_hash     BLOB NOT NULL,
    obsolete_hash  BLOB,
    rotation_salt  BLOB NOT NULL,
    rotated_at     BIGINT NOT NULL,
    last_used      BIGINT NOT NULL,
    claims         TEXT NOT NULL,
    connector_data BLOB,
    data           TEXT NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, connector_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE offline_sessions (
    user_id      TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    data         TEXT NOT NULL,
    PRIMARY KEY (user_id, connector_id)
);

CREATE TABLE revoked_tokens (
    jti    TEXT PRIMARY KEY,
    expiry BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expiry);

CREATE TABLE passwords (
    email TEXT PRIMARY KEY,
    data  TEXT NOT NULL
);

CREATE TABLE connectors (
    id   TEXT PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE keys (
    id      TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    data    TEXT NOT NULL
);

CREATE TABLE device_requests (
    user_code   TEXT PRIMARY KEY,
    device_code TEXT NOT NULL,
    expiry      BIGINT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX device_requests_expiry ON device_requests (expiry);

CREATE TABLE device_tokens (
    device_code TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    expiry      BIGINT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX device_tokens_expiry ON device_tokens (expiry);

CREATE TABLE web_sessions (
    id     TEXT PRIMARY KEY,
    expiry BIGINT NOT NULL,
    data   BLOB NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expiry);
