"""Reading stored rows for an audit, a page at a time and defensively: any row may have been
tampered with, so one that does not parse is a finding and the reading goes on past it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Notification, PersistenceError

from ledger.application import Ledger
from ledger.audit_report import Tally
from ledger.audit_source import Integration
from ledger.errors import StorageUnavailable
from ledger.log_store import Leaf, LogCursor
from ledger.sql import SqlStore
from verification.errors import VerificationError
from verification.merkle import HASH_SIZE, Frontier


class LogRows(LogCursor):
    """Paged reads of the log tables as raw rows, for an audit that must survive tampered ones."""

    def leaf_rows(self, start: int, stop: int, limit: int) -> list[Any]:
        """Up to `limit` leaf rows with index in [start, stop), in index order (gaps skipped)."""
        return self.rows(
            "SELECT * FROM {p}log_leaves WHERE leaf_index >= ? AND leaf_index < ? "
            "ORDER BY leaf_index LIMIT ?",
            (start, stop, limit),
        )

    def checkpoint_rows(self, low: int, high: int, limit: int, *, newest_first: bool = False) -> list[Any]:
        """Up to `limit` checkpoint rows with size in [low, high], smallest (or largest) first."""
        query = "SELECT * FROM {p}log_checkpoints WHERE size >= ? AND size <= ? ORDER BY size "
        return self.rows(query + ("DESC LIMIT ?" if newest_first else "LIMIT ?"), (low, high, limit))

    def events_at(self, table: str, places: list[tuple[object, int]]) -> list[Any]:
        """The stored events at these (originator id, version) places of the events table, in any
        order (ids as the table holds them: UUIDs on PostgreSQL, hex on SQLite).
        """
        found: list[Any] = []
        for start in range(0, len(places), 400):
            chunk = places[start : start + 400]
            marks = ",".join(["(?, ?)"] * len(chunk))
            # A join on the primary key, not `(id, version) IN (VALUES ...)`: SQLite scans the table
            # for that (a 200,000-credential audit took 233 s of CPU instead of 25).
            found += self.rows(
                f"WITH wanted (id, version) AS (VALUES {marks}) "  # noqa: S608
                "SELECT originator_id, originator_version, topic, state FROM wanted "
                "JOIN {p}" + table + " ON originator_id = wanted.id AND originator_version = wanted.version",
                [value for place in chunk for value in place],
            )
        return found

    def last_notification_before(self, index: int) -> int:
        """The notification id of the last leaf before `index` (0 when there is none)."""
        rows = self.rows(
            "SELECT MAX(notification_id) AS id FROM {p}log_leaves WHERE leaf_index < ?", (index,)
        )
        return int(rows[0]["id"] or 0)


def integration_state(ledger: Ledger, tally: Tally) -> Integration:
    """How far integration had gone, read defensively (the row is not append-only)."""
    with SqlStore(ledger.recorder, ledger.tlog.store.schema, LogRows).reading() as log:
        row = log.rows("SELECT * FROM {p}log_state WHERE id = 1")[0]
        try:
            position, size = int(row["position"]), int(row["size"])
        except (TypeError, ValueError) as error:
            tally.add("unreadable", f"the log's integration state does not parse: {error}")
            last = log.rows("SELECT MAX(leaf_index) AS i, MAX(notification_id) AS n FROM {p}log_leaves")[0]
            position = int(last["n"] or 0)
            size = 0 if last["i"] is None else int(last["i"]) + 1
    try:
        frontier: Frontier | None = Frontier.from_bytes(bytes(row["frontier"]))
    except (TypeError, ValueError, VerificationError) as error:
        tally.add("unreadable", f"the log's stored frontier does not parse: {error}")
        frontier = None
    return Integration(position, size, frontier)


def parse_leaf(row: Any) -> Leaf | str:
    """A leaf row as a Leaf, or why it does not parse."""
    try:
        leaf = Leaf(
            int(row["leaf_index"]),
            int(row["notification_id"]),
            str(row["stream"]),
            int(row["seq"]),
            bytes(row["leaf_hash"]),
        )
    except (TypeError, ValueError) as error:
        return str(error)
    return leaf if len(leaf.hash) == HASH_SIZE else f"the leaf hash is {len(leaf.hash)} bytes"


def read_notifications(
    ledger: Ledger, tally: Tally, start: int, stop: int, *, page: int, topics: Sequence[str] = ()
) -> tuple[list[Notification], int]:
    """Up to `page` notifications with ids in [start, stop], and the id to read on from.

    A row the library cannot even turn into a notification (a garbled originator id, say) is
    an `unreadable` finding and is skipped: the rows before it are returned, and reading goes
    on after it. It is found in O(log n) small reads.
    """
    recorder = ledger.recorder

    def select(limit: int, low: int = start, high: int = stop) -> list[Notification]:
        try:
            return list(recorder.select_notifications(start=low, limit=limit, stop=high, topics=topics))
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error

    rows = _attempt(select, page)
    if rows is not None:
        return rows, rows[-1].id + 1 if len(rows) == page else stop + 1
    fails = _first(1, page, lambda limit: _attempt(select, limit) is None)  # the bad row's rank
    good = select(fails - 1) if fails > 1 else []
    after = good[-1].id + 1 if good else start
    bad = _first(after, stop, lambda high: _attempt(select, 1, after, high) is None)  # its id
    tally.add("unreadable", f"stored event {bad} cannot be read at all")
    return good, bad + 1


def _attempt(select: Callable[..., list[Notification]], *args: int) -> list[Notification] | None:
    """The rows, or None when the library cannot read one of them."""
    try:
        return select(*args)
    except StorageUnavailable:
        raise
    except Exception:  # whatever a garbled row makes the library raise
        return None


def _first(low: int, high: int, holds: Callable[[int], bool]) -> int:
    """The smallest value in [low, high] where a monotone condition holds (high if none does)."""
    while low < high:
        middle = (low + high) // 2
        if holds(middle):
            high = middle
        else:
            low = middle + 1
    return low
