"""`ledger log …`, `ledger bundle` and `ledger verify`: the transparency log and its proofs."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from ledger import bootstrap
from ledger.application import Ledger
from ledger.cli import (
    DataDir,
    _progress,
    _write_json,
    app,
    console,
    errors,
    log_app,
    opened,
    refusals,
    settings_for,
)
from ledger.log_signer import LogSigner


@log_app.command("key")
def log_key(data_dir: DataDir = None) -> None:
    """Print the log's public key as a C2SP verifier key (what verifiers pin)."""
    with refusals():
        settings = settings_for(data_dir)
        typer.echo(
            LogSigner.from_signer_key(settings.log_origin(), settings.log_signing_key_text()).verifier_key
        )


@log_app.command("integrate")
def log_integrate(data_dir: DataDir = None) -> None:
    """Make every committed entry a leaf, then sign a checkpoint if the tree grew."""
    with opened(data_dir) as ledger:
        _integrate(ledger)


@log_app.command("checkpoint")
def log_checkpoint(data_dir: DataDir = None) -> None:
    """Integrate, sign a checkpoint now (even if the tree did not grow), and print it."""
    with opened(data_dir) as ledger:
        ledger.tlog.integrate_all()
        checkpoint = ledger.tlog.sign_checkpoint(force=True)
    assert checkpoint is not None
    sys.stdout.write(checkpoint.note)


@log_app.command("show")
def log_show(data_dir: DataDir = None) -> None:
    """Print the log's size, what is pending, and its newest checkpoint."""
    with opened(data_dir) as ledger:
        state = ledger.tlog.state()
        latest = ledger.tlog.latest_checkpoint()
    console.print(f"{state.size} leaves; integrated up to notification {state.position}")
    if latest is None:
        console.print("no checkpoint signed yet")
    else:
        console.print(f"newest checkpoint: size {latest.size}, signed {latest.signed_at}")
        sys.stdout.write(latest.note)


@log_app.command("follow")
def log_follow(
    interval: Annotated[float | None, typer.Option(help="Seconds between checkpoints [settings]")] = None,
    batch: Annotated[int, typer.Option(help="Entries per integration transaction")] = 1000,
    data_dir: DataDir = None,
) -> None:
    """Integrate new commits as they land and sign checkpoints, until interrupted."""
    from ledger.log_follower import follow

    settings = settings_for(data_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with opened(data_dir) as ledger:
        database = bootstrap.database_of(settings)
        console.print(f"following the log of {database.backend}; Ctrl-C to stop")
        with contextlib.suppress(KeyboardInterrupt):
            follow(
                ledger.tlog,
                interval=interval or settings.checkpoint_interval,
                stop=stop,
                batch=batch,
                on_checkpoint=lambda cp: console.print(f"checkpoint {cp.size} signed"),
                listen_url=database.url if database.backend == "postgresql" else None,
            )


def _integrate(ledger: Ledger) -> None:
    with _progress() as progress:
        task = progress.add_task("integrating", total=None)
        added = ledger.tlog.integrate_all(progress=lambda n: progress.advance(task, n))
    checkpoint = ledger.tlog.sign_checkpoint()
    size = ledger.tlog.state().size
    signed = f"; checkpoint {checkpoint.size} signed" if checkpoint else ""
    console.print(f"log: {added} new leaves, {size} in all{signed}")


@app.command()
def bundle(
    credential: Annotated[str, typer.Argument(help="The credential id (urn:uuid:…)")],
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output")] = None,
    since: Annotated[int | None, typer.Option(help="Add a consistency proof from this tree size")] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the offline proof bundle of a recorded credential (JSON)."""
    from ledger.bundles import build_bundle

    with opened(data_dir) as ledger:
        document = build_bundle(ledger, credential, since=since)
    _write_json(document, out, "bundle")


@app.command()
def verify(
    bundle_file: Annotated[
        Path, typer.Argument(help="A proof bundle (JSON) from `ledger bundle` or the API")
    ],
    log_key: Annotated[list[str], typer.Option(help="A trusted log verifier key (repeat for several)")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    state: Annotated[
        Path | None, typer.Option(help="Remember the newest checkpoint here and demand consistency with it")
    ] = None,
) -> None:
    """Verify a bundle offline: no database, no network, no server. Exit 0 only if every check holds."""
    from ledger.verifier_state import load_last_seen, remember
    from verification.bundle import verify_bundle

    try:
        data = bundle_file.read_bytes()
    except OSError as error:
        errors.print(f"[bold red]refused[/]: cannot read {bundle_file}: {escape(str(error.strerror))}")
        raise typer.Exit(2) from None
    report = verify_bundle(data, log_key)
    if state is not None and report.checkpoint is not None:
        last_seen = load_last_seen(state, report.checkpoint.origin)
        if last_seen is not None:
            report = verify_bundle(data, log_key, last_seen=last_seen)
        if report.ok and report.checkpoint is not None:
            remember(state, report.checkpoint)
    if json_output:
        sys.stdout.write(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(report.to_text())
    if not report.ok:
        raise typer.Exit(1)
