-- Pushed authorization requests (RFC 9126): the parameters a client posted to `/par`, kept
-- under the id in their `request_uri` until `/auth` uses them (once) or they expire.

CREATE TABLE pushed_requests (
    id     VARCHAR(255) NOT NULL PRIMARY KEY,
    expiry BIGINT       NOT NULL,
    data   MEDIUMTEXT   NOT NULL,
    INDEX pushed_requests_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;
