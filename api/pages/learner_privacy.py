"""The learner's privacy pages: who has read their record (`/me/access`: every read through a share
link or by an auditor, newest first) and the download of everything held about them
(`/me/export.zip`, the same zip as GET /v1/learners/{id}/export).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.pages.i18n import N_, Language, chosen
from api.pages.learner_pages import SECTIONS, learner_portfolio, signed_in_or_redirect
from api.pages.rendering import render
from api.routes.export import export_download
from api.state import ledger_of
from ledger.access_log import Access

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
WHAT = {
    "portfolio": N_("Your record"),
    "entries": N_("Your ledger entries (without their contents)"),
    "shared record": N_("The shared record page"),
}
CREDENTIAL = N_("Credential: %(title)s")
BUNDLE = N_("Proof file: %(title)s")
AUDITED = N_("Ledger entries %(seqs)s, with their contents (audit)")


@dataclass(frozen=True)
class ShownAccess:
    """One read of the learner's record, as the page words it."""

    access: Access
    what: str


@router.get("/me/access", response_class=HTMLResponse)
def my_access_log(request: Request, page: int = 1) -> Response:
    """Every read of the learner's record through a share link or by an auditor, newest first."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    learner, language = str(principal.learner), chosen(request)
    log = ledger_of(request).access_log
    total = log.count(learner)
    last = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), last)
    accesses = log.list(learner, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    record = learner_portfolio(request, learner)
    listed = [(shown.item, shown.history) for name, _ in SECTIONS for shown in getattr(record, name)]
    listed += [(group.latest, group.history) for group in record.admissions]
    titles = {
        item.credential: item.title for latest, history in listed for item in (latest, *history) if item.title
    }
    shown = [ShownAccess(access, _what(access.what, titles, language)) for access in accesses]
    return render(request, "access.html", accesses=shown, total=total, page=page, last=last)


@router.get("/me/export.zip")
def my_export(request: Request) -> Response:
    """Everything the ledger holds about the learner, with every proof, in one zip."""
    principal = signed_in_or_redirect(request)
    if isinstance(principal, Response):
        return principal
    return export_download(request, str(principal.learner))


def _what(what: str, titles: dict[str, str], language: Language) -> str:
    """What was read, in the visitor's language, credentials named by their titles."""
    if what in WHAT:
        return language.gettext(WHAT[what])
    kind, _, rest = what.partition(" ")
    if kind == "credential":
        return language.gettext(CREDENTIAL) % {"title": titles.get(rest) or rest}
    if kind == "bundle":
        return language.gettext(BUNDLE) % {"title": titles.get(rest) or rest}
    if what.startswith("audited entries "):
        return language.gettext(AUDITED) % {"seqs": what.removeprefix("audited entries ")}
    return what
