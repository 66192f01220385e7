"""Proof bundles as files: one credential's bundle as JSON, or a learner's every bundle in a zip."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterable

import orjson
from fastapi.responses import Response

from ledger.application import Ledger
from ledger.bundles import build_bundle
from ledger.export import add_bundles, bundle_file_name


def credential_urn(uuid_text: str) -> str | None:
    """`urn:uuid:<uuid>` for the uuid in a page address; None when it is not a uuid."""
    try:
        return f"urn:uuid:{uuid.UUID(uuid_text)}"
    except ValueError:
        return None


def file_name(credential: str) -> str:
    """The download name of a credential's bundle."""
    return bundle_file_name(credential)


def bundle_download(ledger: Ledger, credential: str) -> Response:
    """The credential's proof bundle as a JSON attachment (a LedgerError when it cannot be built)."""
    bundle = build_bundle(ledger, credential)
    return Response(
        orjson.dumps(bundle, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={
            "content-disposition": f'attachment; filename="{file_name(credential)}"',
            "cache-control": "no-store",
        },
    )


def bundles_zip(ledger: Ledger, credentials: Iterable[str], name: str) -> Response:
    """Every credential's bundle in one zip; those that cannot be built yet are listed in a note."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        add_bundles(archive, ledger, credentials)
    return zip_download(buffer.getvalue(), name)


def zip_download(data: bytes, name: str) -> Response:
    """A zip file as an attachment that no cache keeps."""
    return Response(
        data,
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )
