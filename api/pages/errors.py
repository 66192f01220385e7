"""Errors on the pages: a browser gets an HTML page (in the visitor's language) with the same status
that the API would give as a problem+json; API routes are never affected.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from api.pages.i18n import N_, chosen
from api.pages.rendering import render

API_PREFIXES = ("/v1/", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/orgs/", "/static/")
TITLES = {
    400: N_("The request could not be understood"),
    403: N_("This could not be accepted"),
    404: N_("Page not found"),
    405: N_("This page cannot be used that way"),
    410: N_("This is no longer available"),
    413: N_("This is too large"),
    415: N_("This kind of file cannot be used here"),
    422: N_("This could not be accepted"),
    503: N_("The service is busy"),
}
GENERIC = N_("Something went wrong")
ADVICE = {
    403: N_("Go back, reload the page and try again."),
    404: N_("Check the address, or start again from the verify page."),
    503: N_("Please try again in a minute."),
}
DEFAULT_ADVICE = N_("Go back and try again.")


def is_page(request: Request) -> bool:
    """True for a request to a page (not an API route) from a client that reads HTML."""
    path = request.url.path
    return not path.startswith(API_PREFIXES) and "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, detail: str) -> Response:
    """The HTML page for an error on a page: a title and advice in the visitor's language."""
    language = chosen(request)
    return render(
        request,
        "error.html",
        status_code=status,
        title=language.gettext(TITLES.get(status, GENERIC)),
        message=language.gettext(ADVICE.get(status, DEFAULT_ADVICE)),
        technical=detail,
    )
