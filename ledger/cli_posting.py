"""`ledger post`: signed credentials into a local ledger, or a remote one through the issuer client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ledger.cli import BATCH_SIZE, DataDir, _progress, app, console, errors, opened, refusals
from ledger.cli_log import _integrate
from ledger.errors import LedgerError, describe
from ledger.posting import post_batch
from ledger.receipts import PostResult
from verification.canonical import parse_json


@app.command()
def post(
    source: Annotated[Path, typer.Argument(help="A signed credential file, a folder of them, or JSON lines")],
    url: Annotated[
        str | None, typer.Option(help="Post to a remote ledger's API instead of a local one")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Issuer token for --url", envvar="LEDGER_TOKEN")] = None,
    log_key: Annotated[str | None, typer.Option(help="Pinned log key: check every receipt (--url)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Post signed credentials; prints a result per credential and exits 1 if any was refused."""
    documents = list(_credentials_in(source))
    if url is not None:
        refused = _post_remote(documents, url, token, log_key)
    else:
        refused = _post_local(documents, data_dir)
    console.print(f"{len(documents) - refused} recorded, {refused} refused")
    if refused:
        raise typer.Exit(1)


def _post_local(documents: list[tuple[str, object]], data_dir: Path | None) -> int:
    refused = 0
    with opened(data_dir) as ledger:
        with _progress() as progress:
            task = progress.add_task("posting", total=len(documents))
            for start in range(0, len(documents), BATCH_SIZE):
                chunk = documents[start : start + BATCH_SIZE]
                results = post_batch(ledger, [document for _, document in chunk])
                refused += sum(isinstance(result, LedgerError) for result in results)
                for (label, _), result in zip(chunk, results, strict=True):
                    progress.console.print(_result_line(label, result))
                progress.advance(task, len(chunk))
        _integrate(ledger)
    return refused


def _post_remote(
    documents: list[tuple[str, object]], url: str, token: str | None, log_key: str | None
) -> int:
    """Post through the issuer client, which retries what was not acknowledged and checks receipts."""
    from ledger.client import LedgerClient

    if not token:
        errors.print("[bold red]refused[/]: --url needs an issuer --token (or LEDGER_TOKEN)")
        raise typer.Exit(2)
    parsed = []
    with refusals():
        for label, raw in documents:
            parsed.append((label, parse_json(raw if isinstance(raw, bytes) else str(raw))))
        client = LedgerClient(url, token, log_key=log_key)
        with _progress() as progress:
            task = progress.add_task("posting", total=len(parsed))
            results = client.post_batch(
                [document for _, document in parsed],  # type: ignore[misc]
                batch_size=BATCH_SIZE,
                progress=lambda n: progress.advance(task, n),
            )
    refused = 0
    for (label, _), result in zip(parsed, results, strict=True):
        if "receipt" in result:
            entry = result["receipt"]["entry"]
            console.print(f"[green]recorded[/] {label}: {entry['learner']} #{entry['seq']}")
        else:
            refused += 1
            problem = result.get("problem", {})
            console.print(f"[red]refused[/] {label}: {escape(str(problem.get('detail', problem)))}")
    return refused


def _result_line(label: str, result: PostResult) -> str:
    if isinstance(result, LedgerError):
        return f"[red]refused[/] {label}: {escape(describe(result))}"
    note = " (already recorded)" if result.duplicate else ""
    return f"[green]recorded[/] {label}: {result.entry['learner']} #{result.entry['seq']}{note}"


def _credentials_in(source: Path) -> Iterator[tuple[str, object]]:
    if source.is_dir():
        for path in sorted(source.glob("*.json")):
            yield path.name, path.read_bytes()
    elif source.suffix in (".jsonl", ".ndjson"):
        with source.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield f"{source.name}:{number}", line
    elif source.is_file():
        yield source.name, source.read_bytes()
    else:
        errors.print(f"[bold red]refused[/]: {source} is not a file or folder")
        raise typer.Exit(2)
