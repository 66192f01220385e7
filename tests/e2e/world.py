"""A world for walking every route: tokens of every kind of caller, a credential, a share grant,
and a valid body for each route, so tests can vary only the caller or the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from ledger import examples
from ledger.application import Ledger
from ledger.settings import Settings
from tests.conftest import Issuer
from verification.keys import SigningKey


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def soon(days: int = 30) -> str:
    """An RFC 3339 instant `days` from now."""
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() + days * 86400, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


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
    erasure_request: str = ""
    """An erasure request of a third learner (who holds no token), awaiting a decision."""
    count: int = 0

    def fresh_uln(self) -> str:
        """A valid ULN not used before in this test."""
        while True:
            self.count += 1
            candidate = str(4_000_000_000 + self.count * 7)
            total = sum(int(d) * w for d, w in zip(candidate, range(10, 0, -1), strict=True))
            if total % 11 == 10:
                return candidate


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
        "request_id": world.erasure_request,
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
        "/v1/learners/{learner}/erasure": lambda: {"reason": "I want my record forgotten"},
        "/v1/erasure-requests/{request_id}/approve": lambda: {},
        "/v1/erasure-requests/{request_id}/refuse": lambda: {"reason": "the record is under a legal hold"},
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
