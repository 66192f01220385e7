"""The trust registry over HTTP, on SQLite and PostgreSQL: the registrar's changes, the public trust
list, did:web documents, and every refusal as a problem that stores nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from api.problems import MEDIA_TYPE, TYPE_BASE
from ledger.application import Ledger
from tests.e2e.conftest import Actors
from tests.e2e.world import bearer
from verification.keys import SigningKey

DID_HOST = "localhost%3A8000"


def new_key() -> str:
    """A fresh Ed25519 public key as a Multikey."""
    return SigningKey.generate().verify_key.multibase


def events(ledger: Ledger) -> int:
    """How many events the store holds."""
    return ledger.recorder.max_notification_id() or 0


def views_current(api: TestClient, ledger: Ledger) -> None:
    """Wait until the projections have read every event (the follower thread runs on PostgreSQL)."""
    api.app.state.projections.wait_until(events(ledger), timeout=10)  # type: ignore[attr-defined]


def assert_problem(response: Response, status: int, slug: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of this status and type; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["type"] == TYPE_BASE + slug, body
    assert body["status"] == status and body["detail"]
    return body


def test_registrar_builds_an_organisation_that_the_trust_list_and_did_document_reflect(
    api: TestClient, ledger: Ledger, actors: Actors
) -> None:
    registrar = bearer(actors.registrar)
    created = api.post(
        "/v1/organisations",
        json={"slug": "gower-college", "name": "Gower College", "kind": "school-college"},
        headers=registrar,
    )
    assert created.status_code == 201, created.text
    organisation = created.json()
    assert organisation["slug"] == "gower-college"
    assert organisation["did"] == f"did:web:{DID_HOST}:orgs:gower-college"
    assert organisation["id"].startswith("urn:uuid:")

    old, new = new_key(), new_key()
    added = api.post(
        "/v1/organisations/gower-college/keys",
        json={"public_key_multibase": old, "valid_from": "2020-01-01T00:00:00Z"},
        headers=registrar,
    )
    assert added.status_code == 201, added.text
    # The organisation's stream id addresses it as well as its slug; instants come back in UTC.
    added = api.post(
        f"/v1/organisations/{organisation['id']}/keys",
        json={"public_key_multibase": new, "valid_from": "2024-01-01T00:00:00+01:00"},
        headers=registrar,
    )
    assert added.status_code == 201, added.text
    assert [key["valid_from"] for key in added.json()["keys"]] == [
        "2020-01-01T00:00:00.000000Z",
        "2023-12-31T23:00:00.000000Z",
    ]
    accredited = api.post(
        "/v1/organisations/gower-college/accreditations",
        json={
            "kinds": ["enrolment", "assessment"],
            "scopes": ["RQF"],
            "valid_from": "2020-01-01T00:00:00Z",
            "valid_until": "2030-01-01T00:00:00Z",
        },
        headers=registrar,
    )
    assert accredited.status_code == 201, accredited.text

    did = organisation["did"]
    document = api.get("/orgs/gower-college/did.json")
    assert document.status_code == 200 and document.headers["content-type"] == "application/json"
    assert document.json()["id"] == did
    assert document.json()["assertionMethod"] == [f"{did}#{old}", f"{did}#{new}"]
    before_retirement = datetime.now(UTC)

    retired = api.post(
        f"/v1/organisations/gower-college/keys/{old}/retire",
        json={"at": "2024-01-01T00:00:00Z"},
        headers=registrar,
    )
    assert retired.status_code == 200, retired.text
    assert retired.json()["keys"][0]["retired_at"] == "2024-01-01T00:00:00.000000Z"
    document = api.get("/orgs/gower-college/did.json", headers={"Accept": "application/did+json"})
    assert document.headers["content-type"] == "application/did+json"
    assert document.json()["assertionMethod"] == [f"{did}#{new}"]  # retired: no longer asserts
    assert [method["publicKeyMultibase"] for method in document.json()["verificationMethod"]] == [old, new]

    compromised = api.post(
        f"/v1/organisations/gower-college/keys/{new}/compromise",
        json={"at": "2025-02-01T12:00:00Z"},
        headers=registrar,
    )
    assert compromised.status_code == 200, compromised.text
    assert api.get("/orgs/gower-college/did.json").json()["assertionMethod"] == []

    views_current(api, ledger)
    trust = api.get("/v1/registry")  # anyone: no token
    assert trust.status_code == 200, trust.text
    assert trust.json()["as_of"] is None
    listed = {item["slug"]: item for item in trust.json()["organisations"]}
    assert set(listed) == {"caerleon", "gower-college"}
    gower = listed["gower-college"]
    assert gower["id"] == organisation["id"] and gower["did"] == did and gower["kind"] == "school-college"
    assert gower["keys"] == [
        {
            "public_key_multibase": old,
            "valid_from": "2020-01-01T00:00:00.000000Z",
            "retired_at": "2024-01-01T00:00:00.000000Z",
            "compromised_at": None,
        },
        {
            "public_key_multibase": new,
            "valid_from": "2023-12-31T23:00:00.000000Z",
            "retired_at": None,
            "compromised_at": "2025-02-01T12:00:00.000000Z",
        },
    ]
    assert gower["accreditations"] == [
        {
            "kinds": ["enrolment", "assessment"],
            "scopes": ["RQF"],
            "valid_from": "2020-01-01T00:00:00.000000Z",
            "valid_until": "2030-01-01T00:00:00.000000Z",
        }
    ]

    # As the ledger knew it before the retirement was recorded: both keys still in use.
    earlier = api.get("/v1/registry", params={"as_of": before_retirement.isoformat()})
    assert earlier.status_code == 200, earlier.text
    assert earlier.json()["as_of"] == before_retirement.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    then = next(item for item in earlier.json()["organisations"] if item["slug"] == "gower-college")
    assert [(key["retired_at"], key["compromised_at"]) for key in then["keys"]] == [
        (None, None),
        (None, None),
    ]
    assert api.get("/v1/registry", params={"as_of": "2000-01-01T00:00:00Z"}).json()["organisations"] == []


def test_retiring_without_a_body_retires_from_now(api: TestClient, actors: Actors) -> None:
    key = actors.issuer.key.verify_key.multibase
    retired = api.post(f"/v1/organisations/caerleon/keys/{key}/retire", headers=bearer(actors.registrar))
    assert retired.status_code == 200, retired.text
    assert retired.json()["keys"][0]["retired_at"] is not None
    assert api.get("/orgs/caerleon/did.json").json()["assertionMethod"] == []


def test_refusals_are_problems_and_store_nothing(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    registrar = bearer(actors.registrar)

    def refuse(path: str, body: Any, status: int, slug: str, headers: dict[str, str] = registrar) -> None:
        before = events(ledger)
        assert_problem(api.post(path, json=body, headers=headers), status, slug)
        assert events(ledger) == before, f"{path} {body}: something was stored"

    key = actors.issuer.key.verify_key.multibase
    fresh = new_key()
    gower = {"slug": "gower-college", "name": "Gower College", "kind": "school-college"}
    orgs, keys = "/v1/organisations", "/v1/organisations/caerleon/keys"
    accreditations = "/v1/organisations/caerleon/accreditations"
    retire, compromise = f"{keys}/{key}/retire", f"{keys}/{key}/compromise"

    # Who may: registrars only.
    refuse(orgs, gower, 401, "not-authenticated", headers={})
    refuse(orgs, gower, 401, "not-authenticated", headers=bearer("llt_nobody"))
    refuse(orgs, gower, 403, "forbidden", headers=bearer(actors.issuer_token))
    refuse(orgs, gower, 403, "forbidden", headers=bearer(actors.auditor))
    refuse(keys, {"public_key_multibase": fresh}, 403, "forbidden", headers=bearer(actors.learner_token))
    refuse(compromise, {"at": "2024-01-01T00:00:00Z"}, 403, "forbidden", headers=bearer(actors.issuer_token))

    # Organisations.
    refuse(orgs, {**gower, "slug": "caerleon"}, 409, "duplicate-organisation")
    refuse(orgs, {**gower, "slug": "Gower College"}, 422, "invalid-registry-change")
    refuse(orgs, {**gower, "kind": "guild"}, 422, "invalid-registry-change")
    refuse(orgs, {"slug": "gower", "kind": "employer"}, 422, "invalid-request")
    refuse(orgs, {**gower, "motto": "x"}, 422, "invalid-request")
    refuse(orgs, [gower], 422, "invalid-request")

    # Keys, and instants that are not RFC 3339 with a zone.
    refuse(keys, {"public_key_multibase": "z6MkNotAKey"}, 422, "invalid-registry-change")
    refuse(keys, {"public_key_multibase": key}, 409, "duplicate-key")
    for instant in ("2024-01-01T00:00:00", "2024-01-01", 1704067200, "9999-12-31T23:59:59-23:59"):
        refuse(keys, {"public_key_multibase": fresh, "valid_from": instant}, 422, "invalid-request")
    refuse("/v1/organisations/atlantis/keys", {"public_key_multibase": fresh}, 404, "unknown-organisation")
    refuse(f"{keys}/{fresh}/retire", {"at": "2024-01-01T00:00:00Z"}, 404, "unknown-organisation-key")
    refuse(retire, {"at": "1999-01-01T00:00:00Z"}, 422, "invalid-registry-change")
    refuse(compromise, {}, 422, "invalid-request")

    # Accreditations.
    window = {"valid_from": "2024-01-01T00:00:00Z", "valid_until": "2023-01-01T00:00:00Z"}
    refuse(accreditations, {"kinds": ["award"], **window}, 422, "invalid-registry-change")
    refuse(accreditations, {"kinds": ["knighthood"]}, 422, "invalid-registry-change")
    refuse(accreditations, {"kinds": "award"}, 422, "invalid-request")
    for unknown in ("urn:uuid:00000000-0000-0000-0000-000000000000", "urn:uuid:nonsense"):
        refuse(
            f"/v1/organisations/{unknown}/accreditations", {"kinds": ["award"]}, 404, "unknown-organisation"
        )

    # Bodies that are not JSON.
    before = events(ledger)
    json_headers = {**registrar, "Content-Type": "application/json"}
    assert_problem(api.post(orgs, content=b'{"slug": ', headers=json_headers), 422, "invalid-request")
    assert_problem(api.post(orgs, content=b"slug=x", headers=registrar), 422, "invalid-request")
    assert events(ledger) == before


def test_public_reads_refuse_bad_input_as_problems(api: TestClient, actors: Actors) -> None:
    assert_problem(api.get("/orgs/atlantis/did.json"), 404, "unknown-organisation")
    assert_problem(api.get("/orgs/Not%20A%20Slug/did.json"), 404, "unknown-organisation")
    for as_of in ("2024-01-01T00:00:00", "yesterday", "2024-01-01", "0001-01-01T00:00:00+01:00"):
        assert_problem(api.get("/v1/registry", params={"as_of": as_of}), 422, "invalid-request")


def test_routes_declare_their_roles(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    declared = {
        ("post", "/v1/organisations"): ["registrar"],
        ("post", "/v1/organisations/{id}/keys"): ["registrar"],
        ("post", "/v1/organisations/{id}/keys/{key}/retire"): ["registrar"],
        ("post", "/v1/organisations/{id}/keys/{key}/compromise"): ["registrar"],
        ("post", "/v1/organisations/{id}/accreditations"): ["registrar"],
        ("get", "/v1/registry"): ["anyone"],
        ("get", "/orgs/{slug}/did.json"): ["anyone"],
    }
    for (method, path), allowed in declared.items():
        operation = paths[path][method]
        assert operation["x-roles"] == allowed, path
        assert operation["summary"] and operation["description"], path
        refusals = [status for status in operation["responses"] if status.startswith(("4", "5"))]
        assert refusals, f"{path} documents no problems"
