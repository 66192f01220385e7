"""The shared-record page (`/s/{secret}`): what a learner's share grant covers, each credential with
its verdict, the grant's expiry, and each proof bundle to download for offline checking.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.pages.downloads import bundle_download, credential_urn
from api.pages.i18n import N_, Language, chosen
from api.pages.rendering import render
from api.pages.verdicts import Verdict, read_verdict, with_change_date
from api.state import ledger_of
from ledger.application import Ledger
from ledger.bundles import build_bundle
from ledger.errors import LedgerError
from ledger.shares import ShareGrant, ShareNotFound
from verification.bundle import verify_bundle

router = APIRouter(include_in_schema=False)

NOT_FOUND = (
    N_("This share link is not valid"),
    N_("No shared record has this link. Check that it was copied whole, or ask the learner for it again."),
)
REVOKED = (
    N_("This share was revoked"),
    N_(
        "The learner withdrew access on %(date)s. Ask them for a new link if you still need to see "
        "their record."
    ),
)
EXPIRED = (
    N_("This share has expired"),
    N_("Access ended on %(date)s. Ask the learner for a new link if you still need to see their record."),
)
UNAVAILABLE = N_("The proof for this credential is not available yet: %(reason)s")


@router.get("/s/{secret}", response_class=HTMLResponse)
def shared_record(secret: str, request: Request) -> Response:
    """What a share link covers, each credential verified."""
    ledger = ledger_of(request)
    language = chosen(request)
    grant = _grant(request, ledger, language, secret)
    if isinstance(grant, Response):
        return grant
    stream = ledger.learner_stream(grant.learner)
    items = [
        _item(ledger, credential, language) for credential in stream.credentials if grant.covers(credential)
    ]
    page = render(request, "share.html", grant=grant, secret=secret, items=items)
    ledger.access_log.by_share(grant, "shared record")
    return page


@router.get("/s/{secret}/bundles/{credential}.json")
def shared_bundle(secret: str, credential: str, request: Request) -> Response:
    """One covered credential's proof bundle, as a file to keep and verify offline."""
    ledger = ledger_of(request)
    grant = _grant(request, ledger, chosen(request), secret)
    if isinstance(grant, Response):
        return grant
    urn = credential_urn(credential)
    if urn is None or not grant.covers(urn) or urn not in ledger.learner_stream(grant.learner).credentials:
        title, message = NOT_FOUND
        return _refusal(request, chosen(request), 404, title, message)
    download = bundle_download(ledger, urn)
    ledger.access_log.by_share(grant, f"bundle {urn}")
    return download


def _grant(request: Request, ledger: Ledger, language: Language, secret: str) -> ShareGrant | Response:
    """The live grant, or the page saying why there is none (404 unknown, 410 revoked or expired)."""
    try:
        grant = ledger.shares.lookup(secret)
    except ShareNotFound:
        return _refusal(request, language, 404, *NOT_FOUND)
    if ledger.shares.is_live(grant):
        return grant
    if grant.revoked_at is not None:
        title, message = REVOKED
        return _refusal(request, language, 410, title, message, date=language.datetime(grant.revoked_at))
    title, message = EXPIRED
    return _refusal(request, language, 410, title, message, date=language.datetime(grant.expires_at))


def _refusal(
    request: Request, language: Language, status: int, title: str, message: str, *, date: str = ""
) -> Response:
    text = language.gettext(message)
    return render(
        request,
        "error.html",
        status_code=status,
        title=language.gettext(title),
        message=text % {"date": date} if date else text,
        technical=None,
    )


def _item(ledger: Ledger, credential: str, language: Language) -> tuple[str, Verdict | None, str]:
    """A covered credential: its id, its verdict, and why there is none (when there is none)."""
    try:
        bundle = build_bundle(ledger, credential)
    except LedgerError as error:
        return credential, None, language.gettext(UNAVAILABLE) % {"reason": error.detail}
    key = ledger.tlog.signer.verifier_key
    verdict = read_verdict(verify_bundle(bundle, [key]).to_json(), bundle, key, language)
    return credential, with_change_date(verdict, ledger, language), ""
