"""HTTP fixtures: the app on each backend, with tokens for every role and helpers to set up actors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.application import Ledger
from tests.conftest import Backend, Issuer, register_issuer


@pytest.fixture
def api(backend: Backend, ledger: Ledger) -> Iterator[TestClient]:
    """The HTTP API over the backend's ledger, its followers running as in production."""
    with TestClient(create_app(backend.settings, ledger=ledger), raise_server_exceptions=False) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


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


def soon(days: int = 30) -> str:
    """An RFC 3339 instant `days` from now."""
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() + days * 86400, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
