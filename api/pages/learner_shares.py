"""The learner's share grants as pages: create one (choose items, audience, expiry) and copy its
link, list them with their state, and revoke one. Every form carries the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from api.pages import session
from api.pages.i18n import N_, Language, chosen
from api.pages.learner_pages import SECTIONS, learner_portfolio, signed_in_or_redirect
from api.pages.rendering import render
from api.pages.verdict_messages import KINDS
from api.state import ledger_of
from ledger.errors import LedgerError
from ledger.shares import MAX_AUDIENCE, ShareGrant
from ledger.tokens import Principal

router = APIRouter(include_in_schema=False)

DEFAULT_DAYS = 30
NO_AUDIENCE = N_("Say who the share is for (for example, the employer's or university's name).")
AUDIENCE_TOO_LONG = N_("What you wrote under “Who is it for?” is too long: use at most %(count)s characters.")
BAD_EXPIRY = N_("Choose an expiry date after today.")
NOTHING_CHOSEN = N_("Choose at least one credential, or share the whole record.")
NOT_YOURS = N_("A chosen credential is not in your record.")
REVOKED = N_("The share was revoked: its link no longer works.")


@router.get("/me/shares", response_class=HTMLResponse)
def my_shares(request: Request, done: str | None = None) -> Response:
    """The learner's share grants and the form to create one."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    notice = chosen(request).gettext(REVOKED) if done == "revoked" else None
    return _page(request, principal, errors={}, values={}, notice=notice)


@router.post("/me/shares", response_class=HTMLResponse)
async def create_share(request: Request) -> Response:
    """Create a share grant and show its link once."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    form = await request.form(max_files=0, max_fields=500)
    session.check_csrf(request, _text(form, "csrf"))
    language = chosen(request)
    learner = str(principal.learner)
    ledger = ledger_of(request)
    audience, scope = _text(form, "audience").strip(), _text(form, "scope")
    chosen_items = [value for value in form.getlist("credential") if isinstance(value, str)]
    errors = _problems(language, audience, _text(form, "expires"), scope, chosen_items)
    own = ledger.learner_stream(learner).credentials
    if scope != "all" and any(credential not in own for credential in chosen_items):
        errors["credential"] = language.gettext(NOT_YOURS)
    values = {"audience": audience, "expires": _text(form, "expires"), "scope": scope, "chosen": chosen_items}
    if errors:
        return _page(request, principal, errors=errors, values=values, notice=None, status_code=422)
    expires = datetime.combine(date.fromisoformat(_text(form, "expires")), time(23, 59, 59), tzinfo=UTC)
    try:
        secret, grant = ledger.shares.create(
            learner, audience, expires, None if scope == "all" else chosen_items
        )
    except LedgerError as error:
        errors["form"] = error.detail
        return _page(request, principal, errors=errors, values=values, notice=None, status_code=422)
    link = f"{str(request.base_url).rstrip('/')}/s/{secret}"
    return render(request, "share_created.html", status_code=201, grant=grant, link=link)


@router.post("/me/shares/{share_id}/revoke")
async def revoke_share(share_id: str, request: Request) -> Response:
    """Revoke one of the learner's share grants."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    form = await request.form(max_files=0, max_fields=2)
    session.check_csrf(request, _text(form, "csrf"))
    ledger_of(request).shares.revoke(str(principal.learner), share_id)
    return RedirectResponse("/me/shares?done=revoked", status_code=303)


def _page(
    request: Request,
    principal: Principal,
    *,
    errors: dict[str, str],
    values: Mapping[str, object],
    notice: str | None,
    status_code: int = 200,
) -> Response:
    """The shares page: the grants with their state, and the creation form."""
    ledger = ledger_of(request)
    learner = str(principal.learner)
    record = learner_portfolio(request, learner)
    choices = [
        (shown.item.credential, shown.item.title or shown.item.credential, shown.item.kind)
        for name, _ in SECTIONS
        for shown in getattr(record, name)
    ]
    choices += [
        (group.latest.credential, group.latest.title or "", "admission") for group in record.admissions
    ]
    grants = [(grant, _state(ledger.shares.is_live(grant), grant)) for grant in ledger.shares.list(learner)]
    default_expiry = (datetime.now(UTC).date() + timedelta(days=DEFAULT_DAYS)).isoformat()
    return render(
        request,
        "shares.html",
        status_code=status_code,
        grants=grants,
        choices=choices,
        titles={credential: title for credential, title, _ in choices},
        errors=errors,
        values={"audience": "", "expires": default_expiry, "scope": "chosen", "chosen": [], **values},
        notice=notice,
        max_audience=MAX_AUDIENCE,
        kinds=KINDS,
        today=datetime.now(UTC).date().isoformat(),
    )


def _problems(
    language: Language, audience: str, expires: str, scope: str, chosen_items: list[str]
) -> dict[str, str]:
    """What is wrong with the creation form, by field."""
    errors: dict[str, str] = {}
    if not audience:
        errors["audience"] = language.gettext(NO_AUDIENCE)
    elif len(audience) > MAX_AUDIENCE:
        errors["audience"] = language.gettext(AUDIENCE_TOO_LONG) % {"count": MAX_AUDIENCE}
    try:
        if date.fromisoformat(expires) <= datetime.now(UTC).date():
            errors["expires"] = language.gettext(BAD_EXPIRY)
    except ValueError:
        errors["expires"] = language.gettext(BAD_EXPIRY)
    if scope != "all" and not chosen_items:
        errors["credential"] = language.gettext(NOTHING_CHOSEN)
    return errors


def _state(live: bool, grant: ShareGrant) -> str:
    """live, revoked or expired."""
    if live:
        return "live"
    return "revoked" if grant.revoked_at is not None else "expired"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
