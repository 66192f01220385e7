"""Erasure over HTTP (DESIGN §6): a learner asks to be erased; the registrar lists requests and
approves (the learner's data key is destroyed, the stream ends with an ErasureCompleted entry) or
refuses with a reason.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.status import HTTP_202_ACCEPTED

from api.auth import UNAUTHENTICATED, WRONG_ROLE, Role, require_learner, roles
from api.problems import problem_responses
from api.routes.learners import LearnerNotFound
from api.schemas.erasure import (
    ErasureApproval,
    ErasureAsk,
    ErasureRefusal,
    ErasureRequestList,
    ErasureRequestPublic,
)
from api.state import ledger_of
from ledger.errors import UnknownLearner
from ledger.tokens import Principal

router = APIRouter(tags=["erasure"])

_NOT_FOUND = "no erasure request has this id (`erasure-request-not-found`)"
_DECIDED = "the request was already approved or refused (`erasure-already-decided`)"


@router.post(
    "/v1/learners/{learner}/erasure",
    status_code=HTTP_202_ACCEPTED,
    response_model=ErasureRequestPublic,
    openapi_extra=roles("learner"),
    responses=problem_responses(
        {
            401: UNAUTHENTICATED,
            403: WRONG_ROLE,
            404: "no learner is registered under this id (`unknown-learner`)",
            409: "the learner already has a request awaiting a decision (`erasure-already-requested`)",
            410: "the learner is already erased (`learner-erased`)",
            422: "the body is not valid (`invalid-request`)",
        }
    ),
)
def ask_erasure(
    learner: str, body: ErasureAsk, request: Request, principal: Annotated[Principal, Role("learner")]
) -> ErasureRequestPublic:
    """Ask to be erased; the registrar approves or refuses, and the learner can follow the request."""
    require_learner(principal, learner)
    ledger = ledger_of(request)
    try:
        asked = ledger.erasures.request(ledger, learner, body.reason)
    except UnknownLearner as error:
        raise LearnerNotFound(error.detail) from None
    return ErasureRequestPublic.of(asked)


@router.get(
    "/v1/learners/{learner}/erasure",
    response_model=ErasureRequestList,
    openapi_extra=roles("learner"),
    responses=problem_responses({401: UNAUTHENTICATED, 403: WRONG_ROLE}),
)
def my_erasure_requests(
    learner: str, request: Request, principal: Annotated[Principal, Role("learner")]
) -> ErasureRequestList:
    """The learner's erasure requests and their decisions."""
    require_learner(principal, learner)
    found = ledger_of(request).erasures.list(learner=learner)
    return ErasureRequestList(requests=[ErasureRequestPublic.of(item) for item in found])


@router.get(
    "/v1/erasure-requests",
    response_model=ErasureRequestList,
    openapi_extra=roles("registrar"),
    responses=problem_responses({401: UNAUTHENTICATED, 403: WRONG_ROLE}),
)
def list_erasure_requests(
    request: Request,
    principal: Annotated[Principal, Role("registrar")],
    state: Literal["requested", "refused", "completed"] | None = Query(None, description="only these"),
) -> ErasureRequestList:
    """Erasure requests, oldest first: those awaiting a decision with `?state=requested`."""
    found = ledger_of(request).erasures.list(state=state)
    return ErasureRequestList(requests=[ErasureRequestPublic.of(item) for item in found])


@router.post(
    "/v1/erasure-requests/{request_id}/approve",
    response_model=ErasureRequestPublic,
    openapi_extra=roles("registrar"),
    responses=problem_responses(
        {401: UNAUTHENTICATED, 403: WRONG_ROLE, 404: _NOT_FOUND, 409: _DECIDED, 422: "the body is not `{}`"}
    ),
)
def approve_erasure(
    request_id: str,
    request: Request,
    principal: Annotated[Principal, Role("registrar")],
    body: ErasureApproval | None = None,
) -> ErasureRequestPublic:
    """Carry out an erasure: the learner's data key is destroyed; every proof still verifies."""
    ledger = ledger_of(request)
    return ErasureRequestPublic.of(ledger.erasures.approve(ledger, request_id))


@router.post(
    "/v1/erasure-requests/{request_id}/refuse",
    response_model=ErasureRequestPublic,
    openapi_extra=roles("registrar"),
    responses=problem_responses(
        {
            401: UNAUTHENTICATED,
            403: WRONG_ROLE,
            404: _NOT_FOUND,
            409: _DECIDED,
            422: "no reason given, or the body is not valid (`invalid-request`)",
        }
    ),
)
def refuse_erasure(
    request_id: str,
    body: ErasureRefusal,
    request: Request,
    principal: Annotated[Principal, Role("registrar")],
) -> ErasureRequestPublic:
    """Refuse an erasure request, saying why (the learner sees the reason)."""
    return ErasureRequestPublic.of(ledger_of(request).erasures.refuse(request_id, body.reason))
