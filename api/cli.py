"""The complete `ledger` command: every command of ledger.cli and projections.cli, plus the
server (`ledger serve`), API tokens (`ledger token`) and the demo that serves itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

import projections.cli  # noqa: F401 (registers the read-model commands on the same app)
from api import serving
from ledger.cli import DataDir, app, console, instant, opened, refusals, settings_for
from ledger.demo import run_demo
from ledger.settings import Settings
from ledger.tokens import ROLES

token_app = typer.Typer(help="API tokens: create and revoke.", no_args_is_help=True)
app.add_typer(token_app, name="token")

Host = Annotated[str, typer.Option(help="Interface to listen on")]
Port = Annotated[int, typer.Option(help="Port to listen on")]


Workers = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        envvar="LEDGER_WORKERS",
        help="HTTP worker processes (use the cores); the followers run once, in the supervisor",
    ),
]


@app.command()
def serve(
    host: Host = "127.0.0.1", port: Port = 8000, workers: Workers = 1, data_dir: DataDir = None
) -> None:
    """Serve the HTTP API (and run the log and projection followers) on the configured ledger."""
    settings = settings_for(data_dir)
    with refusals():
        _check_opens(settings)
    processes = f", {workers} worker processes" if workers > 1 else ""
    console.print(
        f"serving {settings.resolved_database_url()} at http://{host}:{port}{processes} (docs at /docs)"
    )
    serving.serve(settings, host=host, port=port, workers=workers)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}")],
    org: Annotated[str | None, typer.Option(help="The organisation slug (issuer tokens)")] = None,
    learner: Annotated[str | None, typer.Option(help="The learner id (learner tokens)")] = None,
    expires: Annotated[str | None, typer.Option(help="RFC 3339 expiry; default never")] = None,
    label: Annotated[str, typer.Option(help="What the token is for")] = "",
    data_dir: DataDir = None,
) -> None:
    """Print a new token (shown once; the ledger keeps only its hash)."""
    when: datetime | None = instant(expires, "--expires")
    with opened(data_dir) as ledger:
        if org is not None:
            ledger.organisation(org)
        if learner is not None:
            ledger.learner_stream(learner)
        secret, principal = ledger.tokens.create(
            role, organisation=org, learner=learner, expires_at=when, label=label
        )
    typer.echo(secret)
    console.print(
        f"token id {principal.token_id} ({role}); revoke with `ledger token revoke {principal.token_id}`"
    )


@token_app.command("revoke")
def token_revoke(token_id: str, data_dir: DataDir = None) -> None:
    """Revoke a token by its id."""
    with opened(data_dir) as ledger:
        ledger.tokens.revoke(token_id)
    console.print(f"token {token_id} revoked")


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Where to build the demo ledger")] = Path(
        "ledger-data/demo"
    ),
    host: Host = "127.0.0.1",
    port: Port = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the demo and stop")] = False,
) -> None:
    """Build a demo ledger (issuers, learners, credentials of every kind) and serve it."""
    base_url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"  # noqa: S104
    with refusals():
        summary = run_demo(data_dir, console, base_url)
    tokens = summary["tokens"]
    console.rule("try it")
    console.print(f"verify page:     {base_url}/verify   (try the files in {data_dir / 'bundles'})")
    console.print(f"learner sign-in: {base_url}/sign-in  (with a learner token below)")
    console.print(f"API and docs:    {base_url}/docs     (log key: {escape(summary['log_verifier_key'])})")
    console.print(f"registrar token: {tokens['registrar']}")
    console.print(f"auditor token:   {tokens['auditor']}")
    for slug, token in tokens["issuers"].items():
        console.print(f"issuer {slug}: {token}")
    for learner, token in tokens["learners"].items():
        console.print(f"learner {learner}: {token}")
    console.print(f"e.g. curl -H 'Authorization: Bearer {next(iter(tokens['learners'].values()))}' "
                  f"{base_url}/v1/learners/{next(iter(tokens['learners']))}/portfolio")  # fmt: skip
    if no_serve:
        return
    settings = Settings(data_dir=data_dir, database_url="", public_url=base_url)
    serving.serve(settings, host=host, port=port)


def _check_opens(settings: Settings) -> None:
    from ledger import bootstrap

    bootstrap.open_ledger(settings).close()


def main() -> None:
    """Entry point of the `ledger` command."""
    app()


if __name__ == "__main__":
    main()
