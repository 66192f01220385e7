-- Learner data keys (wrapped by the master key) live apart from the events, so erasure can
-- destroy a key without touching the append-only event table.
CREATE TABLE learner_keys (
    learner_id  TEXT PRIMARY KEY,
    wrapped_key BLOB NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- DESIGN §7: the event table is append-only.
CREATE TRIGGER stored_events_refuse_update BEFORE UPDATE ON stored_events
BEGIN
    SELECT RAISE(ABORT, 'the ledger''s event table is append-only: UPDATE refused');
END;

CREATE TRIGGER stored_events_refuse_delete BEFORE DELETE ON stored_events
BEGIN
    SELECT RAISE(ABORT, 'the ledger''s event table is append-only: DELETE refused');
END;
