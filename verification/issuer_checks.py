"""The checks of a bundle about the credential and its issuer: signature, key, accreditation, entry."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from verification.data_integrity import Proof, parse_proof, verify_parsed_proof
from verification.entries import commitment
from verification.errors import VerificationError
from verification.keys import VerifyKey
from verification.report import Check, day, failed, moment, not_checked, passed
from verification.trust import (
    SCOPED_KINDS,
    KeyRecord,
    RegistryState,
    credential_kind,
    credential_scope,
    parse_instant,
)

KIND_PLURALS = {
    "enrolment": "enrolments",
    "assessment": "assessment results",
    "award": "awards",
    "admission": "admission decisions",
    "recruitment": "employment records",
    "status": "corrections and revocations",
}
_UNSIGNED = "Not checked: the credential's signature did not verify."
# The passes whose sentence never changes: a Check is immutable, so one serves every report.
_SIGNATURE_VALID = passed("proof-signature", "The issuer's signature on the credential is valid.")
_NO_COMPROMISE = passed("key-not-compromised", "No compromise of the signing key has been reported.")
_COMMITTED = passed(
    "commitment-matches-entry", "The credential is exactly the one the ledger recorded in this entry."
)


@dataclass(frozen=True)
class SignedCredential:
    """What the verifier reads from a credential once its issuer's signature has verified."""

    document: Mapping[str, Any]
    controller: str
    """The DID part of proof.verificationMethod."""
    key: VerifyKey
    issuer: str | None
    valid_from: datetime | None
    kind: str | None
    scope: str | None


def credential_issuer(document: Mapping[str, Any]) -> str | None:
    """The credential's issuer: `issuer`, or `issuer.id`; None when it names none."""
    issuer = document.get("issuer")
    if type(issuer) is str:
        return issuer
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def signing_key_of(document: Mapping[str, Any]) -> tuple[str, VerifyKey]:
    """The controller DID and the key that proof.verificationMethod `<DID>#z6Mk…` names."""
    return _key_named(parse_proof(document))


def _key_named(proof: Proof) -> tuple[str, VerifyKey]:
    controller, _, fragment = proof.verification_method.partition("#")
    return controller, VerifyKey.from_multibase(fragment)


def check_proof_signature(
    document: Mapping[str, Any], *, plain: bool = False
) -> tuple[Check, SignedCredential | None]:
    """proof-signature: the eddsa-jcs-2022 proof verifies under the key its verificationMethod names.

    `plain`: canonical.canonical_form found the document plain (required if True; see signing_input).
    """
    name = "proof-signature"
    try:
        proof = parse_proof(document)
        controller, key = _key_named(proof)  # signing_key_of(document), the proof parsed once
    except VerificationError as error:
        return failed(
            name, f"The credential's signature is missing or damaged ({error}): do not rely on it."
        ), None
    try:
        verify_parsed_proof(document, proof, key, plain=plain)
    except VerificationError:
        return failed(name, "This credential was changed after it was signed: do not rely on it."), None
    kind = credential_kind(document)
    signed = SignedCredential(
        document=document,
        controller=controller,
        key=key,
        issuer=credential_issuer(document),
        valid_from=parse_instant(document.get("validFrom")),
        kind=kind,
        scope=credential_scope(document) if kind in SCOPED_KINDS else None,  # None for the others
    )
    return _SIGNATURE_VALID, signed


def check_key_bound(
    signed: SignedCredential | None, registry: RegistryState
) -> tuple[Check, KeyRecord | None]:
    """key-bound-to-issuer: the key belongs to the credential's issuer, as the registry records."""
    name = "key-bound-to-issuer"
    if signed is None:
        return not_checked(name, _UNSIGNED), None
    key = signed.key.multibase
    if signed.issuer is None or signed.controller != signed.issuer:
        return failed(
            name,
            f"The credential was signed on behalf of {signed.controller or 'no one'}, not its issuer "
            f"{signed.issuer or '(none named)'}: do not rely on it.",
        ), None
    if registry.did != signed.issuer:
        return failed(
            name,
            f"The registry records in this bundle are for {registry.did}, not the issuer {signed.issuer}: "
            "do not rely on it.",
        ), None
    record = registry.keys.get(key)
    if record is None:
        return failed(
            name, f"The signing key {key} is not registered to {_who(registry)}: do not rely on it."
        ), None
    return passed(name, f"The signing key is registered to the issuer, {_who(registry)}."), record


def check_key_valid(signed: SignedCredential | None, record: KeyRecord | None) -> Check:
    """key-valid-at-issue: the key's window [valid from, retired) covers the credential's validFrom."""
    name = "key-valid-at-issue"
    if signed is None or record is None:
        return not_checked(name, _UNSIGNED if signed is None else "Not checked: the signing key is unknown.")
    if signed.valid_from is None:
        return failed(name, "The credential carries no valid issue date (validFrom): do not rely on it.")
    if signed.valid_from < record.valid_from:
        return failed(
            name,
            f"The credential is dated {day(signed.valid_from)}, before its signing key came into use on "
            f"{day(record.valid_from)}: do not rely on it.",
        )
    if record.retired_at is not None and signed.valid_from >= record.retired_at:
        return failed(
            name,
            f"The credential is dated {day(signed.valid_from)}, after its signing key was retired on "
            f"{day(record.retired_at)}: do not rely on it.",
        )
    return passed(
        name, f"The signing key was in use on {day(signed.valid_from)}, when the credential was issued."
    )


