"""The audit's source over the ledger's own database (ledger/audit_source.py): stored events decoded
defensively, sealed contents opened with the learners' data keys, index claims looked up, and the
log tables read as raw rows. The API serves this same source to external auditors (api/routes/audit.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from ledger.application import Ledger
from ledger.audit_claims import ClaimReader
from ledger.audit_decoding import EventDecoder, Members
from ledger.audit_entries import BoundedCache
from ledger.audit_examine import open_sealed
from ledger.audit_report import Tally
from ledger.audit_rows import LogRows, integration_state, read_notifications
from ledger.audit_source import EntryHashes, Integration, Opening, Record, Recorded, Row
from ledger.errors import LearnerDataErased, LedgerError
from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.learners import ERASURE
from ledger.log_store import TileHashSource
from ledger.sealing import DataKey, SealBroken
from ledger.sql import SqlStore
from ledger.streams import Entry, urn, uuid_of
from verification.canonical import canonical_json
from verification.errors import VerificationError
from verification.merkle import consistency_proof

LEARNER_TOPIC = "ledger.learners:"
REGISTRY_TOPIC = "ledger.registry:"
REGISTRY_TOPICS = tuple(
    f"{REGISTRY_TOPIC}Organisation.{name}"
    for name in ("Registered", "KeyAdded", "KeyRetired", "KeyCompromised", "Accredited")
)
"""The topics of every registry event (ledger/registry.py), to replay the registry alone."""


_Unanchored = tuple[int, str, int, bool, Entry | None, str | None, Opening | None, EntryHashes | None]
"""A Record's fields but its anchor: notification id, stream, version, learner, entry, problem,
opening and hashes."""


def carries_entry(topic: str) -> bool:
    """True for the events of learner and organisation streams (index claims carry no entry)."""
    return topic.startswith((LEARNER_TOPIC, REGISTRY_TOPIC))


class DatabaseSource:
    """An audit's reads straight from the ledger's database, one page or one entry at a time."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.origin = ledger.tlog.signer.origin
        self.verifier = ledger.tlog.signer.verifier
        self.max_page: int | None = None
        self.store = SqlStore(ledger.recorder, ledger.tlog.store.schema, LogRows)
        self.decoder = EventDecoder(ledger.mapper)
        self.claims = ClaimReader(ledger, self.decoder)
        self.keys: BoundedCache[str, DataKey | Opening] = BoundedCache(4096)
        """Recently used data keys (or why a learner has none)."""
        self.defer = False
        """Whether credentials' sealed contents are left to the audit's worker processes to open
        (ledger/audit_pages.py sets it when the audit has workers; registrations, whose claim needs
        their content, and erasures are opened here)."""

    def integration(self, tally: Tally) -> Integration:
        """How far the log had integrated, read defensively."""
        return integration_state(self.ledger, tally)

    def head(self) -> int:
        """The newest notification id of the event store."""
        return self.ledger.recorder.max_notification_id() or 0

    def records(
        self, start: int, stop: int, *, page: int, registry_only: bool, tally: Tally
    ) -> tuple[list[Record], int]:
        """Up to `page` events with ids in [start, stop], decoded, opened and anchored.

        Each row is decoded once; the page's data keys and index claims are read in one query each.
        """
        topics = REGISTRY_TOPICS if registry_only else ()
        rows, after = read_notifications(self.ledger, tally, start, stop, page=page, topics=topics)
        # Index claims carry no entry: not decoded here (their anchors are read with the page).
        rows = [row for row in rows if carries_entry(str(row.topic)) or not self.decoder.lacks_entry(row)]
        streams = [_stream_urn(row.originator_id) for row in rows]
        self._read_keys(
            stream
            for row, stream in zip(rows, streams, strict=True)
            if str(row.topic).startswith(LEARNER_TOPIC)
        )
        found = [
            part
            for row, stream in zip(rows, streams, strict=True)
            if (part := self._record(row, stream, self.decoder.members(row))) is not None
        ]
        anchors = self.claims.anchors([(part[4], part[6]) for part in found])
        return [
            Record(*part[:7], anchor, part[7]) for part, anchor in zip(found, anchors, strict=True)
        ], after

    def _record(self, stored: Notification, stream: str, members: Members) -> _Unanchored | None:
        """The entry a stored event carries, opened, as the fields of its Record but its anchor (the
        page's claims are read together, and a record made once); None for events that carry none
        (index claims).
        """
        topic = str(stored.topic)
        version = stored.originator_version if isinstance(stored.originator_version, int) else 0
        learner = topic.startswith(LEARNER_TOPIC)
        ident = stored.id
        if not isinstance(members, Exception) and version < 1:
            members = ValueError(f"its place in its stream is {stored.originator_version!r}")
        if isinstance(members, Exception):
            problem = f"stored event {ident} does not parse: {members}"
            return (
                (ident, stream, version, learner, None, problem, None, None) if carries_entry(topic) else None
            )
        entry, sealed = members
        if entry is None and not carries_entry(topic):
            return None
        if not isinstance(entry, dict):
            return (
                ident,
                stream,
                version,
                learner,
                None,
                f"stored event {ident} carries no entry object",
                None,
                None,
            )
        try:
            hashes = EntryHashes.of(canonical_json(entry))
        except VerificationError as error:
            problem = f"the entry has no canonical form: {error}"
            return ident, stream, version, learner, None, problem, None, None
        defer = self.defer and entry.get("kind") not in ("registration", ERASURE)
        opening = self._open(stream, sealed, defer=defer) if learner else None
        return ident, stream, version, learner, entry, None, opening, hashes

    def entry_before(self, stream: str, version: int) -> tuple[int | None, Entry | None]:
        """The stream's last stored event before `version`, read back from the event store."""
        try:
            ident = uuid_of(stream)
        except ValueError:
            return None, None
        before = self.ledger.recorder.select_events(ident, lte=version - 1, desc=True, limit=1)
        if not before:
            return None, None
        return before[0].originator_version, _stored_entry(self.decoder, before[0])

    def entries_before(self, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], Entry | None]:
        """The entry at version - 1 of each (stream, version), read in one query (chunked)."""
        places: list[tuple[object, int]] = []
        for stream, version in wanted:
            try:
                ident = uuid_of(stream)
            except ValueError:
                continue
            places.append((ident if self.store.postgres else ident.hex, version - 1))
        table = str(getattr(self.ledger.recorder, "events_table_name", "stored_events"))
        with self.store.reading() as log:
            rows = log.events_at(table, places)
        found: dict[tuple[str, int], Entry | None] = {}
        for row in rows:
            ident, version = UUID(str(row["originator_id"])), int(row["originator_version"])
            stored = StoredEvent(ident, version, row["topic"], bytes(row["state"]))
            found[urn(ident), version + 1] = _stored_entry(self.decoder, stored)
        return found

    def recorded(self, credential: str) -> Recorded | None:
        """Where a credential is recorded, by its claim, its status, and its entry as stored."""
        try:
            claim = self.ledger.find(credential_claim_id(credential), CredentialClaim)
            if claim is None:
                return None
            stream = uuid_of(claim.learner)
            stored = self.ledger.recorder.select_events(stream, gt=claim.seq - 1, lte=claim.seq)
            members = self.decoder.members(stored[0]) if stored else None
            entry = members[0] if isinstance(members, tuple) else None
        except LedgerError:
            raise
        except Exception:  # a tampered claim or entry: the caller reports the credential as not held
            return None
        return Recorded(claim.learner, claim.seq, entry, claim.state) if isinstance(entry, dict) else None

    def leaf_rows(self, start: int, stop: int, limit: int) -> list[Row]:
        """Up to `limit` leaf rows with index in [start, stop), in index order."""
        with self.store.reading() as log:
            return [dict(row) for row in log.leaf_rows(start, stop, limit)]

    def checkpoint_rows(self, low: int, high: int, limit: int, *, newest_first: bool = False) -> list[Row]:
        """Up to `limit` checkpoint rows with size in [low, high], smallest (or largest) first."""
        with self.store.reading() as log:
            return [dict(row) for row in log.checkpoint_rows(low, high, limit, newest_first=newest_first)]

    def last_notification_before(self, index: int) -> int:
        """The notification id of the last leaf before `index` (0 when there is none)."""
        with self.store.reading() as log:
            return log.last_notification_before(index)

    def subtree_root(self, start: int, end: int) -> bytes:
        """The stored tree's root over leaves [start, end), from the tiles."""
        with self.store.reading() as log:
            return TileHashSource(log).subtree_root(start, end)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """A consistency proof from the stored tiles."""
        with self.store.reading() as log:
            return consistency_proof(old_size, new_size, TileHashSource(log))

    # -- what only the ledger can do ------------------------------------------------------------

    def _read_keys(self, learners: Iterable[str]) -> None:
        """Read the data keys of the learners not in the cache in one query (those that have none, or
        whose key does not unwrap, are left to `_open`, which asks for them one by one and says why).
        """
        missing = {learner for learner in learners if self.keys.get(learner) is None}
        if missing:
            for learner, key in self.ledger.data_keys(missing).items():
                self.keys.put(learner, key)

    def _open(self, learner: str, sealed: object, *, defer: bool) -> Opening:
        """The content and salt sealed beside a learner's entry, or why they do not open; or, to
        `defer`, what a worker needs to open them (when the learner's key is there to open them with).
        """
        key = self.keys.get(learner)
        if key is None:
            try:
                key = self.ledger.data_key(learner)
            except LearnerDataErased:
                key = Opening(erased=True)
            except SealBroken as error:
                key = Opening(key_problem=str(error) or type(error).__name__)
            self.keys.put(learner, key)
        if isinstance(key, Opening):
            return key
        if defer:
            return Opening(deferred=(key, learner, sealed))
        content, salt, problem = open_sealed(key, learner, sealed)
        return Opening(problem=problem) if salt is None else Opening(content, salt)


def _stream_urn(originator_id: UUID | str) -> str:
    if isinstance(originator_id, UUID):
        return urn(originator_id)
    try:
        return urn(UUID(str(originator_id)))
    except ValueError:
        return str(originator_id)


def _stored_entry(decoder: EventDecoder, stored: StoredEvent) -> Entry | None:
    """The entry of a stored event read back (already audited, or before the range), or None."""
    members = decoder.members(stored)
    if isinstance(members, Exception):
        return None
    entry = members[0]
    try:
        canonical_json(entry)
    except Exception:  # reported where the audit reads that row in its own place
        return None
    return entry if isinstance(entry, dict) else None
