"""The issuer client against the real API: batches, retries, receipt checks, bundles."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ledger import examples
from ledger.application import Ledger
from ledger.client import BadReceipt, LedgerClient, RemoteRefusal
from tests.e2e.conftest import Actors
from verification.bundle import verify_bundle
from verification.note import generate_signer_key


class Flaky(httpx.BaseTransport):
    """Answers 503 (as a restarting server would) to the first `failures` requests, then forwards."""

    def __init__(self, inner: httpx.BaseTransport, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.seen = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Fail, or pass the request on."""
        self.seen += 1
        if self.seen <= self.failures:
            return httpx.Response(503, json={"detail": "restarting"})
        return self.inner.handle_request(request)


def client_for(api: TestClient, token: str, log_key: str | None, failures: int = 0) -> LedgerClient:
    """A LedgerClient talking to the test app, through a transport that may fail first."""
    http = httpx.Client(base_url="http://testserver", transport=Flaky(api._transport, failures))  # type: ignore[attr-defined]
    return LedgerClient("http://testserver", token, log_key=log_key, http=http, backoff=0.01)


def credentials(actors: Actors, count: int) -> list[dict[str, Any]]:
    """Signed awards by the test university about the test learner."""
    return [
        examples.sign(examples.award(actors.issuer.did, actors.learner), actors.issuer.key)
        for _ in range(count)
    ]


def test_batches_retries_and_checked_receipts(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    log_key = ledger.tlog.signer.verifier_key
    client = client_for(api, actors.issuer_token, log_key, failures=2)
    documents = credentials(actors, 5)
    results = client.post_batch(documents, batch_size=2)
    assert [item["status"] for item in results] == [201] * 5
    again = client_for(api, actors.issuer_token, log_key).post_batch(documents[:2])  # a retry is harmless
    assert [item["status"] for item in again] == [200, 200]
    assert len(ledger.learner_stream(actors.learner).entries) == 6
    ledger.tlog.integrate_all()
    bundle = client.bundle(documents[0]["id"])
    assert verify_bundle(bundle, [log_key]).ok


def test_a_receipt_from_another_log_key_is_refused(api: TestClient, actors: Actors) -> None:
    _, stranger = generate_signer_key("localhost:8000/log")
    with pytest.raises(BadReceipt):
        client_for(api, actors.issuer_token, stranger).post(credentials(actors, 1)[0])


def test_refusals_surface_as_problems_not_retries(api: TestClient, actors: Actors) -> None:
    client = client_for(api, "llt_not-a-token", None)
    with pytest.raises(RemoteRefusal) as caught:
        client.post(credentials(actors, 1)[0])
    assert caught.value.status == 401 and caught.value.problem["type"].endswith("not-authenticated")
