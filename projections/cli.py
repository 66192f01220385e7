"""The `ledger` command line with the read models: portfolios (live and as of the past), the
registry, the credential index, statistics, and the projection followers.

It extends ledger.cli's commands (imports point outwards: projections may use ledger).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from ledger import cli_audit
from ledger.cli import DataDir, _progress, app, console, instant, opened, refusals
from ledger.errors import StorageUnavailable
from projections.bootstrap import open_projections
from projections.credential_index import lookup
from projections.portfolio import Portfolio
from projections.portfolio_view import live_portfolio, portfolio_as_of
from projections.registry import organisations
from projections.runner import Projections
from projections.statistics import counts

projections_app = typer.Typer(help="The read models: rebuild, follow, status.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
# `ledger audit --projections` compares the live views with a rebuild; ledger cannot open them itself.
cli_audit.view_openers.append(lambda ledger: open_projections(ledger, inline=False))


@contextmanager
def views(data_dir: Path | None, *, catch_up: bool = True) -> Iterator[Projections]:
    """The ledger's projections, caught up with every commit so far (read-your-writes)."""
    with opened(data_dir) as ledger, refusals():
        projections = open_projections(ledger, inline=False)
        if catch_up:
            projections.catch_up()
        yield projections


@projections_app.command("status")
def projections_status(data_dir: DataDir = None) -> None:
    """How far each projection has read the event store."""
    with views(data_dir, catch_up=False) as projections:
        head = projections.ledger.recorder.max_notification_id() or 0
        for name, position in projections.positions().items():
            console.print(f"{name}: at {position} of {head}" + ("" if position >= head else " (behind)"))


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="One projection; default all")] = None,
    data_dir: DataDir = None,
) -> None:
    """Empty a projection's tables and replay the whole event store into them."""
    with views(data_dir, catch_up=False) as projections:
        names = [name] if name else list(projections.by_name)
        head = projections.ledger.recorder.max_notification_id() or 0
        with _progress() as progress:  # all of them in one pass over the events
            task = progress.add_task(f"rebuilding {', '.join(names)}", total=head)
            projections.rebuild(*names, progress=lambda read: progress.advance(task, read))
        for each in names:
            console.print(f"{each} rebuilt from {head} events")


@projections_app.command("follow")
def projections_follow(
    poll: Annotated[float, typer.Option(help="Seconds between polls when idle")] = 0.2,
    batch: Annotated[int, typer.Option(help="Events per transaction")] = 500,
    data_dir: DataDir = None,
) -> None:
    """Keep every projection current as commits land, until interrupted."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with views(data_dir, catch_up=False) as projections, contextlib.suppress(KeyboardInterrupt):
        console.print("following the event store; Ctrl-C to stop")
        while not stop.is_set():
            try:
                if not projections.catch_up(batch=batch):
                    stop.wait(poll)
            except StorageUnavailable:
                stop.wait(1.0)


@app.command()
def portfolio(
    learner: str,
    as_of: Annotated[str | None, typer.Option(help="As it stood at this RFC 3339 instant")] = None,
    at_size: Annotated[int | None, typer.Option(help="As it stood when the log had this many leaves")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """A learner's portfolio: live, or as of an instant or log size (from history, views untouched)."""
    when = instant(as_of, "--as-of")
    with views(data_dir, catch_up=when is None and at_size is None) as projections:
        projections.ledger.learner_stream(learner)  # refuses an unknown learner clearly
        if when is None and at_size is None:
            with projections.store.reading() as view:
                found = live_portfolio(view, learner)
        else:
            found = portfolio_as_of(projections.ledger, learner, as_of=when, at_size=at_size)
    if json_output:
        sys.stdout.write(orjson.dumps(found.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_portfolio(found)


@app.command()
def registry(
    as_of: Annotated[str | None, typer.Option(help="As the ledger knew it at this RFC 3339 instant")] = None,
    data_dir: DataDir = None,
) -> None:
    """Organisations with their keys and accreditations, now or as of an instant."""
    with views(data_dir) as projections, projections.store.reading() as view:
        found = organisations(view, instant(as_of, "--as-of"))
    for organisation in found:
        console.print(f"[bold]{organisation.name}[/] ({organisation.kind}) {organisation.did}")
        for key in organisation.keys:
            state = (
                "compromised from " + key.compromised_at
                if key.compromised_at
                else ("retired from " + key.retired_at if key.retired_at else "in use")
            )
            console.print(f"  key {key.key} valid from {key.valid_from[:10]}, {state}")
        for item in organisation.accreditations:
            until = f" until {item.valid_until[:10]}" if item.valid_until else ""
            console.print(
                f"  accredited for {', '.join(item.kinds)} in {', '.join(item.scopes)} "
                f"from {item.valid_from[:10]}{until}"
            )


@app.command()
def credential(credential_id: str, data_dir: DataDir = None) -> None:
    """Where a credential is recorded, its log leaf, and its status."""
    with views(data_dir) as projections, projections.store.reading() as view:
        found = lookup(view, credential_id)
    if found is None:
        console.print(f"[red]refused[/]: the ledger holds no credential {credential_id}")
        raise typer.Exit(1)
    sys.stdout.write(orjson.dumps(found.__dict__, option=orjson.OPT_INDENT_2).decode() + "\n")


@app.command()
def statistics(data_dir: DataDir = None) -> None:
    """Recorded credentials by issuer, kind and month."""
    with views(data_dir) as projections, projections.store.reading() as view:
        found = counts(view)
    table = Table(title="recorded credentials")
    for column in ("issuer", "kind", "month", "count"):
        table.add_column(column)
    for count in found:
        table.add_row(count.issuer.rsplit(":", 1)[-1], count.kind, count.month, str(count.count))
    console.print(table)


def _print_portfolio(found: Portfolio) -> None:
    document: dict[str, Any] = found.to_json()
    console.print(f"[bold]portfolio of {found.learner}[/]")
    for section in ("enrolments", "assessments", "awards", "admissions", "employment", "erased"):
        entries = document.get(section) or []
        if entries:
            console.print(f"\n[bold]{section}[/]")
        for entry in entries:
            shown = entry.get("latest", entry)
            console.print(f"  {_line(shown)}")
            for earlier in entry.get("history", []):
                console.print(f"    [dim]earlier: {_line(earlier)}[/]")


def _line(item: dict[str, Any]) -> str:
    """One portfolio item in a line: title, what it says, and its status if not valid."""
    detail = item.get("detail") or {}
    said = next((str(detail[field]) for field in ("result", "state") if detail.get(field)), "")
    status = item.get("status", "valid")
    flag = "" if status == "valid" else f" [yellow]({status})[/]"
    return escape(f"{item.get('title', '')}: {said}" if said else str(item.get("title", ""))) + flag


def main() -> None:
    """Entry point of the `ledger` command (every command, read models included)."""
    app()


if __name__ == "__main__":
    main()
