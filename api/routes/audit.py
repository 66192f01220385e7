"""What an external audit reads, for auditors: the server's own audit source (ledger/audit_database.py)
served page by page, so `ledger audit --url` runs the same checks as a local audit on the same data.

Stored data is served as it is, tampered or not: a row that does not parse comes back as a record with
its problem, or as a finding, never as an error. Sealed contents are served opened (credential and
commitment salt) with the index claim behind each entry, because an auditor must check commitments
and issuer proofs; auditors already read whole portfolios (GET /v1/learners/{learner}/portfolio).
Each page that serves opened contents is recorded in those learners' access logs.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.auth import Role, roles
from api.problems import problem_responses
from api.state import ledger_of, settings_of
from ledger.application import Ledger
from ledger.audit_database import DatabaseSource
from ledger.audit_report import Tally
from ledger.audit_source import Record
from ledger.audit_wire import encode_findings, encode_integration, encode_record, encode_recorded, encode_row
from ledger.errors import LedgerError
from ledger.tokens import Principal
from verification.errors import MerkleError

router = APIRouter(tags=["audit"])

LARGEST = 2**63 - 1
"""The largest id, index or size the databases hold (a signed 64-bit integer)."""

_REFUSALS = problem_responses(
    {
        401: "`not-authenticated`: no token, or one the ledger does not know, revoked or saw expire",
        403: "`forbidden`: the token is not an auditor's",
        422: "`invalid-request`: a parameter is missing or out of range; "
        "`invalid-page`: a limit above the ledger's page size",
    }
)


class InvalidAuditPage(LedgerError):
    """A page longer than the ledger serves at once."""

    slug = "invalid-page"
    status = 422


def _position(description: str, alias: str | None = None) -> Any:
    """A query parameter holding a notification id, leaf index or tree size."""
    return Query(alias=alias, ge=0, le=LARGEST, description=description)


def _source(request: Request, limit: int = 1) -> DatabaseSource:
    most = settings_of(request).max_page
    if limit > most:
        raise InvalidAuditPage(f"a page holds at most {most} items; ask for limit={most}")
    return DatabaseSource(ledger_of(request))


Limit = Annotated[int, Query(ge=1, le=LARGEST, description="most items to return")]


@router.get(
    "/v1/audit/state", dependencies=[Role("auditor")], openapi_extra=roles("auditor"), responses=_REFUSALS
)
def audit_state(request: Request) -> dict[str, Any]:
    """How far the log has integrated (position, size, frontier), the event store's newest id, and the
    most items one page of the audit routes may hold (`max_page`).
    """
    source, tally = _source(request), Tally()
    integration = source.integration(tally)
    head, most = source.head(), settings_of(request).max_page
    return {
        **encode_integration(integration),
        "head": head,
        "max_page": most,
        "findings": encode_findings(tally),
    }


@router.get("/v1/audit/records", openapi_extra=roles("auditor"), responses=_REFUSALS)
def audit_records(
    request: Request,
    principal: Annotated[Principal, Role("auditor")],
    *,
    start: Annotated[int, _position("the first notification id")],
    stop: Annotated[int, _position("the last notification id")],
    limit: Limit = 1000,
    registry_only: bool = False,
) -> dict[str, Any]:
    """Stored entries in commit order, sealed contents opened, each with the index claim behind it."""
    source, tally = _source(request, limit), Tally()
    records, after = source.records(start, stop, page=limit, registry_only=registry_only, tally=tally)
    _log_openings(ledger_of(request), principal, records)
    return {
        "records": [encode_record(record) for record in records],
        "next": after,
        "findings": encode_findings(tally),
    }


def _log_openings(ledger: Ledger, principal: Principal, records: list[Record]) -> None:
    """Record in each learner's access log the entries whose sealed contents this page served opened."""
    opened: dict[str, list[int]] = {}
    for record in records:
        if record.learner and record.opening is not None and record.opening.content is not None:
            opened.setdefault(record.stream, []).append(record.version)
    for learner, seqs in opened.items():
        what = f"audited entries {', '.join(str(seq) for seq in seqs)}"
        ledger.access_log.by_auditor(learner, principal.token_id, what)


