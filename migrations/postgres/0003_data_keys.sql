-- Keys that encrypt secrets Tessera keeps for connectors (e.g. upstream refresh tokens).
-- Created once by whichever replica comes first (INSERT .. ON CONFLICT DO NOTHING), then
-- read by all, so every replica decrypts what another one encrypted.

CREATE TABLE data_keys (
    id  TEXT PRIMARY KEY,
    key BYTEA NOT NULL
);
