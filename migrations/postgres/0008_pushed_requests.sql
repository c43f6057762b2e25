-- Pushed authorization requests (RFC 9126): the parameters a client posted to `/par`, kept
-- under the id in their `request_uri` until `/auth` uses them (once) or they expire.

CREATE TABLE pushed_requests (
    id     TEXT PRIMARY KEY,
    expiry BIGINT NOT NULL,
    data   TEXT NOT NULL
);
CREATE INDEX pushed_requests_expiry ON pushed_requests (expiry);
