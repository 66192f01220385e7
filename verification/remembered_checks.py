"""The checks of a bundle that every bundle of one issuer against one checkpoint shares, remembered.

Each is remembered only for a registry read through bundle_shape's cache, by the key that names
the registry's value (bundle_shape._registry_key), and by exactly the other values the check reads.
The answers (Checks and key records) are immutable, so the remembered answer is the answer.
"""

from __future__ import annotations

import functools
from datetime import datetime

from verification.bundle_shape import BundleParts, RegistryKey, remembered_registry
from verification.checkpoint import Checkpoint
from verification.issuer_checks import (
    SignedCredential,
    check_accredited,
    check_key_bound,
    check_key_valid,
)
from verification.keys import VerifyKey
from verification.log_checks import RegistryClaim, registry_claim
from verification.log_checks import registry_in_log as check_registry
from verification.report import Check
from verification.statements import StatusStatement
from verification.trust import KeyRecord, RegistryState

IssuerChecks = tuple[Check, KeyRecord | None, Check, Check]
"""key-bound-to-issuer, the signing key's record, key-valid-at-issue and issuer-accredited."""


def registry_in_log(
    parts: BundleParts, checkpoint: Checkpoint | None, note: str, status: StatusStatement | None
) -> Check:
    """log_checks.check_registry_in_log of the bundle's registry."""
    claim = registry_claim(status)
    if parts.registry_key is None or checkpoint is None or type(note) is not str:
        entries, proofs, forms = parts.registry_entries, parts.registry_proofs, parts.registry_bytes
        return check_registry(entries, proofs, checkpoint, note, claim, canonical=forms)
    return _remembered_registry_in_log(parts.registry_key, checkpoint, note, claim)


def _registry_in_log_of(
    key: RegistryKey, checkpoint: Checkpoint, note: str, claim: RegistryClaim | None
) -> Check:
    entries, proofs, forms, _ = remembered_registry(key)
    return check_registry(entries, proofs, checkpoint, note, claim, canonical=forms)


# The claim is the only part of the status statement the check reads.
_remembered_registry_in_log = functools.lru_cache(maxsize=16)(_registry_in_log_of)


def issuer_checks(
    signed: SignedCredential | None, registry: RegistryState, key: RegistryKey | None
) -> IssuerChecks:
    """The checks of the signing key and accreditation against the registry `key` names (if any)."""
    exact = signed is not None and type(signed.issuer) is type(signed.controller) is str
    if signed is None or key is None or not exact or type(signed.valid_from) not in (datetime, type(None)):
        return _issuer_checks(signed, registry)
    facts = (signed.controller, signed.issuer, signed.key, signed.valid_from, signed.kind, signed.scope)
    return _remembered_issuer_checks(key, facts)


def _issuer_checks(signed: SignedCredential | None, registry: RegistryState) -> IssuerChecks:
    key_check, record = check_key_bound(signed, registry)
    return key_check, record, check_key_valid(signed, record), check_accredited(signed, registry)


_Facts = tuple[str, str, VerifyKey, datetime | None, str | None, str | None]
"""Of a SignedCredential: controller, issuer, key, validFrom, kind and scope."""


def _issuer_checks_of(key: RegistryKey, facts: _Facts) -> IssuerChecks:
    # These checks read every field of a SignedCredential but its document.
    controller, issuer, signing_key, valid_from, kind, scope = facts
    signed = SignedCredential({}, controller, signing_key, issuer, valid_from, kind, scope)
    return _issuer_checks(signed, remembered_registry(key)[3])


# Equal instants (validFrom) read alike: the checks compare instants and name their UTC day.
_remembered_issuer_checks = functools.lru_cache(maxsize=64)(_issuer_checks_of)
