"""The subject-access export, on SQLite and PostgreSQL: the zip holds the profile, every credential,
every entry, every share grant and access-log row, and a proof bundle per credential that verifies
offline; only the learner may have it; and it holds every string that a scan of every table of the
database finds for the learner (issue 8: "the export contains everything the scan finds").
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from ledger import examples
from ledger.posting import post_credential
from tests.conftest import Backend, table_rows
from tests.e2e.world import World, bearer
from verification.bundle import verify_bundle

SKIPPED_KEYS = {
    "sealed": "ciphertext; what it seals is exported opened (profile, credentials, entry contents)",
    "token_hash": "the hash of a token secret the ledger never keeps",
    "secret_hash": "the hash of a share link's secret the ledger never keeps",
    "digest": "the ULN claim's keyed digest, an index pointer; the ULN itself is exported",
    "timestamp": "the event library's own write time; the entry's recorded_at is exported",
    "topic": "the name of an event type in the code, not data",
    "originator_topic": "the name of an aggregate type in the code, not data",
    "originator_id": "the event store's key: the learner's id (exported) or a claim id derived from one",
}
"""Columns and JSON members the scan does not hold against the export, each with the reason."""


def export_of(api: TestClient, world: World, token: str | None = None) -> zipfile.ZipFile:
    """The learner's export zip, asked for with the learner's token."""
    answer = api.get(f"/v1/learners/{world.learner}/export", headers=bearer(token or world.tokens["learner"]))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert "attachment" in answer.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(answer.content))


def strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (member or column name, string) inside a stored value: JSON in text or bytes is opened."""
    if key in SKIPPED_KEYS:
        return
    if isinstance(value, (bytes, memoryview)):
        try:
            value = orjson.loads(bytes(value))
        except orjson.JSONDecodeError:
            return  # binary: hashes, signatures, ciphertext
        yield from strings(value, key)
    elif isinstance(value, str):
        if value[:1] in ("{", "["):
            try:
                yield from strings(orjson.loads(value), key)
                return
            except orjson.JSONDecodeError:
                pass
        yield key, value
    elif isinstance(value, dict):
        for member, inner in value.items():
            yield from strings(inner, str(member))
    elif isinstance(value, list):
        for inner in value:
            yield from strings(inner, key)


@pytest.fixture
def rich(api: TestClient, world: World) -> World:
    """The world's learner with more: an enrolment revoked, a second share (revoked), two reads."""
    ledger, university = world.ledger, world.university
    enrolment = examples.sign(examples.enrolment(university.did, world.learner), university.key)
    post_credential(ledger, enrolment)
    revocation = examples.status(
        university.did, world.learner, action="revokes", names=enrolment["id"], reason="enrolled in error"
    )
    post_credential(ledger, examples.sign(revocation, university.key))
    ledger.tlog.integrate_all()
    secret, grant = ledger.shares.create(
        world.learner, "Admissions, Caerleon", datetime.now(UTC) + timedelta(days=3)
    )
    assert api.get(f"/v1/shares/{secret}").status_code == 200
    assert (
        api.get(f"/v1/credentials/{enrolment['id']}", headers=bearer(world.tokens["auditor"])).status_code
        == 200
    )
    ledger.shares.revoke(world.learner, grant.id)
    head = ledger.recorder.max_notification_id() or 0
    api.app.state.projections.wait_until(head, timeout=10)  # type: ignore[attr-defined]
    return world


