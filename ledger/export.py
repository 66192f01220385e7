"""Subject access (DESIGN §6): everything the ledger holds about one learner, decrypted, in one zip.

The zip holds `export.json` and `bundles/bundle-<uuid>.json`, a proof bundle per credential
(`bundles/NOT-YET-AVAILABLE.txt` lists any the log has not integrated yet). `export.json` is:

    {"version": 1, "exported_at": RFC 3339, "learner": "urn:uuid:…",
     "profile": {"uln", "name", "dateOfBirth"},            # the registration entry, opened
     "credentials": [{"id", "seq", "kind", "issuer", "status", "changed_by", "recorded_at",
                      "credential": {…signed credential…}, "bundle": "bundles/…json" | null,
                      "bundle_problem": str | null}],
     "entries": [{"seq", "hash", "entry": {…}, "content": {…} | null, "salt": base64 | null}],
     "chain": {"intact": bool, "findings": [str]},
     "shares": [{"id", "audience", "credentials": [id] | null, "created_at", "expires_at",
                 "revoked_at"}],
     "access_log": [{"id", "at", "actor", "grant_id", "token_id", "audience", "what"}],  # newest first
     "tokens": [{"id", "role", "label", "created_at", "expires_at", "revoked_at"}],
     "erasure_requests": [{"id", "requested_at", "reason", "state", "decided_at", "decision"}],
     "views": {"portfolio_items": [{…an item as the portfolio view holds it…}]}}

Secrets are not in it: share links and tokens are kept only as hashes, and those are left out.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

import orjson

from ledger.application import Ledger, StreamReport
from ledger.bundles import build_bundle
from ledger.errors import LearnerDataErased, LedgerError
from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.streams import rfc3339

EXPORT_VERSION = 1
EXPORT_FILE = "export.json"
BUNDLES_FOLDER = "bundles/"
MISSING_FILE = "NOT-YET-AVAILABLE.txt"
_PAGE = 1000


def bundle_file_name(credential: str) -> str:
    """The file name of a credential's proof bundle (`bundle-<uuid>.json`)."""
    return f"bundle-{credential.removeprefix('urn:uuid:')}.json"


def add_bundles(
    archive: zipfile.ZipFile, ledger: Ledger, credentials: Iterable[str], folder: str = ""
) -> dict[str, str]:
    """Write each credential's proof bundle into the zip; return why, for those not built yet."""
    missing: dict[str, str] = {}
    for credential in credentials:
        try:
            bundle = build_bundle(ledger, credential)
        except LedgerError as error:
            missing[credential] = error.detail
            continue
        archive.writestr(
            folder + bundle_file_name(credential), orjson.dumps(bundle, option=orjson.OPT_INDENT_2)
        )
    if missing:
        lines = [f"{credential}: {reason}" for credential, reason in missing.items()]
        archive.writestr(folder + MISSING_FILE, "\n".join(lines) + "\n")
    return missing


def export_zip(ledger: Ledger, learner: str, views: Mapping[str, Any] | None = None) -> bytes:
    """The learner's subject-access export: `export.json` and every proof bundle, zipped.

    `views` are the read models' rows about the learner, by name, which the caller (outside this
    layer) reads from the projections; they go in as the document's `views`.
    """
    document = subject_access(ledger, learner)  # first: refuses an unknown or erased learner
    document["views"] = dict(views or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        credentials = [credential["id"] for credential in document["credentials"]]
        missing = add_bundles(archive, ledger, credentials, BUNDLES_FOLDER)
        for credential in document["credentials"]:
            problem = missing.get(credential["id"])
            credential["bundle"] = None if problem else BUNDLES_FOLDER + bundle_file_name(credential["id"])
            credential["bundle_problem"] = problem
        archive.writestr(EXPORT_FILE, orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return buffer.getvalue()


def subject_access(ledger: Ledger, learner: str) -> dict[str, Any]:
    """Everything held about the learner as one JSON document (bundles named, not included).

    Raises UnknownLearner for an unknown id and LearnerDataErased once the learner was erased.
    """
    report = ledger.read_stream(learner)
    if report.erased:
        raise LearnerDataErased(f"the data key of {learner} no longer exists")
    profile = report.items[0].content
    return {
        "version": EXPORT_VERSION,
        "exported_at": rfc3339(ledger.clock()),
        "learner": learner,
        "profile": profile,
        "credentials": _credentials(ledger, report),
        "entries": [
            {
                "seq": item.entry["seq"],
                "hash": item.hash,
                "entry": item.entry,
                "content": item.content,
                "salt": None if item.salt is None else base64.b64encode(item.salt).decode("ascii"),
            }
            for item in report.items
        ],
        "chain": {"intact": not report.findings, "findings": report.findings},
        "shares": [
            {key: value for key, value in asdict(grant).items() if key != "learner"}
            for grant in ledger.shares.list(learner)
        ],
        "access_log": _access_log(ledger, learner),
        "tokens": ledger.tokens.of_learner(learner),
        "erasure_requests": [
            {key: value for key, value in asdict(request).items() if key != "learner"}
            for request in ledger.erasures.list(learner=learner)
        ],
    }


def _credentials(ledger: Ledger, report: StreamReport) -> list[dict[str, Any]]:
    """Each recorded credential, opened, with where it sits and its status now."""
    found = []
    claims = ledger.find_many([credential_claim_id(credential) for credential in report.credentials])
    for credential, seq in report.credentials.items():
        item = report.items[seq - 1]
        claim = claims.get(credential_claim_id(credential))
        claim = claim if isinstance(claim, CredentialClaim) else None
        found.append(
            {
                "id": credential,
                "seq": seq,
                "kind": item.entry.get("kind"),
                "issuer": item.entry.get("issuer"),
                "status": None if claim is None else claim.state,
                "changed_by": None if claim is None else claim.by,
                "recorded_at": item.entry.get("recorded_at"),
                "credential": item.content,
                "bundle": None,
                "bundle_problem": None,
            }
        )
    return found


def _access_log(ledger: Ledger, learner: str) -> list[dict[str, Any]]:
    """Every recorded read of the learner's data, newest first."""
    rows: list[dict[str, Any]] = []
    while True:
        page = ledger.access_log.list(learner, limit=_PAGE, offset=len(rows))
        rows += [{key: value for key, value in asdict(access).items() if key != "learner"} for access in page]
        if len(page) < _PAGE:
            return rows
