"""A log of many synthetic leaves written straight into the log tables (leaves, tiles, state), so the
proof and verify benchmarks run against ten million leaves without posting ten million credentials.

The leaves are SHA-256 of their index under the stream `synthetic` with negative notification ids
(real ones are positive), written before anything is posted: real entries integrate after them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from bench.common import Target
from ledger.application import Ledger
from ledger.log_store import TILE_WIDTH, LogState, TileHashSource
from verification.merkle import Frontier, root_from_leaves

CHUNK = TILE_WIDTH * TILE_WIDTH
"""Leaves written per statement batch: one level-2 tile's span (65,536)."""


def synthetic_hash(index: int) -> bytes:
    """The leaf hash of synthetic leaf `index`."""
    return hashlib.sha256(b"synthetic leaf " + index.to_bytes(8, "big")).digest()


def fill(target: Target, ledger: Ledger, size: int) -> None:
    """Write `size` synthetic leaves and every complete tile into an empty log, set its state, and sign
    a checkpoint (which recomputes the root from the stored tiles and compares it with the frontier).
    """
    levels: list[list[bytes]] = [[]]  # the complete tile roots of level 1, 2, ... (level 0 not kept)
    connection = target.connect()
    for start in range(0, size, CHUNK):
        hashes = [synthetic_hash(index) for index in range(start, min(size, start + CHUNK))]
        _write_leaves(target, connection, start, hashes)
        tiles = [
            (1, (start + offset) // TILE_WIDTH, root_from_leaves(hashes[offset : offset + TILE_WIDTH]))
            for offset in range(0, len(hashes) - TILE_WIDTH + 1, TILE_WIDTH)
        ]
        levels[0] += [digest for _, _, digest in tiles]
        _write_tiles(target, connection, tiles)
    level = 1
    while len(levels[level - 1]) >= TILE_WIDTH:
        below = levels[level - 1]
        nodes = [
            root_from_leaves(below[i : i + TILE_WIDTH])
            for i in range(0, len(below) - TILE_WIDTH + 1, TILE_WIDTH)
        ]
        levels.append(nodes)
        _write_tiles(target, connection, [(level + 1, index, digest) for index, digest in enumerate(nodes)])
        level += 1
    connection.close()
    with ledger.tlog.store.writing() as log:
        source = TileHashSource(log)
        frontier = Frontier(size, tuple(source.subtree_root(start, end) for start, end in _right_edge(size)))
        log.set_state(LogState(0, size, frontier))
    assert ledger.tlog.sign_checkpoint() is not None


def _right_edge(size: int) -> Iterator[tuple[int, int]]:
    """The perfect subtrees along the right edge of a tree of `size`, largest first."""
    start = 0
    for bit in reversed(range(size.bit_length())):
        if size >> bit & 1:
            yield start, start + (1 << bit)
            start += 1 << bit


def _write_leaves(target: Target, connection: object, start: int, hashes: list[bytes]) -> None:
    rows = [
        (start + i, -(start + i + 1), "synthetic", start + i + 1, digest) for i, digest in enumerate(hashes)
    ]
    if target.backend == "sqlite":
        connection.execute("BEGIN")  # type: ignore[attr-defined]
        connection.executemany(  # type: ignore[attr-defined]
            "INSERT INTO log_leaves (leaf_index, notification_id, stream, seq, leaf_hash) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute("COMMIT")  # type: ignore[attr-defined]
        return
    with connection.cursor().copy(  # type: ignore[attr-defined]
        "COPY log_leaves (leaf_index, notification_id, stream, seq, leaf_hash) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


def _write_tiles(target: Target, connection: object, tiles: list[tuple[int, int, bytes]]) -> None:
    if not tiles:
        return
    if target.backend == "sqlite":
        connection.execute("BEGIN")  # type: ignore[attr-defined]
        connection.executemany("INSERT INTO log_tiles (level, node_index, hash) VALUES (?, ?, ?)", tiles)  # type: ignore[attr-defined]
        connection.execute("COMMIT")  # type: ignore[attr-defined]
        return
    with connection.cursor().copy("COPY log_tiles (level, node_index, hash) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in tiles:
            copy.write_row(row)
