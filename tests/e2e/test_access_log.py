"""The access log, on SQLite and PostgreSQL: every kind of read through a share grant or by an auditor
adds exactly one row naming who, which grant or token, and what; the learner's own reads and refused
reads add none; the learner (and only the learner) reads the log through the API and on /me/access.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger import examples
from ledger.access_log import Access
from ledger.application import Ledger
from ledger.posting import post_credential
from ledger.streams import parse_rfc3339
from tests.conftest import Backend
from tests.e2e.world import World, bearer

SITE = "https://testserver"
PAGES = {"accept": "text/html", "origin": SITE}
END = 2**62


def logged(world: World) -> list[Access]:
    """Every access-log row of the world's learner, newest first."""
    return world.ledger.access_log.list(world.learner, limit=1000)


def token_id(world: World, caller: str) -> str:
    """The id of one of the world's tokens."""
    return world.ledger.tokens.authenticate(world.tokens[caller]).token_id


def uuid_of(world: World) -> str:
    return world.credential.removeprefix("urn:uuid:")


def caught_up(client: TestClient, world: World) -> None:
    """Wait until the views hold every write so far (credential reads go through the index view)."""
    head = world.ledger.recorder.max_notification_id() or 0
    client.app.state.projections.wait_until(head, timeout=10)  # type: ignore[attr-defined]


@pytest.fixture
def pages(backend: Backend, ledger: Ledger) -> Iterator[TestClient]:
    """A browser-like client over HTTPS (the session cookie is Secure)."""
    app = create_app(backend.settings, ledger=ledger)
    with TestClient(app, base_url=SITE, raise_server_exceptions=False, headers=PAGES) as client:
        yield client


# (what the caller does, who: "share" or "auditor", what the row says)
READS = [
    ("GET /v1/learners/{learner}/portfolio?share={secret}", "share", "portfolio"),
    ("GET /v1/learners/{learner}/portfolio", "auditor", "portfolio"),
    ("GET /v1/learners/{learner}/entries", "auditor", "entries"),
    ("GET /v1/shares/{secret}", "share", "shared record"),
    ("GET /v1/credentials/{credential}?share={secret}", "share", "credential {credential}"),
    ("GET /v1/credentials/{credential}", "auditor", "credential {credential}"),
    ("GET /v1/credentials/{credential}/bundle?share={secret}", "share", "bundle {credential}"),
    ("GET /v1/credentials/{credential}/bundle", "auditor", "bundle {credential}"),
    (f"GET /v1/audit/records?start=0&stop={END}", "auditor", "audited entries 1, 2"),
    ("GET /s/{secret}", "share", "shared record"),
    ("GET /s/{secret}/bundles/{uuid}.json", "share", "bundle {credential}"),
]


def fill(template: str, world: World) -> str:
    """A READS template with the world's values."""
    values = {
        "learner": world.learner,
        "secret": world.share_secret,
        "credential": world.credential,
        "uuid": uuid_of(world),
    }
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], template)


def send(client: TestClient, world: World, call: str, token: str | None) -> Any:
    method, path = fill(call, world).split(" ", 1)
    headers = bearer(token) if token else {}
    return client.request(method, path, headers=headers)


@pytest.mark.parametrize(("call", "actor", "what"), READS, ids=[read[0] for read in READS])
def test_each_kind_of_read_adds_exactly_one_row(
    api: TestClient, world: World, call: str, actor: str, what: str
) -> None:
    token = world.tokens["auditor"] if actor == "auditor" else None
    caught_up(api, world)
    answer = send(api, world, call, token)
    assert answer.status_code == 200, answer.text
    rows = logged(world)
    assert len(rows) == 1, rows
    row = rows[0]
    grant = world.ledger.shares.list(world.learner)[0]
    expected = {
        "learner": world.learner,
        "actor": actor,
        "grant_id": grant.id if actor == "share" else None,
        "token_id": token_id(world, "auditor") if actor == "auditor" else None,
        "audience": "Employer" if actor == "share" else None,
        "what": fill(what, world),
    }
    assert {key: value for key, value in asdict(row).items() if key in expected} == expected
    assert parse_rfc3339(row.at).utcoffset() is not None


def test_the_learners_own_reads_add_none(api: TestClient, world: World) -> None:
    own = world.tokens["learner"]
    caught_up(api, world)
    for call, _, _ in READS:
        if "/audit/" in call or call.startswith("GET /s/") or "share=" in call or "/v1/shares/" in call:
            continue
        answer = send(api, world, call, own)
        assert answer.status_code == 200, (call, answer.text)
    assert api.get(f"/v1/learners/{world.learner}/access-log", headers=bearer(own)).status_code == 200
    assert api.get(f"/v1/learners/{world.learner}/export", headers=bearer(own)).status_code == 200
    assert logged(world) == []


