"""Routes of the learners area: registration, portfolio and stream (share grants: routes/shares.py)."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.status import HTTP_201_CREATED

from api.auth import UNAUTHENTICATED, WRONG_ROLE, Role, optional_principal, require_learner, roles
from api.problems import problem_responses
from api.schemas.learners import (
    Contents,
    LearnerCreate,
    LearnerCreated,
    StreamEntries,
    StreamEntry,
)
from api.state import ledger_of, projections_of, wait_for
from ledger.application import Ledger
from ledger.errors import UnknownLearner
from ledger.learners import LearnerStream
from ledger.shares import ShareGrant
from ledger.tokens import Forbidden, NotAuthenticated, Principal
from projections.portfolio import portfolio
from projections.portfolio_view import load_items

router = APIRouter(tags=["learners"])


class LearnerNotFound(UnknownLearner):
    """The learner named in the path is not registered (the resource is missing: 404)."""

    status = 404


UNKNOWN = "no learner is registered under this id (`unknown-learner`)"
INVALID = "a parameter or the body is not valid (`invalid-request`)"


@router.post(
    "/v1/learners",
    status_code=HTTP_201_CREATED,
    response_model=LearnerCreated,
    openapi_extra=roles("registrar"),
    responses=problem_responses(
        {
            401: UNAUTHENTICATED,
            403: "the token is not a registrar's (`forbidden`)",
            409: "a learner with this ULN is already registered (`duplicate-uln`)",
            422: "the body is not valid (`invalid-request`), the ULN fails its check (`invalid-uln`), "
            "or the name or date of birth is unusable (`invalid-registry-change`)",
        }
    ),
)
def register_learner(
    body: LearnerCreate, request: Request, principal: Annotated[Principal, Role("registrar")]
) -> LearnerCreated:
    """Register a learner and issue their first learner token (shown once)."""
    ledger = ledger_of(request)
    learner = ledger.register_learner(body.uln, body.name, body.date_of_birth)
    token, granted = ledger.tokens.create("learner", learner=learner, label="issued at registration")
    return LearnerCreated(id=learner, token=token, token_id=granted.token_id)


@router.get(
    "/v1/learners/{learner}/portfolio",
    response_model=None,
    openapi_extra=roles("learner", "auditor"),
    responses=problem_responses(
        {
            401: UNAUTHENTICATED + "; send a learner or auditor token, or `?share=<secret>`",
            403: WRONG_ROLE + ", or a share grant of another learner",
            404: UNKNOWN + ", or no share grant has this secret (`share-not-found`)",
            410: "the share grant was revoked or has expired (`share-gone`)",
            422: INVALID + ", or `after` is beyond every write (`unknown-position`)",
            503: "the views did not reach `after` in time (`projections-behind`)",
        }
    ),
)
def read_portfolio(
    learner: str,
    request: Request,
    share: str | None = Query(None, description="the secret of a live share grant of this learner"),
    after: int | None = Query(
        None, ge=0, description="wait (up to 5 s) until the views include this write position"
    ),
) -> dict[str, Any]:
    """A learner's portfolio: the whole of it for the learner or an auditor, what a share covers otherwise."""
    ledger = ledger_of(request)
    grant: ShareGrant | None = None
    reader: Principal | None = None
    if share is not None:
        grant = ledger.shares.open(share)
        if grant.learner != learner:
            raise Forbidden("this share grant is for another learner")
    else:
        reader = _admit(request, learner, "this needs a learner or auditor token, or `?share=<secret>`")
        known_learner(ledger, learner)
    if after is not None:
        wait_for(request, after)
    with projections_of(request).store.reading() as view:
        items = load_items(view, learner)
    if grant is not None:
        items = [item for item in items if grant.covers(item.credential)]
    answer = portfolio(learner, items).to_json()
    if grant is not None:
        ledger.access_log.by_share(grant, "portfolio")
    elif reader is not None and reader.role == "auditor":
        ledger.access_log.by_auditor(learner, reader.token_id, "portfolio")
    return answer


@router.get(
    "/v1/learners/{learner}/entries",
    response_model=StreamEntries,
    openapi_extra=roles("learner", "auditor"),
    responses=problem_responses({401: UNAUTHENTICATED, 403: WRONG_ROLE, 404: UNKNOWN}),
)
def read_entries(learner: str, request: Request) -> StreamEntries:
    """A learner's stream with its chain re-checked; contents for the learner only."""
    principal = _admit(request, learner, "this needs a learner or auditor token")
    try:
        report = ledger_of(request).read_stream(learner)
    except UnknownLearner as error:
        raise LearnerNotFound(error.detail) from None
    # An auditor checks the chain and the commitments, but personal data is not theirs to read.
    shown = principal.role == "learner" and not report.erased
    entries = [
        StreamEntry(
            seq=item.entry["seq"],
            hash=item.hash,
            entry=item.entry,
            content=item.content if shown else None,
            salt=base64.b64encode(item.salt).decode() if shown and item.salt is not None else None,
        )
        for item in report.items
    ]
    contents: Contents = "erased" if report.erased else "shown" if shown else "withheld"
    if principal.role == "auditor":
        ledger_of(request).access_log.by_auditor(learner, principal.token_id, "entries")
    return StreamEntries(
        learner=learner,
        intact=not report.findings,
        findings=report.findings,
        contents=contents,
        entries=entries,
    )


def _admit(request: Request, learner: str, missing: str) -> Principal:
    """The learner's own token or an auditor's; 401 when none is sent, 403 for any other."""
    principal = optional_principal(request)
    if principal is None:
        raise NotAuthenticated(missing)
    if principal.role not in ("learner", "auditor"):
        raise Forbidden(f"this needs a token of role learner or auditor; yours is {principal.role}")
    require_learner(principal, learner)
    return principal


def known_learner(ledger: Ledger, learner: str) -> LearnerStream:
    """The learner's stream; 404 when no learner has this id."""
    try:
        return ledger.learner_stream(learner)
    except UnknownLearner as error:
        raise LearnerNotFound(error.detail) from None
