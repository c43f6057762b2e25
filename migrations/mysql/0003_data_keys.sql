-- Keys that encrypt secrets Tessera keeps for connectors (e.g. upstream refresh tokens).
-- Created once by whichever replica comes first (a plain INSERT whose duplicate-key error is
-- ignored, or INSERT IGNORE), then read by all, so every replica decrypts what another one
-- encrypted. `key` is a reserved word in MySQL and MariaDB: always write it `key`.

CREATE TABLE data_keys (
    id    VARCHAR(255) NOT NULL PRIMARY KEY,
    `key` BLOB         NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;
