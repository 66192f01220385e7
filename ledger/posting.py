"""Posting credentials: every check of DESIGN §2 and §3, then one transaction per batch.

A batch is checked item by item: first what reads nothing the batch changes (shape, issuer, key and
signature: ledger/admission.py), then against the learners' streams and the credentials held
(including what earlier items of the same batch added); refused items leave nothing behind,
accepted ones are saved together. A write conflict with another writer re-runs the whole batch
from fresh state.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import secrets
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate

from ledger import posting_pool
from ledger.admission import Admission, Admitted
from ledger.application import Ledger
from ledger.credentials import Credential
from ledger.errors import (
    CredentialIdReused,
    KeyCompromised,
    KeyNotValid,
    LearnerDataErased,
    LearnerErased,
    LedgerError,
    MalformedCredential,
    NotAccredited,
    UnknownCredential,
    WrongIssuer,
)
from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.learners import LearnerStream
from ledger.posting_pool import Chunks, PostingWorker
from ledger.receipts import PostResult, Receipt, ReceiptSigning
from ledger.registry import Organisation
from ledger.sealing import DataKey, SealBroken
from ledger.streams import rfc3339, uuid_of
from verification.entries import commitment, entry_hash
from verification.keys import VerifyKey


def post_credential(ledger: Ledger, document: object) -> Receipt:
    """Check and record one signed credential (a dict, or its JSON bytes)."""
    result = post_batch(ledger, [document])[0]
    if isinstance(result, LedgerError):
        raise result
    return result


def post_batch(ledger: Ledger, documents: Sequence[object]) -> list[PostResult]:
    """Check and record many credentials in one transaction; one result per item, in order.

    A large batch borrows a worker process (ledger/posting_pool.py) that checks its signatures,
    seals its contents and signs its receipts while this process does the rest.
    """
    with _cycles_collected_after(), posting_pool.session(len(documents)) as worker:
        return _post(ledger, documents, worker)


def _post(ledger: Ledger, documents: Sequence[object], worker: PostingWorker | None) -> list[PostResult]:
    results: list[PostResult] = []
    batches: list[_Batch] = []
    signings: list[ReceiptSigning] = []

    def build() -> list[Aggregate]:
        batch = _Batch(ledger, worker)
        batches[:] = [batch]
        batch.prefetch(documents)
        results.clear()
        signing = ReceiptSigning(ledger, worker)
        signings[:] = [signing]
        for outcome in Admission(ledger, batch.now, worker, batch.preseal).admit_all(documents):
            if isinstance(outcome, LedgerError):
                results.append(outcome)
                continue
            try:
                receipt = batch.add(outcome)
            except LedgerError as error:
                results.append(error)
            else:
                results.append(receipt)
                signing.add(receipt)
        signing.flush()  # the last receipts are signed while the batch is saved
        return batch.changed()

    position = ledger.commit(build).position
    ledger.kept_heads.keep(batches[0].streams.items())  # as committed: the next batch starts there
    return signings[0].results(results, position)


@contextlib.contextmanager
def _cycles_collected_after() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch, which frees what it allocates by reference
    counting alone; the next allocation after it starts one collection.

    A batch keeps its items' credentials, entries, events and receipts alive until it returns (~10^4
    dicts a thousand items), so the collector ran every 700 allocations and walked them again and
    again. Left as it is when already paused (by the caller, or another thread's batch).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Batch:
    """The state one batch reads and changes, kept in memory until the batch is saved."""

    def __init__(self, ledger: Ledger, worker: PostingWorker | None = None) -> None:
        self.ledger = ledger
        self.now = ledger.clock()
        self.seals = None if worker is None else Chunks(worker, "seal", posting_pool.seal)
        """Credentials' contents sealed by the batch's worker, if it has one."""
        self.presealed: dict[int, tuple[Credential, bytes, int]] = {}
        """By `id` of the credential: the credential, its salt and its index in `seals`."""
        self.streams: dict[str, LearnerStream] = {}
        self.keys: dict[str, DataKey] = {}
        self.claims: dict[str, CredentialClaim] = {}
        self.absent: set[str] = set()
        """Credential ids the ledger held no claim on when the batch began."""
        self.claim_ids: dict[str, UUID] = {}
        """`credential_claim_id` of the credential ids prefetched (a uuid5 each, so worth keeping)."""
        self.methods: dict[str, str] = {}

    def prefetch(self, documents: Sequence[object]) -> None:
        """Read what the items will need in three queries, not a few per item: the learners' stream
        heads (their last event, no replay), their data keys, and which credential ids are taken.

        Items this misses (bytes, malformed ones) are read one by one as before.
        """
        learners: set[str] = set()
        credentials: set[str] = set()
        for document in documents:
            if not isinstance(document, dict):
                continue
            subject = document.get("credentialSubject")
            if isinstance(subject, dict) and isinstance(subject.get("id"), str):
                learners.add(subject["id"])
            if isinstance(document.get("id"), str):
                credentials.add(document["id"])
        self.streams.update(self._heads(learners))
        self.keys.update(self.ledger.data_keys(self.streams))
        self.claim_ids = {credential: credential_claim_id(credential) for credential in credentials}
        ids = {identifier: credential for credential, identifier in self.claim_ids.items()}
        taken = self.ledger.last_events(list(ids))
        self.absent = {credential for identifier, credential in ids.items() if identifier not in taken}

    def _heads(self, learners: set[str]) -> dict[str, LearnerStream]:
        """The learners' stream heads: kept from this process's last batches where the stream's last
        stored version is still the kept one (a query of versions, no states, asked only when some
        are kept), else read."""
        kept = self.ledger.kept_heads
        ids = {uuid_of(learner): learner for learner in learners if kept.holds(learner)}
        heads: dict[str, LearnerStream] = {}
        for identifier, version in self.ledger.last_versions(list(ids)).items():
            head = kept.take(ids[identifier], version)
            if head is not None:
                heads[ids[identifier]] = head
        heads.update(self.ledger.stream_heads(learners - heads.keys()))
        return heads

    def preseal(self, credential: Credential) -> None:
        """Have the batch's worker seal a credential's content with a fresh salt while the batch
        goes on, if the learner's data key was prefetched; `_record` takes it (or seals here)."""
        data_key = self.keys.get(credential.learner)
        if self.seals is None or data_key is None:
            return
        salt = secrets.token_bytes(32)
        # The plaintext Ledger.seal makes (tests open what the worker sealed and check it).
        plaintext = orjson.dumps({"content": credential.document, "salt": base64.b64encode(salt).decode()})
        index = self.seals.add(data_key, credential.learner, plaintext)
        self.presealed[id(credential)] = (credential, salt, index)

    def changed(self) -> list[Aggregate]:
        """Every aggregate with events to save."""
        streams = [stream for stream in self.streams.values() if stream.pending_events]
        return [*streams, *(claim for claim in self.claims.values() if claim.pending_events)]

    def add(self, admitted: Admitted) -> Receipt:
        """Check one admitted credential against the batch and, when every check passes, record it."""
        if self.seals is not None:
            self.seals.flush()  # the last contents go to the worker ahead of any receipt to sign
        credential, organisation, key = admitted.credential, admitted.organisation, admitted.key
        stream = self._stream(credential.learner)
        existing = self._claim(credential.id)
        if existing is not None:
            return self._repeat(credential, existing)
        self._check_key_window(organisation, key, credential.valid_from)
        if credential.kind == "status":
            self._check_status(credential)
        elif not organisation.is_accredited(credential.kind, credential.scope, credential.valid_from):
            scope = f" in scope {credential.scope}" if credential.scope else ""
            raise NotAccredited(
                f"{organisation.slug} is not accredited to issue {credential.kind} credentials"
                f"{scope} at {rfc3339(credential.valid_from)}"
            )
        return self._record(credential, stream, key)

    def _check_key_window(self, organisation: Organisation, key: str, valid_from: datetime) -> None:
        record = organisation.keys[key]
        if record.compromised_at is not None and (
            record.compromised_at <= valid_from or record.compromised_at <= self.now
        ):
            raise KeyCompromised(
                f"key {key} of {organisation.slug} was reported compromised from "
                f"{rfc3339(record.compromised_at)}; nothing it signs can be accepted now"
            )
        if valid_from < record.valid_from:
            raise KeyNotValid(
                f"key {key} is valid from {rfc3339(record.valid_from)}, after the credential's "
                f"validFrom {rfc3339(valid_from)}"
            )
        if record.retired_at is not None and valid_from >= record.retired_at:
            raise KeyNotValid(
                f"key {key} was retired at {rfc3339(record.retired_at)}; credentials dated from "
                "then on must be signed with a current key"
            )

    def _check_status(self, credential: Credential) -> None:
        assert credential.names is not None
        subject = credential.document["credentialSubject"]
        for named in filter(None, (credential.names, subject.get("replacedBy"))):
            target = self._claim(named)
            if target is None:
                raise UnknownCredential(f"{credential.action} names {named}, which the ledger does not hold")
            if target.issuer != credential.issuer:
                raise WrongIssuer(
                    f"{named} was issued by {target.issuer}; only that issuer may correct or revoke it"
                )
            if target.learner != credential.learner:
                raise MalformedCredential(f"{named} is about another learner")

    def _record(self, credential: Credential, stream: LearnerStream, key: str) -> Receipt:
        data_key = self._data_key(credential.learner)
        presealed = self.presealed.pop(id(credential), None)
        salt = secrets.token_bytes(32) if presealed is None else presealed[1]
        kind = credential.kind
        if kind == "status":
            kind = "correction" if credential.action == "supersedes" else "revocation"
        if key not in self.methods:
            self.methods[key] = VerifyKey.from_multibase(key).verification_method
        entry = stream.next_entry(
            kind,
            self.now,
            credential=credential.id,
            issuer=credential.issuer,
            key=self.methods[key],
            commitment=commitment(salt, credential.canonical),
        )
        if presealed is None:
            sealed = self.ledger.seal(data_key, credential.learner, credential.document, salt)
        else:
            assert self.seals is not None
            sealed = self.seals.get(presealed[2])
        stream.record(entry, sealed)
        hashed = stream.head  # chaining the entry hashed it; hashing is a JCS walk, so once is enough
        identifier = self.claim_ids.get(credential.id) or credential_claim_id(credential.id)
        claim = CredentialClaim.claim(
            identifier,
            credential=credential.id,
            learner=credential.learner,
            seq=entry["seq"],
            issuer=credential.issuer,
            kind=kind,
            entry_hash=hashed,
        )
        self.claims[credential.id] = claim
        if credential.action is not None and credential.names is not None:
            target = self.claims[credential.names]  # loaded by _check_status
            target.change_status(credential.action, by=credential.id)
        return Receipt(entry, hashed, duplicate=False)

    def _repeat(self, credential: Credential, claim: CredentialClaim) -> Receipt:
        """The same credential again returns its entry; a different one under its id is refused."""
        held = self._stream(claim.learner).entry_at(claim.seq)
        if held is None:  # before the tail a head holds: read the whole stream (a repeat is rare)
            held = self.ledger.learner_stream(claim.learner).entry_at(claim.seq)
        assert held is not None
        entry, sealed = held
        try:
            data_key = self._data_key(claim.learner)
            opened: dict[str, Any] = orjson.loads(data_key.open(claim.learner, base64.b64decode(sealed)))
        except (LearnerDataErased, SealBroken):
            raise CredentialIdReused(
                f"{credential.id} is already recorded and its content can no longer be compared"
            ) from None
        salt = base64.b64decode(opened["salt"])
        if commitment(salt, credential.canonical) != entry["commitment"]:
            raise CredentialIdReused(
                f"a different credential is already recorded under {credential.id}; "
                "a correction must use a new id and a StatusCredential"
            )
        return Receipt(entry, entry_hash(entry), duplicate=True)

    def _stream(self, learner: str) -> LearnerStream:
        if learner not in self.streams:
            self.streams[learner] = self.ledger.learner_stream(learner)
        stream = self.streams[learner]
        if stream.erased:
            raise LearnerErased(f"learner {learner} was erased; nothing more can be recorded for them")
        return stream

    def _data_key(self, learner: str) -> DataKey:
        if learner not in self.keys:
            self.keys[learner] = self.ledger.data_key(learner)
        return self.keys[learner]

    def _claim(self, credential: str) -> CredentialClaim | None:
        if credential in self.absent and credential not in self.claims:
            return None
        if credential not in self.claims:
            found = self.ledger.find(credential_claim_id(credential), CredentialClaim)
            if found is None:
                return None
            self.claims[credential] = found
        return self.claims[credential]
