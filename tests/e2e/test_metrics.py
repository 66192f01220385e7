"""The request metrics: each request counted and timed once, under its method, route template and status."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.metrics import registry


def counted(method: str, route: str, status: str) -> float:
    """How many requests the counter holds for these labels."""
    return (
        registry.get_sample_value(
            "ledger_http_requests_total", {"method": method, "route": route, "status": status}
        )
        or 0.0
    )


def timed(method: str, route: str) -> float:
    """How many requests the latency histogram holds for these labels."""
    return (
        registry.get_sample_value("ledger_http_request_seconds_count", {"method": method, "route": route})
        or 0.0
    )


def test_each_request_counted_by_method_route_and_status(client: TestClient) -> None:
    series = [
        ("GET", "/healthz", "200"),
        ("POST", "/v1/verify", "200"),
        ("POST", "/v1/verify", "400"),
        ("POST", "/v1/verify", "422"),
        ("GET", "unmatched", "404"),
    ]
    before = {labels: counted(*labels) for labels in series}
    timings = {labels[:2]: timed(*labels[:2]) for labels in series}
    for _ in range(2):
        assert client.get("/healthz").status_code == 200
        assert (
            client.post("/v1/verify", content=b"{", headers={"content-type": "application/json"}).status_code
            == 400
        )
        assert client.get("/no/such/route").status_code == 404
    assert client.post("/v1/verify", json={"type": "neither"}).status_code == 422
    assert client.post("/v1/verify", json={"type": ["VerifiableCredential"]}).status_code == 200
    after = {labels: counted(*labels) - before[labels] for labels in series}
    assert after == {
        ("GET", "/healthz", "200"): 2,
        ("POST", "/v1/verify", "200"): 1,
        ("POST", "/v1/verify", "400"): 2,
        ("POST", "/v1/verify", "422"): 1,
        ("GET", "unmatched", "404"): 2,
    }
    assert {key: timed(*key) - value for key, value in timings.items()} == {
        ("GET", "/healthz"): 2,
        ("POST", "/v1/verify"): 4,
        ("GET", "unmatched"): 2,
    }
