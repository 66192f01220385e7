"""The authorisation matrix: every route, called by every kind of caller, answers as its roles say.

Each route declares its roles in OpenAPI (`x-roles`); this test walks the app's own schema, so a
new route is covered the day it is added. The README's table is checked against the same roles.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.e2e.world import World, call, routes

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
