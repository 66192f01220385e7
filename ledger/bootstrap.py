"""The one place that wires the ledger: settings in, an open `Ledger` (or a fresh data folder) out."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from eventsourcing.persistence import PersistenceError

from ledger import posting_pool
from ledger.access_log import AccessLog
from ledger.application import Ledger
from ledger.erasure import ErasureStore
from ledger.errors import ConfigurationError, StorageUnavailable
from ledger.key_store import KeyStore
from ledger.log import TransparencyLog
from ledger.log_signer import LogSigner
from ledger.log_store import LogStore
from ledger.master_keys import MasterKeyRing
from ledger.migrations import apply_migrations, ensure_schema, pending_migrations
from ledger.sealing import MasterKey
from ledger.settings import LOG_KEY_FILE, MASTER_KEY_FILE, Settings
from ledger.shares import ShareStore
from ledger.sql import SqlCursor, SqlStore
from ledger.storage import Database, parse_database_url
from ledger.tokens import TokenStore
from verification.note import generate_signer_key


def database_of(settings: Settings) -> Database:
    """The database the settings name."""
    return parse_database_url(settings.resolved_database_url(), schema=settings.database_schema)


def open_ledger(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Ledger:
    """Open the ledger the settings describe; refuse a database whose migrations are behind."""
    database = database_of(settings)
    master_key = MasterKeyRing.from_settings(settings)
    if database.backend == "sqlite" and not Path(database.env["SQLITE_DBNAME"]).exists():
        raise ConfigurationError(
            f"there is no ledger at {database.env['SQLITE_DBNAME']}; run `ledger init` first"
        )
    pending = pending_migrations(database)
    if pending:
        raise ConfigurationError(
            f"the database at {_safe(database.url)} needs migrations {pending}; run `ledger migrate`"
        )
    if "posting_processes" in settings.model_fields_set:
        # Given (or from LEDGER_POSTING_PROCESSES): this process's worker count. Left at its default,
        # the pool reads the same default at its first large batch, and a count set before stays.
        posting_pool.configure(settings.posting_processes)
    signer = LogSigner.from_signer_key(settings.log_origin(), settings.log_signing_key_text())
    try:
        ledger = Ledger(
            {**database.env, "CREATE_TABLE": "n"},
            master_key=master_key,
            did_host=settings.did_web_host(),
            max_credential_bytes=settings.max_credential_bytes,
            clock=clock,
            log_signer=signer,
        )
    except PersistenceError as error:
        raise StorageUnavailable(f"cannot open the event store at {_safe(database.url)}: {error}") from error
    ledger.master_key.attach(KeyStore(SqlStore(ledger.recorder, database.schema, SqlCursor)))
    ledger.tlog = TransparencyLog(ledger, LogStore(ledger.recorder, database.schema), signer, clock)
    ledger.tokens = TokenStore(SqlStore(ledger.recorder, database.schema, SqlCursor), clock)
    ledger.shares = ShareStore(SqlStore(ledger.recorder, database.schema, SqlCursor), clock)
    ledger.erasures = ErasureStore(SqlStore(ledger.recorder, database.schema, SqlCursor), clock)
    ledger.access_log = AccessLog(SqlStore(ledger.recorder, database.schema, SqlCursor), clock)
    if database.backend == "sqlite":
        # SQLite has one writer at a time: integrate in-process after each commit (DESIGN §7);
        # writes by other processes are picked up by the next integration or `ledger log follow`.
        ledger.after_commit.append(ledger.tlog.integrate)
    return ledger


def migrate(settings: Settings) -> list[str]:
    """Create the library's tables and apply the ledger's pending migrations; return their names."""
    database = database_of(settings)
    if database.backend == "sqlite":
        Path(database.env["SQLITE_DBNAME"]).parent.mkdir(parents=True, exist_ok=True)
    ensure_schema(database)
    try:
        # Constructing the application creates the library's own tables, which migrations extend.
        Ledger(database.env, master_key=MasterKey(bytes(range(32))), did_host="-").close()
    except PersistenceError as error:
        raise StorageUnavailable(f"cannot open the event store at {_safe(database.url)}: {error}") from error
    return apply_migrations(database)


def init(settings: Settings) -> list[str]:
    """Make the data folder, its development secrets when absent, and the database; return notes."""
    notes: list[str] = []
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.master_key is None and settings.mode == "development":
        path = settings.data_dir / MASTER_KEY_FILE
        if _write_secret(path, base64.b64encode(secrets.token_bytes(32)).decode()):
            notes.append(f"generated the master key in {path}")
    if settings.log_signing_key is None and settings.mode == "development":
        path = settings.data_dir / LOG_KEY_FILE
        signer, verifier = generate_signer_key(settings.log_origin())
        if _write_secret(path, signer):
            (settings.data_dir / "log.pub").write_text(verifier + "\n", encoding="ascii")
            notes.append(f"generated the log signing key in {path} (verifier key in log.pub)")
    settings.master_key_bytes()
    settings.log_signing_key_text()
    notes += [f"applied migration {name}" for name in migrate(settings)]
    return notes


def _write_secret(path: Path, text: str) -> bool:
    """Write a secret file readable only by its owner; never overwrite one."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    return True


def _safe(url: str) -> str:
    """A database URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"


__all__ = ["ConfigurationError", "init", "migrate", "open_ledger"]
