"""The learner's own pages: sign in with the learner token, the portfolio by kind and date, each
credential's history (corrections, revocation), and downloads of one bundle or all of them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.pages import session
from api.pages.downloads import bundle_download, bundles_zip, credential_urn
from api.pages.i18n import N_, chosen
from api.pages.rendering import render
from api.state import ledger_of, projections_of
from ledger.application import Ledger
from ledger.errors import LedgerError
from ledger.tokens import NotAuthenticated, Principal
from projections.portfolio import Portfolio, PortfolioItem, portfolio
from projections.portfolio_view import load_items

router = APIRouter(include_in_schema=False)

UNKNOWN_TOKEN = N_("This sign-in code is not known, or it was revoked or has expired.")
NOT_LEARNER = N_("This code is not a learner's sign-in code.")
NO_TOKEN = N_("Enter the sign-in code you were given.")
NO_SUCH_CREDENTIAL = N_("Your record has no such credential.")
SECTIONS = (
    ("awards", N_("Awards")),
    ("assessments", N_("Assessment results")),
    ("enrolments", N_("Enrolments")),
    ("employment", N_("Employment")),
)


def signed_in_or_redirect(request: Request) -> Principal | Response:
    """The signed-in learner, or a redirect to the sign-in page."""
    principal = session.signed_in(request)
    return principal if principal is not None else RedirectResponse("/sign-in", status_code=303)


@router.get("/", include_in_schema=False)
def home() -> Response:
    """The pages start at the verify page."""
    return RedirectResponse("/verify", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> Response:
    """The sign-in form."""
    if session.signed_in(request) is not None:
        return RedirectResponse("/me", status_code=303)
    return render(request, "sign_in.html", error=None)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Check the learner's token and keep it in the session cookie."""
    session.check_origin(request)
    form = await request.form(max_files=0, max_fields=2)
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else ""
    language = chosen(request)
    error = NO_TOKEN if not token else None
    if token:
        try:
            principal = ledger_of(request).tokens.authenticate(token)
            error = None if principal.role == "learner" else NOT_LEARNER
        except NotAuthenticated:
            error = UNKNOWN_TOKEN
    if error is not None:
        return render(request, "sign_in.html", status_code=401, error=language.gettext(error))
    response = RedirectResponse("/me", status_code=303)
    session.start(response, token)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session."""
    form = await request.form(max_files=0, max_fields=2)
    csrf = form.get("csrf")
    session.check_csrf(request, csrf if isinstance(csrf, str) else "")
    response = RedirectResponse("/verify", status_code=303)
    session.end(response)
    return response


@router.get("/me", response_class=HTMLResponse)
def my_record(request: Request) -> Response:
    """The learner's portfolio, by kind and date."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    ledger, record = ledger_of(request), learner_portfolio(request, str(principal.learner))
    sections = [(name, title, getattr(record, name)) for name, title in SECTIONS]
    return render(
        request, "portfolio.html", sections=sections, record=record, issuers=_issuer_names(ledger, record)
    )


@router.get("/me/credentials/{credential}", response_class=HTMLResponse)
def my_credential(credential: str, request: Request) -> Response:
    """One credential: what it says now, and its corrections and revocation."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    ledger, record = ledger_of(request), learner_portfolio(request, str(principal.learner))
    shown = _find(record, credential_urn(credential))
    if shown is None:
        return _missing(request)
    names = _issuer_names(ledger, record)
    return render(request, "credential.html", shown=shown, issuers=names, uuid=credential)


@router.get("/me/credentials/{credential}/bundle.json")
def my_bundle(credential: str, request: Request) -> Response:
    """One credential's proof bundle, to keep or give to a verifier."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    urn = credential_urn(credential)
    ledger = ledger_of(request)
    if urn is None or urn not in ledger.learner_stream(str(principal.learner)).credentials:
        return _missing(request)
    try:
        return bundle_download(ledger, urn)
    except LedgerError as error:
        return render(
            request, "error.html", status_code=error.status, title=error.detail, message="", technical=None
        )


@router.get("/me/bundles.zip")
def my_bundles(request: Request) -> Response:
    """Every credential's proof bundle, in one zip."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    ledger = ledger_of(request)
    credentials = ledger.learner_stream(str(principal.learner)).credentials
    return bundles_zip(ledger, credentials, "learner-ledger-bundles.zip")


def learner_portfolio(request: Request, learner: str) -> Portfolio:
    """The learner's portfolio as the views hold it now."""
    with projections_of(request).store.reading() as view:
        items = load_items(view, learner)
    return portfolio(learner, items)


def _find(record: Portfolio, urn: str | None) -> PortfolioItem | None:
    """The listed item for `urn`, or the item whose history holds it."""
    for name, _ in SECTIONS:
        for shown in getattr(record, name):
            if urn in (shown.item.credential, *(earlier.credential for earlier in shown.history)):
                return shown  # type: ignore[no-any-return]
    for group in record.admissions:
        if urn in (group.latest.credential, *(earlier.credential for earlier in group.history)):
            return PortfolioItem(group.latest, group.history)
    return None


def _issuer_names(ledger: Ledger, record: Portfolio) -> dict[str, str]:
    """Each issuer DID of the record, with the organisation's registered name."""
    dids: set[str] = set()
    for name, _ in SECTIONS:
        dids.update(shown.item.issuer for shown in getattr(record, name))
    dids.update(group.latest.issuer for group in record.admissions)
    names: dict[str, str] = {}
    for did in dids:
        try:
            names[did] = ledger.organisation_by_did(did).name
        except LedgerError:
            names[did] = did
    return names


def _missing(request: Request) -> Response:
    language = chosen(request)
    message = language.gettext(NO_SUCH_CREDENTIAL)
    context: dict[str, Any] = {"title": message, "message": "", "technical": None, "back_to": "/me"}
    return render(request, "error.html", status_code=404, **context)
