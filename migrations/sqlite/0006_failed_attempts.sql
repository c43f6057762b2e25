-- Failed attempts (passwords, device user codes), counted per key so every replica sees the
-- same count: brute-force protection. `id` is a digest the server makes of what is counted
-- (account and address), never the account or address itself. A count is forgotten once
-- `forget_at` has passed: the next failure starts again at 1, and garbage collection deletes
-- the row.

CREATE TABLE failed_attempts (
    id           TEXT   PRIMARY KEY,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    forget_at    BIGINT NOT NULL
);
CREATE INDEX failed_attempts_forget_at ON failed_attempts (forget_at);