def test_the_export_holds_everything_and_its_bundles_verify(api: TestClient, rich: World) -> None:
    ledger = rich.ledger
    archive = export_of(api, rich)
    document = orjson.loads(archive.read("export.json"))
    assert document["version"] == 1 and document["learner"] == rich.learner
    assert datetime.fromisoformat(document["exported_at"].replace("Z", "+00:00")).tzinfo is not None
    assert document["profile"] == {
        "uln": "9276308686",
        "name": "Carys Pritchard",
        "dateOfBirth": "2003-05-14",
    }

    report = ledger.read_stream(rich.learner)
    assert [entry["hash"] for entry in document["entries"]] == [item.hash for item in report.items]
    assert [entry["content"] for entry in document["entries"]] == [item.content for item in report.items]
    assert document["chain"] == {"intact": True, "findings": []}

    stream = ledger.learner_stream(rich.learner)
    assert [item["id"] for item in document["credentials"]] == list(stream.credentials)
    for item in document["credentials"]:
        assert item["credential"] == ledger.opened(rich.learner, item["seq"])[0]
        assert item["credential"]["id"] == item["id"]
    statuses = {item["kind"]: item["status"] for item in document["credentials"]}
    assert statuses["award"] == "valid" and statuses["enrolment"] == "revoked"

    assert [share["id"] for share in document["shares"]] == [g.id for g in ledger.shares.list(rich.learner)]
    assert all("secret_hash" not in share for share in document["shares"])
    logged = ledger.access_log.list(rich.learner, limit=100)
    assert [row["id"] for row in document["access_log"]] == [row.id for row in logged] and len(logged) == 2
    assert {token["role"] for token in document["tokens"]} == {"learner"}

    key = ledger.tlog.signer.verifier_key
    for item in document["credentials"]:
        assert item["bundle"] == f"bundles/bundle-{item['id'].removeprefix('urn:uuid:')}.json"
        checked = verify_bundle(archive.read(item["bundle"]), [key])
        failed = [check.name for check in checked.checks if check.outcome == "fail"]
        if item["status"] == "valid":
            assert checked.ok, checked.to_text()
        else:
            assert failed == ["status"], checked.to_text()  # revoked: every other check still passes


def test_the_export_holds_every_string_the_scan_finds(api: TestClient, rich: World, backend: Backend) -> None:
    archive = export_of(api, rich)
    exported = "\n".join(
        text
        for name in archive.namelist()
        if name.endswith(".json")
        for _, text in strings(archive.read(name))
    )
    credentials = rich.ledger.learner_stream(rich.learner).credentials
    marks = {rich.learner.removeprefix("urn:uuid:")} | {c.removeprefix("urn:uuid:") for c in credentials}
    marks |= {mark.replace("-", "") for mark in marks}
    found: dict[str, str] = {}
    for table, rows in table_rows(backend).items():
        if rows and "wrapped_key" in rows[0]:
            continue  # the key store: key material and its bookkeeping, never exported
        for row in rows:
            every = [text for column, value in row.items() for _, text in strings({column: value})]
            raw = " ".join(str(value) for value in row.values())
            if any(mark in raw for mark in marks):
                for text in every:
                    found.setdefault(text, table)
    assert {"Employer", "Admissions, Caerleon", "BSc (Hons) Computer Science", "shared record"} <= set(found)
    assert "enrolled in error" in found  # the revocation's reason, from the portfolio view
    missing = {text: table for text, table in found.items() if text not in exported}
    assert missing == {}


def test_the_export_holds_no_other_learners_data(api: TestClient, rich: World) -> None:
    other = rich.ledger.tokens.authenticate(rich.tokens["learner-other"]).learner
    assert other is not None
    archive = export_of(api, rich)
    text = b"".join(archive.read(name) for name in archive.namelist())
    assert other.encode() not in text and b"Dafydd" not in text


@pytest.mark.parametrize("caller", ["none", "revoked", "learner-other", "auditor", "registrar", "issuer"])
def test_only_the_learner_has_the_export(api: TestClient, world: World, caller: str) -> None:
    headers = {} if caller == "none" else bearer(world.tokens[caller])
    answer = api.get(f"/v1/learners/{world.learner}/export", headers=headers)
    assert answer.status_code == (401 if caller in ("none", "revoked") else 403), answer.text
    assert answer.headers["content-type"] == "application/problem+json"


def test_the_export_page_button_downloads_the_same_zip(api: TestClient, world: World) -> None:
    site = TestClient(api.app, base_url="https://testserver", headers={"accept": "text/html"})
    assert site.get("/me/export.zip", follow_redirects=False).headers["location"] == "/sign-in"
    site.post("/sign-in", data={"token": world.tokens["learner"]}, follow_redirects=False)
    answer = site.get("/me/export.zip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    document = orjson.loads(archive.read("export.json"))
    assert document["learner"] == world.learner and document["profile"]["name"] == "Carys Pritchard"
    assert f"bundles/bundle-{world.credential.removeprefix('urn:uuid:')}.json" in archive.namelist()
