"""The log's tables (leaves, tiles, state, checkpoints), read and written through the event store's
own connection pool (ledger.sql), so integration shares the database's transactions and durability.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from operator import itemgetter
from typing import Any, Protocol, TypeVar

from eventsourcing.persistence import ApplicationRecorder

from ledger.sql import SqlCursor, SqlStore
from verification.errors import BadHashLength
from verification.merkle import HASH_SIZE, Frontier, HashSource, node_hash

TILE_HEIGHT = 8
"""A tile holds 2^8 = 256 hashes (C2SP tlog-tiles); level L nodes root 256^L leaves."""
TILE_WIDTH = 1 << TILE_HEIGHT


@dataclass(frozen=True)
class LogState:
    """How far integration has gone: last notification id read, tree size, compact frontier."""

    position: int
    size: int
    frontier: Frontier


@dataclass(frozen=True)
class Leaf:
    """One leaf of the log and the stream entry it is."""

    index: int
    notification_id: int
    stream: str
    seq: int
    hash: bytes


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint the ledger signed."""

    size: int
    root: bytes
    note: str
    signed_at: str


class LogCursor(SqlCursor):
    """SQL on the log tables inside one transaction."""

    def state(self, *, for_update: bool = False) -> LogState:
        """The integration state (locked against other sequencers when `for_update`)."""
        lock = " FOR UPDATE" if for_update and self.postgres else ""
        row = self.rows("SELECT position, size, frontier FROM {p}log_state WHERE id = 1" + lock)[0]  # noqa: S608
        return LogState(int(row["position"]), int(row["size"]), Frontier.from_bytes(bytes(row["frontier"])))

    def set_state(self, state: LogState) -> None:
        """Record how far integration has gone."""
        self.run(
            "UPDATE {p}log_state SET position = ?, size = ?, frontier = ? WHERE id = 1",
            (state.position, state.size, state.frontier.to_bytes()),
        )

    def insert_leaves(self, leaves: Sequence[Leaf]) -> None:
        """Append leaves (indexes must continue the log)."""
        if self.postgres and leaves:
            # One statement from five arrays, zipped in order by unnest: the server runs one insert,
            # not one per leaf (executemany), for the same rows. The arrays go in binary (%b): as
            # text, psycopg escapes every hash in Python.
            self.run(
                "INSERT INTO {p}log_leaves (leaf_index, notification_id, stream, seq, leaf_hash) "
                "SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::text[], %b::bigint[], %b::bytea[])",
                [
                    [leaf.index for leaf in leaves],
                    [leaf.notification_id for leaf in leaves],
                    [leaf.stream for leaf in leaves],
                    [leaf.seq for leaf in leaves],
                    [leaf.hash for leaf in leaves],
                ],
            )
            return
        self.run_many(
            "INSERT INTO {p}log_leaves (leaf_index, notification_id, stream, seq, leaf_hash) "
            "VALUES (?, ?, ?, ?, ?)",
            [(leaf.index, leaf.notification_id, leaf.stream, leaf.seq, leaf.hash) for leaf in leaves],
        )

    def insert_tiles(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        """Store roots of newly complete 256^level subtrees: (level, node index, hash)."""
        self.run_many("INSERT INTO {p}log_tiles (level, node_index, hash) VALUES (?, ?, ?)", nodes)

    def hashes(self, level: int, start: int, count: int) -> list[bytes]:
        """`count` consecutive hashes of a level (0: leaves) from `start`: one range read."""
        return [bytes(row["hash"]) for row in self._hash_rows(level, start, count)]

    def hash_run(self, level: int, start: int, count: int) -> bytes:
        """`hashes(level, start, count)` joined into one run of bytes, each checked to be a hash."""
        found = list(map(_HASH, self._hash_rows(level, start, count)))
        if count and set(map(len, found)) != {HASH_SIZE}:
            raise BadHashLength(f"level {level} from {start} holds a hash that is not {HASH_SIZE} bytes")
        return b"".join(found)

    def _hash_rows(self, level: int, start: int, count: int) -> list[Any]:
        if level == 0:
            rows = self.rows(
                "SELECT leaf_hash AS hash FROM {p}log_leaves WHERE leaf_index >= ? AND leaf_index < ? "
                "ORDER BY leaf_index",
                (start, start + count),
            )
        else:
            rows = self.rows(
                "SELECT hash FROM {p}log_tiles WHERE level = ? AND node_index >= ? AND node_index < ? "
                "ORDER BY node_index",
                (level, start, start + count),
            )
        if len(rows) != count:
            raise LookupError(f"level {level} holds {len(rows)} of hashes {start}..{start + count - 1}")
        return rows

    def hash_runs(self, ranges: Sequence[tuple[int, int, int]]) -> dict[tuple[int, int, int], bytes]:
        """Many `hash_run(level, start, count)` reads in one PostgreSQL query, by (level, start, count).

        The server joins each range's hashes into one value, so a proof at 10^7 leaves comes back as
        about 17 rows, not about 650. The ranges travel as arrays, so the statement text never changes
        and the server keeps it prepared; each range is one index range scan.
        """
        ranges = list(dict.fromkeys(ranges))
        leaves = [(start, count) for level, start, count in ranges if level == 0]
        tiles = [(level, start, count) for level, start, count in ranges if level > 0]
        # LATERAL with ORDER BY and a constant LIMIT per range: an index range scan each, whatever the
        # planner's statistics say (a plain join on the ranges became bitmap scans at 10^7), and a
        # cost estimate low enough that PostgreSQL does not JIT-compile it (7 ms a query with LIMIT n).
        rows = self.binary_rows(
            "SELECT 0 AS level, r.lo, r.n, s.found, s.run FROM unnest(?::bigint[], ?::bigint[]) AS r(lo, n) "
            "CROSS JOIN LATERAL (SELECT count(*) AS found, string_agg(l.hash, ''::bytea ORDER BY l.i) AS run "
            "FROM (SELECT leaf_index AS i, leaf_hash AS hash FROM {p}log_leaves "
            "WHERE leaf_index >= r.lo AND leaf_index < r.lo + r.n ORDER BY leaf_index LIMIT 256) l) s "
            "UNION ALL SELECT r.level, r.lo, r.n, s.found, s.run "
            "FROM unnest(?::int[], ?::bigint[], ?::bigint[]) AS r(level, lo, n) "
            "CROSS JOIN LATERAL (SELECT count(*) AS found, string_agg(t.hash, ''::bytea ORDER BY t.i) AS run "
            "FROM (SELECT node_index AS i, hash FROM {p}log_tiles WHERE level = r.level "
            "AND node_index >= r.lo AND node_index < r.lo + r.n ORDER BY node_index LIMIT 256) t) s",
            [
                [lo for lo, _ in leaves],
                [n for _, n in leaves],
                [level for level, _, _ in tiles],
                [lo for _, lo, _ in tiles],
                [n for _, _, n in tiles],
            ],
        )
        answer: dict[tuple[int, int, int], bytes] = {}
        for row in rows:
            level, start, count = int(row["level"]), int(row["lo"]), int(row["n"])
            if row["found"] != count:
                raise LookupError(
                    f"level {level} holds {row['found']} of hashes {start}..{start + count - 1}"
                )
            run = bytes(row["run"])
            if len(run) != HASH_SIZE * count:
                raise BadHashLength(f"level {level} from {start} holds a hash that is not {HASH_SIZE} bytes")
            answer[level, start, count] = run
        return answer

    def leaf(self, index: int) -> Leaf | None:
        """The leaf at an index."""
        rows = self.rows("SELECT * FROM {p}log_leaves WHERE leaf_index = ?", (index,))
        return _leaf(rows[0]) if rows else None

    def leaf_of(self, stream: str, seq: int) -> Leaf | None:
        """The leaf an entry became, if it has been integrated."""
        rows = self.rows("SELECT * FROM {p}log_leaves WHERE stream = ? AND seq = ?", (stream, seq))
        return _leaf(rows[0]) if rows else None

    def leaves(self, start: int, stop: int) -> list[Leaf]:
        """The leaves with index in [start, stop)."""
        rows = self.rows(
            "SELECT * FROM {p}log_leaves WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index",
            (start, stop),
        )
        return [_leaf(row) for row in rows]

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        """The checkpoint of a size, or the latest one."""
        if size is None:
            rows = self.rows("SELECT * FROM {p}log_checkpoints ORDER BY size DESC LIMIT 1")
        else:
            rows = self.rows("SELECT * FROM {p}log_checkpoints WHERE size = ?", (size,))
        return _checkpoint(rows[0]) if rows else None

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint, oldest first."""
        return [_checkpoint(row) for row in self.rows("SELECT * FROM {p}log_checkpoints ORDER BY size")]

    def insert_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Store a newly signed checkpoint."""
        self.run(
            "INSERT INTO {p}log_checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)",
            (checkpoint.size, checkpoint.root, checkpoint.note, checkpoint.signed_at),
        )


_HASH = itemgetter("hash")


def _leaf(row: Any) -> Leaf:
    return Leaf(
        int(row["leaf_index"]),
        int(row["notification_id"]),
        row["stream"],
        int(row["seq"]),
        bytes(row["leaf_hash"]),
    )


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(row["size"]), bytes(row["root"]), row["note"], str(row["signed_at"]))


