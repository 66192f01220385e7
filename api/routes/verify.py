"""POST /v1/verify: anyone checks a proof bundle, or whether the ledger holds exactly a presented
credential; the answer is always a verification report (200), whatever the verdict.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Coroutine
from typing import Any, TypeGuard

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from api.auth import roles
from api.limits import json_body
from api.problems import BODY_PROBLEMS, problem_responses
from api.responses import OrjsonResponse
from api.schemas.credentials import VERIFY_BODY, VerificationReport
from api.state import checks_of, ledger_of, reads_of
from ledger.application import Ledger
from ledger.bundles import build_bundle
from ledger.credentials import is_uuid_urn
from ledger.errors import LearnerDataErased, LedgerError
from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.log import NotYetIntegrated
from verification.bundle import verify_bundle
from verification.bundle_shape import BUNDLE_TYPE
from verification.canonical import canonical_json
from verification.errors import CanonicalizationError
from verification.issuer_checks import check_proof_signature
from verification.report import CHECK_NAMES, Check, Report, failed, not_checked, passed


class RequestRoute(APIRoute):
    """A route whose endpoint takes the request and returns its response itself: FastAPI solves no
    dependencies (the router's `json_only` too: the endpoint checks the media type) and validates
    nothing per request; the declaration still documents the route in the OpenAPI schema.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint itself."""
        return self.endpoint


router = APIRouter(tags=["verify"], route_class=RequestRoute)
RECORDED = "recorded-in-ledger"


class NotVerifiable(LedgerError):
    """A body to verify is neither a proof bundle nor a credential."""

    slug = "not-verifiable"
    status = 422


@router.post(
    "/v1/verify",
    response_model=VerificationReport,
    openapi_extra={**roles(), **VERIFY_BODY},
    responses=problem_responses({**BODY_PROBLEMS, 422: "not-verifiable", 503: "storage-unavailable"}),
)
async def verify(request: Request) -> OrjsonResponse:
    """Verify a proof bundle, or whether the ledger holds exactly a presented credential: a report."""
    # A bundle is checked on the event loop: verify_bundle reads no database, and the erasure read
    # is a SQLite file read or an async PostgreSQL query. Threads cost dearly here: a thread running
    # Python beside the loop contends for the GIL, and with eight requests in flight a request cost
    # ~1.5 ms of CPU in-process with its check on a thread, ~0.7 ms without (SQLite; PostgreSQL
    # 1.44 -> 0.96 ms). What reads the event store through the library (a presented credential, or
    # the claim behind a bundle that fails) runs on a worker thread, where a database that is away
    # (~12 s of retries) stalls only it, never /healthz.
    # The body is read here, and the route is a RequestRoute: FastAPI solves nothing per request.
    # Returned as a response, the report skips FastAPI's re-validation against the model (a tenth
    # of the event loop's time under load); the model still documents it, and the schema tests
    # (tests/e2e/test_fuzz_api.py) check every answer against it.
    ledger, body, loop = ledger_of(request), await json_body(request), asyncio.get_running_loop()
    if not _is_bundle(body):
        report = await loop.run_in_executor(checks_of(request), verify_document, ledger, body)
        report.setdefault("bundle", None)
        return OrjsonResponse(report)
    checked = verify_bundle(body, [ledger.tlog.signer.verifier_key])
    learner = _entry_learner(body) if checked.ok else None
    if learner is None:
        learner = await loop.run_in_executor(checks_of(request), _claimed_learner, ledger, body)
    erasures, reads = ledger.erasures, reads_of(request)
    erased = None if learner is None else await erasures.erased_on_async(ledger, learner, reads)
    report = _noting_erasure(checked, erased)
    report.setdefault("bundle", None)
    return OrjsonResponse(report)


def verify_document(ledger: Ledger, body: object) -> dict[str, Any]:
    """The report on a bundle or a presented credential (with its `bundle` when the ledger found it)."""
    if _is_bundle(body):
        checked = verify_bundle(body, [ledger.tlog.signer.verifier_key])
        learner = (_entry_learner(body) if checked.ok else None) or _claimed_learner(ledger, body)
        erased = None if learner is None else ledger.erasures.erased_on(ledger, learner)
        return _noting_erasure(checked, erased)
    if not isinstance(body, dict) or not _is_credential(body):
        raise NotVerifiable(
            f'send a proof bundle ("type": "{BUNDLE_TYPE}") or a signed credential '
            '("type": ["VerifiableCredential", …])'
        )
    return _verify_presented(ledger, body, [ledger.tlog.signer.verifier_key])


def _noting_erasure(report: Report, erased: str | None) -> dict[str, Any]:
    """The bundle's report, with a note when the ledger erased its learner's data (on `erased`)."""
    if erased is None:
        return report.to_json()
    note = (
        f"The ledger erased this learner's data on {erased}: the bundle still proves what it "
        "says, but the ledger itself can no longer show or confirm it."
    )
    verdict = f"{report.verdict} {note}" if report.ok else report.verdict
    notes = (*report.notes, note)
    return Report(report.checks, report.ok, verdict, report.checkpoint, notes).to_json()


def _is_bundle(body: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(body, dict) and body.get("type") == BUNDLE_TYPE


# -- verifying a presented credential -------------------------------------------------------------


def _verify_presented(ledger: Ledger, document: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """Report on a bare credential: the bundle's report when the ledger holds exactly it."""
    credential = document.get("id")
    if not isinstance(credential, str) or not is_uuid_urn(credential):
        held = failed(
            RECORDED, "The credential has no urn:uuid id, so the ledger cannot hold it: do not rely on it."
        )
        return _unbundled(document, held, "Not checked: the ledger does not hold this credential.")
    claim = ledger.find(credential_claim_id(credential), CredentialClaim)
    if claim is None:
        held = failed(
            RECORDED, f"The ledger holds no credential with the id {credential}: do not rely on it."
        )
        return _unbundled(document, held, "Not checked: the ledger does not hold this credential.")
    try:
        stored = ledger.opened(claim.learner, claim.seq)[0]
    except LearnerDataErased:
        held = not_checked(
            RECORDED,
            "A credential was recorded under this id, but the learner's data has since been erased, "
            "so the ledger can no longer compare it with this one.",
        )
        return _unbundled(document, held, "Not checked: the recorded credential was erased.")
    if not _same(stored, document):
        held = failed(
            RECORDED,
            "The ledger holds a different credential under this id: this one was changed after it was "
            "recorded, or never recorded: do not rely on it.",
        )
        return _unbundled(document, held, "Not checked: the ledger does not hold this credential.")
    held = passed(RECORDED, "The ledger holds exactly this credential.")
    try:
        bundle = build_bundle(ledger, claim.credential)
    except NotYetIntegrated:
        return _unbundled(
            document, held, "Not checked: it is recorded but not yet in a signed checkpoint; ask again."
        )
    report = verify_bundle(bundle, keys)
    checks = (held, *report.checks)
    with_held = Report(checks, report.ok, report.verdict, report.checkpoint, report.notes)
    return {**with_held.to_json(), "bundle": bundle}


def _entry_learner(bundle: dict[str, Any]) -> str | None:
    """The learner a bundle's entry names; trusted only once the bundle is verified (the log then
    proves the entry is the ledger's own), so no read is needed."""
    entry = bundle.get("entry")
    learner = entry.get("learner") if isinstance(entry, dict) else None
    return learner if isinstance(learner, str) else None


def _claimed_learner(ledger: Ledger, bundle: dict[str, Any]) -> str | None:
    """The learner whose stream holds the bundle's credential by the ledger's claim; None when none."""
    credential = bundle.get("credential")
    identifier = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(identifier, str) or not is_uuid_urn(identifier):
        return None
    claim = ledger.find(credential_claim_id(identifier), CredentialClaim)
    return None if claim is None else claim.learner


def _is_credential(document: dict[str, Any]) -> bool:
    """True for an object typed as a Verifiable Credential (`type` a list or a single string)."""
    types = document.get("type")
    return "VerifiableCredential" in (types if isinstance(types, list) else [types])


def _same(stored: dict[str, Any], presented: dict[str, Any]) -> bool:
    """True when both are the same credential, byte for byte in canonical form (constant time)."""
    try:
        return hmac.compare_digest(canonical_json(stored), canonical_json(presented))
    except CanonicalizationError:
        return False


def _unbundled(document: dict[str, Any], held: Check, reason: str) -> dict[str, Any]:
    """A report for a credential with no bundle to check: its own signature, and why nothing else."""
    signature, _ = check_proof_signature(document)
    checks = [
        held,
        not_checked(
            "bundle-format", "A bare credential was presented, not a bundle; the ledger looked it up."
        ),
        signature,
        *(
            not_checked(name, reason)
            for name in CHECK_NAMES
            if name not in ("bundle-format", "proof-signature")
        ),
    ]
    optional = {"bundle-format", "consistency-with-last-seen"}
    return Report.decide(checks, optional, "", None).to_json()
