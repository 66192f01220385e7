"""Storage wiring: the eventsourcing environment for a database URL, and what the ledger needs of
its recorders beyond the library's interface (ledger/sqlite_recorder.py, ledger/postgres_recorder.py).

The library owns the event table. The ledger adds one table of its own, `learner_keys`, written in
the same transaction as the events that need it (a learner's registration), through recorders that
extend the library's `_insert_events` hook the way its own process recorders do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.errors import ConfigurationError


@dataclass(frozen=True)
class LearnerKeyRow:
    """A learner's wrapped data key, as stored."""

    learner_id: str
    wrapped_key: bytes
    master_key_id: str | None = None
    """The id of the master key that wraps it (None: written before key ids were recorded)."""


class LedgerRecorder(Protocol):
    """What the application needs from a recorder beyond the library's interface."""

    def select_learner_key(self, learner_id: str) -> bytes | None:
        """The learner's wrapped data key, or None when it never existed or was destroyed."""

    def select_learner_key_row(self, learner_id: str) -> LearnerKeyRow | None:
        """The learner's wrapped data key and its master key id, or None."""

    def select_learner_key_rows(self, learner_ids: Sequence[str]) -> dict[str, LearnerKeyRow]:
        """The wrapped data keys of many learners in one query, by learner id (absent: none)."""

    def select_last_events(self, originator_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The last stored event of each aggregate in one query, by id (absent: no such aggregate)."""

    def select_last_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The last stored version of each aggregate in one query, by id (absent: no such aggregate)."""

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of each aggregate in one query, in version order, by id."""


CHUNK = 500
"""Ids per IN (...) list: well under SQLite's bound on parameters."""


def chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    """`items` in slices of at most CHUNK."""
    return [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]


@dataclass(frozen=True)
class Database:
    """A parsed database URL: which backend, and the eventsourcing environment that opens it."""

    backend: str
    url: str
    env: dict[str, str]
    schema: str = "public"

    @property
    def events_table(self) -> str:
        """The library's event table for the ledger application on this backend."""
        return "stored_events" if self.backend == "sqlite" else "ledger_events"


def parse_database_url(url: str, *, schema: str | None = None) -> Database:
    """The backend and eventsourcing environment for `sqlite:///path` or `postgresql://…`."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if not path or path == "/":
            raise ConfigurationError(f"a SQLite URL needs a file path: {url!r}")
        return Database(
            "sqlite",
            url,
            {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": path,
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "ledger.sqlite_recorder:LedgerSQLiteRecorder",
            },
        )
    if parts.scheme in ("postgresql", "postgres"):
        dbname = parts.path.lstrip("/")
        if not dbname:
            raise ConfigurationError(f"a PostgreSQL URL needs a database name: {url!r}")
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(dbname),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            # How long a request waits for a pooled connection; the library retries each call ten
            # times, so while the database is away a request answers 503 after ~12 s, not ~50 s.
            "POSTGRES_CONNECT_TIMEOUT": "1",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_POOL_SIZE": "5",
            "APPLICATION_RECORDER_TOPIC": "ledger.postgres_recorder:LedgerPostgresRecorder",
        }
        if schema:
            env["POSTGRES_SCHEMA"] = schema
        return Database("postgresql", url, env, schema or "public")
    raise ConfigurationError(
        f"unsupported database URL {url!r}: use sqlite:///path/to/file or postgresql://host/db"
    )
