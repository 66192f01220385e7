"""The ledger's application service: the registry, learners, posting and reading streams.

The API and CLI call these methods; they take and return plain values and raise `LedgerError`
subclasses for every refusal. Every write is one transaction of the event store.
"""

from __future__ import annotations

import base64
import contextlib
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

import orjson
from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import PersistenceError, RecordConflictError, StoredEvent

from ledger.errors import (
    DuplicateKey,
    DuplicateOrganisation,
    DuplicateULN,
    InvalidRegistryChange,
    LearnerDataErased,
    LedgerError,
    StorageUnavailable,
    StreamConflict,
    UnknownIssuer,
    UnknownLearner,
    UnknownOrganisation,
)
from ledger.indexes import (
    CredentialClaim,
    KeyClaim,
    UlnClaim,
    credential_claim_id,
    key_claim_id,
    uln_claim_id,
)
from ledger.learners import LearnerStream, check_uln
from ledger.master_keys import MasterKeyRing
from ledger.registry import ORGANISATION_KINDS, Organisation, organisation_id
from ledger.sealing import DataKey, MasterKey, SealBroken
from ledger.storage import LearnerKeyRow, LedgerRecorder
from ledger.streams import Entry, first_entry, urn, uuid_of
from verification.canonical import canonical_json
from verification.entries import check_stream, commitment, entry_hash
from verification.errors import KeyFormatError
from verification.keys import VerifyKey
from verification.trust import Accreditation

if TYPE_CHECKING:
    from ledger.access_log import AccessLog
    from ledger.erasure import ErasureStore
    from ledger.log import TransparencyLog
    from ledger.log_signer import LogSigner
    from ledger.shares import ShareStore
    from ledger.tokens import TokenStore

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ATTEMPTS = 8
T = TypeVar("T")


@dataclass(frozen=True)
class Committed:
    """What one write saved, and the event store position it reached (for read-your-writes)."""

    aggregates: list[Aggregate]
    position: int


@dataclass(frozen=True)
class StreamItem:
    """One entry of a stream as read back: its hash, the content it commits to (if readable)."""

    entry: Entry
    hash: str
    content: dict[str, Any] | None
    salt: bytes | None


@dataclass(frozen=True)
class StreamReport:
    """A learner's stream with the result of re-checking its chain and commitments."""

    learner: str
    items: list[StreamItem]
    anchors: dict[int, str]
    findings: list[str]
    erased: bool


