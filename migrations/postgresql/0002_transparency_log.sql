-- The global transparency log (DESIGN §3): every entry of every stream is one leaf, dense from 0,
-- in the event store's commit order.
CREATE TABLE log_leaves (
    leaf_index         bigint PRIMARY KEY,
    notification_id    bigint NOT NULL UNIQUE,
    stream             text NOT NULL,
    seq                bigint NOT NULL,
    leaf_hash          bytea NOT NULL,
    UNIQUE (stream, seq)
);

-- Roots of complete subtrees of 256^level leaves (level >= 1): with the leaf hashes these are the
-- C2SP tlog-tiles, so any proof needs O(log n) range reads. Rows are immutable once written.
CREATE TABLE log_tiles (
    level      integer NOT NULL,
    node_index bigint NOT NULL,
    hash       bytea NOT NULL,
    PRIMARY KEY (level, node_index)
);

-- Where integration stopped: the last notification id read, the tree size and its compact frontier,
-- all updated in the same transaction as the leaves they describe.
CREATE TABLE log_state (
    id        integer PRIMARY KEY CHECK (id = 1),
    position  bigint NOT NULL,
    size      bigint NOT NULL,
    frontier  bytea NOT NULL
);
INSERT INTO log_state (id, position, size, frontier) VALUES (1, 0, 0, '\x0000000000000000');

-- Every checkpoint the ledger signed (C2SP signed note), one per tree size.
CREATE TABLE log_checkpoints (
    size       bigint PRIMARY KEY,
    root       bytea NOT NULL,
    note       text NOT NULL,
    signed_at  timestamptz NOT NULL
);

CREATE TRIGGER log_leaves_refuse_change BEFORE UPDATE OR DELETE ON log_leaves
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER log_leaves_refuse_truncate BEFORE TRUNCATE ON log_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER log_tiles_refuse_change BEFORE UPDATE OR DELETE ON log_tiles
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER log_tiles_refuse_truncate BEFORE TRUNCATE ON log_tiles
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER log_checkpoints_refuse_change BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER log_checkpoints_refuse_truncate BEFORE TRUNCATE ON log_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
