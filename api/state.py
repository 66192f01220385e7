"""What the running app holds: the open ledger, its projections and the threads verifications run on
(set at start-up), and waiting for the projections to reach a write (read-your-writes)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi import Request

from ledger.application import Ledger
from ledger.errors import LedgerError
from ledger.settings import Settings
from ledger.sql import AsyncReads
from projections.runner import Projections


def ledger_of(request: Request) -> Ledger:
    """The ledger the app serves."""
    ledger: Ledger = request.app.state.ledger
    return ledger


def projections_of(request: Request) -> Projections:
    """The ledger's projections."""
    projections: Projections = request.app.state.projections
    return projections


def checks_of(request: Request) -> ThreadPoolExecutor:
    """The threads the app runs verifications on (shut down, their checks finished, before the ledger
    closes)."""
    checks: ThreadPoolExecutor = request.app.state.checks
    return checks


def reads_of(request: Request) -> AsyncReads | None:
    """The app's reads from its event loop on PostgreSQL (None on SQLite, whose reads are local)."""
    reads: AsyncReads | None = request.app.state.reads
    return reads


def settings_of(request: Request) -> Settings:
    """The settings the app started with."""
    settings: Settings = request.app.state.settings
    return settings


READ_YOUR_WRITES_SECONDS = 5.0
"""How long `?after=` waits for the views before answering 503 projections-behind."""


class UnknownPosition(LedgerError):
    """`?after=` names an event store position no write has reached."""

    slug = "unknown-position"
    status = 422


def wait_for(request: Request, position: int) -> None:
    """Read-your-writes: wait (bounded) until every view has reached a write's position; refuse a
    position no write has reached."""
    head = ledger_of(request).recorder.max_notification_id() or 0
    if position > head:
        raise UnknownPosition(f"no write has reached position {position} (the newest is {head})")
    projections_of(request).wait_until(position, timeout=READ_YOUR_WRITES_SECONDS)
