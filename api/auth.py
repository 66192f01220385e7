"""Who may call what: every route declares its roles (also in OpenAPI as `x-roles`), and a
dependency turns the bearer token into a Principal or a clear 401/403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from api.state import ledger_of
from ledger.shares import ShareGrant
from ledger.tokens import Forbidden, Principal

ANYONE = "anyone"
UNAUTHENTICATED = "no token, or one that is unknown, revoked or expired (`not-authenticated`)"
"""How the routes' OpenAPI describe a 401."""
WRONG_ROLE = "a token of another role, or a learner token of another learner (`forbidden`)"
"""How the routes' OpenAPI describe a 403 of a learner-scoped route."""


def roles(*allowed: str) -> dict[str, Any]:
    """The OpenAPI extra that declares a route's roles (read by the authorisation matrix test)."""
    return {"x-roles": list(allowed) or [ANYONE]}


def bearer(request: Request) -> str | None:
    """The bearer token of a request, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def requires(*allowed: str) -> Callable[..., Principal]:
    """A dependency admitting only tokens of the given roles."""

    def check(request: Request) -> Principal:
        principal = ledger_of(request).tokens.authenticate(bearer(request))
        if principal.role not in allowed:
            raise Forbidden(f"this needs a token of role {' or '.join(allowed)}; yours is {principal.role}")
        return principal

    return check


def Role(*allowed: str) -> Any:  # noqa: N802 (reads like a type in signatures)
    """`principal: Principal = Role("issuer")` in a route's parameters."""
    return Depends(requires(*allowed))


def require_learner(principal: Principal, learner: str) -> None:
    """A learner token acts only for its own learner."""
    if principal.role == "learner" and principal.learner != learner:
        raise Forbidden("a learner token may act only for its own learner")


def require_organisation(principal: Principal, slug: str) -> None:
    """An issuer token acts only for its own organisation."""
    if principal.role == "issuer" and principal.organisation != slug:
        raise Forbidden(f"this token acts for {principal.organisation}, not for {slug}")


def optional_principal(request: Request) -> Principal | None:
    """The token's principal when a token is sent (a bad token is still refused), else None."""
    secret = bearer(request)
    return None if secret is None else ledger_of(request).tokens.authenticate(secret)


def share_of(request: Request) -> ShareGrant | None:
    """The live share grant named by the `share` query parameter (404/410 if dead), else None."""
    secret = request.query_params.get("share")
    return None if not secret else ledger_of(request).shares.open(secret)
