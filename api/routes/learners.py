"""Routes of the learners area: registration, portfolio, stream, and the learner's share grants."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.status import HTTP_201_CREATED

from api.auth import UNAUTHENTICATED, WRONG_ROLE, Role, optional_principal, require_learner, roles
from api.problems import TYPE_BASE, problem_responses
from api.schemas.learners import (
    Contents,
    LearnerCreate,
    LearnerCreated,
    ShareCreate,
    ShareCreated,
    SharedCredential,
    SharedRecord,
    ShareGrantPublic,
    ShareList,
    StreamEntries,
    StreamEntry,
)
from api.state import ledger_of, projections_of, settings_of
from ledger.application import Ledger
from ledger.bundles import build_bundle
from ledger.errors import LedgerError, UnknownLearner
from ledger.learners import LearnerStream
from ledger.shares import ShareGrant
from ledger.streams import rfc3339
from ledger.tokens import Forbidden, NotAuthenticated, Principal
from projections.portfolio import portfolio
from projections.portfolio_view import load_items
from verification.bundle import verify_bundle

router = APIRouter(tags=["learners"])

READ_YOUR_WRITES_SECONDS = 5.0


class LearnerNotFound(UnknownLearner):
    """The learner named in the path is not registered (the resource is missing: 404)."""

    status = 404


class UnknownPosition(LedgerError):
    """`after` names an event store position no write has reached."""

    slug = "unknown-position"
    status = 422


class NotLearnersCredential(LedgerError):
    """A share grant names a credential that is not in the learner's own record."""

    slug = "not-learners-credential"
    status = 422


_UNKNOWN = "no learner is registered under this id (`unknown-learner`)"
_INVALID = "a parameter or the body is not valid (`invalid-request`)"


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
            404: _UNKNOWN + ", or no share grant has this secret (`share-not-found`)",
            410: "the share grant was revoked or has expired (`share-gone`)",
            422: _INVALID + ", or `after` is beyond every write (`unknown-position`)",
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
        _known(ledger, learner)
    if after is not None:
        _wait_for(request, after)
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
    responses=problem_responses({401: UNAUTHENTICATED, 403: WRONG_ROLE, 404: _UNKNOWN}),
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


@router.post(
    "/v1/learners/{learner}/shares",
    status_code=HTTP_201_CREATED,
    response_model=ShareCreated,
    openapi_extra=roles("learner"),
    responses=problem_responses(
        {
            401: UNAUTHENTICATED,
            403: WRONG_ROLE,
            404: _UNKNOWN,
            422: _INVALID + ", the expiry is not in the future or the audience is empty "
            "(`invalid-registry-change`), or a credential is not the learner's (`not-learners-credential`)",
        }
    ),
)
def create_share(
    learner: str, body: ShareCreate, request: Request, principal: Annotated[Principal, Role("learner")]
) -> ShareCreated:
    """Share chosen credentials, or the whole portfolio, with an audience until an expiry."""
    require_learner(principal, learner)
    ledger = ledger_of(request)
    stream = _known(ledger, learner)
    if body.credentials is not None:
        foreign = [credential for credential in body.credentials if credential not in stream.credentials]
        if foreign:
            raise NotLearnersCredential(f"these are not credentials of {learner}: {', '.join(foreign)}")
    secret, grant = ledger.shares.create(learner, body.audience, body.expires_at, body.credentials)
    url = f"{settings_of(request).public_url.rstrip('/')}/v1/shares/{secret}"
    return ShareCreated(**_public(ledger, grant).model_dump(), secret=secret, url=url)


@router.get(
    "/v1/learners/{learner}/shares",
    response_model=ShareList,
    openapi_extra=roles("learner"),
    responses=problem_responses({401: UNAUTHENTICATED, 403: WRONG_ROLE}),
)
def list_shares(
    learner: str, request: Request, principal: Annotated[Principal, Role("learner")]
) -> ShareList:
    """The learner's share grants, newest first (their secrets are never kept)."""
    require_learner(principal, learner)
    ledger = ledger_of(request)
    return ShareList(shares=[_public(ledger, grant) for grant in ledger.shares.list(learner)])


