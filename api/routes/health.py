"""Liveness, readiness and metrics."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.auth import roles
from api.metrics import LAG, LOG_SIZE, exposition
from api.problems import problem
from api.state import ledger_of, projections_of, settings_of
from ledger.errors import LedgerError

router = APIRouter(tags=["health"])


@router.get("/healthz", openapi_extra=roles())
async def healthz() -> dict[str, str]:
    """The process is up."""
    # Async: it blocks on nothing, and a sync route would take a worker thread each probe (a hop
    # that cost ~230 us of CPU here, more than the rest of the request).
    return {"status": "ok"}


@router.get(
    "/readyz",
    openapi_extra=roles(),
    response_model=None,
    responses={503: {"description": "not ready, and why"}},
)
def readyz(request: Request) -> Response | dict[str, object]:
    """The database answers and the followers are within the allowed lag."""
    try:
        lags = _lags(request)
    except LedgerError as error:
        return problem(503, "not-ready", f"the database cannot be reached: {error.detail}")
    except Exception as error:
        return problem(503, "not-ready", f"the database cannot be reached: {error}")
    bound = settings_of(request).ready_max_lag
    behind = {name: lag for name, lag in lags.items() if lag > bound}
    if behind:
        return problem(503, "not-ready", f"followers lag more than {bound} events: {behind}", lag=lags)
    return {"status": "ready", "lag": lags}


@router.get("/metrics", openapi_extra=roles(), response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus metrics."""
    with contextlib.suppress(Exception):  # metrics still answer when the database does not
        _lags(request)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def _lags(request: Request) -> dict[str, int]:
    """How many events each follower has yet to read; updates the gauges."""
    ledger = ledger_of(request)
    head = ledger.recorder.max_notification_id() or 0
    state = ledger.tlog.state()
    lags = {"log": head - state.position}
    lags.update({name: head - at for name, at in projections_of(request).positions().items()})
    LOG_SIZE.set(state.size)
    for name, lag in lags.items():
        LAG.labels(name).set(lag)
    return lags
