-- The access log (DESIGN §6): every read of a learner's data through a share grant or by an
-- auditor, shown to the learner (who, when, which grant or token, what). Erasure deletes a learner's
-- rows (`DELETE FROM access_log WHERE learner = ?`).
CREATE TABLE access_log (
    id       text PRIMARY KEY,
    learner  text NOT NULL,
    at       text NOT NULL,
    actor    text NOT NULL CHECK (actor IN ('share', 'auditor')),
    grant_id text,
    token_id text,
    audience text,
    what     text NOT NULL
);
CREATE INDEX access_log_learner_at ON access_log (learner, at);
