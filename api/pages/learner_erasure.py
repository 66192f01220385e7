"""The learner's erasure page (`/me/erasure`): what erasure means, the learner's requests and the
registrar's decisions, and the form to ask (CSRF-protected, confirmed by a tick box).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.pages import session
from api.pages.i18n import N_, chosen
from api.pages.learner_pages import signed_in_or_redirect
from api.pages.rendering import render
from api.state import ledger_of
from ledger.erasure import MAX_REASON
from ledger.tokens import Principal

router = APIRouter(include_in_schema=False)

NOT_CONFIRMED = N_("Tick the box to confirm that you understand what erasure means.")
TOO_LONG = N_("What you wrote is too long: use at most %(count)s characters.")
ASKED = N_(
    "Your request was sent. The registrar will approve or refuse it, and you will see the decision here."
)


@router.get("/me/erasure", response_class=HTMLResponse)
def my_erasure(request: Request, done: str | None = None) -> Response:
    """What erasure means, the learner's requests, and the form to ask."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    notice = chosen(request).gettext(ASKED) if done == "asked" else None
    return _page(request, principal, errors={}, reason="", notice=notice)


@router.post("/me/erasure", response_class=HTMLResponse)
async def ask_erasure(request: Request) -> Response:
    """Ask to be erased."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    form = await request.form(max_files=0, max_fields=4)
    csrf, reason, confirmed = (form.get(name) for name in ("csrf", "reason", "confirm"))
    session.check_csrf(request, csrf if isinstance(csrf, str) else "")
    reason = reason.strip() if isinstance(reason, str) else ""
    language = chosen(request)
    errors = {}
    if confirmed != "yes":
        errors["confirm"] = language.gettext(NOT_CONFIRMED)
    if len(reason) > MAX_REASON:
        errors["reason"] = language.gettext(TOO_LONG) % {"count": MAX_REASON}
    if errors:
        return _page(request, principal, errors=errors, reason=reason, notice=None, status_code=422)
    ledger = ledger_of(request)
    ledger.erasures.request(ledger, str(principal.learner), reason or None)
    return RedirectResponse("/me/erasure?done=asked", status_code=303)


def _page(
    request: Request,
    principal: Principal,
    *,
    errors: dict[str, str],
    reason: str,
    notice: str | None,
    status_code: int = 200,
) -> Response:
    requests = ledger_of(request).erasures.list(learner=str(principal.learner))
    pending = any(item.state == "requested" for item in requests)
    return render(
        request,
        "erasure.html",
        status_code=status_code,
        requests=list(reversed(requests)),
        pending=pending,
        errors=errors,
        reason=reason,
        notice=notice,
        max_reason=MAX_REASON,
    )
