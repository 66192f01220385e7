"""The catalogue messages of a verdict: its title and meaning per state, each check's label and
sentence per outcome, and the kinds of credential. Extracted by `scripts/messages` like any other.
"""

from __future__ import annotations

from api.pages.i18n import N_

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
