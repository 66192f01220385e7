"""Running one `ledger` command in a test (the `env` fixture, in conftest, points it at a fresh ledger)."""

from __future__ import annotations

from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def ledger(env: dict[str, str], *args: str, code: int = 0) -> str:
    """Run one `ledger` command; check its exit status; return what it printed."""
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, (result.output, result.exception)
    return result.output
