"""Response schemas of the learner's privacy routes: the access log and the subject-access export."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ledger.access_log import Access


class AccessRecord(BaseModel):
    """One read of the learner's data by a share holder or an auditor."""

    id: str
    at: str = Field(description="when, RFC 3339 UTC")
    actor: Literal["share", "auditor"] = Field(
        description="`share`: whoever held a share link; `auditor`: an auditor's token"
    )
    grant_id: str | None = Field(description="the share grant used (for `share`)")
    token_id: str | None = Field(description="the auditor's token id (for `auditor`)")
    audience: str | None = Field(description="the audience named on the share grant")
    what: str = Field(description="what was read: portfolio, entries, shared record, credential <id>, …")

    @classmethod
    def of(cls, access: Access) -> AccessRecord:
        """The public form of a recorded access."""
        return cls(
            id=access.id,
            at=access.at,
            actor=access.actor,
            grant_id=access.grant_id,
            token_id=access.token_id,
            audience=access.audience,
            what=access.what,
        )


class AccessLogPage(BaseModel):
    """A page of the learner's access log, newest first."""

    learner: str
    total: int = Field(description="how many reads are recorded in all")
    offset: int
    limit: int
    next_offset: int | None = Field(description="the offset of the next page; null on the last page")
    accesses: list[AccessRecord]
