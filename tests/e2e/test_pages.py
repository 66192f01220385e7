"""The pages over HTTP, on SQLite and PostgreSQL: what they show, and every refusal (wrong token,
missing or foreign CSRF token, another site's form, bad input), each changing nothing.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.pages.session import COOKIE
from ledger.application import Ledger
from tests.conftest import Backend
from tests.e2e.world import World

SITE = "https://testserver"
HTML = {"accept": "text/html", "origin": SITE}


@pytest.fixture
def pages(backend: Backend, ledger: Ledger) -> Iterator[TestClient]:
    """A browser-like client over HTTPS (the session cookie is Secure), followers running."""
    app = create_app(backend.settings, ledger=ledger)
    with TestClient(app, base_url=SITE, raise_server_exceptions=False, headers=HTML) as client:
        yield client


def settled(pages: TestClient) -> None:
    """Wait until the views hold every write so far: on PostgreSQL they follow the event store in a
    thread, so a page read straight after the world's writes could otherwise race them."""
    app = pages.app
    head = app.state.ledger.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
    app.state.projections.wait_until(head, timeout=30)  # type: ignore[attr-defined]


def sign_in(pages: TestClient, token: str) -> str:
    """Sign in once the views hold every write so far, and return the CSRF token of the session."""
    settled(pages)
    answer = pages.post("/sign-in", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = pages.get("/me/shares")
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_pages_carry_language_and_security_headers(pages: TestClient) -> None:
    answer = pages.get("/verify?lang=cy")
    assert answer.status_code == 200
    assert '<html lang="cy">' in answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "lang=cy" in answer.headers["set-cookie"]
    assert '<html lang="cy">' in pages.get("/verify").text  # the choice is kept per visitor


def test_sign_in_sets_a_strict_http_only_cookie(pages: TestClient, world: World) -> None:
    answer = pages.post("/sign-in", data={"token": world.tokens["learner"]}, follow_redirects=False)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith(COOKIE) and "httponly" in cookie and "secure" in cookie
    assert "samesite=strict" in cookie
    settled(pages)
    record = pages.get("/me")
    assert record.status_code == 200 and "BSc (Hons) Computer Science" in record.text


@pytest.mark.parametrize("token", ["", "llt_unknown", "issuer", "revoked"])
def test_sign_in_refuses_other_tokens(pages: TestClient, world: World, token: str) -> None:
    answer = pages.post("/sign-in", data={"token": world.tokens.get(token, token)}, follow_redirects=False)
    assert answer.status_code == 401
    assert "error-summary" in answer.text
    assert "set-cookie" not in answer.headers
    assert pages.get("/me", follow_redirects=False).status_code == 303


def test_signed_out_learner_pages_send_to_sign_in(pages: TestClient, world: World) -> None:
    for path in ("/me", "/me/shares", "/me/bundles.zip", "/me/credentials/x"):
        answer = pages.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"


def test_a_share_made_on_the_page_opens_and_revokes(pages: TestClient, world: World) -> None:
    csrf = sign_in(pages, world.tokens["learner"])
    form = {"csrf": csrf, "audience": "Admissions, Caerleon", "expires": "2099-01-01", "scope": "all"}
    created = pages.post("/me/shares", data=form)
    assert created.status_code == 201
    link = re.search(r'value="(https://testserver/s/[^"]+)"', created.text)
    assert link is not None
    grant = world.ledger.shares.list(world.learner)[0]
    assert grant.audience == "Admissions, Caerleon" and grant.credentials is None

    visitor = TestClient(pages.app, base_url=SITE, headers=HTML)
    shared = visitor.get(link.group(1))
    assert shared.status_code == 200 and 'data-state="genuine"' in shared.text
    uuid = world.credential.removeprefix("urn:uuid:")
    download = visitor.get(f"{link.group(1)}/bundles/{uuid}.json")
    assert (
        download.status_code == 200 and orjson.loads(download.content)["credential"]["id"] == world.credential
    )

    revoked = pages.post(f"/me/shares/{grant.id}/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert revoked.status_code == 303
    gone = visitor.get(link.group(1))
    assert gone.status_code == 410 and "text/html" in gone.headers["content-type"]
    assert visitor.get(f"{link.group(1)}/bundles/{uuid}.json").status_code == 410


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"audience": ""}, "audience"),
        ({"audience": "x" * 201}, "audience"),
        ({"expires": "2001-01-01"}, "expires"),
        ({"expires": "not a date"}, "expires"),
        ({"scope": "chosen"}, "credential"),
        ({"scope": "chosen", "credential": "urn:uuid:00000000-0000-4000-8000-000000000000"}, "credential"),
    ],
)
def test_share_form_refusals_name_the_field_and_store_nothing(
    pages: TestClient, world: World, change: dict[str, str], field: str
) -> None:
    csrf = sign_in(pages, world.tokens["learner"])
    before = world.ledger.shares.list(world.learner)
    form = {"csrf": csrf, "audience": "Employer", "expires": "2099-01-01", "scope": "all", **change}
    answer = pages.post("/me/shares", data=form)
    assert answer.status_code == 422
    assert f'href="#{field}"' in answer.text
    assert world.ledger.shares.list(world.learner) == before


