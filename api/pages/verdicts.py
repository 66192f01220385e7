"""What a verification report means for the person reading it, in catalogue messages.

The report (verification.report) is English for machines and terminals; a page says the same thing
through the catalogues: a verdict first (genuine, revoked, corrected, altered …) with what it means
for the reader, then one sentence per check, then the technical details. The verifier's own English
sentence is kept, marked `lang="en"`, for those who want it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from api.pages.i18n import Language
from api.pages.verdict_messages import CHECKS, KINDS, VERDICTS
from ledger.application import Ledger
from ledger.indexes import CredentialClaim, credential_claim_id
from verification.bundle import credential_summary, parse_bundle
from verification.bundle_shape import Bundle
from verification.errors import VerificationError
from verification.note import parse_verifier_key
from verification.statements import StatusStatement, open_status
from verification.trust import credential_kind

_OUTCOME_COLUMN = {"pass": 1, "fail": 2, "not-checked": 3}


@dataclass(frozen=True)
class CheckLine:
    """One check as a page lists it."""

    name: str
    outcome: str
    label: str
    sentence: str
    technical: str
    """The verifier's own sentence (English)."""


@dataclass(frozen=True)
class Verdict:
    """A report made readable: the verdict, the facts of the credential, each check, the details."""

    state: str
    title: str
    meaning: str
    checks: tuple[CheckLine, ...]
    facts: dict[str, str] = field(default_factory=dict)
    """Kind, what it says, issuer, valid from, recorded at: whichever the bundle gives."""
    details: dict[str, str] = field(default_factory=dict)
    """Issuer DID, key, log index, checkpoint: for those who want them."""
    status: StatusStatement | None = None
    changed_at: str = ""
    """When the correction or revocation was recorded, when the ledger holds it."""

    @property
    def ok(self) -> bool:
        """True only for a genuine credential."""
        return self.state == "genuine"


def read_verdict(report: Mapping[str, Any], bundle: object, log_key: str, language: Language) -> Verdict:
    """The verdict of `report` (on `bundle`, if there is one) in `language`."""
    checks = tuple(_line(check, language) for check in report["checks"])
    parsed = _parsed(bundle)  # once: the status, the facts and the details all read it
    status = _status(parsed, log_key)
    state = _state(report, status)
    title, meaning = VERDICTS[state]
    return Verdict(
        state,
        language.gettext(title),
        language.gettext(meaning),
        checks,
        _facts(parsed, language),
        _details(parsed, report, language),
        status,
    )


def with_change_date(verdict: Verdict, ledger: Ledger, language: Language) -> Verdict:
    """The verdict with the date its correction or revocation was recorded, when the ledger knows it."""
    if verdict.status is None or verdict.status.by is None:
        return verdict
    claim = ledger.find(credential_claim_id(verdict.status.by), CredentialClaim)
    if claim is None:
        return verdict
    entry = ledger.learner_stream(claim.learner).entries[claim.seq - 1]
    return replace(verdict, changed_at=language.datetime(entry["recorded_at"]))


def _line(check: Mapping[str, Any], language: Language) -> CheckLine:
    name, outcome = check["name"], check["outcome"]
    messages = CHECKS.get(name)
    if messages is None:
        label, sentence = name, check["sentence"]
    else:
        label, sentence = language.gettext(messages[0]), language.gettext(messages[_OUTCOME_COLUMN[outcome]])
    return CheckLine(name, outcome, label, sentence, check["sentence"])


def _state(report: Mapping[str, Any], status: StatusStatement | None) -> str:
    """genuine, revoked, superseded, altered, unknown-issuer, not-recorded, failed or incomplete."""
    if report["ok"]:
        return "genuine"
    failed = {check["name"] for check in report["checks"] if check["outcome"] == "fail"}
    if failed == {"status"} and status is not None and status.state in ("revoked", "superseded"):
        return status.state
    for names, state in _FAILURES:
        if failed & names:
            return state
    return "failed" if failed else "incomplete"


_FAILURES = (
    ({"recorded-in-ledger"}, "not-recorded"),
    ({"proof-signature", "commitment-matches-entry", "bundle-format"}, "altered"),
    ({"key-bound-to-issuer"}, "unknown-issuer"),
)
"""Which failed checks give which verdict, the first that applies winning."""


def _parsed(bundle: object) -> Bundle | None:
    """The bundle parsed, or None when there is none or it is not a readable bundle."""
    if bundle is None:
        return None
    try:
        return parse_bundle(bundle)
    except VerificationError:
        return None


def _status(parsed: Bundle | None, log_key: str) -> StatusStatement | None:
    """The bundle's status statement, opened with the log's key; None when absent or not valid."""
    if parsed is None:
        return None
    try:
        verifier = parse_verifier_key(log_key)
        return open_status(parsed.status, verifier, verifier.name)
    except VerificationError:
        return None


def _facts(parsed: Bundle | None, language: Language) -> dict[str, str]:
    if parsed is None:
        return {}
    document, entry, registry = parsed.credential, parsed.entry, parsed.issuer_registry
    kind = credential_kind(document) or ""
    facts = {
        "kind": language.gettext(KINDS[kind]) if kind in KINDS else kind,
        "what": credential_summary(document),
        "issuer": registry.name or registry.did,
        "valid_from": language.date(document.get("validFrom")),
        "recorded_at": language.datetime(entry.get("recorded_at")),
    }
    return {name: value for name, value in facts.items() if value}


def _details(parsed: Bundle | None, report: Mapping[str, Any], language: Language) -> dict[str, str]:
    details: dict[str, str] = {}
    if parsed is not None:
        proof = parsed.credential.get("proof")
        details["credential"] = str(parsed.credential.get("id", ""))
        details["issuer"] = parsed.issuer_registry.did
        if isinstance(proof, Mapping):
            details["key"] = str(proof.get("verificationMethod", ""))
        details["leaf"] = language.number(parsed.proof.index)
    checkpoint = report.get("checkpoint")
    if isinstance(checkpoint, Mapping):
        details["origin"] = str(checkpoint["origin"])
        details["size"] = language.number(int(checkpoint["size"]))
        details["root"] = str(checkpoint["root"])
    return details
