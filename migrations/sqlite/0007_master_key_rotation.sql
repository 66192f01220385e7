-- Master key rotation: every wrapped key records the id (fingerprint) of the master key that wraps
-- it. Rows from before this migration have none: they open under whichever configured key fits.
ALTER TABLE learner_keys ADD COLUMN master_key_id TEXT;

CREATE INDEX learner_keys_by_master_key ON learner_keys (master_key_id);

-- Index keys (the ULN digest key) wrapped under the current master key, so digests stay the same
-- when the master key changes. A ledger that never stored one derives it from its master key.
CREATE TABLE index_keys (
    name          TEXT PRIMARY KEY,
    wrapped_key   BLOB NOT NULL,
    master_key_id TEXT NOT NULL,
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
