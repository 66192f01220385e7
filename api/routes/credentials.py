"""Routes of the credentials area: post one credential or a batch, read a credential and its proof
bundle, and verify a bundle or a bare credential.

Who may read a credential: its issuer's tokens, its learner's token, auditors, and whoever holds a
live share grant of its learner that covers it. To anyone else it does not exist: they get the same
404 as for an unknown id, so probing ids reveals nothing. A 403 is kept for refusals that depend
only on who asks, never on whose the credential is (a registrar token; a share that does not name
the id).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import Role, roles
from api.limits import json_body
from api.metrics import count_posts
from api.problems import BODY_PROBLEMS, problem_body, problem_responses
from api.readers import READERS, own_did, reader_of
from api.responses import OrjsonResponse
from api.schemas.credentials import (
    BATCH_BODY,
    CREDENTIAL_BODY,
    BatchResults,
    CredentialRecord,
    EntryReceipt,
)
from api.state import ledger_of, projections_of, settings_of, wait_for
from ledger.bundles import build_bundle
from ledger.errors import LedgerError, MalformedCredential, UnknownCredential
from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.posting import post_batch, post_credential
from ledger.receipts import PostResult, Receipt
from ledger.tokens import Forbidden, Principal
from projections.credential_index import lookup
from verification.issuer_checks import credential_issuer

router = APIRouter(tags=["credentials"])

SHARE_HOLDER = "verifier"
"""DESIGN §1: a verifier reads what a learner shared through the share grant's secret."""
RECORDED = "recorded-in-ledger"

IssuerToken = Annotated[Principal, Role("issuer")]
JsonBody = Annotated[Any, Depends(json_body)]
Share = Annotated[
    str | None, Query(description="the secret of a live share grant that covers the credential")
]
After = Annotated[
    int | None, Query(ge=0, description="wait (up to 5 s) until the views reach this receipt `position`")
]
Since = Annotated[
    int | None, Query(ge=1, description="a tree size you saw before: adds a consistency proof from it")
]
_READ_PROBLEMS = {
    401: "not-authenticated",
    403: "forbidden (a registrar token; a share that does not name the credential)",
    404: "unknown-credential (also for a credential the caller may not see), share-not-found",
    410: "share-gone, learner-data-erased",
    422: "invalid-request",
}


class OtherOrganisation(Forbidden):
    """The credential's issuer is not the organisation the token acts for."""

    slug = "other-organisation"
    status = 403


class MalformedBatch(LedgerError):
    """A batch is not `{"credentials": [...]}`."""

    slug = "malformed-batch"
    status = 422


class BatchTooLarge(LedgerError):
    """A batch holds more credentials than the ledger takes at once."""

    slug = "batch-too-large"
    status = 413


@router.post(
    "/v1/credentials",
    status_code=201,
    response_model=EntryReceipt,
    openapi_extra={**roles("issuer"), **CREDENTIAL_BODY},
    responses={
        200: {"model": EntryReceipt, "description": "already recorded: the existing receipt"},
        **problem_responses(
            {
                **BODY_PROBLEMS,
                401: "not-authenticated",
                403: "forbidden, other-organisation, not-accredited, wrong-issuer",
                404: "unknown-credential (a correction or revocation names nothing the ledger holds)",
                409: "credential-id-reused, stream-conflict",
                410: "learner-data-erased",
                413: "request-too-large, credential-too-large",
                422: "malformed-credential, unknown-issuer, unknown-key, key-of-another-organisation, "
                "invalid-signature, key-not-valid, key-compromised, unknown-learner",
                503: "storage-unavailable",
            }
        ),
    },
)
def record_credential(
    request: Request,
    response: Response,
    principal: IssuerToken,
    document: JsonBody,
) -> dict[str, Any]:
    """Record one signed credential of the token's organisation; the same one again returns its receipt."""
    ledger = ledger_of(request)
    try:
        _check_own(own_did(ledger, principal), document)
        receipt = post_credential(ledger, document)
    except LedgerError as error:
        count_posts([error.slug])
        raise
    count_posts(["duplicate" if receipt.duplicate else "recorded"])
    if receipt.duplicate:
        response.status_code = 200
    return _receipt(receipt)


@router.post(
    "/v1/credentials/batch",
    response_model=BatchResults,
    openapi_extra={**roles("issuer"), **BATCH_BODY},
    responses=problem_responses(
        {
            **BODY_PROBLEMS,
            401: "not-authenticated",
            403: "forbidden",
            409: "stream-conflict",
            413: "request-too-large, batch-too-large",
            422: "malformed-batch",
            503: "storage-unavailable",
        }
    ),
)
def record_batch(request: Request, principal: IssuerToken, body: JsonBody) -> OrjsonResponse:
    """Record many signed credentials in one transaction: a status and receipt or problem per item."""
    ledger = ledger_of(request)
    documents = _batch_items(body, settings_of(request).max_batch)
    own = own_did(ledger, principal)
    checked: list[LedgerError | None] = []
    for document in documents:
        try:
            _check_own(own, document)
            checked.append(None)
        except LedgerError as error:
            checked.append(error)
    accepted = [document for document, refusal in zip(documents, checked, strict=True) if refusal is None]
    posted = iter(post_batch(ledger, accepted) if accepted else [])
    results: list[PostResult] = [next(posted) if refusal is None else refusal for refusal in checked]
    count_posts([_outcome(result) for result in results])
    # As a response it skips FastAPI's re-validation of a thousand receipts against the model,
    # which documents it (test_api_credentials checks the answer is exactly the model's).
    return OrjsonResponse({"results": [_item(result) for result in results]})


