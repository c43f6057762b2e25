-- JWT ids already used, so a client assertion (RFC 7523) or a DPoP proof (RFC 9449) works
-- once on any replica. `id` is a SHA-256 digest (hex) of what the JWT is and its `jti`; a row
-- is kept until the JWT would be refused as expired anyway (`expiry`), then garbage
-- collection deletes it.

CREATE TABLE jwt_replay (
    id     CHAR(64) NOT NULL PRIMARY KEY,
    expiry BIGINT   NOT NULL,
    INDEX jwt_replay_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
