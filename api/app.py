"""The FastAPI application: one factory that wires the ledger, its followers and the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, nullcontext

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api import problems
from api.followers import followers_running
from api.limits import BodySizeLimit, json_only
from api.metrics import Measure
from api.pages.rendering import STATIC
from api.pages.routers import ROUTERS
from api.responses import OrjsonResponse
from api.routes import (
    audit,
    credentials,
    erasure,
    export,
    health,
    learners,
    log,
    registry,
    shares,
    verify,
)
from ledger import bootstrap
from ledger.application import Ledger
from ledger.settings import Settings
from ledger.sql import AsyncReads
from projections.bootstrap import open_projections

DESCRIPTION = """A lifetime learner record: issuers post signed W3C Verifiable Credentials, the ledger
chains them into each learner's stream and one RFC 9162 transparency log, and anyone can verify.

Every route names the roles that may call it (`x-roles`); tokens are sent as `Authorization: Bearer
<token>`. Every error is an RFC 9457 problem (`application/problem+json`) with a stable `type`."""


def create_app(settings: Settings, *, ledger: Ledger | None = None, followers: bool = True) -> FastAPI:
    """The app serving `ledger` (opened from `settings` when not given), with follower threads."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = ledger or bootstrap.open_ledger(settings)
        app.state.ledger = opened
        app.state.settings = settings
        app.state.projections = open_projections(opened)
        # As many threads as Starlette's thread pool lets wait at once (anyio's 40).
        app.state.checks = ThreadPoolExecutor(40, thread_name_prefix="verify")
        app.state.reads = AsyncReads(opened.erasures.store) if opened.erasures.store.postgres else None
        running = followers_running(opened, app.state.projections, settings) if followers else nullcontext()
        try:
            if app.state.reads is not None:
                await app.state.reads.open()
            with running:
                yield
        finally:
            if app.state.reads is not None:
                await app.state.reads.close()
            app.state.checks.shutdown(wait=True)
            if ledger is None:
                opened.close()

    app = FastAPI(
        title="Learner Ledger",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
        # FastAPI's own OpenTelemetry is not used (metrics are Prometheus's, below); left on, it
        # asked the global providers whether any was configured on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    problems.install(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes)
    app.add_middleware(Measure)
    # FastAPI tries the routes in this order (each a costly match), so the busiest comes first; no
    # two modules' paths overlap, so the order changes only the order of the OpenAPI document.
    for module in (verify, credentials, learners, shares, erasure, export, registry, log, audit, health):
        for route in module.router.routes:
            if isinstance(route, APIRoute) and route.summary is None and route.endpoint.__doc__:
                route.summary = route.endpoint.__doc__.strip().splitlines()[0].rstrip(".")
        app.include_router(module.router, dependencies=[Depends(json_only)])
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