@router.get(
    "/v1/audit/entry-before",
    dependencies=[Role("auditor")],
    openapi_extra=roles("auditor"),
    responses=_REFUSALS,
)
def audit_entry_before(
    request: Request,
    stream: Annotated[str, Query(max_length=100, description="the stream's urn:uuid")],
    seq: Annotated[int, Query(ge=1, le=LARGEST, description="the entry whose predecessor is wanted")],
) -> dict[str, Any]:
    """A stream's last stored entry before `seq`: its place (null if none) and the entry."""
    version, entry = _source(request).entry_before(stream, seq)
    return {"version": version, "entry": entry}


@router.get(
    "/v1/audit/recorded", dependencies=[Role("auditor")], openapi_extra=roles("auditor"), responses=_REFUSALS
)
def audit_recorded(
    request: Request, credential: Annotated[str, Query(max_length=2048, description="a credential id")]
) -> dict[str, Any]:
    """Where a credential is recorded by its index claim, its status and entry (null if nowhere)."""
    return {"recorded": encode_recorded(_source(request).recorded(credential))}


@router.get(
    "/v1/audit/leaves", dependencies=[Role("auditor")], openapi_extra=roles("auditor"), responses=_REFUSALS
)
def audit_leaves(
    request: Request,
    start: Annotated[int, _position("the first leaf index")],
    stop: Annotated[int, _position("one past the last leaf index")],
    limit: Limit = 1000,
) -> dict[str, Any]:
    """The log's stored leaf rows in [start, stop), as stored (bytes as base64)."""
    return {"leaves": [encode_row(row) for row in _source(request, limit).leaf_rows(start, stop, limit)]}


@router.get(
    "/v1/audit/leaves/before",
    dependencies=[Role("auditor")],
    openapi_extra=roles("auditor"),
    responses=_REFUSALS,
)
def audit_leaf_before(request: Request, index: Annotated[int, _position("a leaf index")]) -> dict[str, int]:
    """The notification id of the last leaf before `index` (0 when there is none)."""
    return {"notification_id": _source(request).last_notification_before(index)}


@router.get(
    "/v1/audit/tree/root", dependencies=[Role("auditor")], openapi_extra=roles("auditor"), responses=_REFUSALS
)
def audit_tree_root(
    request: Request,
    start: Annotated[int, _position("the first leaf")],
    end: Annotated[int, _position("one past the last leaf")],
) -> dict[str, str]:
    """The root of the stored leaves [start, end) from the tiles, or why it cannot be computed."""
    if start >= end:
        return {"problem": f"[{start}, {end}) holds no leaves"}
    try:
        return {"root": base64.b64encode(_source(request).subtree_root(start, end)).decode()}
    except (LookupError, ValueError, MerkleError) as error:
        return {"problem": str(error) or type(error).__name__}


@router.get(
    "/v1/audit/tree/consistency",
    dependencies=[Role("auditor")],
    openapi_extra=roles("auditor"),
    responses=_REFUSALS,
)
def audit_tree_consistency(
    request: Request,
    old_size: Annotated[int, _position("the older size", alias="from")],
    new_size: Annotated[int, _position("the newer size", alias="to")],
) -> dict[str, Any]:
    """A consistency proof from the stored tiles for any two sizes, or why it cannot be made."""
    try:
        proof = _source(request).consistency_proof(old_size, new_size)
    except (LookupError, ValueError, MerkleError) as error:
        return {"problem": str(error) or type(error).__name__}
    return {"hashes": [base64.b64encode(digest).decode() for digest in proof]}


@router.get(
    "/v1/log/checkpoints", dependencies=[Role("auditor")], openapi_extra=roles("auditor"), responses=_REFUSALS
)
def log_checkpoints(
    request: Request,
    low: Annotated[int, _position("the smallest size", alias="from")] = 0,
    high: Annotated[int, _position("the largest size", alias="to")] = LARGEST,
    limit: Limit = 100,
    newest_first: bool = False,
) -> dict[str, Any]:
    """Every stored signed checkpoint with size in [from, to], paged: size, root and signed note."""
    rows = _source(request, limit).checkpoint_rows(low, high, limit, newest_first=newest_first)
    return {"checkpoints": [encode_row(row) for row in rows]}
