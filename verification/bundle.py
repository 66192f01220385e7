"""Offline proof bundles: everything needed to verify one credential with only the log's key.

A bundle is one JSON object (I-JSON: no duplicate keys, no floats; unknown members are refused):

    {
      "type": "LearnerLedgerBundle",
      "version": 1,
      "credential": { the signed W3C VC 2.0, with its eddsa-jcs-2022 proof },
      "salt": "<standard base64 of the 32-byte salt>",
      "entry": { the learner-stream entry (DESIGN §3): "v", "learner", "seq", "prev", "kind",
                 "credential", "issuer", "key", "commitment", "recorded_at" },
      "proof": "<C2SP tlog-proof text: the index of the entry's leaf, its inclusion proof, and the
                 signed checkpoint note>",
      "registry": [
        { "entry": { an entry of the issuing organisation's stream: "v", "organisation", "seq",
                     "prev", "kind", "data", "recorded_at" },
          "proof": "<tlog-proof text of that entry against the SAME checkpoint note>" },
        ... every entry of the organisation's stream the checkpoint covers, from seq 1, in order
      ],
      "status": "<the log-signed status note (verification.statements) for this credential and its
                  issuer's registry head, as of the checkpoint>",
      "consistency": { "<older tree size>": ["<base64 hash>", ...], ... }     (optional)
    }

- The leaf of an entry is `SHA-256(0x00 ‖ JCS(entry))` (RFC 9162), and `entry.commitment` is
  hex `SHA-256(salt ‖ JCS(credential))`, so the log proves the credential without holding it.
- `entry.key` is the did:key verification method `did:key:z6Mk…#z6Mk…` of the signing key; the
  credential's `proof.verificationMethod` is `<issuer DID>#z6Mk…` for the same key.
- Organisation entry kinds: `organisation-registered` (data: slug, name, kind, did), `key-added`
  (key, validFrom), `key-retired` (key, retiredAt), `key-compromised` (key, compromisedAt),
  `accreditation-granted` (kinds, scopes, validFrom, validUntil or null).
- The status note reads `learner-ledger/status/v1`, the origin, the credential id, `valid`,
  `superseded` or `revoked`, the checkpoint's size, `issuer <organisation urn> <seq> <entry hash>`
  (the issuer's registry head as of the checkpoint), and (unless valid) the StatusCredential's id.
  `registry` must end at that head: it is how a verifier knows no trailing registry entry (a later
  key retirement or compromise) was left out.
- `consistency` maps an older tree size to the RFC 9162 consistency proof from that size to the
  checkpoint's size, so a verifier who saw an older checkpoint can check the log only grew.

`verify_bundle` needs the log's pinned verifier key (whose name is the log's origin) and nothing
else: no network, no clock but the one given, and it never raises for a bad bundle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from verification.bundle_shape import Bundle, RegistryItem, assemble_bundle, parse_bundle, read_parts
from verification.checkpoint import Checkpoint
from verification.consistency_check import check_consistency
from verification.errors import MalformedBundle
from verification.issuer_checks import (
    check_commitment,
    check_key_not_compromised,
    check_proof_signature,
    credential_issuer,
)
from verification.log_checks import check_checkpoint_signature, check_inclusion, read_trusted_keys
from verification.note import Verifier
from verification.remembered_checks import issuer_checks, registry_in_log
from verification.report import CHECK_NAMES, Report, day, failed, moment, not_checked, passed
from verification.status_checks import check_status
from verification.trust import RegistryState, credential_kind, parse_instant

__all__ = ["Bundle", "RegistryItem", "assemble_bundle", "credential_summary", "parse_bundle", "verify_bundle"]

# A Check is immutable, so the one pass whose sentence never changes serves every report.
_WELL_FORMED = passed("bundle-format", "The bundle is complete and well formed.")
_NOUNS = {
    "enrolment": "enrolment",
    "assessment": "assessment result",
    "award": "award",
    "admission": "admission decision",
    "recruitment": "employment record",
}

# What to say of the simpler kinds: "<first><separator><second>" of their subject fields.
_PLAIN_FIELDS = {
    "assessment": (", ", "assessment", "result"),
    "enrolment": (" at ", "programme", "provider"),
    "recruitment": (" at ", "role", "employer"),
}


def verify_bundle(
    bundle: object,
    trusted_log_keys: Sequence[Verifier | str] | str,
    last_seen: Checkpoint | None = None,
    now: datetime | None = None,
) -> Report:
    """Verify a proof bundle (object, JSON text or bytes) offline; every outcome is in the report."""
    try:
        parts = read_parts(bundle)
    except MalformedBundle as error:
        checks = [failed("bundle-format", f"This is not a readable proof bundle: {error}.")]
        checks += [not_checked(name, "Not checked: the bundle is not readable.") for name in CHECK_NAMES[1:]]
        return Report.decide(checks, (), "", None)
    verifiers, problems = read_trusted_keys(trusted_log_keys)
    note = parts.proof.checkpoint_note
    credential, registry = parts.credential, parts.issuer_registry
    checkpoint_check, checkpoint = check_checkpoint_signature(note, verifiers, problems)
    signature_check, signed = check_proof_signature(credential, plain=parts.credential_plain)
    key_check, record, valid_check, accredited_check = issuer_checks(signed, registry, parts.registry_key)
    compromise_check, later = check_key_not_compromised(signed, record, parts.entry["recorded_at"])
    status_check, status = check_status(parts.status, verifiers, checkpoint, credential.get("id"))
    checks = [
        _WELL_FORMED,
        checkpoint_check,
        signature_check,
        key_check,
        valid_check,
        compromise_check,
        accredited_check,
        check_commitment(credential, parts.credential_bytes, parts.salt, parts.entry, signed=signed),
        check_inclusion(parts.entry_bytes, parts.proof, checkpoint),
        registry_in_log(parts, checkpoint, note, status),
        check_consistency(checkpoint, last_seen, parts.consistency),
        status_check,
    ]
    optional = set()
    if last_seen is None:
        optional.add("consistency-with-last-seen")
    kind = signed.kind if signed is not None else credential_kind(credential)  # of the same document
    if kind == "status":
        optional.add("issuer-accredited")
    now = now or datetime.now(UTC)
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    notes = [*([later] if later else []), *_expiry(credential, now)]
    headline = _headline(credential, kind, parts.entry, registry)
    return Report.decide(checks, optional, headline, checkpoint, notes)


def _headline(
    document: Mapping[str, Any], kind: str | None, entry: Mapping[str, Any], registry: RegistryState
) -> str:
    """The verdict for a credential of `kind` that passed: what it says, who issued it, when recorded."""
    subject = document.get("credentialSubject")
    subject = subject if type(subject) is dict or isinstance(subject, Mapping) else {}
    if kind == "status":
        action = "supersedes" if "supersedes" in subject else "revokes"
        noun, what = (
            ("correction" if action == "supersedes" else "revocation"),
            f"{action} {subject.get(action)}",
        )
    else:
        noun, what = _NOUNS.get(kind or "", "credential"), _describe(kind, subject)
    issuer = credential_issuer(document) or registry.did
    if registry.name and issuer == registry.did:
        issuer = f"{registry.name} ({issuer})"
    valid_from = parse_instant(document.get("validFrom"))
    recorded = parse_instant(entry.get("recorded_at"))
    parts = [what] if what else []
    parts.append(f"issued by {issuer}")
    if valid_from is not None:
        parts.append(f"valid from {day(valid_from)}")
    if recorded is not None:
        parts.append(f"recorded in the ledger at {moment(recorded)}")
    return f"This {noun} is genuine: {', '.join(parts)}."


def credential_summary(document: Mapping[str, Any]) -> str:
    """A few words of what a credential says (its award and result, programme, role …), or ''."""
    subject = document.get("credentialSubject")
    return _describe(credential_kind(document), subject if isinstance(subject, Mapping) else {})


def _describe(kind: str | None, subject: Mapping[str, Any]) -> str:
    """A few words of what the credential says, from whichever of its fields are text."""
    if kind == "award":
        results = subject.get("result")
        result = _text(results[0], "value") if isinstance(results, list) and results else ""
        return _join(", ", _text(subject.get("achievement"), "name"), result)
    if kind == "enrolment" and "outcome" in subject:
        return _join(" on ", _join(" ", "enrolment", _text(subject, "outcome")), _text(subject, "endDate"))
    if kind == "admission":
        programme = _join(" at ", _text(subject, "programme"), _text(subject, "institution"))
        return _join(" for ", _text(subject, "decision"), programme)
    separator, first, second = _PLAIN_FIELDS.get(kind or "", ("", "", ""))
    return _join(separator, _text(subject, first), _text(subject, second))


def _text(holder: object, name: str) -> str:
    value = holder.get(name) if type(holder) is dict or isinstance(holder, Mapping) else None
    return value.strip() if isinstance(value, str) else ""


def _join(separator: str, *words: str) -> str:
    return separator.join(filter(None, words))


def _expiry(document: Mapping[str, Any], now: datetime) -> list[str]:
    valid_until = parse_instant(document.get("validUntil"))
    if valid_until is None or valid_until > now:
        return []
    return [
        f"It expired on {day(valid_until)}; an expired credential is still a true record of what was issued."
    ]
