-- Single sign-on sessions (the `sid` of ID tokens), and refresh tokens bound to one.
-- `expiry` is the earlier of the absolute and the idle expiry; touching a session moves it.
-- (MySQL/MariaDB: see 0001_init.sql for the types and the collation.)

CREATE TABLE auth_sessions (
    id           VARCHAR(255) NOT NULL PRIMARY KEY,
    user_id      VARCHAR(512) NOT NULL,
    connector_id VARCHAR(255) NOT NULL,
    expiry       BIGINT       NOT NULL,
    data         MEDIUMTEXT   NOT NULL,
    INDEX auth_sessions_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- Non-empty only for clients with `refreshTokenLifetime: session`. Column and index in one
-- ALTER: one statement, applied whole or not at all.
ALTER TABLE refresh_tokens
    ADD COLUMN session_id VARCHAR(255) NOT NULL DEFAULT '',
    ADD INDEX refresh_tokens_session (session_id);
