-- SAML assertion ids already accepted, so a captured response cannot be replayed on any
-- replica. `id` is `{connector}\n{assertion ID}`; a row is kept until the assertion would
-- be refused as expired anyway (`expiry`), then garbage collection deletes it.

CREATE TABLE saml_replay (
    id     TEXT PRIMARY KEY,
    expiry BIGINT NOT NULL
);
CREATE INDEX saml_replay_expiry ON saml_replay (expiry);
