-- Master key rotation: every wrapped key records the id (fingerprint) of the master key that wraps
-- it. Rows from before this migration have none: they open under whichever configured key fits.
ALTER TABLE learner_keys ADD COLUMN master_key_id text;

CREATE INDEX learner_keys_by_master_key ON learner_keys (master_key_id);

-- Index keys (the ULN digest key) wrapped under the current master key, so digests stay the same
-- when the master key changes. A ledger that never stored one derives it from its master key.
CREATE TABLE index_keys (
    name          text PRIMARY KEY,
    wrapped_key   bytea NOT NULL,
    master_key_id text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
