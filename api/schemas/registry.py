"""Requests and responses of the registry routes, apart from the registry's domain events.

Instants are RFC 3339 date-times with a zone (`2024-09-01T00:00:00Z`); a naive one is refused,
never guessed at. Responses give instants in the form the registry's entries record them (UTC, `Z`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from ledger.registry import ORGANISATION_KINDS, Organisation
from ledger.streams import rfc3339, urn
from projections.registry import OrganisationView

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def _rfc3339_text(value: object) -> object:
    """Admit only RFC 3339 text with a zone (not dates, epoch numbers or naive date-times)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(
            f"must be an RFC 3339 date-time with a time zone, e.g. 2024-09-01T00:00:00Z; got {value!r}"
        )
    return value


def _in_utc(value: datetime) -> datetime:
    """The same instant in UTC, the form the registry records (refusing one outside the calendar)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant falls outside the years 1 to 9999 once in UTC") from None


Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_in_utc)]
"""An RFC 3339 instant with a time zone, normalised to UTC."""


class _Request(BaseModel):
    # A misspelt optional field would otherwise be dropped silently and its default used.
    model_config = ConfigDict(extra="forbid")


class OrganisationCreate(_Request):
    """A new issuing organisation."""

    slug: str = Field(
        description="1-63 lower-case letters, digits and inner hyphens; names the organisation in its "
        "did:web and in every registry route",
        examples=["caerleon"],
        max_length=63,
    )
    name: str = Field(examples=["University of Caerleon"], max_length=300)
    kind: str = Field(json_schema_extra={"enum": list(ORGANISATION_KINDS)}, examples=["university"])


class OrganisationCreated(BaseModel):
    """A registered organisation: its stream id, slug and DID."""

    id: str = Field(
        description="the organisation's stream id (`urn:uuid:…`), as its registry entries name it"
    )
    slug: str
    did: str = Field(examples=["did:web:ledger.example:orgs:caerleon"])


class KeyAddition(_Request):
    """An Ed25519 public key for an organisation."""

    public_key_multibase: str = Field(
        description="an Ed25519 Multikey (`z6Mk…`)",
        max_length=128,
        examples=["z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"],
    )
    valid_from: Instant | None = Field(default=None, description="when the key becomes usable; default now")


class KeyRetirement(_Request):
    """Retire a key: credentials dated from `at` on are refused, earlier ones stay valid."""

    at: Instant | None = Field(default=None, description="default now")


class KeyCompromise(_Request):
    """Mark a key bad from `at`: nothing it signs dated from then on is accepted."""

    at: Instant


class AccreditationGrant(_Request):
    """Allow credential kinds within qualification scopes over a window."""

    kinds: list[str] = Field(examples=[["enrolment", "award"]])
    scopes: list[str] = Field(
        default=["*"],
        description="qualification scopes: `*`, `FHEQ`, `FHEQ:*`, `FHEQ:6`",
        examples=[["FHEQ"]],
    )
    valid_from: Instant | None = Field(default=None, description="default now")
    valid_until: Instant | None = Field(default=None, description="must be after valid_from; default open")


class KeyPublic(BaseModel):
    """A key and its validity window."""

    public_key_multibase: str
    valid_from: str
    retired_at: str | None
    compromised_at: str | None


class AccreditationPublic(BaseModel):
    """An accreditation as granted."""

    kinds: list[str]
    scopes: list[str]
    valid_from: str
    valid_until: str | None


class OrganisationPublic(BaseModel):
    """An organisation with its keys and accreditations: one row of the trust list."""

    id: str = Field(description="the organisation's stream id (`urn:uuid:…`)")
    slug: str
    name: str
    kind: str
    did: str
    keys: list[KeyPublic]
    accreditations: list[AccreditationPublic]

    @classmethod
    def of(cls, organisation: Organisation) -> OrganisationPublic:
        """The organisation as its stream stands now."""
        return cls(
            id=urn(organisation.id),
            slug=organisation.slug,
            name=organisation.name,
            kind=organisation.kind,
            did=organisation.did,
            keys=[
                KeyPublic(
                    public_key_multibase=key.multibase,
                    valid_from=rfc3339(key.valid_from),
                    retired_at=None if key.retired_at is None else rfc3339(key.retired_at),
                    compromised_at=None if key.compromised_at is None else rfc3339(key.compromised_at),
                )
                for key in organisation.keys.values()
            ],
            accreditations=[
                AccreditationPublic(
                    kinds=list(item.kinds),
                    scopes=list(item.scopes),
                    valid_from=rfc3339(item.valid_from),
                    valid_until=None if item.valid_until is None else rfc3339(item.valid_until),
                )
                for item in organisation.accreditations
            ],
        )

    @classmethod
    def of_view(cls, view: OrganisationView) -> OrganisationPublic:
        """The organisation as the registry projection knew it."""
        return cls(
            id=view.organisation,
            slug=view.slug,
            name=view.name,
            kind=view.kind,
            did=view.did,
            keys=[
                KeyPublic(
                    public_key_multibase=key.key,
                    valid_from=key.valid_from,
                    retired_at=key.retired_at,
                    compromised_at=key.compromised_at,
                )
                for key in view.keys
            ],
            accreditations=[
                AccreditationPublic(
                    kinds=list(item.kinds),
                    scopes=list(item.scopes),
                    valid_from=item.valid_from,
                    valid_until=item.valid_until,
                )
                for item in view.accreditations
            ],
        )


class TrustList(BaseModel):
    """The public trust list: every organisation, its keys with their windows, its accreditations."""

    as_of: str | None = Field(description="the instant asked for; null for the registry as it stands")
    organisations: list[OrganisationPublic]
