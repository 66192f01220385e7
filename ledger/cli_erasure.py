"""`ledger erasure …`: the registrar lists erasure requests and approves or refuses them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ledger.cli import DataDir, app, console, opened
from ledger.erasure import ErasureRequest

erasure_app = typer.Typer(
    help="Learners' requests to be erased, and the registrar's decisions.", no_args_is_help=True
)
app.add_typer(erasure_app, name="erasure")


@erasure_app.command("list")
def erasure_list(
    state: Annotated[
        str | None, typer.Option(help="Only requests in this state: requested, refused, completed")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """List erasure requests, oldest first."""
    if state not in (None, "requested", "refused", "completed"):
        raise typer.BadParameter("the state is requested, refused or completed", param_hint="--state")
    with opened(data_dir) as ledger:
        found = ledger.erasures.list(state=state)
    table = Table("request", "learner", "asked", "state", "decided", "decision or reason")
    for item in found:
        table.add_row(
            item.id,
            item.learner,
            item.requested_at[:19],
            item.state,
            (item.decided_at or "")[:19],
            escape(item.decision or item.reason or ""),
        )
    console.print(table if found else "no erasure requests")


@erasure_app.command("approve")
def erasure_approve(request_id: str, data_dir: DataDir = None) -> None:
    """Carry out an erasure: destroy the learner's data key; every chain and proof stays valid."""
    with opened(data_dir) as ledger:
        done = ledger.erasures.approve(ledger, request_id)
    _print(done)


@erasure_app.command("refuse")
def erasure_refuse(
    request_id: str,
    reason: Annotated[str, typer.Option(help="Why the request is refused (the learner sees it)")],
    data_dir: DataDir = None,
) -> None:
    """Refuse an erasure request, saying why."""
    with opened(data_dir) as ledger:
        done = ledger.erasures.refuse(request_id, reason)
    _print(done)


def _print(request: ErasureRequest) -> None:
    console.print(f"erasure request {request.id} of {request.learner}: [bold]{request.state}[/]")
    if request.decision and request.decision != "approved":
        console.print(f"reason: {escape(request.decision)}")
