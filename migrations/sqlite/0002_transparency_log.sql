-- The global transparency log (DESIGN §3): every entry of every stream is one leaf, dense from 0,
-- in the event store's commit order.
CREATE TABLE log_leaves (
    leaf_index         INTEGER PRIMARY KEY,
    notification_id    INTEGER NOT NULL UNIQUE,
    stream             TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    leaf_hash          BLOB NOT NULL,
    UNIQUE (stream, seq)
);

-- Roots of complete subtrees of 256^level leaves (level >= 1): with the leaf hashes these are the
-- C2SP tlog-tiles, so any proof needs O(log n) range reads. Rows are immutable once written.
CREATE TABLE log_tiles (
    level      INTEGER NOT NULL,
    node_index INTEGER NOT NULL,
    hash       BLOB NOT NULL,
    PRIMARY KEY (level, node_index)
) WITHOUT ROWID;

-- Where integration stopped: the last notification id read, the tree size and its compact frontier,
-- all updated in the same transaction as the leaves they describe.
CREATE TABLE log_state (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    position  INTEGER NOT NULL,
    size      INTEGER NOT NULL,
    frontier  BLOB NOT NULL
);
INSERT INTO log_state (id, position, size, frontier) VALUES (1, 0, 0, X'0000000000000000');

-- Every checkpoint the ledger signed (C2SP signed note), one per tree size.
CREATE TABLE log_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       BLOB NOT NULL,
    note       TEXT NOT NULL,
    signed_at  TEXT NOT NULL
);

CREATE TRIGGER log_leaves_refuse_update BEFORE UPDATE ON log_leaves
BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only: UPDATE refused'); END;
CREATE TRIGGER log_leaves_refuse_delete BEFORE DELETE ON log_leaves
BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only: DELETE refused'); END;
CREATE TRIGGER log_tiles_refuse_update BEFORE UPDATE ON log_tiles
BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only: UPDATE refused'); END;
CREATE TRIGGER log_tiles_refuse_delete BEFORE DELETE ON log_tiles
BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only: DELETE refused'); END;
CREATE TRIGGER log_checkpoints_refuse_update BEFORE UPDATE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only: UPDATE refused'); END;
CREATE TRIGGER log_checkpoints_refuse_delete BEFORE DELETE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only: DELETE refused'); END;