class Ledger(Application[UUID]):
    """The ledger: trust registry, learner registration, credential posting and stream reading."""

    name = "Ledger"

    def __init__(
        self,
        env: dict[str, str],
        *,
        master_key: MasterKey | MasterKeyRing,
        did_host: str,
        max_credential_bytes: int = 64 * 1024,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        log_signer: LogSigner | None = None,
    ) -> None:
        super().__init__(env)
        self.master_key = master_key if isinstance(master_key, MasterKeyRing) else MasterKeyRing(master_key)
        self.did_host = did_host
        self.max_credential_bytes = max_credential_bytes
        self.clock = clock
        self.log_signer = log_signer
        self.after_commit: list[Callable[[], object]] = []
        """Called after every committed write (on SQLite: integrate into the log at once)."""
        self.tlog: TransparencyLog
        """The transparency log of this ledger, attached by `bootstrap.open_ledger`."""
        self.tokens: TokenStore
        """API tokens, attached by `bootstrap.open_ledger`."""
        self.shares: ShareStore
        """Learners' share grants, attached by `bootstrap.open_ledger`."""
        self.access_log: AccessLog
        """Reads of learners' data by share holders and auditors, attached by `bootstrap.open_ledger`."""
        self.erasures: ErasureStore
        """Learners' erasure requests and their decisions, attached by `bootstrap.open_ledger`."""

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save aggregates in one transaction, then run the after-commit hooks."""
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in objs:
            # Application.save would pass each through `collect_events`, whose runtime-Protocol
            # isinstance check costs ~10 µs an object on Python 3.11; these are all aggregates.
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        processing.saved_kwargs.update(kwargs)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        for hook in self.after_commit:
            # The write is committed whatever a hook does; the log follower catches up later.
            with contextlib.suppress(LedgerError):
                hook()
        return recordings

    # -- the registry -------------------------------------------------------------------------

    def did_for(self, slug: str) -> str:
        """The did:web identifier the ledger hosts for an organisation slug."""
        return f"did:web:{self.did_host}:orgs:{slug}"

    def register_organisation(self, slug: str, name: str, kind: str) -> Organisation:
        """Register an issuing organisation under a unique slug."""
        if not _SLUG.match(slug):
            raise InvalidRegistryChange(
                f"an organisation slug is 1-63 lower-case letters, digits and inner hyphens: {slug!r}"
            )
        if kind not in ORGANISATION_KINDS:
            raise InvalidRegistryChange(f"organisation kind must be one of {list(ORGANISATION_KINDS)}")
        if not name.strip():
            raise InvalidRegistryChange("an organisation needs a name")
        data = {"slug": slug, "name": name.strip(), "kind": kind, "did": self.did_for(slug)}

        def build() -> list[Aggregate]:
            if self.exists(organisation_id(slug)):
                raise DuplicateOrganisation(f"an organisation with slug {slug!r} is already registered")
            entry = first_entry(
                "organisation",
                organisation_id(slug),
                "organisation-registered",
                self.clock(),
                data=data,
            )
            return [Organisation(entry=entry)]

        return self.commit(build).aggregates[0]  # type: ignore[return-value]

    def organisation(self, slug: str) -> Organisation:
        """The organisation registered under `slug`."""
        found = self.find(organisation_id(slug), Organisation)
        if found is None:
            raise UnknownOrganisation(f"no organisation is registered with slug {slug!r}")
        return found

    def organisation_by_did(self, did: str) -> Organisation:
        """The organisation whose did:web this ledger hosts."""
        prefix = self.did_for("")
        slug = did.removeprefix(prefix) if did.startswith(prefix) else ""
        found = self.find(organisation_id(slug), Organisation) if _SLUG.match(slug) else None
        if found is None or found.did != did:
            raise UnknownIssuer(f"no registered organisation has the DID {did}")
        return found

    def add_key(self, slug: str, multibase: str, valid_from: datetime | None = None) -> Organisation:
        """Register an Ed25519 public key (Multikey `z6Mk…`) for an organisation."""
        try:
            VerifyKey.from_multibase(multibase)
        except KeyFormatError as error:
            raise InvalidRegistryChange(f"not an Ed25519 Multikey: {error}") from error

        def build() -> list[Aggregate]:
            org = self.organisation(slug)
            holder = self.find(key_claim_id(multibase), KeyClaim)
            if holder is not None:
                raise DuplicateKey(f"key {multibase} is already registered to {holder.organisation}")
            now = self.clock()
            org.add_key(multibase, valid_from or now, now)
            return [org, KeyClaim(key=multibase, organisation=urn(org.id))]

        return self.commit(build).aggregates[0]  # type: ignore[return-value]

    def retire_key(self, slug: str, multibase: str, at: datetime | None = None) -> Organisation:
        """Retire a key from an instant (default now); earlier signatures stay valid."""
        return self._change(slug, lambda org, now: org.retire_key(multibase, at or now, now))

    def compromise_key(self, slug: str, multibase: str, at: datetime) -> Organisation:
        """Mark a key compromised from an instant; signatures dated from then on are refused."""
        return self._change(slug, lambda org, now: org.compromise_key(multibase, at, now))

    def accredit(
        self,
        slug: str,
        kinds: Sequence[str],
        scopes: Sequence[str] = ("*",),
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> Organisation:
        """Accredit an organisation to issue `kinds` of credential within `scopes`."""
        from ledger.credentials import KINDS

        unknown = [kind for kind in kinds if kind not in KINDS or kind == "status"]
        if not kinds or unknown:
            raise InvalidRegistryChange(f"accreditation kinds must come from {list(KINDS[:-1])}")
        if not scopes or any(not scope.strip() for scope in scopes):
            raise InvalidRegistryChange("accreditation scopes must be non-empty (use '*' for any)")

        def change(org: Organisation, now: datetime) -> None:
            start = valid_from or now
            if valid_until is not None and valid_until <= start:
                raise InvalidRegistryChange("an accreditation must end after it starts")
            org.accredit(Accreditation(tuple(kinds), tuple(scopes), start, valid_until), now)

        return self._change(slug, change)

    def _change(self, slug: str, change: Callable[[Organisation, datetime], None]) -> Organisation:
        def build() -> list[Aggregate]:
            org = self.organisation(slug)
            change(org, self.clock())
            return [org]

        return self.commit(build).aggregates[0]  # type: ignore[return-value]

    # -- learners -----------------------------------------------------------------------------

    def register_learner(self, uln: str, name: str, date_of_birth: str) -> str:
        """Register a learner; returns their pseudonymous id (`urn:uuid:…`)."""
        check_uln(uln)
        if not name.strip():
            raise InvalidRegistryChange("a learner needs a name")
        try:
            date.fromisoformat(date_of_birth)
        except ValueError:
            raise InvalidRegistryChange(f"date of birth must be YYYY-MM-DD: {date_of_birth!r}") from None
        digest = self.master_key.uln_digest(uln).hex()
        profile = {"uln": uln, "name": name.strip(), "dateOfBirth": date_of_birth}
        learner_id = uuid4()
        learner = urn(learner_id)
        data_key = DataKey.generate()

        def build() -> list[Aggregate]:
            earlier = self.find(uln_claim_id(digest), UlnClaim)
            if earlier is not None and not earlier.released:
                raise DuplicateULN("a learner with this ULN is already registered")
            salt = secrets.token_bytes(32)
            entry = first_entry(
                "learner",
                learner_id,
                "registration",
                self.clock(),
                commitment=commitment(salt, canonical_json(profile)),
            )
            sealed = self.seal(data_key, learner, profile, salt)
            if earlier is None:
                claim = UlnClaim(digest=digest, learner=learner, entry_hash=entry_hash(entry))
            else:  # the ULN's earlier learner was erased: it starts again, as a new learner
                earlier.reclaim(learner, entry_hash(entry))
                claim = earlier
            return [LearnerStream(entry=entry, sealed=sealed), claim]

        wrapped = LearnerKeyRow(learner, self.master_key.wrap(learner, data_key), self.master_key.key_id)
        self.commit(build, learner_keys=[wrapped])
        return learner

    def learner_stream(self, learner: str) -> LearnerStream:
        """The learner's stream as stored."""
        try:
            found = self.find(uuid_of(learner), LearnerStream)
        except ValueError:
            found = None
        if found is None:
            raise UnknownLearner(f"no learner is registered as {learner!r}")
        return found

    def stream_heads(self, learners: Iterable[str]) -> dict[str, LearnerStream]:
        """The heads of many learners' streams (`LearnerStream.head_of`) in one query; unknown ones absent."""
        ids: dict[UUID, str] = {}
        for learner in learners:
            with contextlib.suppress(ValueError):
                ids[uuid_of(learner)] = learner
        heads: dict[str, LearnerStream] = {}
        for identifier, stored in self.last_events(list(ids)).items():
            last = self.mapper.to_domain_event(stored)
            if isinstance(last, LearnerStream.Event):
                heads[ids[identifier]] = LearnerStream.head_of(last)
        return heads

    def data_keys(self, learners: Iterable[str]) -> dict[str, DataKey]:
        """Many learners' data keys, unwrapped, read in one query; learners whose key is gone (or does
        not unwrap) absent."""
        keys: dict[str, DataKey] = {}
        for learner, row in self._recorder().select_learner_key_rows(sorted(set(learners))).items():
            with contextlib.suppress(LedgerError):  # left out; `data_key` raises it for the one who asks
                keys[learner] = self.master_key.unwrap(learner, row.wrapped_key, row.master_key_id)
        return keys

    def data_key(self, learner: str) -> DataKey:
        """The learner's data key, unwrapped; LearnerDataErased when it was destroyed."""
        wrapped = self._recorder().select_learner_key_row(learner)
        if wrapped is None:
            raise LearnerDataErased(f"the data key of {learner} no longer exists")
        return self.master_key.unwrap(learner, wrapped.wrapped_key, wrapped.master_key_id)

    def opened(self, learner: str, seq: int) -> tuple[dict[str, Any], bytes]:
        """What entry `seq` of a learner's stream commits to, and its salt, decrypted.

        Raises LearnerDataErased when the learner's data key was destroyed.
        """
        sealed = base64.b64decode(self.learner_stream(learner).sealed[seq - 1])
        opened = orjson.loads(self.data_key(learner).open(learner, sealed))
        return opened["content"], base64.b64decode(opened["salt"])

    def seal(self, data_key: DataKey, learner: str, content: dict[str, Any], salt: bytes) -> str:
        """Seal content and its commitment salt for a learner (base64 of the ciphertext)."""
        plaintext = orjson.dumps({"content": content, "salt": base64.b64encode(salt).decode()})
        return base64.b64encode(data_key.seal(learner, plaintext)).decode()

    def read_stream(self, learner: str) -> StreamReport:
        """Every entry of a learner's stream, its content when readable, and what re-checking found."""
        stream = self.learner_stream(learner)
        try:
            data_key: DataKey | None = self.data_key(learner)
        except LearnerDataErased:
            data_key = None
        items: list[StreamItem] = []
        openings: list[tuple[bytes, bytes] | None] = []
        findings: list[str] = []
        for entry, sealed in zip(stream.entries, stream.sealed, strict=True):
            content = None
            salt = None
            opening = None
            if data_key is not None:
                try:
                    opened = orjson.loads(data_key.open(learner, base64.b64decode(sealed)))
                    content = opened["content"]
                    salt = base64.b64decode(opened["salt"])
                    opening = (salt, canonical_json(content))
                except (SealBroken, ValueError, KeyError) as error:
                    findings.append(f"entry {entry['seq']}: sealed content does not open ({error})")
            items.append(StreamItem(entry, entry_hash(entry), content, salt))
            openings.append(opening)
        anchors = self._anchors(stream, items)
        findings += check_stream(stream.entries, openings, anchors)
        return StreamReport(learner, items, anchors, findings, erased=data_key is None)

    def _anchors(self, stream: LearnerStream, items: list[StreamItem]) -> dict[int, str]:
        """Entry hashes the index claims recorded, by `seq`: pins for every entry they know."""
        anchors: dict[int, str] = {}
        profile = items[0].content
        if profile is not None:
            uln_claim = self.find(uln_claim_id(self.master_key.uln_digest(profile["uln"]).hex()), UlnClaim)
            if uln_claim is not None and uln_claim.learner == urn(stream.id):
                anchors[1] = uln_claim.entry_hash
        for credential, seq in stream.credentials.items():
            claim = self.find(credential_claim_id(credential), CredentialClaim)
            if claim is not None and claim.learner == urn(stream.id):
                anchors[seq] = claim.entry_hash
        return anchors

    # -- storage helpers ----------------------------------------------------------------------

    def _recorder(self) -> LedgerRecorder:
        return self.recorder  # type: ignore[return-value]

    def exists(self, aggregate_id: UUID) -> bool:
        try:
            return bool(self.recorder.select_events(aggregate_id, limit=1))
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error

    def last_events(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The last stored event of each aggregate, in one query; aggregates that do not exist absent."""
        if not aggregate_ids:
            return {}
        try:
            return self._recorder().select_last_events(aggregate_ids)
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error

    def find_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, object]:
        """Many aggregates rebuilt from their events read in one query, by id: each the aggregate,
        or the exception rebuilding it raised (a tampered event can fail anywhere in decoding);
        ids with no events absent.
        """
        if not aggregate_ids:
            return {}
        try:
            stored = self._recorder().select_events_of(aggregate_ids)
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error
        found: dict[UUID, object] = {}
        for identifier, events in stored.items():
            try:
                found[identifier] = project_aggregate(None, map(self.mapper.to_domain_event, events))
            except Exception as error:  # reported by the caller as `find` would have raised it
                found[identifier] = error
        return found

    def find(self, aggregate_id: UUID, kind: type[T]) -> T | None:
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error
        return found if isinstance(found, kind) else None

    def commit(self, build: Callable[[], list[Aggregate]], **kwargs: Any) -> Committed:
        """Build (reading current state) and save in one transaction; rebuild on a write conflict."""
        for attempt in range(_ATTEMPTS):
            aggregates = build()
            try:
                recordings = self.save(*aggregates, **kwargs)
            except RecordConflictError:
                time.sleep(0.005 * (attempt + 1) * (1 + secrets.randbelow(4)))
                continue
            except PersistenceError as error:
                raise StorageUnavailable(f"the event store refused the write: {error}") from error
            position = max((recording.notification.id for recording in recordings), default=0)
            return Committed(aggregates, position)
        raise StreamConflict(f"gave up after {_ATTEMPTS} write conflicts; retry the request")
