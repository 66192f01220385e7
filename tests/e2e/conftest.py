"""HTTP fixtures: the app on each backend, with tokens for every role and helpers to set up actors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from ledger import examples
from ledger.application import Ledger
from ledger.posting import post_credential
from tests.conftest import BACKENDS, Backend, Issuer, register_issuer
from tests.e2e.world import World
from verification.keys import SigningKey


@pytest.fixture
def api(backend: Backend, ledger: Ledger) -> Iterator[TestClient]:
    """The HTTP API over the backend's ledger, its followers running as in production."""
    with TestClient(create_app(backend.settings, ledger=ledger), raise_server_exceptions=False) as client:
        yield client


@dataclass
class Actors:
    """Tokens for one of each role, an issuer with its key, and a learner."""

    registrar: str
    auditor: str
    issuer: Issuer
    issuer_token: str
    learner: str
    learner_token: str


@pytest.fixture
def actors(ledger: Ledger, api: TestClient) -> Actors:
    """A registrar, an auditor, an accredited university with an issuer token, and a learner."""
    registrar, _ = ledger.tokens.create("registrar", label="test registrar")
    auditor, _ = ledger.tokens.create("auditor", label="test auditor")
    university = register_issuer(
        ledger, "caerleon", "university", ["enrolment", "award", "admission"], ("FHEQ",)
    )
    issuer_token, _ = ledger.tokens.create("issuer", organisation="caerleon")
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    learner_token, _ = ledger.tokens.create("learner", learner=learner)
    return Actors(registrar, auditor, university, issuer_token, learner, learner_token)


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
    erasable = ledger.register_learner("4817203918", "Erin Erasable", "2000-01-01")  # no token to lose
    erasure = ledger.erasures.request(ledger, erasable, "please forget me")
    ledger.tlog.integrate_all()
    # Bundles need a signed checkpoint over their entry; a follower thread signs one only on its
    # interval, so a test reading a bundle at once could otherwise get 409 not-yet-integrated.
    ledger.tlog.sign_checkpoint()
    return World(
        ledger, tokens, university, learner, award["id"], spare, grant.id, secret, erasure_request=erasure.id
    )


@pytest.fixture
def client(backend: Backend, ledger: Ledger) -> Iterator[TestClient]:
    """The API without follower threads: the matrix needs no background work."""
    with TestClient(create_app(backend.settings, ledger=ledger, followers=False)) as test_client:
        yield test_client


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment variables that point every command at a fresh ledger (development secrets)."""
    variables = {"LEDGER_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    if request.param == "sqlite":
        yield variables
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"cli_{uuid.uuid4().hex[:16]}"
    yield {**variables, "LEDGER_DATABASE_URL": url, "LEDGER_DATABASE_SCHEMA": schema}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
