"""Signing in to the learner pages: the learner's token in an HTTP-only, Secure, SameSite=Strict
cookie, and a CSRF token (an HMAC of the session under a key derived from the master key) on every
form that changes something. Every page POST must also come from this site (`Origin` check).
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request
from starlette.responses import Response

from api.state import ledger_of, settings_of
from ledger.errors import LedgerError
from ledger.tokens import NotAuthenticated, Principal

COOKIE = "ledger_session"
SESSION_SECONDS = 8 * 3600


class CrossSiteRequest(LedgerError):
    """A form was posted from another site, or without this session's CSRF token."""

    slug = "cross-site-request"
    status = 403


def signed_in(request: Request) -> Principal | None:
    """The learner whose session cookie this request carries; None when signed out or expired.

    Read once per request (the page and its template both ask), kept on `request.state`.
    """
    if hasattr(request.state, "learner_session"):
        known: Principal | None = request.state.learner_session
        return known
    principal: Principal | None = None
    secret = request.cookies.get(COOKIE)
    if secret:
        try:
            principal = ledger_of(request).tokens.authenticate(secret)
        except NotAuthenticated:
            principal = None
    request.state.learner_session = principal if principal and principal.role == "learner" else None
    return request.state.learner_session  # type: ignore[no-any-return]


def start(response: Response, token: str) -> None:
    """Keep the learner's token in the session cookie (the browser never shows it to scripts)."""
    response.set_cookie(
        COOKIE, token, max_age=SESSION_SECONDS, httponly=True, secure=True, samesite="strict", path="/"
    )


def end(response: Response) -> None:
    """Forget the session cookie."""
    response.delete_cookie(COOKIE, httponly=True, secure=True, samesite="strict", path="/")


def csrf_token(request: Request) -> str:
    """The CSRF token of this request's session ('' when signed out)."""
    secret = request.cookies.get(COOKIE, "")
    if not secret:
        return ""
    key = hashlib.sha256(b"learner-ledger csrf v1\x00" + settings_of(request).master_key_bytes()).digest()
    return hmac.new(key, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def check_origin(request: Request) -> None:
    """Refuse a form posted from another site (a browser always sends Origin on a POST)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return  # not a browser form (e.g. a script); the CSRF token still guards signed-in forms
    own = f"{request.url.scheme}://{request.url.netloc}"
    public = settings_of(request).public_url.rstrip("/")
    if origin not in (own, public):
        raise CrossSiteRequest(f"this form belongs to {own}, not {origin}")


def check_csrf(request: Request, submitted: str) -> None:
    """Refuse a signed-in form without this session's CSRF token."""
    check_origin(request)
    expected = csrf_token(request)
    if not expected or not hmac.compare_digest(expected, submitted):
        raise CrossSiteRequest(
            "the form is out of date or came from another site; reload the page and try again"
        )
