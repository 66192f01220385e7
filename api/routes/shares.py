"""Routes of a learner's share grants: create, list and revoke them (the learner), and open one
by its secret (anyone holding the link)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.status import HTTP_201_CREATED

from api.auth import UNAUTHENTICATED, WRONG_ROLE, Role, require_learner, roles
from api.problems import TYPE_BASE, problem_responses
from api.routes.learners import INVALID, UNKNOWN, known_learner
from api.schemas.learners import (
    ShareCreate,
    ShareCreated,
    SharedCredential,
    SharedRecord,
    ShareGrantPublic,
    ShareList,
)
from api.state import ledger_of, settings_of
from ledger.application import Ledger
from ledger.bundles import build_bundle
from ledger.errors import LedgerError
from ledger.shares import ShareGrant
from ledger.streams import rfc3339
from ledger.tokens import Principal
from verification.bundle import verify_bundle

router = APIRouter(tags=["learners"])


class NotLearnersCredential(LedgerError):
    """A share grant names a credential that is not in the learner's own record."""

    slug = "not-learners-credential"
    status = 422


@router.post(
    "/v1/learners/{learner}/shares",
    status_code=HTTP_201_CREATED,
    response_model=ShareCreated,
    openapi_extra=roles("learner"),
    responses=problem_responses(
        {
            401: UNAUTHENTICATED,
            403: WRONG_ROLE,
            404: UNKNOWN,
            422: INVALID + ", the expiry is not in the future or the audience is empty "
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
    stream = known_learner(ledger, learner)
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