@router.delete(
    "/v1/learners/{learner}/shares/{share_id}",
    response_model=ShareGrantPublic,
    openapi_extra=roles("learner"),
    responses=problem_responses(
        {
            401: UNAUTHENTICATED,
            403: WRONG_ROLE,
            404: "the learner has no share grant with this id (`share-not-found`)",
            410: "the share grant was already revoked (`share-gone`)",
        }
    ),
)
def revoke_share(
    learner: str, share_id: str, request: Request, principal: Annotated[Principal, Role("learner")]
) -> ShareGrantPublic:
    """Revoke one of the learner's share grants; its link stops working at once."""
    require_learner(principal, learner)
    ledger = ledger_of(request)
    return _public(ledger, ledger.shares.revoke(learner, share_id))


@router.get(
    "/v1/shares/{secret}",
    response_model=SharedRecord,
    openapi_extra=roles(),
    responses=problem_responses(
        {
            404: "no share grant has this secret (`share-not-found`)",
            410: "the learner revoked the grant, or it expired; the detail says which (`share-gone`)",
        }
    ),
)
def open_share(secret: str, request: Request) -> SharedRecord:
    """Open a share link: each covered credential with its proof bundle and verification report."""
    ledger = ledger_of(request)
    grant = ledger.shares.open(secret)
    stream = ledger.learner_stream(grant.learner)
    covered = [credential for credential in stream.credentials if grant.covers(credential)]
    shared = SharedRecord(
        learner=grant.learner,
        audience=grant.audience,
        created_at=grant.created_at,
        expires_at=grant.expires_at,
        whole_portfolio=grant.credentials is None,
        credentials=[_shared(ledger, credential) for credential in covered],
    )
    ledger.access_log.by_share(grant, "shared record")
    return shared


def _admit(request: Request, learner: str, missing: str) -> Principal:
    """The learner's own token or an auditor's; 401 when none is sent, 403 for any other."""
    principal = optional_principal(request)
    if principal is None:
        raise NotAuthenticated(missing)
    if principal.role not in ("learner", "auditor"):
        raise Forbidden(f"this needs a token of role learner or auditor; yours is {principal.role}")
    require_learner(principal, learner)
    return principal


def _known(ledger: Ledger, learner: str) -> LearnerStream:
    """The learner's stream; 404 when no learner has this id."""
    try:
        return ledger.learner_stream(learner)
    except UnknownLearner as error:
        raise LearnerNotFound(error.detail) from None


def _wait_for(request: Request, position: int) -> None:
    """Read-your-writes: wait (bounded) until every view has reached a write's position."""
    head = ledger_of(request).recorder.max_notification_id() or 0
    if position > head:
        raise UnknownPosition(f"no write has reached position {position}; the newest is {head}")
    projections_of(request).wait_until(position, timeout=READ_YOUR_WRITES_SECONDS)


def _public(ledger: Ledger, grant: ShareGrant) -> ShareGrantPublic:
    """A grant as the learner sees it, with its state by the share store's clock."""
    return ShareGrantPublic.of(grant, rfc3339(ledger.shares.clock()))


def _shared(ledger: Ledger, credential: str) -> SharedCredential:
    """A covered credential's bundle and report; a problem object when the bundle cannot be made."""
    try:
        bundle = build_bundle(ledger, credential)
    except LedgerError as error:
        problem = {"type": TYPE_BASE + error.slug, "status": error.status, "detail": error.detail}
        return SharedCredential(id=credential, report=None, bundle=None, problem=problem)
    report = verify_bundle(bundle, [ledger.tlog.signer.verifier_key]).to_json()
    return SharedCredential(id=credential, report=report, bundle=bundle, problem=None)