def check_key_not_compromised(
    signed: SignedCredential | None, record: KeyRecord | None, recorded_at: str
) -> tuple[Check, str | None]:
    """key-not-compromised: no compromise at or before validFrom, nor before the ledger recorded it.

    The second condition is the ledger's own rule when it accepts a credential: a thief holding
    the key could backdate validFrom, but not the instant the ledger recorded the entry.
    """
    name = "key-not-compromised"
    if signed is None or record is None or signed.valid_from is None:
        return not_checked(name, _UNSIGNED if signed is None else "Not checked: no key or issue date."), None
    at = record.compromised_at
    if at is None:
        return _NO_COMPROMISE, None
    if at <= signed.valid_from:
        return failed(
            name,
            f"The signing key was reported compromised from {moment(at)}, on or before this credential's "
            f"date, {moment(signed.valid_from)}: do not rely on it.",
        ), None
    recorded = parse_instant(recorded_at)
    if recorded is None or at <= recorded:
        return failed(
            name,
            f"The signing key was reported compromised from {moment(at)}, and the ledger recorded this "
            f"credential after that, so its date cannot be trusted: do not rely on it.",
        ), None
    note = (
        f"The signing key was later reported compromised, on {day(at)}; this credential was signed and "
        "recorded before then, so it stands."
    )
    return passed(name, note), note


def check_accredited(signed: SignedCredential | None, registry: RegistryState) -> Check:
    """issuer-accredited: the issuer was accredited for the kind and scope at validFrom."""
    name = "issuer-accredited"
    if signed is None or signed.valid_from is None:
        return not_checked(
            name, _UNSIGNED if signed is None else "Not checked: the issue date is unreadable."
        )
    if signed.kind == "status":
        return not_checked(
            name, "Corrections and revocations need no accreditation: only the original issuer can post them."
        )
    if signed.kind is None:
        return failed(name, "The credential is not of a kind the ledger records: do not rely on it.")
    if signed.kind in SCOPED_KINDS and signed.scope is None:
        return failed(name, "The credential does not name the qualification it is for: do not rely on it.")
    scope = f" in {signed.scope}" if signed.scope else ""
    plural = KIND_PLURALS[signed.kind]
    when = day(signed.valid_from)
    if not registry.is_accredited(signed.kind, signed.scope, signed.valid_from):
        return failed(
            name,
            f"{_who(registry)} was not accredited to issue {plural}{scope} on {when}: do not rely on it.",
        )
    return passed(name, f"{_who(registry)} was accredited to issue {plural}{scope} on {when}.")


def check_commitment(
    document: Mapping[str, Any],
    canonical: bytes,
    salt: bytes,
    entry: Mapping[str, Any],
    *,
    signed: SignedCredential | None = None,
) -> Check:
    """commitment-matches-entry: SHA-256(salt ‖ `canonical`, the credential's RFC 8785 bytes) is the
    entry's, and its fields agree.

    `signed` is what check_proof_signature found for this document, if its signature verified:
    its key is the one signing_key_of would read again.
    """
    name = "commitment-matches-entry"
    computed = commitment(salt, canonical)
    if not hmac.compare_digest(computed.encode(), str(entry["commitment"]).encode()):
        return failed(
            name,
            "This credential is not the one the ledger recorded (its salted fingerprint differs): "
            "do not rely on it.",
        )
    disagreements = [
        field for field, value in _recorded_fields(document, signed).items() if entry.get(field) != value
    ]
    if disagreements:
        return failed(
            name,
            f"The ledger entry's {', '.join(disagreements)} do not match the credential: do not rely on it.",
        )
    return _COMMITTED


def _recorded_fields(
    document: Mapping[str, Any], signed: SignedCredential | None = None
) -> dict[str, object]:
    """What the ledger writes into an entry about a credential (ledger/posting.py)."""
    if signed is not None and signed.document is not document:
        signed = None  # what it read is of another document
    found = document.get("credentialSubject")
    subject = found if type(found) is dict or isinstance(found, Mapping) else None
    fields: dict[str, object] = {
        "credential": document.get("id"),
        "issuer": credential_issuer(document) if signed is None else signed.issuer,
        "learner": subject.get("id") if subject is not None else None,
        "kind": credential_kind(document) if signed is None else signed.kind,
    }
    if fields["kind"] == "status" and subject is not None:
        fields["kind"] = "correction" if "supersedes" in subject else "revocation"
    if signed is not None:
        fields["key"] = signed.key.verification_method
        return fields
    try:
        fields["key"] = signing_key_of(document)[1].verification_method
    except VerificationError:
        fields["key"] = None
    return fields


def _who(registry: RegistryState) -> str:
    return f"{registry.name} ({registry.did})" if registry.name else registry.did
