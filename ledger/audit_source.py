"""What an audit reads, behind one small Protocol: the checking code (ledger/audit*.py) runs unchanged
over the ledger's own database (ledger/audit_database.py) or over the HTTP API with an auditor token
(ledger/audit_http.py), and so reaches the same verdict either way.

A source hands over stored data as it is, tampered or not, with what only the ledger can do already
done: each entry's sealed content opened with its learner's data key, and the index claim behind it
looked up. Whatever does not parse is passed on as a problem for the checks to report, never raised.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.audit_report import Tally
from ledger.sealing import DataKey
from ledger.streams import Entry
from verification.merkle import Frontier, leaf_hash
from verification.note import Verifier

Row = dict[str, Any]
"""A stored row as read, column by column (a tampered row may hold anything)."""


@dataclass(frozen=True)
class Integration:
    """How far integration had gone: the notification id reached, the tree size, its frontier."""

    position: int
    size: int
    frontier: Frontier | None


@dataclass(frozen=True)
class Opening:
    """What a learner entry's sealed content opened to: content and salt, or why it did not."""

    content: Any = None
    salt: bytes | None = None
    problem: str | None = None
    """The sealed content does not open (a `commitment` finding)."""
    erased: bool = False
    """The learner's data key was destroyed: nothing can be opened."""
    key_problem: str | None = None
    """The learner's data key does not unwrap (an `unreadable` finding)."""
    deferred: tuple[DataKey, str, object] | None = field(default=None, repr=False, compare=False)
    """The learner's data key, the learner and the sealed content, when the source left the
    opening to the audit's worker processes (ledger/audit_pages.py); never sent over the wire.
    """


@dataclass(frozen=True)
class Anchor:
    """The index claim behind an entry: its fields, None when there is none, or why it does not parse."""

    what: str
    claim: dict[str, Any] | None
    problem: str | None = None


@dataclass(frozen=True)
class EntryHashes:
    """An entry's two hashes, of its RFC 8785 bytes: the log's leaf hash and the chain's entry hash."""

    leaf: bytes
    entry: str

    @classmethod
    def of(cls, canonical: bytes) -> EntryHashes:
        """The hashes of an entry's canonical bytes (verification.merkle's and .entries' hashes)."""
        return cls(leaf_hash(canonical), hashlib.sha256(canonical).hexdigest())


@dataclass(frozen=True)
class Record:
    """One entry-carrying stored event as an audit reads it, in notification order."""

    notification_id: int
    stream: str
    version: int
    """The row's own place in its stream (eventsourcing's originator_version): the entry's `seq`."""
    learner: bool
    entry: Entry | None
    problem: str | None = None
    """Why the row does not parse (an `unreadable` finding) when `entry` is None."""
    opening: Opening | None = None
    anchor: Anchor | None = None
    hashes: EntryHashes | None = field(default=None, repr=False, compare=False)
    """The entry's hashes, when the source already made its canonical bytes (not sent over the wire)."""


def with_opening(record: Record, opening: Opening) -> Record:
    """The record with its sealed content opened (as dataclasses.replace, without its overhead)."""
    return Record(
        record.notification_id,
        record.stream,
        record.version,
        record.learner,
        record.entry,
        record.problem,
        opening,
        record.anchor,
        record.hashes,
    )


@dataclass(frozen=True)
class Recorded:
    """A recorded credential as its index claim has it: where, its entry, and its status now."""

    learner: str
    seq: int
    entry: Entry
    state: str


class AuditSource(Protocol):
    """Everything an audit reads. Tampered data comes back as data or findings, never as exceptions."""

    origin: str
    verifier: Verifier
    max_page: int | None
    """The most items one read may ask for (a server's LEDGER_MAX_PAGE); None: no limit."""

    def integration(self, tally: Tally) -> Integration:
        """How far the log had integrated, read defensively (the row is not append-only)."""

    def head(self) -> int:
        """The newest notification id of the event store."""

    def records(
        self, start: int, stop: int, *, page: int, registry_only: bool, tally: Tally
    ) -> tuple[list[Record], int]:
        """Up to `page` entry-carrying events with ids in [start, stop], and the id to read on from."""

    def entry_before(self, stream: str, version: int) -> tuple[int | None, Entry | None]:
        """The stream's last stored event before `version`: its version (None if none) and entry."""

    def entries_before(self, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], Entry | None]:
        """For each (stream, version), the stream's entry at version - 1 (None if it does not parse),
        read together; pairs with no event at version - 1 left out (entry_before says what is there).
        """

    def recorded(self, credential: str) -> Recorded | None:
        """Where a credential is recorded, by its index claim; None when not (or unreadable)."""

    def leaf_rows(self, start: int, stop: int, limit: int) -> list[Row]:
        """Up to `limit` leaf rows with index in [start, stop), in index order."""

    def checkpoint_rows(self, low: int, high: int, limit: int, *, newest_first: bool = False) -> list[Row]:
        """Up to `limit` stored checkpoint rows with size in [low, high], smallest (or largest) first."""

    def last_notification_before(self, index: int) -> int:
        """The notification id of the last leaf before `index` (0 when there is none)."""

    def subtree_root(self, start: int, end: int) -> bytes:
        """The stored tree's root over leaves [start, end); LookupError when it cannot be read."""

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """A consistency proof from the stored tiles; LookupError or MerkleError when it cannot be made."""
