-- Read models (DESIGN §5), built by followers of the event store. Each records the notification
-- id it reached in projection_positions, in the same transaction as its view change.
CREATE TABLE projection_positions (
    name     text PRIMARY KEY,
    position bigint NOT NULL
);
INSERT INTO projection_positions (name, position) VALUES
    ('portfolio', 0), ('registry', 0), ('credential_index', 0), ('statistics', 0);

-- One row per credential of a learner as the portfolio shows it (personal data: purged on erasure).
CREATE TABLE view_portfolio_items (
    credential text PRIMARY KEY,
    learner    text NOT NULL,
    kind       text NOT NULL,
    status     text NOT NULL,
    seq        bigint NOT NULL,
    item       text NOT NULL
);
CREATE INDEX view_portfolio_items_learner ON view_portfolio_items (learner);

-- Credential id to where it is and what became of it (no personal data).
CREATE TABLE view_credentials (
    credential text PRIMARY KEY,
    learner    text NOT NULL,
    seq        bigint NOT NULL,
    issuer     text NOT NULL,
    kind       text NOT NULL,
    status     text NOT NULL,
    changed_by text
);

-- The trust registry, answerable as of any instant through the recorded_at columns.
CREATE TABLE view_organisations (
    organisation  text PRIMARY KEY,
    slug          text NOT NULL UNIQUE,
    name          text NOT NULL,
    kind          text NOT NULL,
    did           text NOT NULL,
    registered_at text NOT NULL
);
CREATE TABLE view_keys (
    key                     text PRIMARY KEY,
    organisation            text NOT NULL,
    valid_from              text NOT NULL,
    added_at                text NOT NULL,
    retired_at              text,
    retired_recorded_at     text,
    compromised_at          text,
    compromised_recorded_at text
);
CREATE TABLE view_accreditations (
    organisation text NOT NULL,
    seq          bigint NOT NULL,
    kinds        text NOT NULL,
    scopes       text NOT NULL,
    valid_from   text NOT NULL,
    valid_until  text,
    recorded_at  text NOT NULL,
    PRIMARY KEY (organisation, seq)
);

-- Counts of recorded credentials by issuer, kind and month of recording.
CREATE TABLE view_statistics (
    issuer text NOT NULL,
    kind   text NOT NULL,
    month  text NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (issuer, kind, month)
);