def test_refused_reads_add_none(api: TestClient, world: World) -> None:
    ledger = world.ledger
    other = ledger.register_learner(world.fresh_uln(), "Gwen Morgan", "2001-02-03")
    second = examples.sign(examples.enrolment(world.university.did, world.learner), world.university.key)
    post_credential(ledger, second)
    caught_up(api, world)
    refused = [
        (f"GET /v1/learners/{other}/portfolio?share={{secret}}", None, 403),
        (f"GET /v1/credentials/{second['id']}?share={{secret}}", None, 403),
        (f"GET /v1/credentials/{second['id']}/bundle?share={{secret}}", None, 403),
        ("GET /v1/learners/{learner}/entries", "registrar", 403),
        ("GET /v1/learners/{learner}/portfolio", "learner-other", 403),
        ("GET /v1/credentials/{credential}", "issuer-other", 404),
        ("GET /v1/audit/records?start=0&stop=10", "learner", 403),
        ("GET /v1/audit/records?start=0&stop=10", "revoked", 401),
        ("GET /s/not-a-secret", None, 404),
    ]
    for call, caller, status in refused:
        answer = send(api, world, call, world.tokens[caller] if caller else None)
        assert answer.status_code == status, (call, answer.text)
    ledger.shares.revoke(world.learner, world.share_id)
    for call, actor, _ in READS:
        if actor == "share":
            answer = send(api, world, call, None)
            assert answer.status_code == 410, (call, answer.text)
    assert logged(world) == []


def test_the_learner_reads_the_log_newest_first_in_pages(api: TestClient, world: World) -> None:
    for call, actor, _ in READS[:4]:
        token = world.tokens["auditor"] if actor == "auditor" else None
        assert send(api, world, call, token).status_code == 200
    path = f"/v1/learners/{world.learner}/access-log"
    own = bearer(world.tokens["learner"])
    whole = api.get(path, headers=own)
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert body["total"] == 4 and body["next_offset"] is None
    assert [row["id"] for row in body["accesses"]] == [row.id for row in logged(world)]
    assert [row["what"] for row in body["accesses"]] == ["shared record", "entries", "portfolio", "portfolio"]
    assert body["accesses"][0] == {
        "id": body["accesses"][0]["id"],
        "at": body["accesses"][0]["at"],
        "actor": "share",
        "grant_id": world.share_id,
        "token_id": None,
        "audience": "Employer",
        "what": "shared record",
    }
    first = api.get(path, params={"limit": 3}, headers=own).json()
    second = api.get(path, params={"limit": 3, "offset": 3}, headers=own).json()
    assert first["next_offset"] == 3 and second["next_offset"] is None
    assert first["accesses"] + second["accesses"] == body["accesses"]
    too_long = api.get(path, params={"limit": 10**6}, headers=own)
    assert too_long.status_code == 422 and too_long.json()["type"].endswith("/invalid-page")


@pytest.mark.parametrize("caller", ["none", "revoked", "learner-other", "auditor", "registrar", "issuer"])
def test_nobody_else_reads_the_log(api: TestClient, world: World, caller: str) -> None:
    send(api, world, READS[0][0], None)
    headers = {} if caller == "none" else bearer(world.tokens[caller])
    answer = api.get(f"/v1/learners/{world.learner}/access-log", headers=headers)
    assert answer.status_code == (401 if caller in ("none", "revoked") else 403), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "Employer" not in answer.text


@pytest.mark.parametrize("code", ["en", "cy"])
def test_the_access_page_shows_the_reads(pages: TestClient, world: World, code: str) -> None:
    caught_up(pages, world)
    assert pages.get(f"/s/{world.share_secret}").status_code == 200
    assert send(pages, world, READS[5][0], world.tokens["auditor"]).status_code == 200
    assert pages.get("/me/access", follow_redirects=False).headers["location"] == "/sign-in"

    caught_up(pages, world)
    signed_in = pages.post("/sign-in", data={"token": world.tokens["learner"]}, follow_redirects=False)
    assert signed_in.status_code == 303
    record = pages.get(f"/me?lang={code}")
    assert 'href="/me/access"' in record.text and 'href="/me/export.zip"' in record.text
    page = pages.get(f"/me/access?lang={code}")
    assert page.status_code == 200 and f'<html lang="{code}">' in page.text
    rows = logged(world)
    assert all(f'data-access="{row.id}"' in page.text for row in rows) and len(rows) == 2
    assert "Employer" in page.text and token_id(world, "auditor") in page.text
    assert "BSc (Hons) Computer Science" in page.text  # the credential is named by its title
    if code == "cy":
        assert "Who has seen my record" not in page.text


def test_another_learners_access_page_shows_none_of_it(pages: TestClient, world: World) -> None:
    assert pages.get(f"/s/{world.share_secret}").status_code == 200
    pages.post("/sign-in", data={"token": world.tokens["learner-other"]}, follow_redirects=False)
    page = pages.get("/me/access")
    assert page.status_code == 200
    assert "Employer" not in page.text and "data-access=" not in page.text