def test_forms_without_the_sessions_csrf_token_are_refused(pages: TestClient, world: World) -> None:
    sign_in(pages, world.tokens["learner"])
    before = world.ledger.shares.list(world.learner)
    form = {"audience": "Employer", "expires": "2099-01-01", "scope": "all"}
    for csrf in ("", "0" * 64):
        answer = pages.post("/me/shares", data={**form, "csrf": csrf})
        assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]
        assert pages.post(f"/me/shares/{world.share_id}/revoke", data={"csrf": csrf}).status_code == 403
    assert world.ledger.shares.list(world.learner) == before


def test_forms_from_another_site_are_refused(pages: TestClient, world: World) -> None:
    csrf = sign_in(pages, world.tokens["learner"])
    before = world.ledger.shares.list(world.learner)
    answer = pages.post(
        f"/me/shares/{world.share_id}/revoke",
        data={"csrf": csrf},
        headers={"origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert (
        pages.post("/sign-in", data={"token": "x"}, headers={"origin": "https://evil.example"}).status_code
        == 403
    )
    assert world.ledger.shares.list(world.learner) == before


def test_a_learner_cannot_revoke_or_download_anothers(pages: TestClient, world: World) -> None:
    csrf = sign_in(pages, world.tokens["learner-other"])
    answer = pages.post(f"/me/shares/{world.share_id}/revoke", data={"csrf": csrf})
    assert answer.status_code == 404
    assert world.ledger.shares.is_live(world.ledger.shares.list(world.learner)[0])
    uuid = world.credential.removeprefix("urn:uuid:")
    assert pages.get(f"/me/credentials/{uuid}").status_code == 404
    assert pages.get(f"/me/credentials/{uuid}/bundle.json").status_code == 404


def test_learner_downloads_one_bundle_or_all(pages: TestClient, world: World) -> None:
    sign_in(pages, world.tokens["learner"])
    uuid = world.credential.removeprefix("urn:uuid:")
    page = pages.get(f"/me/credentials/{uuid}")
    assert page.status_code == 200 and world.credential in page.text
    one = pages.get(f"/me/credentials/{uuid}/bundle.json")
    assert one.status_code == 200 and "attachment" in one.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(pages.get("/me/bundles.zip").content))
    assert f"bundle-{uuid}.json" in archive.namelist()


@pytest.mark.parametrize(
    ("data", "files"),
    [
        ({}, None),
        ({"document": "   "}, None),
        ({"document": "{not json"}, None),
        ({"document": '{"a": 1, "a": 2}'}, None),
        ({"document": '{"type": "Something"}'}, None),
        ({}, {"file": ("x.json", b"\xff\xfe not utf-8")}),
    ],
)
def test_verify_page_refusals_are_clear(
    pages: TestClient, world: World, data: dict[str, str], files: dict[str, tuple[str, bytes]] | None
) -> None:
    answer = pages.post("/verify", data=data, files=files)
    assert answer.status_code == 422
    assert "error-summary" in answer.text and "verdict" not in answer.text


def test_verify_page_reads_a_presented_credential(pages: TestClient, world: World) -> None:
    stored = world.ledger.opened(world.learner, 2)[0]
    answer = pages.post("/verify", data={"document": orjson.dumps(stored).decode()})
    assert answer.status_code == 200 and 'data-state="genuine"' in answer.text
    stored["credentialSubject"]["name"] = "Someone else"
    answer = pages.post("/verify", data={"document": orjson.dumps(stored).decode()})
    assert 'data-state="not-recorded"' in answer.text


def test_verify_page_with_a_share_opens_the_shared_record(pages: TestClient, world: World) -> None:
    answer = pages.get(f"/verify?share={world.share_secret}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/s/{world.share_secret}"


def test_api_routes_still_speak_problem_json(pages: TestClient) -> None:
    answer = pages.post(
        "/v1/verify", content=b"a=1", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 415 and answer.headers["content-type"] == "application/problem+json"
    assert pages.get("/v1/nowhere").headers["content-type"] == "application/problem+json"
    assert pages.get("/nowhere").headers["content-type"].startswith("text/html")


def test_a_learner_asks_to_be_erased_on_the_page(pages: TestClient, world: World) -> None:
    csrf = sign_in(pages, world.tokens["learner"])
    assert 'action="/me/erasure"' in pages.get("/me/erasure").text
    refused = pages.post("/me/erasure", data={"csrf": csrf, "reason": "please"})  # not confirmed
    assert refused.status_code == 422 and 'href="#confirm"' in refused.text
    assert pages.post("/me/erasure", data={"csrf": "", "confirm": "yes"}).status_code == 403
    too_long = pages.post("/me/erasure", data={"csrf": csrf, "confirm": "yes", "reason": "x" * 2001})
    assert too_long.status_code == 422 and 'href="#reason"' in too_long.text
    assert world.ledger.erasures.list(learner=world.learner) == []
    form = {"csrf": csrf, "confirm": "yes", "reason": "moving on"}
    asked = pages.post("/me/erasure", data=form, follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == "/me/erasure?done=asked"
    [request] = world.ledger.erasures.list(learner=world.learner)
    assert request.state == "requested" and request.reason == "moving on"
    page = pages.get("/me/erasure?done=asked").text
    assert 'action="/me/erasure"' not in page and "notice" in page  # one request at a time
