"""The trust registry's commands: organisations, their keys and their accreditations (DESIGN §4)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from eventsourcing.domain import Aggregate

from ledger.errors import (
    DuplicateKey,
    DuplicateOrganisation,
    InvalidRegistryChange,
    UnknownIssuer,
    UnknownOrganisation,
)
from ledger.indexes import KeyClaim, key_claim_id
from ledger.registry import ORGANISATION_KINDS, Organisation, organisation_id
from ledger.store import LedgerStore
from ledger.streams import first_entry, urn
from verification.errors import KeyFormatError
from verification.keys import VerifyKey
from verification.trust import Accreditation

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class RegistryCommands(LedgerStore):
    """Registering organisations and changing their keys and accreditations, each one transaction."""

    def did_for(self, slug: str) -> str:
        """The did:web identifier the ledger hosts for an organisation slug."""
        return f"did:web:{self.did_host}:orgs:{slug}"

    def register_organisation(self, slug: str, name: str, kind: str) -> Organisation:
        """Register an issuing organisation under a unique slug."""
        if not _SLUG.match(slug):
            raise InvalidRegistryChange(
                f"an organisation slug is 1-63 lower-case letters, digits and inner hyphens: {slug!r}"
            )
        if kind not in ORGANISATION_KINDS:
            raise InvalidRegistryChange(f"organisation kind must be one of {list(ORGANISATION_KINDS)}")
        if not name.strip():
            raise InvalidRegistryChange("an organisation needs a name")
        data = {"slug": slug, "name": name.strip(), "kind": kind, "did": self.did_for(slug)}

        def build() -> list[Aggregate]:
            if self.exists(organisation_id(slug)):
                raise DuplicateOrganisation(f"an organisation with slug {slug!r} is already registered")
            entry = first_entry(
                "organisation",
                organisation_id(slug),
                "organisation-registered",
                self.clock(),
                data=data,
            )
            return [Organisation(entry=entry)]

        return self.commit(build).aggregates[0]  # type: ignore[return-value]

    def organisation(self, slug: str) -> Organisation:
        """The organisation registered under `slug`."""
        found = self.find(organisation_id(slug), Organisation)
        if found is None:
            raise UnknownOrganisation(f"no organisation is registered with slug {slug!r}")
        return found

    def organisation_by_did(self, did: str) -> Organisation:
        """The organisation whose did:web this ledger hosts."""
        prefix = self.did_for("")
        slug = did.removeprefix(prefix) if did.startswith(prefix) else ""
        found = self.find(organisation_id(slug), Organisation) if _SLUG.match(slug) else None
        if found is None or found.did != did:
            raise UnknownIssuer(f"no registered organisation has the DID {did}")
        return found

    def add_key(self, slug: str, multibase: str, valid_from: datetime | None = None) -> Organisation:
        """Register an Ed25519 public key (Multikey `z6Mk…`) for an organisation."""
        try:
            VerifyKey.from_multibase(multibase)
        except KeyFormatError as error:
            raise InvalidRegistryChange(f"not an Ed25519 Multikey: {error}") from error

        def build() -> list[Aggregate]:
            org = self.organisation(slug)
            holder = self.find(key_claim_id(multibase), KeyClaim)
            if holder is not None:
                raise DuplicateKey(f"key {multibase} is already registered to {holder.organisation}")
            now = self.clock()
            org.add_key(multibase, valid_from or now, now)
            return [org, KeyClaim(key=multibase, organisation=urn(org.id))]

        return self.commit(build).aggregates[0]  # type: ignore[return-value]

    def retire_key(self, slug: str, multibase: str, at: datetime | None = None) -> Organisation:
        """Retire a key from an instant (default now); earlier signatures stay valid."""
        return self._change(slug, lambda org, now: org.retire_key(multibase, at or now, now))

    def compromise_key(self, slug: str, multibase: str, at: datetime) -> Organisation:
        """Mark a key compromised from an instant; signatures dated from then on are refused."""
        return self._change(slug, lambda org, now: org.compromise_key(multibase, at, now))

    def accredit(
        self,
        slug: str,
        kinds: Sequence[str],
        scopes: Sequence[str] = ("*",),
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> Organisation:
        """Accredit an organisation to issue `kinds` of credential within `scopes`."""
        from ledger.credentials import KINDS

        unknown = [kind for kind in kinds if kind not in KINDS or kind == "status"]
        if not kinds or unknown:
            raise InvalidRegistryChange(f"accreditation kinds must come from {list(KINDS[:-1])}")
        if not scopes or any(not scope.strip() for scope in scopes):
            raise InvalidRegistryChange("accreditation scopes must be non-empty (use '*' for any)")

        def change(org: Organisation, now: datetime) -> None:
            start = valid_from or now
            if valid_until is not None and valid_until <= start:
                raise InvalidRegistryChange("an accreditation must end after it starts")
            org.accredit(Accreditation(tuple(kinds), tuple(scopes), start, valid_until), now)

        return self._change(slug, change)

    def _change(self, slug: str, change: Callable[[Organisation, datetime], None]) -> Organisation:
        def build() -> list[Aggregate]:
            org = self.organisation(slug)
            change(org, self.clock())
            return [org]

        return self.commit(build).aggregates[0]  # type: ignore[return-value]