class HashRanges(Protocol):
    """Where a TileHashSource reads ranges of one level's hashes (0: leaves)."""

    def hash_run(self, level: int, start: int, count: int) -> bytes:
        """`count` consecutive hashes of a level from `start`, joined; each checked to be a hash."""


class SubtreeRoots:
    """A bounded LRU memory of subtree roots, by (level, first, count): the root of `count` hashes of a level.

    Remembered: perfect roots over stored tile nodes (level >= 1) and the roots of leaf ranges that end at
    a tree's size and are not perfect (level 0, a few per size). Safe: a tile node is stored only once
    its whole 256^level subtree is integrated, a root is remembered only after every hash under it was
    read, and the log is append-only, so such a root never changes. Perfect leaf runs are not remembered
    (one per proof and index: they would only push out the rest). Each store (log schema) has its own;
    about 16 MiB at the default limit.
    """

    def __init__(self, limit: int = 1 << 16) -> None:
        self.limit = limit
        self._roots: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._roots)

    def get(self, key: tuple[int, int, int]) -> bytes | None:
        """The remembered root of (level, first, count), if any."""
        with self._lock:
            root = self._roots.get(key)
            if root is not None:
                self._roots.move_to_end(key)
            return root

    def put(self, roots: dict[tuple[int, int, int], bytes]) -> None:
        """Remember roots, forgetting the least recently used beyond the limit."""
        with self._lock:
            self._roots.update(roots)
            while len(self._roots) > self.limit:
                self._roots.popitem(last=False)


