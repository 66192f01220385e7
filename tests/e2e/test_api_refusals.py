"""Bad requests to every route get a 4xx problem, never a 500, and change nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.application import Ledger
from tests.e2e.world import World, bearer, concrete, routes

BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("not JSON", b"{not json", "application/json"),
    ("duplicate keys", b'{"a": 1, "a": 2}', "application/json"),
    ("wrong content type", b'{"a": 1}', "text/plain"),
    ("an array", b"[]", "application/json"),
    ("a string", b'"x"', "application/json"),
    ("unknown fields", b'{"surprise": true, "credentials": 5, "uln": 7}', "application/json"),
    ("deeply nested", b"[" * 5000 + b"]" * 5000, "application/json"),
]
BAD_QUERIES = [
    "index=abc",
    "size=-1",
    "index=99999999999999999999999",
    "from=5&to=1",
    "start=-3",
    "as_of=yesterday",
    "after=-1",
    "since=x",
    "share=%00",
]


def stored(world: World) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    ledger: Ledger = world.ledger
    with ledger.tokens.store.reading() as cursor:
        counts = {
            table: cursor.rows(f"SELECT count(*) AS n FROM {{p}}{table}")[0]["n"]
            for table in ("api_tokens", "share_grants", "learner_keys", "log_leaves")
        }
    return {"events": ledger.recorder.max_notification_id(), "log": ledger.tlog.state().size, **counts}


def token_for(allowed: list[str], world: World) -> dict[str, str]:
    """A token of the first allowed role (none for public routes)."""
    role = next((role for role in allowed if role in world.tokens), None)
    return {} if role is None else bearer(world.tokens[role])


WRITE_ROUTES = [(method, path, allowed) for method, path, allowed in routes() if method == "POST"]
READ_ROUTES = [(method, path, allowed) for method, path, allowed in routes() if method == "GET"]


@pytest.mark.parametrize(("method", "path", "allowed"), WRITE_ROUTES, ids=str)
def test_bad_bodies_are_refused_with_a_problem_and_change_nothing(
    client: TestClient, world: World, method: str, path: str, allowed: list[str]
) -> None:
    before = stored(world)
    for label, content, media in BAD_BODIES:
        headers = {**token_for(allowed, world), "content-type": media}
        response = client.request(method, concrete(path, world), content=content, headers=headers)
        if path == "/v1/organisations/{id}/keys/{key}/retire" and label in ("unknown fields",):
            assert response.status_code == 422, response.text
        assert 400 <= response.status_code < 500, (label, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json", (label, response.text)
        assert response.json()["type"].startswith("https://w3id.org/learner-ledger/problems/")
    assert stored(world) == before


@pytest.mark.parametrize(("method", "path", "allowed"), READ_ROUTES, ids=str)
def test_bad_parameters_never_cause_a_500_or_a_change(
    client: TestClient, world: World, method: str, path: str, allowed: list[str]
) -> None:
    before = stored(world)
    for query in BAD_QUERIES:
        response = client.get(f"{concrete(path, world)}?{query}", headers=token_for(allowed, world))
        assert response.status_code < 500, (query, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", (query, response.text)
    for bad in ("urn:uuid:00000000-0000-4000-8000-000000000000", "not-an-id", "%00", "a" * 500):
        concrete_path = path
        for name in ("{learner}", "{credential_id}", "{slug}", "{secret}", "{share_id}"):
            concrete_path = concrete_path.replace(name, bad)
        response = client.get(concrete(concrete_path, world), headers=token_for(allowed, world))
        assert response.status_code < 500, (bad, response.text)
    assert stored(world) == before


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    for method, path, status in (("GET", "/v2/nothing", 404), ("PUT", "/v1/credentials", 405)):
        response = client.request(method, path)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
