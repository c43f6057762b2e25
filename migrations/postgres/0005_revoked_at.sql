-- When each access token was revoked, so that every replica can pick up the revocations made
-- since it last looked (they keep the revoked set in memory: introspection and /userinfo
-- must not pay a database round trip per call). Rows from before this migration read 0 and
-- are loaded at start like all the others.

ALTER TABLE revoked_tokens ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX revoked_tokens_revoked_at ON revoked_tokens (revoked_at);