class TileHashSource:
    """Subtree roots for proofs from leaves and tiles: O(log n) range reads whatever the log's size.

    With `memory`, roots are remembered across proofs (serving only: signing and audits pass none, so
    they recompute from storage and detect a changed stored hash).
    """

    def __init__(self, cursor: HashRanges, memory: SubtreeRoots | None = None) -> None:
        self.cursor = cursor
        self.memory = memory

    def subtree_root(self, start: int, end: int) -> bytes:
        """The RFC 9162 root of leaves [start, end); requires 0 <= start < end <= tree size."""
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:
            height = size.bit_length() - 1
            level, rest = divmod(height, TILE_HEIGHT)
            return self.perfect_root(level, start >> (TILE_HEIGHT * level), 1 << rest)
        if self.memory is not None:
            known = self.memory.get((0, start, size))
            if known is not None:
                return known
        split = 1 << ((size - 1).bit_length() - 1)
        root = node_hash(self.subtree_root(start, start + split), self.subtree_root(start + split, end))
        self.remember({(0, start, size): root})
        return root

    def perfect_root(self, level: int, first: int, count: int) -> bytes:
        """The root of the perfect subtree over `count` (a power of two) hashes of a level from `first`.

        Hashed a row at a time: each pair of neighbours is already `left || right` in the joined run,
        so a node is one slice and one SHA-256, which is RFC 9162's MTH for a power-of-two count. With
        a memory, a level >= 1 root is looked up first, and the roots of every row above the run's own
        hashes are remembered with it (the same hashing computes them).
        """
        memory = self.memory if level else None
        if memory is not None:
            known = memory.get((level, first, count))
            if known is not None:
                return known
        run = self.cursor.hash_run(level, first, count)
        computed: dict[tuple[int, int, int], bytes] = {}
        width = 1
        while len(run) > HASH_SIZE:
            run = b"".join(
                [
                    sha256(b"\x01" + run[i : i + 2 * HASH_SIZE]).digest()
                    for i in range(0, len(run), 2 * HASH_SIZE)
                ]
            )
            width *= 2
            if memory is not None:
                for i in range(0, len(run), HASH_SIZE):
                    computed[level, first + width * (i // HASH_SIZE), width] = run[i : i + HASH_SIZE]
        if memory is not None:
            computed[level, first, count] = run
            self.remember(computed)
        return run

    def remember(self, roots: dict[tuple[int, int, int], bytes]) -> None:
        """Put computed roots in the memory, if there is one."""
        if self.memory is not None:
            self.memory.put(roots)


class LogStore(SqlStore[LogCursor]):
    """Transactions on the log tables, on the connections of the event store's recorder."""

    def __init__(self, recorder: ApplicationRecorder, schema: str) -> None:
        super().__init__(recorder, schema, LogCursor)
        self.roots = SubtreeRoots()


T = TypeVar("T")


class _Plan(TileHashSource):
    """Reads and hashes nothing: notes which ranges the subtree roots would read (none remembered)."""

    def __init__(self, memory: SubtreeRoots | None) -> None:
        self.memory = memory  # no cursor: nothing is read
        self.ranges: list[tuple[int, int, int]] = []

    def perfect_root(self, level: int, first: int, count: int) -> bytes:
        if not (level and self.memory is not None and self.memory.get((level, first, count))):
            self.ranges.append((level, first, count))
        return bytes(HASH_SIZE)

    def remember(self, roots: dict[tuple[int, int, int], bytes]) -> None:
        pass  # placeholders are never remembered


class _Read:
    """Answers ranges from what one query read (a range forgotten since the plan is read on its own)."""

    def __init__(self, read: dict[tuple[int, int, int], bytes], cursor: LogCursor) -> None:
        self.read = read
        self.cursor = cursor

    def hash_run(self, level: int, start: int, count: int) -> bytes:
        run = self.read.get((level, start, count))
        return self.cursor.hash_run(level, start, count) if run is None else run


def in_one_read(cursor: LogCursor, build: Callable[[HashSource], T], memory: SubtreeRoots | None = None) -> T:
    """Run `build` (a proof from a HashSource) with every hash it needs read in one query.

    A dry run with placeholder hashes names the ranges: which subtrees a proof needs depends only
    on the indices and sizes, never on the hashes. Saves a round trip per range (about 17 at 10^7)
    on PostgreSQL (SQLite has none to save: it reads range by range). Roots in `memory` are not read,
    and the leaf ranges within one tile are read as one span (one index scan, not about 8); if a span
    holds a missing or bad hash, the exact ranges are read instead, so a proof is still refused only
    for a hash it needs.
    """
    if not cursor.postgres:
        return build(TileHashSource(cursor, memory))
    plan = _Plan(memory)
    build(plan)
    spans = _spans(plan.ranges)
    try:
        runs = cursor.hash_runs(list(spans.values())) if spans else {}
        read = {
            key: runs[span][(key[1] - span[1]) * HASH_SIZE : (key[1] - span[1] + key[2]) * HASH_SIZE]
            for key, span in spans.items()
        }
    except (LookupError, BadHashLength):
        read = cursor.hash_runs(plan.ranges)
    return build(TileHashSource(_Read(read, cursor), memory))


def _spans(ranges: Sequence[tuple[int, int, int]]) -> dict[tuple[int, int, int], tuple[int, int, int]]:
    """Each range and the range read for it: the leaf ranges in one tile share one span, first to last."""
    bounds: dict[int, tuple[int, int]] = {}
    for level, first, count in ranges:
        if not level:
            lo, hi = bounds.get(first >> TILE_HEIGHT, (first, first + count))
            bounds[first >> TILE_HEIGHT] = (min(lo, first), max(hi, first + count))
    spans = {}
    for level, first, count in ranges:
        if level:
            spans[level, first, count] = (level, first, count)
        else:
            lo, hi = bounds[first >> TILE_HEIGHT]
            spans[level, first, count] = (0, lo, hi - lo)
    return spans
