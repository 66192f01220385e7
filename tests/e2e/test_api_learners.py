"""The learners area over HTTP on SQLite and PostgreSQL: registration, portfolio, stream, share grants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.problems import MEDIA_TYPE, TYPE_BASE
from ledger import examples
from ledger.application import Ledger
from ledger.posting import post_credential
from ledger.receipts import Receipt
from tests.conftest import Issuer
from tests.e2e.conftest import Actors
from tests.e2e.world import bearer, soon

OTHER_ULN = "1234567805"
NEW_ULN = "1234567813"


def stored(ledger: Ledger) -> tuple[int, int, int]:
    """What a refusal must leave unchanged: the event store head, share grants and API tokens."""
    with ledger.tokens.store.reading() as cursor:
        shares = cursor.rows("SELECT COUNT(*) AS n FROM {p}share_grants")[0]["n"]
        tokens = cursor.rows("SELECT COUNT(*) AS n FROM {p}api_tokens")[0]["n"]
    return ledger.recorder.max_notification_id() or 0, int(shares), int(tokens)


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of this status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["type"] == TYPE_BASE + slug, body
    assert body["status"] == status
    return body


def record(ledger: Ledger, issuer: Issuer, document: dict[str, Any]) -> Receipt:
    """Sign a credential as its issuer and record it (posting over HTTP is another area's)."""
    return post_credential(ledger, examples.sign(document, issuer.key))


@pytest.fixture
def other(ledger: Ledger, actors: Actors) -> tuple[str, str]:
    """A second learner and their token."""
    learner = ledger.register_learner(OTHER_ULN, "Dafydd Morgan", "2001-02-03")
    token, _ = ledger.tokens.create("learner", learner=learner)
    return learner, token


@pytest.fixture
def held(ledger: Ledger, actors: Actors) -> dict[str, Any]:
    """An enrolment and an award of the actors' learner, and the position the views must reach."""
    did = actors.issuer.did
    enrolment = record(ledger, actors.issuer, examples.enrolment(did, actors.learner))
    award = record(ledger, actors.issuer, examples.award(did, actors.learner))
    return {
        "enrolment": enrolment.entry["credential"],
        "award": award.entry["credential"],
        "after": award.position,
    }


def portfolio_ids(body: dict[str, Any]) -> set[str]:
    """Every credential a portfolio shows."""
    return {item["credential"] for item in body["enrolments"] + body["awards"]}


def share(api: TestClient, actors: Actors, credentials: list[str] | None, days: int = 30) -> dict[str, Any]:
    """A share grant of the actors' learner, made over HTTP."""
    response = api.post(
        f"/v1/learners/{actors.learner}/shares",
        json={"audience": "Severn Software HR", "expires_at": soon(days), "credentials": credentials},
        headers=bearer(actors.learner_token),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# -- registration -------------------------------------------------------------------------------


def test_a_registrar_registers_a_learner_whose_token_works(api: TestClient, actors: Actors) -> None:
    body = {"uln": NEW_ULN, "name": "Nia Evans", "date_of_birth": "2004-11-30"}
    response = api.post("/v1/learners", json=body, headers=bearer(actors.registrar))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("urn:uuid:") and created["token"] and created["token_id"]
    learner, token = created["id"], created["token"]

    portfolio = api.get(f"/v1/learners/{learner}/portfolio", headers=bearer(token))
    assert portfolio.status_code == 200, portfolio.text
    assert portfolio.json()["learner"] == learner and portfolio.json()["awards"] == []
    entries = api.get(f"/v1/learners/{learner}/entries", headers=bearer(token)).json()
    assert [item["entry"]["kind"] for item in entries["entries"]] == ["registration"]
    assert entries["entries"][0]["content"] == {
        "uln": NEW_ULN,
        "name": "Nia Evans",
        "dateOfBirth": "2004-11-30",
    }
    assert entries["intact"] and entries["contents"] == "shown"


@pytest.mark.parametrize(
    ("who", "body", "status", "slug"),
    [
        (None, {"uln": NEW_ULN, "name": "N", "date_of_birth": "2004-11-30"}, 401, "not-authenticated"),
        ("learner", {"uln": NEW_ULN, "name": "N", "date_of_birth": "2004-11-30"}, 403, "forbidden"),
        ("auditor", {"uln": NEW_ULN, "name": "N", "date_of_birth": "2004-11-30"}, 403, "forbidden"),
        ("issuer", {"uln": NEW_ULN, "name": "N", "date_of_birth": "2004-11-30"}, 403, "forbidden"),
        (
            "registrar",
            {"uln": 1234567813, "name": "N", "date_of_birth": "2004-11-30"},
            422,
            "invalid-request",
        ),
        ("registrar", {"uln": NEW_ULN, "date_of_birth": "2004-11-30"}, 422, "invalid-request"),
        ("registrar", {"uln": NEW_ULN, "name": "N", "date_of_birth": 20041130}, 422, "invalid-request"),
        ("registrar", {"uln": NEW_ULN, "name": "N", "date_of_birth": "30/11/2004"}, 422, "invalid-request"),
        ("registrar", {"uln": NEW_ULN, "name": "N", "dob": "2004-11-30"}, 422, "invalid-request"),
        ("registrar", [NEW_ULN], 422, "invalid-request"),
        ("registrar", {"uln": "1234567810", "name": "N", "date_of_birth": "2004-11-30"}, 422, "invalid-uln"),
        (
            "registrar",
            {"uln": NEW_ULN, "name": " ", "date_of_birth": "2004-11-30"},
            422,
            "invalid-registry-change",
        ),
        (
            "registrar",
            {"uln": NEW_ULN, "name": "N", "date_of_birth": "2004-02-30"},
            422,
            "invalid-registry-change",
        ),
        (
            "registrar",
            {"uln": "9276308686", "name": "N", "date_of_birth": "2004-11-30"},
            409,
            "duplicate-uln",
        ),
    ],
)
def test_registration_refusals_store_nothing(
    api: TestClient, ledger: Ledger, actors: Actors, who: str | None, body: object, status: int, slug: str
) -> None:
    tokens = {
        "registrar": actors.registrar,
        "learner": actors.learner_token,
        "auditor": actors.auditor,
        "issuer": actors.issuer_token,
    }
    before = stored(ledger)
    headers = bearer(tokens[who]) if who else {}
    assert_problem(api.post("/v1/learners", json=body, headers=headers), status, slug)
    assert stored(ledger) == before


def test_a_malformed_json_body_is_a_problem(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    before = stored(ledger)
    headers = {**bearer(actors.registrar), "content-type": "application/json"}
    assert_problem(api.post("/v1/learners", content=b'{"uln": "12', headers=headers), 422, "invalid-request")
    assert stored(ledger) == before


# -- portfolio and entries ----------------------------------------------------------------------


def test_the_learner_and_an_auditor_read_the_whole_portfolio(
    api: TestClient, actors: Actors, held: dict[str, Any]
) -> None:
    for token in (actors.learner_token, actors.auditor):
        response = api.get(
            f"/v1/learners/{actors.learner}/portfolio", params={"after": held["after"]}, headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        assert portfolio_ids(response.json()) == {held["enrolment"], held["award"]}


def test_a_share_shows_only_what_it_covers(api: TestClient, actors: Actors, held: dict[str, Any]) -> None:
    partial = share(api, actors, [held["award"]])
    whole = share(api, actors, None)
    url = f"/v1/learners/{actors.learner}/portfolio"
    shown = api.get(url, params={"share": partial["secret"], "after": held["after"]})
    assert shown.status_code == 200, shown.text
    assert portfolio_ids(shown.json()) == {held["award"]}
    assert shown.json()["enrolments"] == []
    everything = api.get(url, params={"share": whole["secret"], "after": held["after"]})
    assert portfolio_ids(everything.json()) == {held["enrolment"], held["award"]}


def test_entries_show_contents_to_the_learner_and_hashes_to_an_auditor(
    api: TestClient, ledger: Ledger, actors: Actors, held: dict[str, Any]
) -> None:
    report = ledger.read_stream(actors.learner)
    url = f"/v1/learners/{actors.learner}/entries"
    mine = api.get(url, headers=bearer(actors.learner_token)).json()
    audited = api.get(url, headers=bearer(actors.auditor)).json()
    for body in (mine, audited):
        assert body["intact"] and body["findings"] == []
        assert [item["hash"] for item in body["entries"]] == [item.hash for item in report.items]
        assert [item["entry"] for item in body["entries"]] == [item.entry for item in report.items]
    assert mine["contents"] == "shown"
    assert mine["entries"][2]["content"]["id"] == held["award"] and mine["entries"][2]["salt"]
    assert audited["contents"] == "withheld"
    assert all(item["content"] is None and item["salt"] is None for item in audited["entries"])
    assert "9276308686" not in str(audited) and "Carys" not in str(audited)


@pytest.mark.parametrize("path", ["portfolio", "entries"])
def test_reading_refusals(
    api: TestClient, ledger: Ledger, actors: Actors, other: tuple[str, str], path: str
) -> None:
    url = f"/v1/learners/{actors.learner}/{path}"
    before = stored(ledger)
    assert_problem(api.get(url), 401, "not-authenticated")
    assert_problem(api.get(url, headers=bearer("llt_not-a-token")), 401, "not-authenticated")
    assert_problem(api.get(url, headers=bearer(actors.registrar)), 403, "forbidden")
    assert_problem(api.get(url, headers=bearer(actors.issuer_token)), 403, "forbidden")
    assert_problem(api.get(url, headers=bearer(other[1])), 403, "forbidden")
    unknown = f"/v1/learners/urn:uuid:{uuid.uuid4()}/{path}"
    assert_problem(api.get(unknown, headers=bearer(actors.auditor)), 404, "unknown-learner")
    not_an_id = f"/v1/learners/nobody/{path}"
    assert_problem(api.get(not_an_id, headers=bearer(actors.auditor)), 404, "unknown-learner")
    organisation = ledger.organisation(actors.issuer.slug)
    not_a_learner = f"/v1/learners/urn:uuid:{organisation.id}/{path}"
    assert_problem(api.get(not_a_learner, headers=bearer(actors.auditor)), 404, "unknown-learner")
    assert stored(ledger) == before


def test_portfolio_parameter_refusals(api: TestClient, actors: Actors, other: tuple[str, str]) -> None:
    url = f"/v1/learners/{actors.learner}/portfolio"
    auditor = bearer(actors.auditor)
    assert_problem(api.get(url, params={"after": "-1"}, headers=auditor), 422, "invalid-request")
    assert_problem(api.get(url, params={"after": "soon"}, headers=auditor), 422, "invalid-request")
    assert_problem(api.get(url, params={"after": 10**9}, headers=auditor), 422, "unknown-position")
    assert_problem(api.get(url, params={"share": "not-a-secret"}), 404, "share-not-found")
    theirs = share(api, actors, None)
    other_url = f"/v1/learners/{other[0]}/portfolio"
    assert_problem(api.get(other_url, params={"share": theirs["secret"]}), 403, "forbidden")


# -- share grants -------------------------------------------------------------------------------


def test_a_share_is_created_listed_opened_and_revoked(
    api: TestClient, backend: Any, actors: Actors, held: dict[str, Any]
) -> None:
    created = share(api, actors, [held["award"]])
    public_url = backend.settings.public_url.rstrip("/")
    assert created["url"] == f"{public_url}/v1/shares/{created['secret']}"
    assert created["credentials"] == [held["award"]] and created["state"] == "live"

    mine = bearer(actors.learner_token)
    listed = api.get(f"/v1/learners/{actors.learner}/shares", headers=mine)
    assert listed.status_code == 200
    assert [grant["id"] for grant in listed.json()["shares"]] == [created["id"]]
    assert created["secret"] not in listed.text and "secret" not in listed.json()["shares"][0]

    opened = api.get(f"/v1/shares/{created['secret']}")
    assert opened.status_code == 200, opened.text
    record = opened.json()
    assert record["audience"] == "Severn Software HR" and not record["whole_portfolio"]
    assert [item["id"] for item in record["credentials"]] == [held["award"]]
    shared = record["credentials"][0]
    assert shared["report"]["ok"] is True, shared["report"]
    assert shared["bundle"]["type"] == "LearnerLedgerBundle"
    assert shared["bundle"]["credential"]["id"] == held["award"]

    revoked = api.delete(f"/v1/learners/{actors.learner}/shares/{created['id']}", headers=mine)
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked" and revoked.json()["revoked_at"]
    again = api.delete(f"/v1/learners/{actors.learner}/shares/{created['id']}", headers=mine)
    assert_problem(again, 410, "share-gone")
    gone = assert_problem(api.get(f"/v1/shares/{created['secret']}"), 410, "share-gone")
    assert "revoked" in gone["detail"]
    portfolio = api.get(f"/v1/learners/{actors.learner}/portfolio", params={"share": created["secret"]})
    assert_problem(portfolio, 410, "share-gone")


def test_a_whole_portfolio_share_opens_every_credential(
    api: TestClient, actors: Actors, held: dict[str, Any]
) -> None:
    record = api.get(f"/v1/shares/{share(api, actors, None)['secret']}").json()
    assert record["whole_portfolio"]
    assert [item["id"] for item in record["credentials"]] == [held["enrolment"], held["award"]]
    assert all(item["report"]["ok"] for item in record["credentials"])


def test_an_expired_share_is_gone_and_says_so(
    api: TestClient, ledger: Ledger, actors: Actors, held: dict[str, Any]
) -> None:
    created = share(api, actors, None, days=1)
    ledger.shares.clock = lambda: datetime.now(UTC) + timedelta(days=2)
    gone = assert_problem(api.get(f"/v1/shares/{created['secret']}"), 410, "share-gone")
    assert "expired" in gone["detail"]
    listed = api.get(f"/v1/learners/{actors.learner}/shares", headers=bearer(actors.learner_token))
    assert listed.json()["shares"][0]["state"] == "expired"


def test_unknown_shares_are_not_found(api: TestClient, actors: Actors) -> None:
    assert_problem(api.get("/v1/shares/not-a-secret"), 404, "share-not-found")
    url = f"/v1/learners/{actors.learner}/shares/{uuid.uuid4()}"
    assert_problem(api.delete(url, headers=bearer(actors.learner_token)), 404, "share-not-found")


def test_share_management_refusals(api: TestClient, actors: Actors, other: tuple[str, str]) -> None:
    created = share(api, actors, None)
    url = f"/v1/learners/{actors.learner}/shares"
    for headers, status, slug in [
        ({}, 401, "not-authenticated"),
        (bearer(actors.auditor), 403, "forbidden"),
        (bearer(actors.registrar), 403, "forbidden"),
        (bearer(other[1]), 403, "forbidden"),
    ]:
        assert_problem(api.get(url, headers=headers), status, slug)
        assert_problem(api.delete(f"{url}/{created['id']}", headers=headers), status, slug)
    theirs = f"/v1/learners/{other[0]}/shares/{created['id']}"
    assert_problem(api.delete(theirs, headers=bearer(other[1])), 404, "share-not-found")
    assert api.get(f"/v1/shares/{created['secret']}").status_code == 200


def _someone_elses(ledger: Ledger, actors: Actors, other: tuple[str, str]) -> str:
    receipt = record(ledger, actors.issuer, examples.enrolment(actors.issuer.did, other[0]))
    return str(receipt.entry["credential"])


@pytest.mark.parametrize(
    ("who", "body", "status", "slug"),
    [
        (None, {"audience": "HR", "expires_at": "soon", "credentials": None}, 401, "not-authenticated"),
        ("auditor", {"audience": "HR", "expires_at": "soon", "credentials": None}, 403, "forbidden"),
        ("other", {"audience": "HR", "expires_at": "soon", "credentials": None}, 403, "forbidden"),
        ("learner", {"audience": 7, "expires_at": "soon", "credentials": None}, 422, "invalid-request"),
        (
            "learner",
            {"audience": "HR", "expires_at": 1999999999, "credentials": None},
            422,
            "invalid-request",
        ),
        (
            "learner",
            {"audience": "HR", "expires_at": "2099-01-01", "credentials": None},
            422,
            "invalid-request",
        ),
        ("learner", {"audience": "HR", "expires_at": "soon", "credentials": "all"}, 422, "invalid-request"),
        ("learner", {"audience": "HR", "expires_at": "soon", "credentials": [1]}, 422, "invalid-request"),
        ("learner", {"audience": "HR", "expires_at": "soon"}, 422, "invalid-request"),
        (
            "learner",
            {"audience": "HR", "expires_at": "soon", "credentials": None, "x": 1},
            422,
            "invalid-request",
        ),
        (
            "learner",
            {"audience": "HR", "expires_at": "past", "credentials": None},
            422,
            "invalid-registry-change",
        ),
        (
            "learner",
            {"audience": " ", "expires_at": "soon", "credentials": None},
            422,
            "invalid-registry-change",
        ),
        (
            "learner",
            {"audience": "HR", "expires_at": "soon", "credentials": []},
            422,
            "invalid-registry-change",
        ),
        (
            "learner",
            {"audience": "HR", "expires_at": "soon", "credentials": "theirs"},
            422,
            "not-learners-credential",
        ),
        (
            "learner",
            {"audience": "HR", "expires_at": "soon", "credentials": "unknown"},
            422,
            "not-learners-credential",
        ),
        ("stranger", {"audience": "HR", "expires_at": "soon", "credentials": None}, 404, "unknown-learner"),
    ],
)
def test_share_creation_refusals_store_nothing(
    api: TestClient,
    ledger: Ledger,
    actors: Actors,
    other: tuple[str, str],
    held: dict[str, Any],
    who: str | None,
    body: dict[str, Any],
    status: int,
    slug: str,
) -> None:
    learner = actors.learner
    tokens = {"learner": actors.learner_token, "auditor": actors.auditor, "other": other[1]}
    if who == "stranger":
        learner = f"urn:uuid:{uuid.uuid4()}"
        tokens["stranger"], _ = ledger.tokens.create("learner", learner=learner)
    instants = {"soon": soon(), "past": "2001-01-01T00:00:00Z"}
    credentials = {
        "theirs": [held["award"], _someone_elses(ledger, actors, other)],
        "unknown": ["urn:uuid:x"],
    }
    sent = dict(body)
    if isinstance(body.get("expires_at"), str):
        sent["expires_at"] = instants.get(body["expires_at"], body["expires_at"])
    if isinstance(body.get("credentials"), str):
        sent["credentials"] = credentials.get(body["credentials"], body["credentials"])
    before = stored(ledger)
    headers = bearer(tokens[who]) if who else {}
    response = api.post(f"/v1/learners/{learner}/shares", json=sent, headers=headers)
    assert_problem(response, status, slug)
    assert stored(ledger) == before
