"""Request and response bodies of erasure: a learner's request and the registrar's decision."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.erasure import MAX_REASON, ErasureRequest


class ErasureAsk(BaseModel):
    """A learner asks to be erased, optionally saying why."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None,
        strict=True,
        max_length=MAX_REASON,
        description="the learner's own words; deleted when the erasure is carried out",
    )


class ErasureApproval(BaseModel):
    """The registrar approves a request: an empty object (or no body)."""

    model_config = ConfigDict(extra="forbid")


class ErasureRefusal(BaseModel):
    """The registrar refuses a request, saying why (the learner sees it)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(strict=True, min_length=1, max_length=MAX_REASON)


class ErasureRequestPublic(BaseModel):
    """An erasure request and its decision."""

    id: str
    learner: str
    requested_at: str
    reason: str | None = Field(description="the learner's words, until the erasure is carried out")
    state: Literal["requested", "refused", "completed"]
    decided_at: str | None
    decision: str | None = Field(description="`approved`, or why the registrar refused")

    @classmethod
    def of(cls, request: ErasureRequest) -> ErasureRequestPublic:
        """The public form of a stored request."""
        return cls(**vars(request))


class ErasureRequestList(BaseModel):
    """Erasure requests, oldest first."""

    requests: list[ErasureRequestPublic]
