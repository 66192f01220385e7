"""The ledger's application service: learners, their streams and reading them back.

The API and CLI call these methods (and the registry's, from `RegistryCommands`); they take and
return plain values and raise `LedgerError` subclasses for every refusal. Every write is one
transaction of the event store (`LedgerStore.commit`).
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import orjson
from eventsourcing.domain import Aggregate

from ledger.errors import (
    DuplicateULN,
    InvalidRegistryChange,
    LearnerDataErased,
    LedgerError,
    UnknownLearner,
)
from ledger.indexes import CredentialClaim, UlnClaim, credential_claim_id, uln_claim_id
from ledger.learners import LearnerStream, check_uln
from ledger.registry_commands import RegistryCommands
from ledger.sealing import DataKey, SealBroken
from ledger.storage import LearnerKeyRow
from ledger.streams import Entry, first_entry, urn, uuid_of
from verification.canonical import canonical_json
from verification.entries import check_stream, commitment, entry_hash


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
    credentials: dict[str, int]
    """Each credential the stream records, with its `seq`."""


class Ledger(RegistryCommands):
    """The ledger: trust registry, learner registration, credential posting and stream reading."""

    name = "Ledger"

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

    def data_keys(
        self, learners: Iterable[str], unwrapped: dict[LearnerKeyRow, DataKey] | None = None
    ) -> dict[str, DataKey]:
        """Many learners' data keys, unwrapped, read in one query; learners whose key is gone (or does
        not unwrap) absent.

        `unwrapped` remembers keys across calls (a rebuild's batches): a wrapped key already
        unwrapped (same learner, bytes and master key) is not unwrapped again; the wrapped keys are
        still read every call, so a key an erasure destroyed is absent from then on.
        """
        memo: dict[LearnerKeyRow, DataKey] = {} if unwrapped is None else unwrapped
        keys: dict[str, DataKey] = {}
        for learner, row in self._recorder().select_learner_key_rows(sorted(set(learners))).items():
            key = memo.get(row)
            if key is None:
                try:
                    key = self.master_key.unwrap(learner, row.wrapped_key, row.master_key_id)
                except LedgerError:
                    continue  # left out; `data_key` raises it for the one who asks
                memo[row] = key
            keys[learner] = key
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
        return StreamReport(
            learner, items, anchors, findings, erased=data_key is None, credentials=dict(stream.credentials)
        )

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
