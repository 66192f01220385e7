-- Erasure (DESIGN §6): a learner asks, the registrar approves or refuses with a reason. Approval
-- destroys the learner's data key in the same transaction as the stream's ErasureCompleted entry;
-- the learner's own words (`reason`) are cleared then too, since they may hold personal data.
CREATE TABLE erasure_requests (
    id           text PRIMARY KEY,
    learner      text NOT NULL,
    requested_at text NOT NULL,
    reason       text,
    state        text NOT NULL CHECK (state IN ('requested', 'refused', 'completed')),
    decided_at   text,
    decision     text
);
CREATE INDEX erasure_requests_learner ON erasure_requests (learner);
-- At most one request per learner awaits a decision.
CREATE UNIQUE INDEX erasure_requests_one_open ON erasure_requests (learner) WHERE state = 'requested';
