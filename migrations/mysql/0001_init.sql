-- Tessera schema, version 1 (MySQL 8 / MariaDB 10.5+). Keep in step with
-- migrations/sqlite/0001_init.sql and migrations/postgres/0001_init.sql: same tables, columns
-- and indexes, with these dialect differences:
--
-- * Every table is InnoDB, utf8mb4 with the binary collation `utf8mb4_bin`, so ids, tokens and
--   statuses compare byte for byte (case- and accent-sensitive) as in SQLite and PostgreSQL.
--   Never rely on the server default: MySQL 8 defaults to utf8mb4_0900_ai_ci and MariaDB to
--   utf8mb4_general_ci, both case-insensitive. (utf8mb4_bin is a PAD SPACE collation:
--   'a' = 'a ' there; MySQL 8 and MariaDB 10.11 share no NO PAD binary utf8mb4 collation.)
-- * Text that is a key or indexed is VARCHAR(n): InnoDB cannot index TEXT without a prefix.
--   An index entry may be at most 3072 bytes (ROW_FORMAT=DYNAMIC), 4 bytes a character, so
--   (user_id 512, connector_id 255) = 3068 bytes is the largest pair that fits. A longer value
--   is refused ("Data too long") under STRICT_*_TABLES; without a strict sql_mode it would be
--   silently truncated, which is why connections must run in strict mode.
-- * Other text is MEDIUMTEXT (16 MB; TEXT stops at 64 KB) and bytes are BLOB/MEDIUMBLOB.
-- * `keys` and `key` are reserved words in MySQL and MariaDB: they must be written `keys`
--   and `key` (backquoted) here and in every statement that names them.
-- * Indexes are declared inside CREATE TABLE, so each table is one statement: MySQL commits
--   DDL implicitly, and a migration that fails half way cannot be rolled back.

CREATE TABLE clients (
    id   VARCHAR(255) NOT NULL PRIMARY KEY,
    data MEDIUMTEXT   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE auth_requests (
    id     VARCHAR(255) NOT NULL PRIMARY KEY,
    expiry BIGINT       NOT NULL,
    data   MEDIUMTEXT   NOT NULL,
    INDEX auth_requests_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE auth_codes (
    id          VARCHAR(255) NOT NULL PRIMARY KEY,
    expiry      BIGINT       NOT NULL,
    redeemed_at BIGINT,
    issued      MEDIUMTEXT,
    data        MEDIUMTEXT   NOT NULL,
    INDEX auth_codes_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE refresh_tokens (
    id             VARCHAR(255) NOT NULL PRIMARY KEY,
    user_id        VARCHAR(512) NOT NULL,
    connector_id   VARCHAR(255) NOT NULL,
    expires_at     BIGINT,
    token_hash     BLOB         NOT NULL,
    obsolete_hash  BLOB,
    rotation_salt  BLOB         NOT NULL,
    rotated_at     BIGINT       NOT NULL,
    last_used      BIGINT       NOT NULL,
    claims         MEDIUMTEXT   NOT NULL,
    connector_data MEDIUMBLOB,
    data           MEDIUMTEXT   NOT NULL,
    INDEX refresh_tokens_user (user_id, connector_id),
    INDEX refresh_tokens_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE offline_sessions (
    user_id      VARCHAR(512) NOT NULL,
    connector_id VARCHAR(255) NOT NULL,
    data         MEDIUMTEXT   NOT NULL,
    PRIMARY KEY (user_id, connector_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE revoked_tokens (
    jti    VARCHAR(255) NOT NULL PRIMARY KEY,
    expiry BIGINT       NOT NULL,
    INDEX revoked_tokens_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

-- Lower-cased by the code before every write and lookup (RFC 5321 caps a path at 254).
CREATE TABLE passwords (
    email VARCHAR(320) NOT NULL PRIMARY KEY,
    data  MEDIUMTEXT   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE connectors (
    id   VARCHAR(255) NOT NULL PRIMARY KEY,
    data MEDIUMTEXT   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE `keys` (
    id      VARCHAR(255) NOT NULL PRIMARY KEY,
    version BIGINT       NOT NULL,
    data    MEDIUMTEXT   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE device_requests (
    user_code   VARCHAR(255) NOT NULL PRIMARY KEY,
    device_code MEDIUMTEXT   NOT NULL,
    expiry      BIGINT       NOT NULL,
    data        MEDIUMTEXT   NOT NULL,
    INDEX device_requests_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE device_tokens (
    device_code VARCHAR(255) NOT NULL PRIMARY KEY,
    status      VARCHAR(64)  NOT NULL,
    expiry      BIGINT       NOT NULL,
    data        MEDIUMTEXT   NOT NULL,
    INDEX device_tokens_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;

CREATE TABLE web_sessions (
    id     VARCHAR(255) NOT NULL PRIMARY KEY,
    expiry BIGINT       NOT NULL,
    data   MEDIUMBLOB   NOT NULL,
    INDEX web_sessions_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;
