"""Prometheus metrics: requests and their latency, posts accepted and refused by reason, log size,
and how far the followers lag behind the event store.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry()
REQUESTS = Counter(
    "ledger_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
)
LATENCY = Histogram(
    "ledger_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
)
POSTS = Counter("ledger_credentials_total", "Credentials posted, by outcome", ["outcome"], registry=registry)
LOG_SIZE = Gauge("ledger_log_size", "Leaves in the transparency log", registry=registry)
LAG = Gauge(
    "ledger_follower_lag_events", "Events a follower has yet to read", ["follower"], registry=registry
)


async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Count and time every request by its route template (not its raw path)."""
    started = time.perf_counter()
    response = await call_next(request)
    route = getattr(request.scope.get("route"), "path", "unmatched")
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
    return response


def count_posts(outcomes: list[str]) -> None:
    """Count posted credentials: `recorded`, `duplicate`, or the refusal's problem type."""
    for outcome in outcomes:
        POSTS.labels(outcome).inc()
