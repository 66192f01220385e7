"""Settings, read once at start from LEDGER_* variables into one typed object."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ConfigurationError

MASTER_KEY_FILE = "master.key"
LOG_KEY_FILE = "log.key"
MAKE_MASTER_KEY = (
    'python3 -c "import base64,secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())"'
)
MAKE_LOG_KEY = "ledger init --data-dir DIR (then copy DIR/log.key into your secret store)"
_PLACEHOLDERS = {"", "changeme", "change-me", "placeholder", "secret", "todo", "xxx"}


class Settings(BaseSettings):
    """Everything the ledger needs to start, from LEDGER_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", populate_by_name=True)

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Path("ledger-data")
    database_url: str = Field(
        default="", description="sqlite:///path or postgresql://…; default: SQLite in data_dir"
    )
    master_key: SecretStr | None = Field(
        default=None, description="base64 of 32 bytes that wrap learner data keys"
    )
    previous_master_keys: SecretStr | None = Field(
        default=None, description="comma-separated base64 master keys still read during a rotation"
    )
    log_signing_key: SecretStr | None = Field(
        default=None, description="C2SP signed-note private key (PRIVATE+KEY+…) of the log"
    )
    database_schema: str = Field(
        default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="PostgreSQL schema of the ledger"
    )
    public_url: str = Field(default="http://localhost:8000", description="where the ledger is seen")
    max_credential_bytes: int = Field(default=64 * 1024, gt=0)
    log_origin_name: str = Field(
        default="", alias="LEDGER_LOG_ORIGIN", description="checkpoint origin; default <public host>/log"
    )
    checkpoint_interval: float = Field(default=1.0, gt=0, description="seconds between checkpoints")
    max_request_bytes: int = Field(default=8 * 1024 * 1024, gt=0, description="largest HTTP request body")
    max_batch: int = Field(default=1000, gt=0, le=10_000, description="most credentials in one batch post")
    max_page: int = Field(default=1000, gt=0, description="most log entries in one page")
    ready_max_lag: int = Field(default=10_000, ge=0, description="events followers may lag and stay ready")
    posting_processes: int = Field(
        default_factory=lambda: 1 if (os.cpu_count() or 1) > 1 else 0,
        ge=0,
        le=64,
        description="worker processes that check, seal and sign for a posting process; 0: inline",
    )

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ledger.sqlite3').resolve()}"

    def did_web_host(self) -> str:
        """The host part of did:web identifiers: the public URL's host, port percent-encoded."""
        parts = urlsplit(self.public_url)
        if not parts.hostname:
            raise ConfigurationError(f"LEDGER_PUBLIC_URL has no host: {self.public_url!r}")
        host = parts.hostname
        return f"{host}%3A{parts.port}" if parts.port else host

    def log_origin(self) -> str:
        """The transparency log's origin line: LEDGER_LOG_ORIGIN, else the public host and path + /log."""
        if self.log_origin_name:
            return self.log_origin_name
        parts = urlsplit(self.public_url)
        return f"{parts.netloc}{parts.path.rstrip('/')}/log"

    def master_key_bytes(self) -> bytes:
        """The 32-byte master key: from LEDGER_MASTER_KEY, else (development) the data folder."""
        text = self._secret(self.master_key, MASTER_KEY_FILE, "LEDGER_MASTER_KEY", MAKE_MASTER_KEY)
        return _master_key(text, "LEDGER_MASTER_KEY")

    def previous_master_key_bytes(self) -> list[bytes]:
        """Master keys a rotation moves away from (LEDGER_PREVIOUS_MASTER_KEYS); never read from files."""
        if self.previous_master_keys is None:
            return []
        keys: list[bytes] = []
        for number, text in enumerate(self.previous_master_keys.get_secret_value().split(","), 1):
            name = f"LEDGER_PREVIOUS_MASTER_KEYS (key {number})"
            if text.strip().lower() in _PLACEHOLDERS:
                raise ConfigurationError(
                    f"{name} is empty or a placeholder; make one with: {MAKE_MASTER_KEY}"
                )
            keys.append(_master_key(text.strip(), name))
        return keys

    def log_signing_key_text(self) -> str:
        """The log's signer key (C2SP PRIVATE+KEY+… form): from the environment or data folder."""
        text = self._secret(self.log_signing_key, LOG_KEY_FILE, "LEDGER_LOG_SIGNING_KEY", MAKE_LOG_KEY)
        if not text.startswith("PRIVATE+KEY+"):
            raise ConfigurationError(
                "LEDGER_LOG_SIGNING_KEY must be a C2SP signer key (PRIVATE+KEY+name+id+key); "
                "make one with: " + MAKE_LOG_KEY
            )
        return text

    def _secret(self, value: SecretStr | None, filename: str, variable: str, how: str) -> str:
        if value is not None:
            text = value.get_secret_value().strip()
            if text.lower() in _PLACEHOLDERS:
                raise ConfigurationError(f"{variable} is a placeholder; make a real one with: {how}")
            return text
        if self.mode == "production":
            raise ConfigurationError(
                f"{variable} is required in production mode (secrets are never read from the "
                f"data folder there); make one with: {how}"
            )
        path = self.data_dir / filename
        if not path.exists():
            raise ConfigurationError(
                f"no {variable} and no {path}; run `ledger init --data-dir {self.data_dir}` first"
            )
        return path.read_text(encoding="ascii").strip()


def _master_key(text: str, variable: str) -> bytes:
    """32 non-zero key bytes from base64 text, or a ConfigurationError naming the variable."""
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(
            f"{variable} must be base64 of exactly 32 random bytes; make one with: " + MAKE_MASTER_KEY
        )
    if key == bytes(32):
        raise ConfigurationError(f"{variable} is all zeros; make one with: " + MAKE_MASTER_KEY)
    return key
