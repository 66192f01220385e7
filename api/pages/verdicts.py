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

from api.pages.i18n import N_, Language
from ledger.application import Ledger
from ledger.indexes import CredentialClaim, credential_claim_id
from verification.bundle import credential_summary, parse_bundle
from verification.errors import VerificationError
from verification.note import parse_verifier_key
from verification.statements import StatusStatement, open_status
from verification.trust import credential_kind

VERDICTS: dict[str, tuple[str, str]] = {
    "genuine": (
        N_("This credential is genuine"),
        N_(
            "It was issued by an accredited organisation, with a key valid at the time, and is recorded "
            "unchanged in the ledger. You can rely on it."
        ),
    ),
    "revoked": (
        N_("This credential was revoked"),
        N_("The issuer withdrew it. Do not rely on it."),
    ),
    "superseded": (
        N_("This result was corrected"),
        N_(
            "The issuer corrected this result, so this version is out of date. Do not rely on it: ask "
            "the holder for the corrected credential."
        ),
    ),
    "altered": (
        N_("This credential has been altered or forged"),
        N_("What it says is not what the issuer signed and the ledger recorded. Do not rely on it."),
    ),
    "unknown-issuer": (
        N_("The issuer is not known to the ledger"),
        N_(
            "It was not signed with a key the ledger's registry holds for an accredited organisation. "
            "Do not rely on it."
        ),
    ),
    "not-recorded": (
        N_("The ledger has no record of this credential"),
        N_("It may have been changed, or never issued through the ledger. Do not rely on it."),
    ),
    "failed": (
        N_("This credential did not pass verification"),
        N_("At least one check failed; the list below says which. Do not rely on it."),
    ),
    "incomplete": (
        N_("This credential could not be fully verified"),
        N_(
            "Some checks could not be made yet; the list below says which. Try again later before you "
            "rely on it."
        ),
    ),
}

CHECKS: dict[str, tuple[str, str, str, str]] = {
    # name: (label, when it passed, when it failed, when it was not checked)
    "recorded-in-ledger": (
        N_("Recorded in the ledger"),
        N_("The ledger holds exactly this credential."),
        N_("The ledger holds no such credential, or a different one under the same id."),
        N_("The ledger can no longer compare it: the learner's data was erased."),
    ),
    "bundle-format": (
        N_("Proof file readable"),
        N_("The proof file is complete and well formed."),
        N_("This is not a readable proof file."),
        N_("A credential was given rather than a proof file, so the ledger looked it up."),
    ),
    "checkpoint-signature": (
        N_("Signed by the ledger"),
        N_("The ledger's signature on its log checkpoint is valid."),
        N_("The log checkpoint is not signed by this ledger's key."),
        N_("There is no log checkpoint to check."),
    ),
    "proof-signature": (
        N_("Issuer's signature"),
        N_("The issuer's signature matches the credential's contents."),
        N_("The signature does not match the contents: the credential was changed after it was signed."),
        N_("The issuer's signature could not be checked."),
    ),
    "key-bound-to-issuer": (
        N_("Issuer's key"),
        N_("The signing key belongs to the issuer, as the ledger's registry records."),
        N_("The registry does not record this key for this issuer."),
        N_("The signing key could not be checked against the registry."),
    ),
    "key-valid-at-issue": (
        N_("Key valid when issued"),
        N_("The key was valid on the date the credential was issued."),
        N_("The key was not valid on the date the credential says it was issued."),
        N_("The key's dates could not be checked."),
    ),
    "key-not-compromised": (
        N_("Key not compromised"),
        N_("The key was not reported compromised before the credential was recorded."),
        N_("The key had been reported compromised before the credential was recorded."),
        N_("Whether the key was reported compromised could not be checked."),
    ),
    "issuer-accredited": (
        N_("Issuer accredited"),
        N_("The issuer was accredited for this kind of credential at the time."),
        N_("The issuer was not accredited for this kind of credential at the time."),
        N_("Accreditation does not apply, or could not be checked."),
    ),
    "commitment-matches-entry": (
        N_("Matches the ledger's entry"),
        N_("The credential is exactly the one recorded in the ledger's entry."),
        N_("The credential differs from the one recorded in the ledger's entry."),
        N_("The ledger's entry could not be compared."),
    ),
    "inclusion-in-checkpoint": (
        N_("In the public log"),
        N_("The entry is included in the ledger's public, append-only log."),
        N_("The entry is not proven to be in the ledger's log."),
        N_("The entry is not yet in a signed log checkpoint."),
    ),
    "registry-in-log": (
        N_("Registry in the log"),
        N_("The issuer's registry records are in the same log, complete up to this checkpoint."),
        N_("The issuer's registry records are missing or not proven to be in the log."),
        N_("The issuer's registry records could not be checked."),
    ),
    "consistency-with-last-seen": (
        N_("Log never rewritten"),
        N_("The log is consistent with the one seen before: nothing was rewritten."),
        N_("The log is not consistent with the one seen before."),
        N_("Not needed: no earlier view of the log was given."),
    ),
    "status": (
        N_("Not revoked or corrected"),
        N_("The issuer has not corrected or revoked this credential."),
        N_("The issuer has corrected or revoked this credential."),
        N_("Its status could not be checked."),
    ),
}

KINDS = {
    "enrolment": N_("Enrolment"),
    "assessment": N_("Assessment result"),
    "award": N_("Award"),
    "admission": N_("Admission decision"),
    "recruitment": N_("Employment record"),
    "status": N_("Correction or revocation"),
}

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
    status = _status(bundle, log_key)
    state = _state(report, status)
    title, meaning = VERDICTS[state]
    return Verdict(
        state,
        language.gettext(title),
        language.gettext(meaning),
        checks,
        _facts(bundle, language),
        _details(bundle, report, language),
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


def _parsed(bundle: object) -> Any:
    if bundle is None:
        return None
    try:
        return parse_bundle(bundle)
    except VerificationError:
        return None


def _status(bundle: object, log_key: str) -> StatusStatement | None:
    """The bundle's status statement, opened with the log's key; None when absent or not valid."""
    parsed = _parsed(bundle)
    if parsed is None:
        return None
    try:
        verifier = parse_verifier_key(log_key)
        return open_status(parsed.status, verifier, verifier.name)
    except VerificationError:
        return None


def _facts(bundle: object, language: Language) -> dict[str, str]:
    parsed = _parsed(bundle)
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


def _details(bundle: object, report: Mapping[str, Any], language: Language) -> dict[str, str]:
    parsed = _parsed(bundle)
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
