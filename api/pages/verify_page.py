"""The verify page (`/verify`, no sign-in): choose, drop or paste a proof bundle or a credential,
and read the verdict first, then each check, then the details.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.pages import session
from api.pages.i18n import N_, chosen
from api.pages.rendering import render
from api.pages.verdicts import read_verdict, with_change_date
from api.routes.verify import verify_document
from api.state import ledger_of
from ledger.errors import LedgerError
from verification.canonical import parse_json
from verification.errors import MalformedJSON

router = APIRouter(include_in_schema=False)

NOTHING_GIVEN = N_("Choose a file, or paste a proof bundle or credential, then press Verify.")
NOT_JSON = N_("This is not a proof bundle or a credential: it is not a JSON document.")
NOT_VERIFIABLE = N_(
    "This JSON document is neither a proof bundle nor a signed credential, so there is nothing to verify."
)


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request, share: str | None = None) -> Response:
    """The verify page; `?share=` (from a share link) opens that shared record instead."""
    if share:
        return RedirectResponse(f"/s/{share}", status_code=303)
    return render(request, "verify.html", verdict=None, error=None, technical=None, pasted="")


@router.post("/verify", response_class=HTMLResponse)
async def verify_submitted(request: Request) -> Response:
    """Verify the chosen file or the pasted text and show the verdict."""
    session.check_origin(request)
    language = chosen(request)
    form = await request.form(max_files=1, max_fields=4)
    upload, pasted = form.get("file"), form.get("document")
    pasted_text = pasted if isinstance(pasted, str) else ""
    raw: bytes | str = await upload.read() if isinstance(upload, UploadFile) else b""
    if not raw.strip():
        raw = pasted_text

    def refuse(message: str, technical: str | None = None) -> Response:
        return render(
            request,
            "verify.html",
            status_code=422,
            verdict=None,
            error=language.gettext(message),
            technical=technical,
            pasted=pasted_text,
        )

    if not raw.strip():
        return refuse(NOTHING_GIVEN)
    try:
        document = parse_json(raw)
    except MalformedJSON as error:
        return refuse(NOT_JSON, str(error))
    ledger = ledger_of(request)
    try:
        report = verify_document(ledger, document)
    except LedgerError as error:
        return refuse(NOT_VERIFIABLE, error.detail)
    bundle = report.get("bundle", document)
    verdict = read_verdict(report, bundle, ledger.tlog.signer.verifier_key, language)
    verdict = with_change_date(verdict, ledger, language)
    return render(request, "verify.html", verdict=verdict, error=None, technical=None, pasted="")
