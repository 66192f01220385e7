"""What the running app holds: the open ledger and its projections (set at start-up)."""

from __future__ import annotations

from fastapi import Request

from ledger.application import Ledger
from ledger.settings import Settings
from projections.runner import Projections


def ledger_of(request: Request) -> Ledger:
    """The ledger the app serves."""
    ledger: Ledger = request.app.state.ledger
    return ledger


def projections_of(request: Request) -> Projections:
    """The ledger's projections."""
    projections: Projections = request.app.state.projections
    return projections


def settings_of(request: Request) -> Settings:
    """The settings the app started with."""
    settings: Settings = request.app.state.settings
    return settings
