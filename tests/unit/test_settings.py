"""Settings: defaults, derived values, and refusal of missing or placeholder secrets."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ledger.errors import ConfigurationError
from ledger.settings import Settings

GOOD_KEY = base64.b64encode(bytes(range(1, 33))).decode()


def test_defaults_use_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path.resolve()}/ledger.sqlite3"
    assert settings.did_web_host() == "localhost%3A8000"
    assert settings.log_origin() == "localhost:8000/log"


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LEDGER_DATABASE_URL", "postgresql://ledger@db/ledger")
    monkeypatch.setenv("LEDGER_PUBLIC_URL", "https://records.example.gov.uk")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.resolved_database_url() == "postgresql://ledger@db/ledger"
    assert settings.did_web_host() == "records.example.gov.uk"


@pytest.mark.parametrize("value", ["changeme", "", "   ", "secret"])
def test_placeholder_master_key_is_refused(value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="placeholder"):
        Settings(data_dir=tmp_path, master_key=value).master_key_bytes()  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["bm90IDMyIGJ5dGVz", "!!!", base64.b64encode(bytes(32)).decode()])
def test_malformed_or_zero_master_key_is_refused_with_how_to_make_one(value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"secrets\.token_bytes"):
        Settings(data_dir=tmp_path, master_key=value).master_key_bytes()  # type: ignore[arg-type]


def test_production_refuses_secrets_from_the_data_folder(tmp_path: Path) -> None:
    (tmp_path / "master.key").write_text(GOOD_KEY)
    assert Settings(data_dir=tmp_path).master_key_bytes() == bytes(range(1, 33))
    with pytest.raises(ConfigurationError, match="required in production"):
        Settings(data_dir=tmp_path, mode="production").master_key_bytes()
    with pytest.raises(ConfigurationError, match="LEDGER_LOG_SIGNING_KEY is required"):
        Settings(data_dir=tmp_path, mode="production").log_signing_key_text()
    production = Settings(data_dir=tmp_path, mode="production", master_key=GOOD_KEY)  # type: ignore[arg-type]
    assert production.master_key_bytes() == bytes(range(1, 33))


def test_missing_development_secret_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ledger init"):
        Settings(data_dir=tmp_path).master_key_bytes()


def test_log_key_must_be_a_signer_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"PRIVATE\+KEY"):
        Settings(data_dir=tmp_path, log_signing_key="not-a-key").log_signing_key_text()  # type: ignore[arg-type]
