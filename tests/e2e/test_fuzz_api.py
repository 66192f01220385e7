"""Fuzzing the API with schemathesis against the app's own OpenAPI schema (SQLite).

Every operation gets generated requests (valid and invalid), sent with a token of a role the route
admits: no answer is a 500, every answer matches the schema (status, content type, body, headers),
and a refused request changes nothing (event store head and every table's row count unchanged).

The normal run takes LEDGER_FUZZ_EXAMPLES examples per operation (default 10, about half a
minute); the nightly job raises it: `LEDGER_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/e2e/test_fuzz_api.py`.
"""

from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from ledger import examples
from ledger.bootstrap import init, open_ledger
from ledger.posting import post_credential
from ledger.settings import Settings
from tests.conftest import register_issuer

EXAMPLES = int(os.environ.get("LEDGER_FUZZ_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@dataclass
class Fuzzed:
    """The app on a small SQLite ledger, a token per role, and where its database lives."""

    client: TestClient
    tokens: dict[str, str]
    roles: dict[tuple[str, str], list[str]]
    database: Path

    def state(self) -> dict[str, int]:
        """Every table's row count and the event store's head: what a refused request must not move."""
        with closing(sqlite3.connect(self.database)) as conn:
            names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """A ledger with an issuer, a learner and a credential, served in-process with its followers off."""
    folder = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(data_dir=folder, master_key=base64.b64encode(os.urandom(32)).decode())  # type: ignore[arg-type]
    init(settings_)
    ledger = open_ledger(settings_)
    issuer = register_issuer(ledger, "caerleon", "university", ["enrolment", "award"], ("FHEQ",))
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    post_credential(ledger, examples.sign(examples.award(issuer.did, learner), issuer.key))
    tokens = {
        "registrar": ledger.tokens.create("registrar")[0],
        "issuer": ledger.tokens.create("issuer", organisation="caerleon")[0],
        "learner": ledger.tokens.create("learner", learner=learner)[0],
        "auditor": ledger.tokens.create("auditor")[0],
    }
    app = create_app(settings_, ledger=ledger, followers=False)
    spec = app.openapi()
    roles = {
        (method.upper(), path): operation.get("x-roles", [])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        while app.state.projections.catch_up():  # the views current, so only requests can move them
            pass
        yield Fuzzed(client, tokens, roles, folder / "ledger.sqlite3")
    ledger.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> Any:
    """The app's own OpenAPI schema, as schemathesis reads it."""
    return schemathesis.openapi.from_dict(fuzzed.client.app.openapi())  # type: ignore[attr-defined]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("LEDGER_FUZZ_EXAMPLES") is None,  # the normal run is repeatable
)
def test_no_500_answers_match_the_schema_and_refusals_change_nothing(case: Any, fuzzed: Fuzzed) -> None:
    roles = [role for role in fuzzed.roles.get((case.method.upper(), case.path), []) if role in fuzzed.tokens]
    headers = {"Authorization": f"Bearer {fuzzed.tokens[roles[0]]}"} if roles else {}
    before = fuzzed.state()
    response = fuzzed.client.request(**case.as_transport_kwargs(headers=headers))
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        assert fuzzed.state() == before, f"{case.method} {case.path} answered {response.status_code}"
