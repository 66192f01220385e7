"""Uniqueness as aggregates: a second claim on the same id conflicts in the event store.

Saved in the same transaction as the stream they index, these make "one ULN, one learner",
"one credential id, one credential" and "one key, one organisation" atomic on every backend.
They carry no entries and are not leaves of the log; each records the hash of the entry it
points at, an anchor that pins the entry independently of its stream.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

_CREDENTIAL_NAMESPACE = uuid5(NAMESPACE_URL, "https://w3id.org/learner-ledger/credential")
_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://w3id.org/learner-ledger/key")
_ERASURE_NAMESPACE = uuid5(NAMESPACE_URL, "https://w3id.org/learner-ledger/erasure")


class UlnClaim(Aggregate):
    """A ULN (as a keyed digest, never in clear) belongs to one learner."""

    @staticmethod
    def create_id(digest: str, **_: Any) -> UUID:
        """The claim's id: the first 16 bytes of the ULN's keyed digest (hex)."""
        return uln_claim_id(digest)

    @event("Claimed")
    def __init__(self, digest: str, learner: str, entry_hash: str) -> None:
        self.learner = learner
        self.entry_hash = entry_hash
        self.released = False

    @event("Released")
    def release(self) -> None:
        """The learner was erased: the ULN may be registered again, as a new learner."""
        self.released = True

    @event("Reclaimed")
    def reclaim(self, learner: str, entry_hash: str) -> None:
        """A released ULN registered again, to a new learner."""
        self.learner = learner
        self.entry_hash = entry_hash
        self.released = False


class CredentialClaim(Aggregate):
    """A credential id belongs to one recorded credential: where it is and who issued it."""

    @staticmethod
    def create_id(credential: str, **_: Any) -> UUID:
        """The claim's id, derived from the credential id."""
        return credential_claim_id(credential)

    @event("Claimed")
    def __init__(
        self, *, credential: str, learner: str, seq: int, issuer: str, kind: str, entry_hash: str
    ) -> None:
        self.credential = credential
        self.entry_hash = entry_hash
        self.learner = learner
        self.seq = seq
        self.issuer = issuer
        self.kind = kind
        self.state = "valid"
        self.by: str | None = None

    @classmethod
    def claim(
        cls,
        identifier: UUID,
        *,
        credential: str,
        learner: str,
        seq: int,
        issuer: str,
        kind: str,
        entry_hash: str,
    ) -> CredentialClaim:
        """A new claim, as `CredentialClaim(...)` makes it, for an id already known to be
        `credential_claim_id(credential)`: the event built directly, without the library binding
        the arguments and deriving the id again (the same event class and fields, the same bytes).
        """
        claimed_class: Any = cls.Claimed  # type: ignore[attr-defined]
        claimed = claimed_class(
            originator_topic=_CREDENTIAL_CLAIM_TOPIC,
            originator_id=identifier,
            originator_version=cls.INITIAL_VERSION,
            timestamp=claimed_class.create_timestamp(),
            credential=credential,
            learner=learner,
            seq=seq,
            issuer=issuer,
            kind=kind,
            entry_hash=entry_hash,
        )
        # What replaying `claimed` does (`mutate(None)`), without filtering its fields by signature twice.
        made = cls.__new__(cls)
        made.__base_init__(identifier, cls.INITIAL_VERSION, claimed.timestamp)
        made.__init__(  # type: ignore[misc]
            credential=credential, learner=learner, seq=seq, issuer=issuer, kind=kind, entry_hash=entry_hash
        )
        made.pending_events.append(claimed)
        return made

    def change_status(self, action: str, by: str) -> None:
        """Record a correction (`supersedes`) or revocation (`revokes`) by the StatusCredential `by`.

        A revocation is final: a later correction does not bring a revoked credential back.
        """
        if self.state != "revoked":
            state = "superseded" if action == "supersedes" else "revoked"
            self._status_changed(credential=self.credential, state=state, by=by)

    @event("StatusChanged")
    def _status_changed(self, credential: str, state: str, by: str) -> None:
        self.state = state
        self.by = by


_CREDENTIAL_CLAIM_TOPIC = get_topic(CredentialClaim)


class KeyClaim(Aggregate):
    """A public key belongs to one organisation."""

    @staticmethod
    def create_id(key: str, **_: Any) -> UUID:
        """The claim's id, derived from the key's multibase form."""
        return key_claim_id(key)

    @event("Claimed")
    def __init__(self, key: str, organisation: str) -> None:
        self.key = key
        self.organisation = organisation


class ErasureClaim(Aggregate):
    """A learner was erased: pins the ErasureCompleted entry, which must be the stream's last."""

    @staticmethod
    def create_id(learner: str, **_: Any) -> UUID:
        """The claim's id, derived from the learner's id."""
        return erasure_claim_id(learner)

    @event("Claimed")
    def __init__(self, learner: str, request: str, entry_hash: str) -> None:
        self.learner = learner
        self.request = request
        self.entry_hash = entry_hash


def erasure_claim_id(learner: str) -> UUID:
    """Where the claim on a learner's erasure lives."""
    return uuid5(_ERASURE_NAMESPACE, learner)


def credential_claim_id(credential: str) -> UUID:
    """Where the claim on a credential id lives."""
    return uuid5(_CREDENTIAL_NAMESPACE, credential)


def key_claim_id(key: str) -> UUID:
    """Where the claim on a key lives."""
    return uuid5(_KEY_NAMESPACE, key)


def uln_claim_id(digest: str) -> UUID:
    """Where the claim on a ULN (given as its keyed digest, hex) lives."""
    return UUID(hex=digest[:32])