@router.get(
    "/v1/credentials/{credential_id}",
    response_model=CredentialRecord,
    openapi_extra=roles(*READERS, SHARE_HOLDER),
    responses=problem_responses(
        {
            **_READ_PROBLEMS,
            422: "invalid-request, unknown-position",
            503: "projections-behind, storage-unavailable",
        }
    ),
)
def read_credential(
    request: Request, credential_id: str, share: Share = None, after: After = None
) -> dict[str, Any]:
    """A recorded credential and its index entry, for its issuer, its learner, an auditor or a share."""
    reader = reader_of(request, credential_id)  # `share` is read there, by api.auth.share_of
    ledger = ledger_of(request)
    projections = projections_of(request)
    if after is not None:
        wait_for(request, after)
    with projections.store.reading() as view:
        indexed = lookup(view, credential_id)
    if indexed is None or not reader.may_see(ledger, credential_id, indexed.learner, indexed.issuer):
        hint = "" if after is not None else " (just posted? pass the receipt's position as ?after=)"
        raise UnknownCredential(f"the ledger holds no credential {credential_id} that you may see{hint}")
    opened = ledger.opened(indexed.learner, indexed.seq)[0]
    reader.log_read(ledger, credential_id, indexed.learner, f"credential {credential_id}")
    return {"index": asdict(indexed), "credential": opened}


@router.get(
    "/v1/credentials/{credential_id}/bundle",
    openapi_extra=roles(*READERS, SHARE_HOLDER),
    responses=problem_responses({**_READ_PROBLEMS, 409: "not-yet-integrated", 503: "storage-unavailable"}),
)
def read_bundle(
    request: Request, credential_id: str, share: Share = None, since: Since = None
) -> dict[str, Any]:
    """The credential's offline proof bundle (LearnerLedgerBundle), for whoever may read it."""
    reader = reader_of(request, credential_id)
    ledger = ledger_of(request)
    # The claim, not the view: it is current the moment the post returns, as build_bundle is.
    claim = ledger.find(credential_claim_id(credential_id), CredentialClaim)
    if claim is None or not reader.may_see(ledger, credential_id, claim.learner, claim.issuer):
        raise UnknownCredential(f"the ledger holds no credential {credential_id} that you may see")
    bundle = build_bundle(ledger, credential_id, since=since)
    reader.log_read(ledger, credential_id, claim.learner, f"bundle {credential_id}")
    return bundle


# -- posting --------------------------------------------------------------------------------------


def _check_own(own: str, document: object) -> None:
    """A credential must be a JSON object issued by the token's own organisation."""
    if not isinstance(document, dict):
        raise MalformedCredential("a credential must be a JSON object")
    issuer = credential_issuer(document)
    if issuer is not None and issuer != own:  # no issuer at all: the ledger refuses it as malformed
        raise OtherOrganisation(f"this token posts only credentials issued by {own}, not by {issuer}")


def _batch_items(body: object, limit: int) -> list[object]:
    if not isinstance(body, dict) or set(body) != {"credentials"}:
        raise MalformedBatch('a batch is a JSON object with one member: {"credentials": [...]}')
    items = body["credentials"]
    if not isinstance(items, list):
        raise MalformedBatch("credentials must be a JSON array of signed credentials")
    if len(items) > limit:
        raise BatchTooLarge(f"the batch holds {len(items)} credentials; the limit is {limit}")
    return items


def _receipt(receipt: Receipt) -> dict[str, Any]:
    return {
        "entry": receipt.entry,
        "entry_hash": receipt.entry_hash,
        "receipt": receipt.signed,
        "position": receipt.position,
        "duplicate": receipt.duplicate,
    }


def _outcome(result: PostResult) -> str:
    if isinstance(result, LedgerError):
        return result.slug
    return "duplicate" if result.duplicate else "recorded"


def _item(result: PostResult) -> dict[str, Any]:
    if isinstance(result, LedgerError):
        # Exactly the body the problem handler would send for this refusal on its own.
        body: dict[str, Any] = problem_body(result.status, result.slug, result.detail)
        return {"status": result.status, "problem": body}
    return {"status": 200 if result.duplicate else 201, "receipt": _receipt(result)}


# -- reading --------------------------------------------------------------------------------------
