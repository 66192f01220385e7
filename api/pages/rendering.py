"""Server-rendered pages: one Jinja2 environment (autoescaped), the context every template gets
(the visitor's language, the session, the language switch), and the headers every page carries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.pages import i18n, session

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

SECURITY_HEADERS = {
    # No inline script or style: the pages' one script and one stylesheet are files of this site.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
"""Sent with every page. `no-referrer` keeps a share link's secret out of other sites' logs."""


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` in the visitor's language, with the common context and headers."""
    language = i18n.chosen(request)
    principal = session.signed_in(request)
    page = _environment.get_template(template).render(
        _=language.gettext,
        lang=language,
        languages=i18n.LANGUAGES,
        switch=_switch_links(request),
        learner=principal.learner if principal else None,
        csrf=session.csrf_token(request) if principal else "",
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(page, status_code=status_code, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, language.code, max_age=365 * 86400, samesite="lax", secure=True, httponly=True
        )
    return response


def _switch_links(request: Request) -> dict[str, str]:
    """For each language, this page's address with `?lang=` set (other parameters kept)."""
    links = {}
    for code in i18n.LANGUAGES:
        query = {key: value for key, value in request.query_params.items() if key != "lang"}
        links[code] = f"{request.url.path}?{urlencode({**query, 'lang': code})}"
    return links
