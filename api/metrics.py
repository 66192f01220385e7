"""Prometheus metrics: requests and their latency, posts accepted and refused by reason, log size,
and how far the followers lag behind the event store.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

registry = CollectorRegistry()
REQUESTS = Counter(
    "ledger_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
)
LATENCY = Histogram(
    "ledger_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
)
POSTS = Counter("ledger_credentials_total", "Credentials posted, by outcome", ["outcome"], registry=registry)
# Set at each scrape from the database; with several workers the latest scrape's value is shown.
LOG_SIZE = Gauge(
    "ledger_log_size", "Leaves in the transparency log", registry=registry, multiprocess_mode="mostrecent"
)
LAG = Gauge(
    "ledger_follower_lag_events",
    "Events a follower has yet to read",
    ["follower"],
    registry=registry,
    multiprocess_mode="mostrecent",
)
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
"""Where worker processes share their metrics (prometheus_client's multiprocess mode), when set."""


def exposition() -> bytes:
    """Every metric in the text format: this process's, or, with several workers, all of theirs."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return generate_latest(combined)
    return generate_latest(registry)


class Measure:
    """ASGI middleware counting and timing every request by its route template (not its raw path).

    Pure ASGI rather than BaseHTTPMiddleware, so errors raised while the body is read reach the
    app's own exception handlers untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        """The two metrics' children of each method, route and status seen (prometheus_client keeps
        them too; looking them up by `labels` each request cost more than the counting)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, noting its status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            method, route = scope["method"], getattr(scope.get("route"), "path", "unmatched")
            series = self.series.get((method, route, status))
            if series is None:
                series = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
                self.series[method, route, status] = series
            series[0].inc()
            series[1].observe(time.perf_counter() - started)


def count_posts(outcomes: list[str]) -> None:
    """Count posted credentials: `recorded`, `duplicate`, or the refusal's problem type."""
    for outcome in outcomes:
        POSTS.labels(outcome).inc()
