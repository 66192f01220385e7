"""Wires the projections to an open ledger: the one place that lists them."""

from __future__ import annotations

from ledger.application import Ledger
from ledger.sql import SqlStore
from projections.credential_index import CredentialIndexProjection
from projections.portfolio_view import PortfolioProjection
from projections.registry import RegistryProjection
from projections.runner import Projections, ViewCursor
from projections.statistics import StatisticsProjection


def open_projections(ledger: Ledger, *, inline: bool | None = None) -> Projections:
    """The ledger's projections; `inline` (default on SQLite) catches them up after each commit."""
    store = SqlStore(ledger.recorder, ledger.tlog.store.schema, ViewCursor)
    projections = Projections(
        ledger,
        store,
        [PortfolioProjection(), RegistryProjection(), CredentialIndexProjection(), StatisticsProjection()],
    )
    if inline if inline is not None else not store.postgres:
        # One writer at a time on SQLite: keeping the views current after each commit costs little
        # and gives every reader its own writes; PostgreSQL runs `ledger projections follow`.
        ledger.after_commit.append(projections.catch_up)
    return projections
