-- Back-channel logouts waiting to be delivered (OIDC Back-Channel Logout §2.5), so that a
-- restart loses none and whichever replica is alive retries them. A replica claims a due row
-- (`claimed_until`) for one attempt; a failed attempt sets `next_attempt`; a delivered one is
-- deleted; past `expiry` it is given up and garbage collection deletes it.

CREATE TABLE logout_deliveries (
    id            VARCHAR(255) NOT NULL PRIMARY KEY,
    client_id     VARCHAR(255) NOT NULL,
    uri           TEXT         NOT NULL,
    sub           TEXT         NOT NULL,
    sid           VARCHAR(255) NOT NULL,
    attempts      BIGINT       NOT NULL,
    next_attempt  BIGINT       NOT NULL,
    claimed_until BIGINT       NOT NULL,
    expiry        BIGINT       NOT NULL,
    INDEX logout_deliveries_next_attempt (next_attempt),
    INDEX logout_deliveries_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;
