-- Single sign-on sessions (the `sid` of ID tokens), and refresh tokens bound to one.
-- `expiry` is the earlier of the absolute and the idle expiry; touching a session moves it.

CREATE TABLE auth_sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    expiry       BIGINT NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX auth_sessions_expiry ON auth_sessions (expiry);

-- Non-empty only for clients with `refreshTokenLifetime: session`.
ALTER TABLE refresh_tokens ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
