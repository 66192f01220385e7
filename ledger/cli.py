"""The `ledger` command line: set up a ledger, manage the registry, sign, post and read streams."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
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
from ledger.errors import LedgerError, MalformedCredential, describe
from ledger.keyfile import read_key_file, write_key_file
from ledger.log_signer import LogSigner
from ledger.posting import PostResult, post_batch
from ledger.registry import ORGANISATION_KINDS
from ledger.settings import Settings
from verification.canonical import parse_json
from verification.errors import VerificationError
from verification.keys import SigningKey

app = typer.Typer(
    help="Learner Ledger: signed learner records, hash-chained and verifiable.",
    no_args_is_help=True,
)
org_app = typer.Typer(help="Organisations of the trust registry.", no_args_is_help=True)
key_app = typer.Typer(help="An organisation's signing keys.", no_args_is_help=True)
learner_app = typer.Typer(help="Learners.", no_args_is_help=True)
log_app = typer.Typer(help="The transparency log: integration, checkpoints, its key.", no_args_is_help=True)
app.add_typer(org_app, name="org")
org_app.add_typer(key_app, name="key")
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


@org_app.command("add")
def org_add(
    slug: str,
    name: Annotated[str, typer.Option(help="The organisation's name")],
    kind: Annotated[str, typer.Option(help=f"One of {', '.join(ORGANISATION_KINDS)}")],
    data_dir: DataDir = None,
) -> None:
    """Register an organisation; prints its DID."""
    with opened(data_dir) as ledger:
        org = ledger.register_organisation(slug, name, kind)
    typer.echo(org.did)


@org_app.command("show")
def org_show(slug: str, data_dir: DataDir = None) -> None:
    """Print an organisation's DID document."""
    with opened(data_dir) as ledger:
        document = ledger.organisation(slug).did_document()
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


@key_app.command("add")
def key_add(
    slug: str,
    key: Annotated[str, typer.Argument(help="The public key (z6Mk…) or an issuer key file")],
    valid_from: Annotated[str | None, typer.Option(help="RFC 3339 instant; default now")] = None,
    data_dir: DataDir = None,
) -> None:
    """Register a signing key for an organisation."""
    multibase = read_key_file(Path(key)).verify_key.multibase if Path(key).is_file() else key
    with opened(data_dir) as ledger:
        ledger.add_key(slug, multibase, instant(valid_from, "--valid-from"))
    console.print(f"key {multibase} added to {slug}")


@key_app.command("retire")
def key_retire(
    slug: str,
    key: str,
    at: Annotated[str | None, typer.Option(help="RFC 3339 instant; default now")] = None,
    data_dir: DataDir = None,
) -> None:
    """Retire a key: signatures dated before the instant stay valid."""
    with opened(data_dir) as ledger:
        ledger.retire_key(slug, key, instant(at, "--at"))
    console.print(f"key {key} of {slug} retired")


@key_app.command("compromise")
def key_compromise(
    slug: str,
    key: str,
    at: Annotated[str, typer.Option(help="RFC 3339 instant the key became bad")],
    data_dir: DataDir = None,
) -> None:
    """Mark a key compromised from an instant."""
    when = instant(at, "--at")
    assert when is not None
    with opened(data_dir) as ledger:
        ledger.compromise_key(slug, key, when)
    console.print(f"key {key} of {slug} marked compromised from {at}")


@org_app.command("accredit")
def org_accredit(
    slug: str,
    kind: Annotated[list[str], typer.Option(help="A credential kind (repeat for several)")],
    scope: Annotated[list[str] | None, typer.Option(help="A scope, e.g. RQF, FHEQ:6 or * (repeat)")] = None,
    valid_from: Annotated[str | None, typer.Option("--from", help="RFC 3339; default now")] = None,
    valid_until: Annotated[str | None, typer.Option("--until", help="RFC 3339; default open")] = None,
    data_dir: DataDir = None,
) -> None:
    """Accredit an organisation for credential kinds within qualification scopes."""
    with opened(data_dir) as ledger:
        ledger.accredit(
            slug,
            kind,
            scope or ["*"],
            instant(valid_from, "--from"),
            instant(valid_until, "--until"),
        )
    console.print(f"{slug} accredited for {', '.join(kind)} in {', '.join(scope or ['*'])}")


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


def _result_line(label: str, result: PostResult) -> str:
    if isinstance(result, LedgerError):
        return f"[red]refused[/] {label}: {escape(describe(result))}"
    note = " (already recorded)" if result.duplicate else ""
    return f"[green]recorded[/] {label}: {result.entry['learner']} #{result.entry['seq']}{note}"


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
    main()
