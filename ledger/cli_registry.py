"""`ledger org …`: organisations of the trust registry, their signing keys and accreditations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from ledger.cli import DataDir, app, console, instant, opened
from ledger.keyfile import read_key_file
from ledger.registry import ORGANISATION_KINDS

org_app = typer.Typer(help="Organisations of the trust registry.", no_args_is_help=True)
key_app = typer.Typer(help="An organisation's signing keys.", no_args_is_help=True)
app.add_typer(org_app, name="org")
org_app.add_typer(key_app, name="key")


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
def org_accredit(  # noqa: PLR0917 (typer reads options from parameters)
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
