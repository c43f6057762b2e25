-- When each access token was revoked, so that every replica can pick up the revocations made
-- since it last looked (they keep the revoked set in memory: introspection and /userinfo
-- must not pay a database round trip per call). Rows from before this migration read 0 and
-- are loaded at start like all the others. Column and index in one ALTER (one statement).

ALTER TABLE revoked_tokens
    ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0,
    ADD INDEX revoked_tokens_revoked_at (revoked_at);
