"""The Dockerfile and docker-compose.yml stay true to the code (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ledger.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, object]:
    """The compose file, parsed."""
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def test_compose_runs_database_migrations_and_api_with_health_checks() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    assert set(services) == {"db", "migrate", "api"}
    assert services["migrate"]["command"] == ["ledger", "migrate"]
    assert services["api"]["command"][:2] == ["ledger", "serve"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "healthcheck" in services["db"] and "/readyz" in str(services["api"]["healthcheck"])
    assert "pgdata" in compose()["volumes"]  # type: ignore[operator]


def test_compose_sets_only_settings_the_app_reads() -> None:
    environment = compose()["services"]["api"]["environment"]  # type: ignore[index]
    known = {f"LEDGER_{name.upper()}" for name in Settings.model_fields} | {"LEDGER_LOG_ORIGIN"}
    assert set(environment) <= known, set(environment) - known
    assert environment["LEDGER_MODE"] == "production"
    assert environment["LEDGER_DATABASE_URL"].startswith("postgresql://")
    assert {"LEDGER_MASTER_KEY", "LEDGER_LOG_SIGNING_KEY"} <= set(environment)


def test_the_dockerfile_copies_what_exists() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+)", text, flags=re.MULTILINE):
        assert (ROOT / source).exists(), source
    assert 'CMD ["ledger", "serve"' in text
