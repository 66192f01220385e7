"""The audit's source over the ledger's own database (ledger/audit_source.py): stored events decoded
defensively, sealed contents opened with the learners' data keys, index claims looked up, and the
log tables read as raw rows. The API serves this same source to external auditors (api/routes/audit.py).
"""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Notification, StoredEvent

from ledger.application import Ledger
from ledger.audit_entries import BoundedCache
from ledger.audit_report import Tally
from ledger.audit_rows import LogRows, integration_state, read_notifications
from ledger.audit_source import Anchor, Integration, Opening, Record, Recorded, Row
from ledger.errors import LearnerDataErased, LedgerError
from ledger.indexes import (
    CredentialClaim,
    ErasureClaim,
    KeyClaim,
    UlnClaim,
    credential_claim_id,
    erasure_claim_id,
    key_claim_id,
    uln_claim_id,
)
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


def carries_entry(topic: str) -> bool:
    """True for the events of learner and organisation streams (index claims carry no entry)."""
    return topic.startswith((LEARNER_TOPIC, REGISTRY_TOPIC))


class DatabaseSource:
    """An audit's reads straight from the ledger's database, one page or one entry at a time."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.origin = ledger.tlog.signer.origin
        self.verifier = ledger.tlog.signer.verifier
        self.store = SqlStore(ledger.recorder, ledger.tlog.store.schema, LogRows)
        self.keys: BoundedCache[str, DataKey | Opening] = BoundedCache(4096)
        """Recently used data keys (or why a learner has none)."""
        self.claims: dict[UUID, object] = {}
        """The claims on the current page's credentials, read in one query (`records`)."""

    def integration(self, tally: Tally) -> Integration:
        """How far the log had integrated, read defensively."""
        return integration_state(self.ledger, tally)

    def head(self) -> int:
        """The newest notification id of the event store."""
        return self.ledger.recorder.max_notification_id() or 0

    def records(
        self, start: int, stop: int, *, page: int, registry_only: bool, tally: Tally
    ) -> tuple[list[Record], int]:
        """Up to `page` events with ids in [start, stop], decoded, opened and anchored."""
        topics = REGISTRY_TOPICS if registry_only else ()
        rows, after = read_notifications(self.ledger, tally, start, stop, page=page, topics=topics)
        self.claims = self.ledger.find_many(_credential_claims(self.ledger, rows))
        found = [self.record(row) for row in rows]
        self.claims = {}
        return [record for record in found if record is not None], after

    def record(self, stored: Notification) -> Record | None:
        """The entry a stored event carries; None for events that carry none (index claims)."""
        stream, topic = _stream_urn(stored.originator_id), str(stored.topic)
        version = stored.originator_version if isinstance(stored.originator_version, int) else 0
        learner = topic.startswith(LEARNER_TOPIC)
        ident = stored.id
        try:
            event: Any = self.ledger.mapper.to_domain_event(stored)
            if version < 1:
                raise ValueError(f"its place in its stream is {stored.originator_version!r}")
        except Exception as error:  # a tampered row can fail anywhere in the library's decoding
            problem = f"stored event {ident} does not parse: {error}"
            return Record(ident, stream, version, learner, None, problem) if carries_entry(topic) else None
        entry = getattr(event, "entry", None)
        if entry is None and not carries_entry(topic):
            return None
        if not isinstance(entry, dict):
            return Record(
                ident, stream, version, learner, None, f"stored event {ident} carries no entry object"
            )
        try:
            canonical_json(entry)
        except VerificationError as error:
            return Record(ident, stream, version, learner, None, f"the entry has no canonical form: {error}")
        opening = self._open(stream, getattr(event, "sealed", None)) if learner else None
        return Record(ident, stream, version, learner, entry, None, opening, self._anchor(entry, opening))

    def entry_before(self, stream: str, version: int) -> tuple[int | None, Entry | None]:
        """The stream's last stored event before `version`, read back from the event store."""
        try:
            ident = uuid_of(stream)
        except ValueError:
            return None, None
        before = self.ledger.recorder.select_events(ident, lte=version - 1, desc=True, limit=1)
        if not before:
            return None, None
        return before[0].originator_version, _stored_entry(self.ledger, before[0])

    def recorded(self, credential: str) -> Recorded | None:
        """Where a credential is recorded, by its claim, its status, and its entry as stored."""
        try:
            claim = self.ledger.find(credential_claim_id(credential), CredentialClaim)
            if claim is None:
                return None
            stream = uuid_of(claim.learner)
            stored = self.ledger.recorder.select_events(stream, gt=claim.seq - 1, lte=claim.seq)
            entry = getattr(self.ledger.mapper.to_domain_event(stored[0]), "entry", None) if stored else None
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

    def _open(self, learner: str, sealed: object) -> Opening:
        """The content and salt sealed beside a learner's entry, or why they do not open."""
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
        try:
            opened = orjson.loads(key.open(learner, base64.b64decode(str(sealed), validate=True)))
            return Opening(opened["content"], base64.b64decode(opened["salt"], validate=True))
        except (SealBroken, ValueError, KeyError, TypeError) as error:
            return Opening(problem=str(error) or type(error).__name__)

    def _anchor(self, entry: Entry, opening: Opening | None) -> Anchor | None:
        """The index claim that pins this entry, if its kind has one."""
        kind = entry.get("kind")
        if kind == ERASURE:
            learner = str(entry.get("learner"))
            return self._claim(erasure_claim_id(learner), ErasureClaim, "the learner's erasure")
        if opening is None:
            if kind != "key-added":
                return None
            data = entry.get("data")
            key = data.get("key") if isinstance(data, dict) else None
            return self._claim(key_claim_id(str(key)), KeyClaim, f"key {key}")
        if kind != "registration":
            name = entry.get("credential")
            return self._claim(credential_claim_id(str(name)), CredentialClaim, f"credential {name}")
        if not isinstance(opening.content, dict):
            return None
        digest = self.ledger.master_key.uln_digest(str(opening.content.get("uln"))).hex()
        return self._claim(uln_claim_id(digest), UlnClaim, "the learner's ULN")

    def _claim(self, claim_id: UUID, kind: type[Any], what: str) -> Anchor:
        try:
            if claim_id in self.claims:  # read with the rest of the page
                read = self.claims[claim_id]
                if isinstance(read, Exception):
                    raise read
                claim = read if isinstance(read, kind) else None
            else:
                claim = self.ledger.find(claim_id, kind)
        except LedgerError:
            raise
        except Exception as error:  # a tampered claim event can fail anywhere in decoding
            return Anchor(what, None, f"the index claim on {what} does not parse: {error}")
        if claim is None:
            return Anchor(what, None)
        return Anchor(what, {name: value for name, value in vars(claim).items() if not name.startswith("_")})


def _credential_claims(ledger: Ledger, rows: list[Notification]) -> list[UUID]:
    """The claims on the credentials a page of events records, to read in one query (a row that
    does not decode is skipped here and reported where the audit reads it).
    """
    ids = []
    for row in rows:
        if not str(row.topic).startswith(LEARNER_TOPIC):
            continue
        try:
            entry = getattr(ledger.mapper.to_domain_event(row), "entry", None)
        except Exception:  # noqa: S112 (reported where the audit reads this row)
            continue
        if isinstance(entry, dict) and isinstance(entry.get("credential"), str):
            ids.append(credential_claim_id(entry["credential"]))
    return ids


def _stream_urn(originator_id: UUID | str) -> str:
    try:
        return urn(UUID(str(originator_id)))
    except ValueError:
        return str(originator_id)


def _stored_entry(ledger: Ledger, stored: StoredEvent) -> Entry | None:
    """The entry of a stored event read back (already audited, or before the range), or None."""
    try:
        entry = getattr(ledger.mapper.to_domain_event(stored), "entry", None)
        canonical_json(entry)
    except Exception:  # reported where the audit reads that row in its own place
        return None
    return entry if isinstance(entry, dict) else None
