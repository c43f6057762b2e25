-- Back-channel logouts waiting to be delivered (OIDC Back-Channel Logout §2.5), so that a
-- restart loses none and whichever replica is alive retries them. A replica claims a due row
-- (`claimed_until`) for one attempt; a failed attempt sets `next_attempt`; a delivered one is
-- deleted; past `expiry` it is given up and garbage collection deletes it.

CREATE TABLE logout_deliveries (
    id            TEXT   PRIMARY KEY,
    client_id     TEXT   NOT NULL,
    uri           TEXT   NOT NULL,
    sub           TEXT   NOT NULL,
    sid           TEXT   NOT NULL,
    attempts      BIGINT NOT NULL,
    next_attempt  BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL,
    expiry        BIGINT NOT NULL
);
CREATE INDEX logout_deliveries_next_attempt ON logout_deliveries (next_attempt);
CREATE INDEX logout_deliveries_expiry ON logout_deliveries (expiry);
