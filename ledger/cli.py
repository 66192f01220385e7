"""The `ledger` command line: set up a ledger, manage the registry, sign, post and read streams."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ledger import bootstrap
from ledger.application import Ledger, StreamReport
from ledger.credentials import parse_instant
from ledger.errors import LedgerError, MalformedCredential
from ledger.keyfile import read_key_file, write_key_file
from ledger.settings import Settings
from verification.canonical import parse_json
from verification.errors import VerificationError
from verification.keys import SigningKey

app = typer.Typer(
    help="Learner Ledger: signed learner records, hash-chained and verifiable.",
    no_args_is_help=True,
)
learner_app = typer.Typer(help="Learners.", no_args_is_help=True)
log_app = typer.Typer(help="The transparency log: integration, checkpoints, its key.", no_args_is_help=True)
app.add_typer(learner_app, name="learner")
app.add_typer(log_app, name="log")
console = Console(emoji=False)
errors = Console(stderr=True, emoji=False)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="The ledger's data folder [env LEDGER_DATA_DIR; default ./ledger-data]"),
]
BATCH_SIZE = 500


def settings_for(data_dir: Path | None) -> Settings:
    """Settings from the environment, with --data-dir taking precedence."""
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a refusal into a clear message and exit status 1, never a traceback."""
    try:
        yield
    except (LedgerError, VerificationError) as error:
        errors.print(f"[bold red]refused[/]: {escape(str(error))}")
        raise typer.Exit(1) from None


@contextmanager
def opened(data_dir: Path | None) -> Iterator[Ledger]:
    """The configured ledger, open for one command."""
    with refusals():
        ledger = bootstrap.open_ledger(settings_for(data_dir))
        try:
            yield ledger
        finally:
            ledger.close()


def instant(value: str | None, name: str) -> datetime | None:
    """An RFC 3339 option value, or None."""
    if value is None:
        return None
    try:
        return parse_instant(value, name)
    except MalformedCredential as error:
        raise typer.BadParameter(str(error)) from None


@app.command()
def init(data_dir: DataDir = None) -> None:
    """Create the data folder, development secrets (when absent) and the database."""
    with refusals():
        settings = settings_for(data_dir)
        for note in bootstrap.init(settings):
            console.print(f"• {note}")
        console.print(f"[green]ledger ready[/] in {settings.data_dir} ({settings.resolved_database_url()})")


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Apply the database migrations that are not yet applied."""
    with refusals():
        applied = bootstrap.migrate(settings_for(data_dir))
    console.print("\n".join(f"• applied {name}" for name in applied) or "database is up to date")


@learner_app.command("add")
def learner_add(
    uln: Annotated[str, typer.Option(help="The 10-digit Unique Learner Number")],
    name: Annotated[str, typer.Option(help="The learner's full name")],
    dob: Annotated[str, typer.Option(help="Date of birth, YYYY-MM-DD")],
    data_dir: DataDir = None,
) -> None:
    """Register a learner; prints their pseudonymous ledger id."""
    with opened(data_dir) as ledger:
        typer.echo(ledger.register_learner(uln, name, dob))


@app.command()
def keygen(
    out: Annotated[Path, typer.Argument(help="Where to write the key file (JSON, Multikey form)")],
) -> None:
    """Make an issuer key pair in a file (mode 0600) and print its did:key."""
    with refusals():
        key = SigningKey.generate()
        write_key_file(out, key)
    typer.echo(key.verify_key.did_key)


@app.command()
def sign(
    credential: Annotated[Path, typer.Argument(help="An unsigned credential JSON file")],
    key: Annotated[Path, typer.Option(help="The issuer's key file (from `ledger keygen`)")],
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output")] = None,
) -> None:
    """Sign a credential as its issuer (eddsa-jcs-2022): the issuer-side tool."""
    from ledger.examples import sign as sign_document

    with refusals():
        document = _read_json(credential)
        if not isinstance(document, dict) or "issuer" not in document:
            raise MalformedCredential(f"{credential} is not a credential with an issuer")
        signed = sign_document(document, read_key_file(key))
    _write_json(signed, out, "signed credential")


@app.command()
def stream(learner: str, data_dir: DataDir = None) -> None:
    """Show a learner's stream: every entry, its hash, and the chain re-checked."""
    with opened(data_dir) as ledger:
        report = ledger.read_stream(learner)
    print_stream(report)
    if report.findings:
        raise typer.Exit(1)


def print_stream(report: StreamReport) -> None:
    """Print a stream report as a table with the chain verdict."""
    table = Table(title=f"stream of {report.learner}", show_lines=False)
    for column in ("seq", "kind", "what", "issuer", "recorded", "entry hash"):
        table.add_column(column)
    for item in report.items:
        entry = item.entry
        table.add_row(
            str(entry["seq"]),
            entry["kind"],
            _summary(item.content),
            entry.get("issuer", "registrar").rsplit(":", 1)[-1],
            entry["recorded_at"][:19],
            item.hash[:16] + "…",
        )
    console.print(table)
    if report.erased:
        console.print(
            "[yellow]the learner's data key is destroyed: contents are erased, chain still checked[/]"
        )
    if report.findings:
        for finding in report.findings:
            console.print(f"[bold red]✗ {finding}[/]")
    else:
        console.print(f"[green]✓ chain intact: {len(report.items)} entries, every commitment matches[/]")


def _summary(content: dict[str, Any] | None) -> str:
    if content is None:
        return "(erased)"
    if "uln" in content:
        return f"registered: {content['name']}"
    subject = content.get("credentialSubject", {})
    for field in ("result", "decision", "role", "programme", "reason"):
        if field in subject:
            value = subject[field]
            if isinstance(value, list):
                value = value[0].get("value", "")
            name = content.get("name") or subject.get("assessment") or ""
            return f"{name} {value}".strip()
    return str(content.get("name", content.get("type", ["?"])[-1]))


def _write_json(document: object, out: Path | None, what: str) -> None:
    """Indented JSON to `out`, or to standard output when there is no `out`."""
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    if out is None:
        sys.stdout.write(text.decode())
        return
    out.write_bytes(text)
    console.print(f"{what} written to {out}")


def _read_json(path: Path) -> Any:
    try:
        return parse_json(path.read_bytes())
    except OSError as error:
        raise MalformedCredential(f"cannot read {path}: {error.strerror}") from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def main() -> None:
    """Entry point of the `ledger` command."""
    app()


if __name__ == "__main__":
    # Run the imported module, where the other command groups have registered themselves.
    from ledger.cli import main as registered

    registered()
else:
    # The other command groups register themselves on `app` when imported.
    from ledger import cli_audit, cli_erasure, cli_keys, cli_log, cli_posting, cli_registry  # noqa: F401
