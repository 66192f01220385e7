"""The trust registry: organisations, their keys and accreditations, as chained streams.

Every registry change is an entry of the organisation's own stream, so the registry is audited
like everything else. The rules for keys and accreditations are verification.trust's, shared with
the offline verifier.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.errors import InvalidRegistryChange
from ledger.streams import ChainedStream, Entry, parse_rfc3339, rfc3339, uuid_of
from verification.trust import Accreditation, KeyRecord

ORGANISATION_KINDS = (
    "awarding-body",
    "school-college",
    "university",
    "admissions-body",
    "employer",
)
ORGANISATION_NAMESPACE = uuid5(NAMESPACE_URL, "https://w3id.org/learner-ledger/organisation")


def organisation_id(slug: str) -> UUID:
    """An organisation's stream id, fixed by its slug (so a slug is registered once)."""
    return uuid5(ORGANISATION_NAMESPACE, slug)


class Organisation(ChainedStream):
    """An issuing organisation: its DID, keys and accreditations, as recorded in its stream."""

    stream_field = "organisation"

    @staticmethod
    def create_id(entry: Entry, **_: Any) -> UUID:
        """The stream id named by the registration entry."""
        return uuid_of(entry["organisation"])

    @event("Registered")
    def __init__(self, entry: Entry) -> None:
        self.chain(entry)
        data = entry["data"]
        self.slug: str = data["slug"]
        self.name: str = data["name"]
        self.kind: str = data["kind"]
        self.did: str = data["did"]
        self.keys: dict[str, KeyRecord] = {}
        self.accreditations: list[Accreditation] = []

    def add_key(self, multibase: str, valid_from: datetime, recorded_at: datetime) -> None:
        """Register a signing key, usable from `valid_from`."""
        if multibase in self.keys:
            raise InvalidRegistryChange(f"key {multibase} is already registered to {self.slug}")
        data = {"key": multibase, "validFrom": rfc3339(valid_from)}
        self._key_added(self.next_entry("key-added", recorded_at, data=data))

    def retire_key(self, multibase: str, at: datetime, recorded_at: datetime) -> None:
        """Retire a key from `at`: signatures dated before stay valid."""
        key = self._key(multibase)
        if key.retired_at is not None:
            raise InvalidRegistryChange(f"key {multibase} was already retired at {rfc3339(key.retired_at)}")
        if at < key.valid_from:
            raise InvalidRegistryChange("a key cannot be retired before it became valid")
        data = {"key": multibase, "retiredAt": rfc3339(at)}
        self._key_retired(self.next_entry("key-retired", recorded_at, data=data))

    def compromise_key(self, multibase: str, at: datetime, recorded_at: datetime) -> None:
        """Mark a key bad from `at`: signatures dated from then on are refused."""
        key = self._key(multibase)
        if key.compromised_at is not None and key.compromised_at <= at:
            raise InvalidRegistryChange(
                f"key {multibase} is already marked compromised from {rfc3339(key.compromised_at)}"
            )
        data = {"key": multibase, "compromisedAt": rfc3339(at)}
        self._key_compromised(self.next_entry("key-compromised", recorded_at, data=data))

    def accredit(self, accreditation: Accreditation, recorded_at: datetime) -> None:
        """Grant an accreditation for kinds and scopes over a window."""
        data = {
            "kinds": list(accreditation.kinds),
            "scopes": list(accreditation.scopes),
            "validFrom": rfc3339(accreditation.valid_from),
            "validUntil": None if accreditation.valid_until is None else rfc3339(accreditation.valid_until),
        }
        self._accredited(self.next_entry("accreditation-granted", recorded_at, data=data))

    def is_accredited(self, kind: str, scope: str | None, instant: datetime) -> bool:
        """True when some accreditation covers `kind` and `scope` at `instant`."""
        return any(item.covers(kind, scope, instant) for item in self.accreditations)

    def did_document(self) -> dict[str, Any]:
        """The did:web DID document listing the keys; usable keys under assertionMethod."""
        methods = [
            {
                "id": f"{self.did}#{key.multibase}",
                "type": "Multikey",
                "controller": self.did,
                "publicKeyMultibase": key.multibase,
            }
            for key in self.keys.values()
        ]
        usable = [
            f"{self.did}#{key.multibase}"
            for key in self.keys.values()
            if key.retired_at is None and key.compromised_at is None
        ]
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": self.did,
            "verificationMethod": methods,
            "assertionMethod": usable,
        }

    def _key(self, multibase: str) -> KeyRecord:
        try:
            return self.keys[multibase]
        except KeyError:
            raise InvalidRegistryChange(f"{self.slug} has no key {multibase}") from None

    @event("KeyAdded")
    def _key_added(self, entry: Entry) -> None:
        self.chain(entry)
        data = entry["data"]
        self.keys[data["key"]] = KeyRecord(data["key"], parse_rfc3339(data["validFrom"]))

    @event("KeyRetired")
    def _key_retired(self, entry: Entry) -> None:
        self.chain(entry)
        data = entry["data"]
        old = self.keys[data["key"]]
        self.keys[data["key"]] = KeyRecord(
            old.multibase, old.valid_from, parse_rfc3339(data["retiredAt"]), old.compromised_at
        )

    @event("KeyCompromised")
    def _key_compromised(self, entry: Entry) -> None:
        self.chain(entry)
        data = entry["data"]
        old = self.keys[data["key"]]
        self.keys[data["key"]] = KeyRecord(
            old.multibase, old.valid_from, old.retired_at, parse_rfc3339(data["compromisedAt"])
        )

    @event("Accredited")
    def _accredited(self, entry: Entry) -> None:
        self.chain(entry)
        data = entry["data"]
        until = data["validUntil"]
        self.accreditations.append(
            Accreditation(
                tuple(data["kinds"]),
                tuple(data["scopes"]),
                parse_rfc3339(data["validFrom"]),
                None if until is None else parse_rfc3339(until),
            )
        )
