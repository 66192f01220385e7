"""Request and response models of the learners area: registration, streams and share grants."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.instants import Instant
from ledger.shares import ShareGrant

MAX_SHARED_CREDENTIALS = 1000


CredentialId = Annotated[str, Field(min_length=1, max_length=200)]
Contents = Literal["shown", "withheld", "erased"]
ShareState = Literal["live", "revoked", "expired"]


class LearnerCreate(BaseModel):
    """A learner to register; the ULN, name and date of birth are kept only encrypted."""

    model_config = ConfigDict(extra="forbid", strict=True)

    uln: str = Field(
        description="Unique Learner Number: 10 digits with a check digit", examples=["9276308686"]
    )
    name: str = Field(min_length=1, max_length=300, examples=["Carys Pritchard"])
    date_of_birth: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"}, examples=["2003-05-14"]
    )


class LearnerCreated(BaseModel):
    """A registered learner and their first learner token (shown once, stored only hashed)."""

    id: str = Field(description="the learner's pseudonymous id (`urn:uuid:…`)")
    token: str = Field(description="a learner token for this learner; it is not shown again")
    token_id: str = Field(description="the token's id, to revoke it")


class StreamEntry(BaseModel):
    """One entry of a learner's stream, its hash, and (for the learner) what it commits to."""

    seq: int
    hash: str = Field(description="hex SHA-256 of the entry's canonical (JCS) bytes")
    entry: dict[str, Any]
    content: dict[str, Any] | None = Field(description="the signed credential or the profile; learner only")
    salt: str | None = Field(description="base64 of the commitment's salt; learner only")


class StreamEntries(BaseModel):
    """A learner's stream with its chain and commitments re-checked."""

    learner: str
    intact: bool = Field(description="true when re-checking found nothing wrong")
    findings: list[str]
    contents: Contents = Field(
        description="shown to the learner, withheld from an auditor, or erased with the learner's key"
    )
    entries: list[StreamEntry]


class ShareCreate(BaseModel):
    """A share grant to make: who it is for, until when, and which credentials (null: all)."""

    model_config = ConfigDict(extra="forbid")

    audience: str = Field(
        strict=True, description="who the grant is for, as the learner names them", examples=["Severn HR"]
    )
    expires_at: Instant = Field(
        description="RFC 3339 instant in the future", examples=["2030-01-31T12:00:00Z"]
    )
    credentials: list[CredentialId] | None = Field(
        max_length=MAX_SHARED_CREDENTIALS,
        description="the credential ids to share, or null for the whole portfolio (required: say which)",
    )


class ShareGrantPublic(BaseModel):
    """A share grant as its learner sees it (never its secret: only a hash of it is kept)."""

    id: str
    learner: str
    audience: str
    credentials: list[str] | None = Field(description="the credential ids shared; null: the whole portfolio")
    created_at: str
    expires_at: str
    revoked_at: str | None
    state: ShareState

    @classmethod
    def of(cls, grant: ShareGrant, now: str) -> ShareGrantPublic:
        """The public view of a grant; `now` (RFC 3339 UTC, as grants store) decides if it expired."""
        state: ShareState = "revoked" if grant.revoked_at is not None else "live"
        if state == "live" and grant.expires_at <= now:
            state = "expired"
        return cls(
            id=grant.id,
            learner=grant.learner,
            audience=grant.audience,
            credentials=None if grant.credentials is None else list(grant.credentials),
            created_at=grant.created_at,
            expires_at=grant.expires_at,
            revoked_at=grant.revoked_at,
            state=state,
        )


class ShareCreated(ShareGrantPublic):
    """A new share grant with its secret and link, shown only this once."""

    secret: str
    url: str = Field(description="the link to give the audience")


class ShareList(BaseModel):
    """A learner's share grants, newest first."""

    shares: list[ShareGrantPublic]


class SharedCredential(BaseModel):
    """A credential a grant covers: its proof bundle and verification report, or why there is none."""

    id: str
    report: dict[str, Any] | None = Field(description="verify_bundle's report under the ledger's log key")
    bundle: dict[str, Any] | None = Field(description="the offline proof bundle (LearnerLedgerBundle)")
    problem: dict[str, Any] | None = Field(description="a problem object when no bundle could be made")


class SharedRecord(BaseModel):
    """What a share grant lets its holder see."""

    learner: str
    audience: str
    created_at: str
    expires_at: str
    whole_portfolio: bool
    credentials: list[SharedCredential]
