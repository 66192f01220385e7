"""Requests and responses of the registry routes, apart from the registry's domain events.

Instants are RFC 3339 date-times with a zone (`2024-09-01T00:00:00Z`); a naive one is refused,
never guessed at. Responses give instants in the form the registry's entries record them (UTC, `Z`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.instants import Instant
from ledger.registry import ORGANISATION_KINDS, Organisation
from ledger.streams import rfc3339, urn
from projections.registry import OrganisationView


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
