"""The shapes of the statements the ledger accepts (DESIGN §2): W3C VC 2.0, one kind each.

`parse_credential` checks shape only: what the issuer signed, what kind it is, which learner it is
about, and the qualification scope it claims. Signatures, keys and accreditation are checked by
the application service against the registry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.errors import CredentialTooLarge, MalformedCredential
from verification.canonical import canonical_form
from verification.data_integrity import Proof, parse_proof
from verification.errors import CanonicalizationError, MalformedProof
from verification.trust import KIND_OF_TYPE

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
LEDGER_CONTEXT = "https://w3id.org/learner-ledger/v1"

_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_UUID_URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MAX_TEXT = 2000

KINDS = ("enrolment", "assessment", "award", "admission", "recruitment", "status")
ADMISSION_DECISIONS = (
    "offer",
    "conditional-offer",
    "accepted",
    "declined",
    "conditions-met",
    "withdrawn",
)
ENROLMENT_OUTCOMES = ("completed", "withdrawn", "transferred")


@dataclass(frozen=True)
class Credential:
    """A well-shaped signed credential and what the ledger reads from it."""

    id: str
    kind: str
    type_name: str
    issuer: str
    learner: str
    valid_from: datetime
    scope: str | None
    names: str | None
    """The earlier credential a StatusCredential supersedes or revokes."""
    action: str | None
    """`supersedes` or `revokes` for a StatusCredential."""
    proof: Proof
    document: dict[str, Any]
    canonical: bytes
    plain: bool = False
    """`canonical_form` found the document plain: its signing input needs no second walk."""


def is_uuid_urn(value: object) -> bool:
    """True for a lower-case `urn:uuid:` identifier."""
    return isinstance(value, str) and bool(_UUID_URN.match(value))


def parse_instant(value: object, where: str) -> datetime:
    """An RFC 3339 date-time with a time zone, or MalformedCredential naming `where`."""
    if not isinstance(value, str) or not _INSTANT.match(value):
        raise MalformedCredential(f"{where} must be an RFC 3339 date-time, got {value!r}")
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedCredential(f"{where} is not a valid date-time: {value!r}") from None
    if instant.tzinfo is None:
        raise MalformedCredential(f"{where} must carry a time zone (e.g. Z): {value!r}")
    return instant


def _refuse_unnormalised(value: object, canonical: bytes) -> None:
    """Refuse any string or key not in Unicode NFC: JCS does not normalise, so the same visible text
    could be signed, and recorded, as different bytes. Requires `canonical`, its JCS form.

    The canonical text is every key and string joined by ASCII quotes, colons, commas and brackets,
    which neither compose with nor reorder around their neighbours; so the whole text is NFC exactly
    when every string in it is. ASCII text always is. Only when the whole is not NFC does the walk
    run, to name the string.
    """
    if canonical.isascii() or unicodedata.is_normalized("NFC", canonical.decode("utf-8")):
        return
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not unicodedata.is_normalized("NFC", item):
                raise MalformedCredential(
                    f"string {item[:40]!r} is not in Unicode NFC; normalise it before signing"
                )
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def parse_credential(document: object, max_bytes: int) -> Credential:
    """Check a signed credential's VC 2.0 shape and its kind's subject fields."""
    if not isinstance(document, dict):
        raise MalformedCredential("a credential must be a JSON object")
    try:
        canonical, plain = canonical_form(document)
    except CanonicalizationError as error:
        raise MalformedCredential(str(error)) from error
    if len(canonical) > max_bytes:
        raise CredentialTooLarge(
            f"the credential is {len(canonical)} bytes in canonical form; the limit is {max_bytes}"
        )
    _refuse_unnormalised(document, canonical)
    credential_id = document.get("id")
    if not isinstance(credential_id, str) or not is_uuid_urn(credential_id):
        raise MalformedCredential(f"id must be a lower-case urn:uuid, got {credential_id!r}")
    type_name = _type_name(document)
    kind = KIND_OF_TYPE[type_name]
    issuer = _issuer(document)
    valid_from = _validity(document)
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise MalformedCredential("credentialSubject must be a single JSON object")
    learner = subject.get("id")
    if not isinstance(learner, str) or not is_uuid_urn(learner):
        raise MalformedCredential(
            "credentialSubject.id must be the learner's ledger id (urn:uuid:…), never the ULN"
        )
    scope = _SUBJECT_RULES[type_name](subject, document)
    try:
        proof = parse_proof(document)
    except MalformedProof as error:
        raise MalformedCredential(str(error)) from error
    if proof.context is not None and proof.context != document["@context"]:
        # The suite would verify a credential with contexts appended after signing; refuse it.
        raise MalformedCredential("proof @context must equal the credential's @context")
    action = None if kind != "status" else "supersedes" if "supersedes" in subject else "revokes"
    return Credential(
        id=credential_id,
        kind=kind,
        type_name=type_name,
        issuer=issuer,
        learner=learner,
        valid_from=valid_from,
        scope=scope,
        names=None if action is None else subject[action],
        action=action,
        proof=proof,
        document=document,
        canonical=canonical,
        plain=plain,
    )


def _type_name(document: Mapping[str, Any]) -> str:
    """The one credential type the ledger knows, checked against the contexts it needs."""
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_CONTEXT:
        raise MalformedCredential(f"@context must be a list starting with {VC_CONTEXT!r}")
    types = document.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise MalformedCredential("type must be a list containing 'VerifiableCredential'")
    known = [name for name in types if name in _SUBJECT_RULES]
    if len(known) != 1:
        raise MalformedCredential(f"type must name exactly one of {sorted(_SUBJECT_RULES)}, got {types!r}")
    needed = OB3_CONTEXT if KIND_OF_TYPE[known[0]] == "award" else LEDGER_CONTEXT
    if needed not in contexts:
        raise MalformedCredential(f"@context must include {needed!r} for a {known[0]}")
    return str(known[0])


def _issuer(document: Mapping[str, Any]) -> str:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not issuer.startswith("did:"):
        raise MalformedCredential("issuer must be the issuing organisation's DID (or {id: DID})")
    return issuer


def _validity(document: Mapping[str, Any]) -> datetime:
    """validFrom, after checking validUntil (when present) comes later."""
    valid_from = parse_instant(document.get("validFrom"), "validFrom")
    if "validUntil" in document:
        valid_until = parse_instant(document["validUntil"], "validUntil")
        if valid_until <= valid_from:
            raise MalformedCredential("validUntil must be later than validFrom")
    return valid_from


def _text(container: Mapping[str, Any], field: str, where: str, required: bool = True) -> None:
    value = container.get(field)
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        raise MalformedCredential(
            f"{where}.{field} must be a non-empty string of at most {_MAX_TEXT} characters"
        )


def _date(container: Mapping[str, Any], field: str, where: str, required: bool = True) -> None:
    value = container.get(field)
    if value is None and not required:
        return
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise MalformedCredential(f"{where}.{field} must be a date YYYY-MM-DD, got {value!r}") from None


def _choice(container: Mapping[str, Any], field: str, where: str, allowed: tuple[str, ...]) -> None:
    if container.get(field) not in allowed:
        raise MalformedCredential(
            f"{where}.{field} must be one of {list(allowed)}, got {container.get(field)!r}"
        )


def _alignment_scope(holder: Mapping[str, Any], where: str) -> str:
    """The qualification scope `FRAMEWORK:LEVEL` of the first Open Badges Alignment."""
    alignments = holder.get("alignment")
    if not isinstance(alignments, list) or not alignments or not isinstance(alignments[0], dict):
        raise MalformedCredential(
            f"{where}.alignment must list the qualification (targetFramework, targetCode, targetName)"
        )
    first = alignments[0]
    for field in ("targetName", "targetFramework", "targetCode"):
        _text(first, field, f"{where}.alignment[0]")
    return f"{first['targetFramework']}:{first['targetCode']}"


def _enrolment(subject: Mapping[str, Any], _: Mapping[str, Any]) -> None:
    for field in ("programme", "provider"):
        _text(subject, field, "credentialSubject")
    _date(subject, "startDate", "credentialSubject")
    _date(subject, "expectedEndDate", "credentialSubject")


def _enrolment_ended(subject: Mapping[str, Any], _: Mapping[str, Any]) -> None:
    if not is_uuid_urn(subject.get("enrolment")):
        raise MalformedCredential("credentialSubject.enrolment must be the enrolment credential's id")
    _choice(subject, "outcome", "credentialSubject", ENROLMENT_OUTCOMES)
    _date(subject, "endDate", "credentialSubject")


def _assessment(subject: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    for field in ("assessment", "result"):
        _text(subject, field, "credentialSubject")
    _text(subject, "component", "credentialSubject", required=False)
    _date(subject, "assessmentDate", "credentialSubject")
    return _alignment_scope(subject, "credentialSubject")


def _award(subject: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    achievement = subject.get("achievement")
    if not isinstance(achievement, dict):
        raise MalformedCredential("credentialSubject.achievement must be an Open Badges Achievement")
    _text(achievement, "name", "credentialSubject.achievement")
    credits = achievement.get("creditsAvailable")
    if credits is not None and (not isinstance(credits, int) or isinstance(credits, bool) or credits < 0):
        raise MalformedCredential("credentialSubject.achievement.creditsAvailable must be a whole number")
    if "awardedDate" not in document:
        raise MalformedCredential("awardedDate is required on an award (Open Badges 3.0)")
    parse_instant(document["awardedDate"], "awardedDate")
    return _alignment_scope(achievement, "credentialSubject.achievement")


def _admission(subject: Mapping[str, Any], _: Mapping[str, Any]) -> None:
    for field in ("institution", "programme"):
        _text(subject, field, "credentialSubject")
    _choice(subject, "decision", "credentialSubject", ADMISSION_DECISIONS)
    _date(subject, "decisionDate", "credentialSubject")


def _employment(subject: Mapping[str, Any], _: Mapping[str, Any]) -> None:
    for field in ("employer", "role"):
        _text(subject, field, "credentialSubject")
    _date(subject, "startDate", "credentialSubject")
    _date(subject, "endDate", "credentialSubject", required=False)
    if not isinstance(subject.get("qualificationsChecked"), bool):
        raise MalformedCredential("credentialSubject.qualificationsChecked must be true or false")


def _status(subject: Mapping[str, Any], _: Mapping[str, Any]) -> None:
    actions = [name for name in ("supersedes", "revokes") if name in subject]
    if len(actions) != 1:
        raise MalformedCredential("a StatusCredential names exactly one of supersedes or revokes")
    if not is_uuid_urn(subject[actions[0]]):
        raise MalformedCredential(f"credentialSubject.{actions[0]} must be a credential id (urn:uuid)")
    if "replacedBy" in subject and (actions[0] != "supersedes" or not is_uuid_urn(subject["replacedBy"])):
        raise MalformedCredential("credentialSubject.replacedBy is a credential id, only with supersedes")
    _text(subject, "reason", "credentialSubject")


_SUBJECT_RULES: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]] = {
    "EnrolmentCredential": _enrolment,
    "EnrolmentEndedCredential": _enrolment_ended,
    "AssessmentResultCredential": _assessment,
    "AchievementCredential": _award,
    "OpenBadgeCredential": _award,
    "AdmissionCredential": _admission,
    "EmploymentCredential": _employment,
    "StatusCredential": _status,
}
