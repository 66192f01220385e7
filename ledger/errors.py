"""Errors of the ledger layer: one root, one class per refusal, each with a stable problem type."""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every refusal the ledger makes; `slug` names the problem type for the API."""

    slug = "ledger-error"
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigurationError(LedgerError):
    """Settings are missing, malformed or unsafe for the chosen mode."""

    slug = "configuration"
    status = 500


class MalformedCredential(LedgerError):
    """A credential is not a well-formed W3C VC 2.0 of a known kind."""

    slug = "malformed-credential"
    status = 422


class CredentialTooLarge(MalformedCredential):
    """A credential exceeds the size limit."""

    slug = "credential-too-large"
    status = 413


class InvalidSignature(LedgerError):
    """The credential's proof does not verify under the key it names."""

    slug = "invalid-signature"
    status = 422


class UnknownIssuer(LedgerError):
    """The credential's issuer is not a registered organisation."""

    slug = "unknown-issuer"
    status = 422


class UnknownKey(LedgerError):
    """The proof names a key that no organisation has registered."""

    slug = "unknown-key"
    status = 422


class KeyOfAnotherOrganisation(LedgerError):
    """The proof names a key registered to an organisation other than the issuer."""

    slug = "key-of-another-organisation"
    status = 422


class KeyNotValid(LedgerError):
    """The signing key was not yet valid, or already retired, at the credential's validFrom."""

    slug = "key-not-valid"
    status = 422


class KeyCompromised(LedgerError):
    """The signing key has been reported compromised."""

    slug = "key-compromised"
    status = 422


class NotAccredited(LedgerError):
    """The issuer is not accredited for the credential's kind or qualification scope."""

    slug = "not-accredited"
    status = 403


class UnknownLearner(LedgerError):
    """The credential's subject is not a registered learner."""

    slug = "unknown-learner"
    status = 422


class UnknownCredential(LedgerError):
    """A credential id names nothing the ledger holds."""

    slug = "unknown-credential"
    status = 404


class CredentialIdReused(LedgerError):
    """A different credential was already recorded under the same id."""

    slug = "credential-id-reused"
    status = 409


class WrongIssuer(LedgerError):
    """A correction or revocation comes from an issuer other than the original's."""

    slug = "wrong-issuer"
    status = 403


class InvalidULN(LedgerError):
    """A Unique Learner Number fails its format or check digit."""

    slug = "invalid-uln"
    status = 422


class DuplicateULN(LedgerError):
    """A learner with this ULN is already registered."""

    slug = "duplicate-uln"
    status = 409


class DuplicateOrganisation(LedgerError):
    """An organisation with this slug is already registered."""

    slug = "duplicate-organisation"
    status = 409


class UnknownOrganisation(LedgerError):
    """No organisation is registered under this id or slug."""

    slug = "unknown-organisation"
    status = 404


class DuplicateKey(LedgerError):
    """The key is already registered (to this or another organisation)."""

    slug = "duplicate-key"
    status = 409


class InvalidRegistryChange(LedgerError):
    """A registry change is not allowed in the registry's current state."""

    slug = "invalid-registry-change"
    status = 422


class StreamConflict(LedgerError):
    """Concurrent writers kept colliding on the same stream; the post can be retried."""

    slug = "stream-conflict"
    status = 409


class LearnerDataErased(LedgerError):
    """The learner's data key is gone, so their personal data cannot be read."""

    slug = "learner-data-erased"
    status = 410


class LearnerErased(LearnerDataErased):
    """The learner was erased: nothing more can be recorded for them or read about them."""

    slug = "learner-erased"


class StorageUnavailable(LedgerError):
    """The database cannot be reached or refused the operation."""

    slug = "storage-unavailable"
    status = 503


def describe(error: LedgerError) -> str:
    """A refusal in one line: its problem type, then what was wrong."""
    return f"[{error.slug}] {error.detail}"
