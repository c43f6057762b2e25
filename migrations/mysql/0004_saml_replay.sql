-- SAML assertion ids already accepted, so a captured response cannot be replayed on any
-- replica. `id` is `{connector}\n{assertion ID}`; a row is kept until the assertion would
-- be refused as expired anyway (`expiry`), then garbage collection deletes it.
-- 768 characters is the longest utf8mb4 key InnoDB indexes (3072 bytes); a longer id is
-- refused, never truncated (which could make two assertions collide).

CREATE TABLE saml_replay (
    id     VARCHAR(768) NOT NULL PRIMARY KEY,
    expiry BIGINT       NOT NULL,
    INDEX saml_replay_expiry (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC;
