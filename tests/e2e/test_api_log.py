"""The transparency log over HTTP, on SQLite and PostgreSQL: checkpoints open under the published key,
every entry's inclusion proof and an auditor's consistency proof verify, bad queries are problems.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.problems import MEDIA_TYPE, TYPE_BASE
from ledger.application import Ledger
from tests.conftest import Backend, register_issuer
from tests.e2e.conftest import Actors
from tests.e2e.world import bearer
from verification.canonical import canonical_json
from verification.checkpoint import Checkpoint, open_checkpoint
from verification.merkle import MAX_TREE_SIZE, leaf_hash, verify_consistency, verify_inclusion
from verification.note import Verifier, parse_verifier_key


def log_key(api: TestClient) -> Verifier:
    """The log's verifier key as the API publishes it."""
    response = api.get("/v1/log/key")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.endswith("\n")
    return parse_verifier_key(response.text.strip())


def signed_checkpoint(api: TestClient, ledger: Ledger) -> Checkpoint:
    """Integrate and sign what is committed, then the newest checkpoint from the API, opened."""
    ledger.tlog.integrate_all()
    ledger.tlog.sign_checkpoint()
    response = api.get("/v1/log/checkpoint")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    return open_checkpoint(response.text, log_key(api), ledger.tlog.signer.origin)


def register_organisations(api: TestClient, registrar: str, *slugs: str) -> None:
    """Register organisations through the API (each one entry, so one leaf)."""
    for slug in slugs:
        created = api.post(
            "/v1/organisations",
            json={"slug": slug, "name": slug.title(), "kind": "employer"},
            headers=bearer(registrar),
        )
        assert created.status_code == 201, created.text


def decoded(hashes: list[str]) -> list[bytes]:
    """Proof hashes from their base64."""
    return [base64.b64decode(value, validate=True) for value in hashes]


