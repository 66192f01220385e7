"""The read-model commands of `ledger`, end to end on the demo ledger (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()
ENV = {"COLUMNS": "200"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A demo ledger, built once for these tests."""
    target = tmp_path_factory.mktemp("demo") / "ledger"
    result = runner.invoke(app, ["demo", "--data-dir", str(target), "--no-serve"], env=ENV)
    assert result.exit_code == 0, result.output
    return target, json.loads((target / "demo.json").read_text())


def run(*args: str, code: int = 0) -> str:
    """Run one command; check its exit status."""
    result = runner.invoke(app, list(args), env=ENV)
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def test_portfolio_live_json_and_as_of_the_past(demo: tuple[Path, dict[str, object]]) -> None:
    folder, summary = demo
    learner = summary["learners"][0]["id"]  # type: ignore[index]
    document = json.loads(run("portfolio", learner, "--json", "--data-dir", str(folder)))
    assert document["awards"][0]["title"] == "BSc (Hons) Computer Science"
    assert [item["status"] for item in document["assessments"]] == ["valid"]
    past = json.loads(
        run("portfolio", learner, "--json", "--as-of", "2000-01-01T00:00:00Z", "--data-dir", str(folder))
    )
    assert past["awards"] == [] and past["assessments"] == []
    assert "BSc (Hons) Computer Science" in run("portfolio", learner, "--data-dir", str(folder))


def test_registry_credential_statistics_and_status(demo: tuple[Path, dict[str, object]]) -> None:
    folder, summary = demo
    assert "University of Caerleon" in run("registry", "--data-dir", str(folder))
    assert run("registry", "--as-of", "2000-01-01T00:00:00Z", "--data-dir", str(folder)).strip() == ""
    revoked = [item for item in summary["credentials"] if item["kind"] == "revocation"]  # type: ignore[union-attr]
    assert revoked
    found = json.loads(run("credential", summary["credentials"][1]["id"], "--data-dir", str(folder)))  # type: ignore[index]
    assert found["status"] == "revoked" and found["leaf_index"] is not None
    assert "wjec" in run("statistics", "--data-dir", str(folder))
    assert "(behind)" not in run("projections", "status", "--data-dir", str(folder))
    assert "rebuilt" in run("projections", "rebuild", "portfolio", "--data-dir", str(folder))


def test_refusals(demo: tuple[Path, dict[str, object]]) -> None:
    folder, _ = demo
    output = run(
        "portfolio", "urn:uuid:00000000-0000-4000-8000-000000000000", "--data-dir", str(folder), code=1
    )
    assert "no learner" in output
    assert "no projection" in run("projections", "rebuild", "nonsense", "--data-dir", str(folder), code=1)
    assert "no credential" in run(
        "credential", "urn:uuid:00000000-0000-4000-8000-000000000000", "--data-dir", str(folder), code=1
    )
