"""The authorisation matrix: every route, called by every kind of caller, answers as its roles say.

Each route declares its roles in OpenAPI (`x-roles`); this test walks the app's own schema, so a
new route is covered the day it is added. The README's table is checked against the same roles.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger import examples
from ledger.application import Ledger
from ledger.posting import post_credential
from ledger.settings import Settings
from tests.conftest import Backend, Issuer, register_issuer
from tests.e2e.conftest import bearer, soon
from verification.keys import SigningKey

CALLERS = [
    "none",
    "expired",
    "revoked",
    "registrar",
    "issuer",
    "issuer-other",
    "learner",
    "learner-other",
    "auditor",
]
TOKEN_ROLES = {"registrar", "issuer", "learner", "auditor"}


def routes() -> list[tuple[str, str, list[str]]]:
    """(method, path, roles) of every route the app declares."""
    spec = create_app(Settings()).openapi()
    return [
        (method.upper(), path, operation.get("x-roles", []))
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


@dataclass
class World:
    """Everything a route might need, with a token for every kind of caller."""

    ledger: Ledger
    tokens: dict[str, str]
    university: Issuer
    learner: str
    credential: str
    spare_key: str
    share_id: str
    share_secret: str
    count: int = 0

    def fresh_uln(self) -> str:
        """A valid ULN not used before in this test."""
        while True:
            self.count += 1
            candidate = str(4_000_000_000 + self.count * 7)
            total = sum(int(d) * w for d, w in zip(candidate, range(10, 0, -1), strict=True))
            if total % 11 == 10:
                return candidate


@pytest.fixture
def world(ledger: Ledger) -> World:
    """A university with a credential about a learner who shared it, and tokens of every kind."""
    university = register_issuer(ledger, "caerleon", "university", ["enrolment", "award"], ("FHEQ",))
    register_issuer(ledger, "other-org", "employer", ["recruitment"])
    spare = SigningKey.generate().verify_key.multibase
    ledger.add_key("caerleon", spare)
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    other_learner = ledger.register_learner("1000000019", "Dafydd Evans", "2002-11-02")
    award = examples.sign(examples.award(university.did, learner), university.key)
    post_credential(ledger, award)
    ledger.tlog.integrate_all()
    secret, grant = ledger.shares.create(
        learner, "Employer", datetime.now(UTC) + timedelta(days=1), [award["id"]]
    )
    expired, _ = ledger.tokens.create("auditor", expires_at=datetime.now(UTC) + timedelta(seconds=2))
    revoked, revoked_principal = ledger.tokens.create("auditor")
    ledger.tokens.revoke(revoked_principal.token_id)
    tokens = {
        "expired": expired,
        "revoked": revoked,
        "registrar": ledger.tokens.create("registrar")[0],
        "issuer": ledger.tokens.create("issuer", organisation="caerleon")[0],
        "issuer-other": ledger.tokens.create("issuer", organisation="other-org")[0],
        "learner": ledger.tokens.create("learner", learner=learner)[0],
        "learner-other": ledger.tokens.create("learner", learner=other_learner)[0],
        "auditor": ledger.tokens.create("auditor")[0],
    }
    return World(ledger, tokens, university, learner, award["id"], spare, grant.id, secret)


def concrete(path: str, world: World) -> str:
    """The path with every parameter filled from the world."""
    values = {
        "learner": world.learner,
        "share_id": world.share_id,
        "secret": world.share_secret,
        "credential_id": world.credential,
        "key": world.spare_key,
        "slug": "caerleon",
        "id": "caerleon",
    }
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], path)


def body(method: str, path: str, world: World) -> Any:
    """A valid body for the route (so only the caller decides the answer)."""
    new_award: Callable[[], dict[str, Any]] = lambda: examples.sign(  # noqa: E731
        examples.award(world.university.did, world.learner), world.university.key
    )
    bodies: dict[str, Callable[[], Any]] = {
        "/v1/credentials": new_award,
        "/v1/credentials/batch": lambda: {"credentials": [new_award()]},
        "/v1/verify": new_award,
        "/v1/learners": lambda: {
            "uln": world.fresh_uln(),
            "name": "New Learner",
            "date_of_birth": "2004-01-01",
        },
        "/v1/learners/{learner}/shares": lambda: {
            "audience": "HR",
            "expires_at": soon(),
            "credentials": None,
        },
        "/v1/organisations": lambda: {"slug": f"org-{world.fresh_uln()}", "name": "New", "kind": "employer"},
        "/v1/organisations/{id}/keys": lambda: {
            "public_key_multibase": SigningKey.generate().verify_key.multibase
        },
        "/v1/organisations/{id}/keys/{key}/retire": lambda: {},
        "/v1/organisations/{id}/keys/{key}/compromise": lambda: {"at": "2035-01-01T00:00:00Z"},
        "/v1/organisations/{id}/accreditations": lambda: {"kinds": ["award"], "scopes": ["FHEQ"]},
    }
    return bodies[path]() if method in ("POST", "PUT", "PATCH") else None


def call(client: TestClient, world: World, method: str, path: str, caller: str) -> Any:
    """Make the call as `caller` (expired tokens are seen after their expiry)."""
    headers = {} if caller == "none" else bearer(world.tokens[caller])
    if caller == "expired":
        world.ledger.tokens.clock = lambda: datetime.now(UTC) + timedelta(minutes=5)
    try:
        return client.request(method, concrete(path, world), json=body(method, path, world), headers=headers)
    finally:
        world.ledger.tokens.clock = lambda: datetime.now(UTC)


@pytest.fixture
def client(backend: Backend, ledger: Ledger) -> Iterator[TestClient]:
    """The API without follower threads: the matrix needs no background work."""
    with TestClient(create_app(backend.settings, ledger=ledger, followers=False)) as test_client:
        yield test_client


@pytest.mark.parametrize(("method", "path", "allowed"), routes(), ids=str)
def test_every_caller_gets_what_the_roles_say(
    client: TestClient, world: World, method: str, path: str, allowed: list[str]
) -> None:
    for caller in CALLERS:
        response = call(client, world, method, path, caller)
        assert response.status_code < 500, (caller, response.text)
        role = caller.removesuffix("-other")
        public = "anyone" in allowed
        if public:
            if caller == "none":
                assert response.status_code not in (401, 403), (caller, response.text)
            continue
        if caller in ("none", "expired", "revoked"):
            assert response.status_code == 401, (caller, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        elif role not in allowed:
            assert response.status_code == 403, (caller, response.text)
        elif caller.endswith("-other") and path == "/v1/credentials/batch":
            assert response.status_code == 200
            assert [item["status"] for item in response.json()["results"]] == [403]
        elif caller.endswith("-other") and (
            "{learner}" in path or "{credential_id}" in path or path == "/v1/credentials"
        ):
            assert response.status_code in (403, 404), (caller, response.text)  # 404 hides existence
        else:
            assert response.status_code not in (401, 403), (caller, response.text)


def test_the_readme_matrix_is_the_routes_roles() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {
        (match.group(1), match.group(2)): match.group(3)
        for match in re.finditer(
            r"^\| `(GET|POST|DELETE|PUT|PATCH) ([^`]+)` \| ([^|]+) \|", readme, re.MULTILINE
        )
    }
    declared = {(method, path): ", ".join(allowed) for method, path, allowed in routes()}
    assert rows == declared, set(rows.items()) ^ set(declared.items())
