"""Routes of the learner's privacy rights (DESIGN §6): the subject-access export of everything held
about them, and the log of every read of their data by a share holder or an auditor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.auth import UNAUTHENTICATED, WRONG_ROLE, Role, require_learner, roles
from api.pages.downloads import zip_download
from api.problems import problem_responses
from api.routes.learners import LearnerNotFound
from api.schemas.privacy import AccessLogPage, AccessRecord
from api.state import ledger_of, projections_of, settings_of
from ledger.errors import LedgerError, UnknownLearner
from ledger.export import export_zip
from ledger.tokens import Principal
from projections.portfolio_view import load_items

router = APIRouter(tags=["learners"])

LearnerToken = Annotated[Principal, Role("learner")]
_REFUSALS = {401: UNAUTHENTICATED, 403: WRONG_ROLE}


class InvalidAccessPage(LedgerError):
    """A page longer than the ledger serves at once."""

    slug = "invalid-page"
    status = 422


@router.get(
    "/v1/learners/{learner}/export",
    response_class=Response,
    openapi_extra=roles("learner"),
    responses={
        200: {
            "content": {"application/zip": {}},
            "description": "a zip: `export.json` (everything held about the learner, decrypted) and "
            "`bundles/bundle-<uuid>.json`, a proof bundle per credential",
        },
        **problem_responses(
            {
                **_REFUSALS,
                404: "no learner is registered under this id (`unknown-learner`)",
                410: "the learner's data was erased (`learner-data-erased`)",
            }
        ),
    },
)
def export_learner(learner: str, request: Request, principal: LearnerToken) -> Response:
    """Everything the ledger holds about the learner, decrypted, with every proof bundle, as a zip."""
    require_learner(principal, learner)
    try:
        return export_download(request, learner)
    except UnknownLearner as error:
        raise LearnerNotFound(error.detail) from None


def export_download(request: Request, learner: str) -> Response:
    """The learner's subject-access zip as an attachment, with the views' rows about them."""
    with projections_of(request).store.reading() as view:
        items = [item.to_json() for item in load_items(view, learner)]
    data = export_zip(ledger_of(request), learner, {"portfolio_items": items})
    return zip_download(data, f"learner-ledger-export-{learner.removeprefix('urn:uuid:')}.zip")


@router.get(
    "/v1/learners/{learner}/access-log",
    response_model=AccessLogPage,
    openapi_extra=roles("learner"),
    responses=problem_responses(
        {
            **_REFUSALS,
            422: "a parameter is not valid (`invalid-request`), or a page is too long (`invalid-page`)",
        }
    ),
)
def read_access_log(
    learner: str,
    request: Request,
    principal: LearnerToken,
    limit: Annotated[int, Query(ge=1, description="most reads to return")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="reads to skip, newest first")] = 0,
) -> AccessLogPage:
    """Every read of the learner's data by a share holder or an auditor, newest first, paged."""
    require_learner(principal, learner)
    most = settings_of(request).max_page
    if limit > most:
        raise InvalidAccessPage(f"a page holds at most {most} reads; ask for limit={most}")
    log = ledger_of(request).access_log
    total = log.count(learner)
    page = log.list(learner, limit=limit, offset=offset)
    after = offset + len(page)
    return AccessLogPage(
        learner=learner,
        total=total,
        offset=offset,
        limit=limit,
        next_offset=after if after < total else None,
        accesses=[AccessRecord.of(access) for access in page],
    )