def assert_problem(response: Response, status: int, slug: str) -> None:
    """The response is an RFC 9457 problem of this status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    assert response.json()["type"] == TYPE_BASE + slug, response.json()


def test_checkpoint_opens_under_the_published_key(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    verifier = log_key(api)
    assert str(verifier) == ledger.tlog.signer.verifier_key
    checkpoint = signed_checkpoint(api, ledger)
    assert checkpoint.size == ledger.tlog.state().size > 0
    assert checkpoint.root == ledger.tlog.state().frontier.root()


@pytest.fixture
def quiet_api(backend: Backend, ledger: Ledger) -> Iterator[TestClient]:
    """The API without its follower threads: nothing signs a checkpoint unless asked."""
    with TestClient(create_app(backend.settings, ledger=ledger, followers=False)) as client:
        yield client


def test_first_checkpoint_is_signed_on_demand(quiet_api: TestClient, ledger: Ledger) -> None:
    register_issuer(ledger, "caerleon", "university", ["award"])
    assert ledger.tlog.latest_checkpoint() is None
    response = quiet_api.get("/v1/log/checkpoint")
    assert response.status_code == 200, response.text
    checkpoint = open_checkpoint(response.text, ledger.tlog.signer.verifier)
    assert checkpoint.size == 3  # registered, key added, accredited (the key's index claim is no leaf)
    assert ledger.tlog.latest_checkpoint() is not None
    assert quiet_api.get("/v1/log/checkpoint").text == response.text  # signed once, then served


def test_every_entry_has_an_inclusion_proof_that_verifies(
    api: TestClient, ledger: Ledger, actors: Actors
) -> None:
    register_organisations(api, actors.registrar, "severn-software", "gower-college")
    checkpoint = signed_checkpoint(api, ledger)
    page = api.get(
        "/v1/log/entries", params={"start": 0, "end": checkpoint.size}, headers=bearer(actors.auditor)
    )
    assert page.status_code == 200, page.text
    entries: list[dict[str, Any]] = page.json()["entries"]
    assert [item["index"] for item in entries] == list(range(checkpoint.size))
    kinds = [item["entry"]["kind"] for item in entries]
    assert kinds.count("organisation-registered") == 3 and "registration" in kinds
    for item in entries:
        digest = base64.b64decode(item["leaf_hash"])
        assert digest == leaf_hash(canonical_json(item["entry"]))
        proof = api.get("/v1/log/proofs/inclusion", params={"index": item["index"], "size": checkpoint.size})
        assert proof.status_code == 200, proof.text
        body = proof.json()
        assert (body["index"], body["size"]) == (item["index"], checkpoint.size)
        verify_inclusion(digest, item["index"], checkpoint.size, decoded(body["hashes"]), checkpoint.root)


def test_an_auditor_checks_two_checkpoints_are_consistent(
    api: TestClient, ledger: Ledger, actors: Actors
) -> None:
    older = signed_checkpoint(api, ledger)
    register_organisations(api, actors.registrar, "severn-software", "gower-college", "bryn-academy")
    newer = signed_checkpoint(api, ledger)
    assert newer.size > older.size
    response = api.get("/v1/log/proofs/consistency", params={"from": older.size, "to": newer.size})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == (older.size, newer.size)
    verify_consistency(older.size, newer.size, decoded(body["hashes"]), older.root, newer.root)
    same = api.get("/v1/log/proofs/consistency", params={"from": newer.size, "to": newer.size})
    assert same.status_code == 200 and same.json()["hashes"] == []


def test_entries_come_in_pages(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    register_organisations(api, actors.registrar, "severn-software")
    ledger.tlog.integrate_all()
    size = ledger.tlog.state().size
    auditor = bearer(actors.auditor)
    walked: list[int] = []
    start: int | None = 0
    while start is not None:
        page = api.get("/v1/log/entries", params={"start": start, "end": start + 2}, headers=auditor)
        assert page.status_code == 200, page.text
        walked += [item["index"] for item in page.json()["entries"]]
        assert page.json()["size"] >= size
        start = page.json()["next"]
    assert walked[:size] == list(range(size))
    whole = api.get("/v1/log/entries", headers=auditor).json()  # default: from 0, a full page
    assert whole["start"] == 0 and len(whole["entries"]) == whole["end"] == whole["size"] >= size
    assert whole["next"] is None
    for start in (10_000, MAX_TREE_SIZE):
        beyond = api.get("/v1/log/entries", params={"start": start}, headers=auditor)
        assert beyond.status_code == 200, beyond.text
        assert beyond.json()["entries"] == [] and beyond.json()["next"] is None


def test_bad_queries_are_problems_never_errors(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    size = signed_checkpoint(api, ledger).size
    huge = str(10**30)
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("/v1/log/proofs/inclusion", {"index": "one", "size": size}, 422, "invalid-request"),
        ("/v1/log/proofs/inclusion", {"index": "1.5", "size": size}, 422, "invalid-request"),
        ("/v1/log/proofs/inclusion", {"index": -1, "size": size}, 422, "invalid-request"),
        ("/v1/log/proofs/inclusion", {"index": 0}, 422, "invalid-request"),
        ("/v1/log/proofs/inclusion", {"index": size, "size": size}, 422, "invalid-proof-request"),
        ("/v1/log/proofs/inclusion", {"index": 0, "size": 0}, 422, "invalid-proof-request"),
        ("/v1/log/proofs/inclusion", {"index": 0, "size": size + 1}, 404, "tree-size-not-signed"),
        ("/v1/log/proofs/inclusion", {"index": 0, "size": MAX_TREE_SIZE}, 404, "tree-size-not-signed"),
        ("/v1/log/proofs/inclusion", {"index": 0, "size": huge}, 422, "invalid-request"),
        ("/v1/log/proofs/inclusion", {"index": MAX_TREE_SIZE, "size": 1}, 422, "invalid-proof-request"),
        ("/v1/log/proofs/consistency", {"from": 0, "to": size}, 422, "invalid-proof-request"),
        ("/v1/log/proofs/consistency", {"from": size, "to": 1}, 422, "invalid-proof-request"),
        ("/v1/log/proofs/consistency", {"from": 1, "to": size + 1}, 404, "tree-size-not-signed"),
        ("/v1/log/proofs/consistency", {"from": "x", "to": size}, 422, "invalid-request"),
        ("/v1/log/proofs/consistency", {"from": -2, "to": size}, 422, "invalid-request"),
        ("/v1/log/proofs/consistency", {"to": size}, 422, "invalid-request"),
    ]
    for path, params, status, slug in cases:
        assert_problem(api.get(path, params=params), status, slug)

    auditor = bearer(actors.auditor)
    assert_problem(api.get("/v1/log/entries"), 401, "not-authenticated")
    for other in (actors.registrar, actors.issuer_token, actors.learner_token):
        assert_problem(api.get("/v1/log/entries", headers=bearer(other)), 403, "forbidden")
    most = api.app.state.settings.max_page  # type: ignore[attr-defined]
    for params, slug in [
        ({"start": 5, "end": 4}, "invalid-page"),
        ({"start": 0, "end": most + 1}, "invalid-page"),
        ({"start": -1}, "invalid-request"),
        ({"start": "zero"}, "invalid-request"),
        ({"end": MAX_TREE_SIZE}, "invalid-page"),
        ({"start": huge}, "invalid-request"),
    ]:
        assert_problem(api.get("/v1/log/entries", params=params, headers=auditor), 422, slug)


def test_routes_declare_their_roles(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    declared = {
        "/v1/log/checkpoint": ["anyone"],
        "/v1/log/key": ["anyone"],
        "/v1/log/proofs/inclusion": ["anyone"],
        "/v1/log/proofs/consistency": ["anyone"],
        "/v1/log/entries": ["auditor"],
    }
    for path, allowed in declared.items():
        operation = paths[path]["get"]
        assert operation["x-roles"] == allowed, path
        assert operation["summary"] and operation["description"], path
