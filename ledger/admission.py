"""The checks of a credential that read nothing a batch changes: its shape and date, its issuer, its
key, and its signature.

A batch runs them for every item before its own checks, in the same order an item always met them,
so each item is refused for the same reason as before. A large batch lent a worker process
(ledger/posting_pool.py) runs every other check of every item first, sending each signature to the
worker as it goes, and then takes the worker's verdicts in order: an item the worker refuses is
verified again here, raising what it always raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger import posting_pool
from ledger.application import Ledger
from ledger.credentials import Credential, parse_credential
from ledger.errors import (
    CredentialTooLarge,
    InvalidSignature,
    KeyOfAnotherOrganisation,
    LedgerError,
    MalformedCredential,
    UnknownIssuer,
    UnknownKey,
)
from ledger.indexes import KeyClaim, key_claim_id
from ledger.posting_pool import Chunks, PostingWorker
from ledger.registry import Organisation
from ledger.streams import rfc3339
from verification.canonical import parse_json
from verification.data_integrity import verify_parsed_proof
from verification.errors import BadSignature, KeyFormatError, MalformedJSON
from verification.keys import VerifyKey

MAX_FUTURE = timedelta(days=366)
"""How far ahead of receipt a credential's validFrom may be (an offer for next year, not 2999)."""


@dataclass(frozen=True)
class Admitted:
    """A credential that passed the checks of this module: its issuer and the key that signed it."""

    credential: Credential
    organisation: Organisation
    key: str
    """The signing key's multibase form, registered to the organisation."""


class Admission:
    """The checks of this module for the items of one batch, with the issuers it has looked up."""

    def __init__(
        self,
        ledger: Ledger,
        now: datetime,
        worker: PostingWorker | None = None,
        checked: Callable[[Credential], object] = lambda credential: None,
    ) -> None:
        self.ledger = ledger
        self.now = now
        self.worker = worker
        self.checked = checked
        """Called, with a worker, for each credential that passed every check before its signature's,
        once its signature has gone to the worker."""
        self.organisations: dict[str, Organisation | None] = {}

    def admit_all(self, documents: Sequence[object]) -> Iterator[Admitted | LedgerError]:
        """Each item admitted, or the refusal it meets first, in order."""
        if self.worker is not None:
            yield from self._admit_all_with(self.worker, documents)
            return
        for document in documents:
            try:
                credential, organisation, key = self._checked(document)
                self._verify(credential, VerifyKey.from_multibase(key))
            except LedgerError as error:
                yield error
            else:
                yield Admitted(credential, organisation, key)

    def _admit_all_with(
        self, worker: PostingWorker, documents: Sequence[object]
    ) -> Iterator[Admitted | LedgerError]:
        """admit_all, the signatures checked by the worker while the next items are parsed."""
        verdicts = Chunks(worker, "verify", posting_pool.verify)
        checked: list[tuple[Admitted, VerifyKey, int] | LedgerError] = []
        for document in documents:
            try:
                credential, organisation, key = self._checked(document)
            except LedgerError as error:
                checked.append(error)
                continue
            verify_key = VerifyKey.from_multibase(key)
            index = verdicts.add(verify_key.raw, credential.proof.signature, credential.canonical)
            self.checked(credential)
            checked.append((Admitted(credential, organisation, key), verify_key, index))
        verdicts.flush()
        for item in checked:
            if isinstance(item, LedgerError):
                yield item
                continue
            admitted, verify_key, index = item
            if not verdicts.get(index):
                try:
                    self._verify(admitted.credential, verify_key)  # raises as it always did
                except LedgerError as error:
                    yield error
                    continue
            yield admitted

    def _checked(self, document: object) -> tuple[Credential, Organisation, str]:
        """Every check before the signature's: the credential, its issuer and its signing key."""
        credential = parse_credential(self._as_json(document), self.ledger.max_credential_bytes)
        if credential.valid_from > self.now + MAX_FUTURE:
            raise MalformedCredential(
                f"validFrom {rfc3339(credential.valid_from)} is more than a year in the future"
            )
        organisation = self._issuer(credential.issuer)
        return credential, organisation, self._signing_key(credential, organisation)

    @staticmethod
    def _verify(credential: Credential, key: VerifyKey) -> None:
        try:
            verify_parsed_proof(credential.document, credential.proof, key, plain=credential.plain)
        except BadSignature as error:
            raise InvalidSignature(f"the proof does not verify: {error}") from error

    def _as_json(self, document: object) -> object:
        if not isinstance(document, bytes | str):
            return document
        raw = document.encode() if isinstance(document, str) else document
        if len(raw) > self.ledger.max_credential_bytes:
            raise CredentialTooLarge(
                f"the credential is {len(raw)} bytes; the limit is {self.ledger.max_credential_bytes}"
            )
        try:
            return parse_json(raw)
        except MalformedJSON as error:
            raise MalformedCredential(f"not a JSON credential: {error}") from error

    def _issuer(self, did: str) -> Organisation:
        if did not in self.organisations:
            try:
                self.organisations[did] = self.ledger.organisation_by_did(did)
            except UnknownIssuer:
                self.organisations[did] = None
        organisation = self.organisations[did]
        if organisation is None:
            raise UnknownIssuer(f"no registered organisation has the DID {did}")
        return organisation

    def _signing_key(self, credential: Credential, organisation: Organisation) -> str:
        method = credential.proof.verification_method
        controller, _, key = method.partition("#")
        if controller != credential.issuer or not key:
            raise MalformedCredential(
                f"proof.verificationMethod must be the issuer's DID and key, "
                f"'{credential.issuer}#z6Mk…', got {method!r}"
            )
        if key in organisation.keys:
            return key
        try:
            VerifyKey.from_multibase(key)
        except KeyFormatError as error:
            raise UnknownKey(f"{key!r} is not an Ed25519 Multikey: {error}") from error
        holder = self.ledger.find(key_claim_id(key), KeyClaim)
        if holder is not None:
            raise KeyOfAnotherOrganisation(
                f"key {key} belongs to {holder.organisation}, not to the issuer {organisation.slug}"
            )
        raise UnknownKey(f"key {key} is not registered to any organisation")
