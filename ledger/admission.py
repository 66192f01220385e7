"""The checks of a credential that read nothing a batch changes: its shape and date, its issuer, its
key, and its signature.

A batch runs them for every item before its own checks, in the same order an item always met them,
so each item is refused for the same reason as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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

    def __init__(self, ledger: Ledger, now: datetime) -> None:
        self.ledger = ledger
        self.now = now
        self.organisations: dict[str, Organisation | None] = {}

    def admit_all(self, documents: Sequence[object]) -> Iterator[Admitted | LedgerError]:
        """Each item admitted, or the refusal it meets first, in order."""
        for document in documents:
            try:
                yield self._admit(document)
            except LedgerError as error:
                yield error

    def _admit(self, document: object) -> Admitted:
        credential = parse_credential(self._as_json(document), self.ledger.max_credential_bytes)
        if credential.valid_from > self.now + MAX_FUTURE:
            raise MalformedCredential(
                f"validFrom {rfc3339(credential.valid_from)} is more than a year in the future"
            )
        organisation = self._issuer(credential.issuer)
        key = self._signing_key(credential, organisation)
        try:
            verify_parsed_proof(
                credential.document, credential.proof, VerifyKey.from_multibase(key), plain=credential.plain
            )
        except BadSignature as error:
            raise InvalidSignature(f"the proof does not verify: {error}") from error
        return Admitted(credential, organisation, key)

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
