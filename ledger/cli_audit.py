"""`ledger audit`: replay the ledger, or a range of its log, and report every finding."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from ledger.application import Ledger
from ledger.audit import AuditReport, ProjectionViews, audit
from ledger.audit_database import DatabaseSource
from ledger.audit_pool import WorkerStopped
from ledger.audit_report import Tally
from ledger.audit_source import AuditSource
from ledger.cli import DataDir, app, console, errors, opened, refusals
from ledger.errors import StorageUnavailable

view_openers: list[Callable[[Ledger], ProjectionViews]] = []
"""How `--projections` opens the read models: projections.cli registers it when imported (imports
point one way, so ledger cannot open them itself; `python -m ledger.cli` has no read models)."""


class RateColumn(ProgressColumn):
    """Entries audited per second."""

    def render(self, task: Task) -> Text:
        """The task's current speed."""
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} entries/s", style="progress.data.speed")


@app.command("audit")
def audit_command(  # noqa: PLR0917 (typer reads options from parameters)
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON here")
    ] = None,
    from_size: Annotated[int | None, typer.Option(min=0, help="Audit the leaves from this index on")] = None,
    to_size: Annotated[int | None, typer.Option(min=0, help="Audit the leaves before this index")] = None,
    since: Annotated[
        Path | None,
        typer.Option(
            help="A signed checkpoint note saved earlier: prove the log extends it, audit what came after"
        ),
    ] = None,
    projections: Annotated[
        bool,
        typer.Option(
            "--projections",
            help="Also rebuild the read models in a scratch database and compare the live views",
        ),
    ] = False,
    url: Annotated[
        str | None, typer.Option(help="Audit a remote ledger through its HTTP API (no database access)")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Auditor token for --url", envvar="LEDGER_TOKEN")] = None,
    log_key: Annotated[
        str | None, typer.Option(help="Pinned log key for --url (default: the one the server serves)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Replay the ledger: chains, commitments, issuers, log, checkpoints. Exit 0 only if all hold."""
    if since is not None and from_size is not None:
        raise typer.BadParameter("give --since or --from-size, not both")
    note = None
    if since is not None:
        try:
            note = since.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            errors.print(f"[bold red]refused[/]: cannot read {since}: {escape(str(error))}")
            raise typer.Exit(2) from None
    if projections and not view_openers:
        errors.print(
            "[bold red]refused[/]: the projection check needs the read models: run the full `ledger` command"
        )
        raise typer.Exit(2)
    ranges = Ranges(from_size, to_size, note)
    if url is not None:
        report = _audit_remote(url, token, log_key, ranges, projections=projections)
    else:
        with opened(data_dir) as ledger:
            views = view_openers[0](ledger) if projections else None
            report = _audit_with_progress(ledger, DatabaseSource(ledger), ranges, views)
    print_report(report)
    if json_file is not None:
        json_file.write_bytes(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
        console.print(f"report written to {json_file}")
    if not report.ok:
        raise typer.Exit(1)


@dataclass(frozen=True)
class Ranges:
    """What part of the log to audit: a range of leaves, or what came after a saved checkpoint."""

    from_size: int | None
    to_size: int | None
    since: str | None


def _audit_remote(
    url: str, token: str | None, log_key: str | None, ranges: Ranges, *, projections: bool
) -> AuditReport:
    """Audit through the HTTP API with an auditor token: the same checks over an HttpSource."""
    if not token:
        errors.print("[bold red]refused[/]: --url needs an auditor --token (or LEDGER_TOKEN)")
        raise typer.Exit(2)
    if projections:
        errors.print("[bold red]refused[/]: --projections needs the ledger's database; not with --url")
        raise typer.Exit(2)
    import httpx  # only here: a local audit does not load the HTTP client

    from ledger.audit_http import HttpSource

    with refusals():
        try:
            source = HttpSource(url, token, log_key=log_key)
            try:
                return _audit_with_progress(source, source, ranges, None)
            finally:
                source.close()
        except httpx.HTTPError as error:
            raise StorageUnavailable(f"the ledger at {url} cannot be reached: {error}") from error
        except (KeyError, TypeError, ValueError) as error:
            raise StorageUnavailable(
                f"the ledger at {url} answered what an audit cannot read: {error}"
            ) from error


def _audit_with_progress(
    target: Ledger | AuditSource, source: AuditSource, ranges: Ranges, views: ProjectionViews | None
) -> AuditReport:
    size = source.integration(Tally()).size  # read defensively: the row may be tampered
    end = size if ranges.to_size is None else ranges.to_size
    total = None if ranges.since is not None else max(end - (ranges.from_size or 0), 0)
    with _progress() as progress:
        task = progress.add_task("auditing", total=total)
        try:
            return audit(
                target,
                from_size=ranges.from_size,
                to_size=ranges.to_size,
                since_checkpoint=ranges.since,
                projections=views,
                progress=lambda entries: progress.advance(task, entries),
            )
        except WorkerStopped as error:
            progress.stop()
            errors.print(
                f"[bold red]not finished[/]: {escape(str(error))}. The audit concludes nothing either way; "
                "run it again (a worker is killed when the machine runs out of memory, for one)."
            )
            raise typer.Exit(1) from None


def print_report(report: AuditReport) -> None:
    """What was covered and counted, then every finding."""
    covered = report.covered
    end = covered.get("to_size")
    if covered.get("since_size") is not None:
        console.print(f"since the saved checkpoint of size {covered['since_size']}")
    elif covered.get("from_size") or end is not None:
        console.print(f"range: leaves from {covered.get('from_size')} to {'the end' if end is None else end}")
    table = Table(title="audited", show_header=False)
    for name, count in sorted(report.counted.items()):
        table.add_row(name, f"{count:,}")
    console.print(table if report.counted else "nothing to audit")
    positions = covered.get("projection_positions") or {}
    behind = {name: at for name, at in positions.items() if at < covered.get("notifications", 0)}
    if behind:
        console.print(
            f"[yellow]views compared as far as they had read: {behind} of {covered['notifications']}[/]"
        )
    if report.counted.get("erased-streams"):
        console.print("[yellow]erased learners: their commitments cannot be checked; chain and log were[/]")
    for finding in report.findings:
        console.print(f"[bold red]✗[/] {escape(str(finding))}")
    if report.ok:
        console.print("[green]✓ no findings[/]")
    else:
        console.print(f"[bold red]{len(report.findings)} findings[/]")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
