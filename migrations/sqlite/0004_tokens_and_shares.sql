-- API tokens (DESIGN §1): opaque secrets stored only as SHA-256 hashes, one role and scope each.
CREATE TABLE api_tokens (
    token_hash   text PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    role         text NOT NULL,
    organisation text,
    learner      text,
    label        text NOT NULL,
    created_at   text NOT NULL,
    expires_at   text,
    revoked_at   text
);

-- Share grants: a learner lets an audience see chosen credentials (or the whole portfolio) until
-- an expiry, through an unguessable secret stored only as its SHA-256 hash.
CREATE TABLE share_grants (
    id          text PRIMARY KEY,
    secret_hash text NOT NULL UNIQUE,
    learner     text NOT NULL,
    audience    text NOT NULL,
    credentials text,
    created_at  text NOT NULL,
    expires_at  text NOT NULL,
    revoked_at  text
);
CREATE INDEX share_grants_learner ON share_grants (learner);
