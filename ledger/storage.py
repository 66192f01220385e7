"""Storage wiring: the eventsourcing environment for a database URL, and the ledger's own tables.

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
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.erasure_rows import ErasureWrite, write_erasure
from ledger.errors import ConfigurationError
from ledger.sql import SqlCursor


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

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of each aggregate in one query, in version order, by id."""


_CHUNK = 500
"""Ids per IN (...) list: well under SQLite's bound on parameters."""


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[start : start + _CHUNK] for start in range(0, len(items), _CHUNK)]


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, also writing learner keys in the events' transaction."""

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        rows: Sequence[LearnerKeyRow] = kwargs.get("learner_keys", ())
        if rows:
            c.executemany(
                "INSERT INTO learner_keys (learner_id, wrapped_key, master_key_id) VALUES (?, ?, ?)",
                [(row.learner_id, row.wrapped_key, row.master_key_id) for row in rows],
            )
        erasure: ErasureWrite | None = kwargs.get("erasure")
        if erasure is not None:
            write_erasure(SqlCursor(c, postgres=False, schema=""), erasure)
        return ids

    def select_learner_key(self, learner_id: str) -> bytes | None:
        """The learner's wrapped data key, or None."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT wrapped_key FROM learner_keys WHERE learner_id = ?", (learner_id,))
            row = c.fetchone()
        return None if row is None else bytes(row[0])

    def select_learner_key_row(self, learner_id: str) -> LearnerKeyRow | None:
        """The learner's wrapped data key and its master key id, or None."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT wrapped_key, master_key_id FROM learner_keys WHERE learner_id = ?", (learner_id,)
            )
            row = c.fetchone()
        return None if row is None else LearnerKeyRow(learner_id, bytes(row[0]), row[1])

    def select_learner_key_rows(self, learner_ids: Sequence[str]) -> dict[str, LearnerKeyRow]:
        """The wrapped data keys of many learners in one query, by learner id."""
        found: dict[str, LearnerKeyRow] = {}
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks(list(learner_ids)):
                marks = ",".join("?" * len(chunk))
                c.execute(
                    "SELECT learner_id, wrapped_key, master_key_id FROM learner_keys "  # noqa: S608
                    f"WHERE learner_id IN ({marks})",
                    tuple(chunk),
                )
                for row in c.fetchall():
                    found[row[0]] = LearnerKeyRow(row[0], bytes(row[1]), row[2])
        return found

    def select_last_events(self, originator_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The last stored event of each aggregate in one query, by id."""
        found: dict[UUID, StoredEvent] = {}
        table = self.events_table_name
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks([identifier.hex for identifier in originator_ids]):
                marks = ",".join("?" * len(chunk))
                c.execute(
                    f"SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {table} e "  # noqa: S608
                    f"JOIN (SELECT originator_id, MAX(originator_version) AS version FROM {table} "
                    f"WHERE originator_id IN ({marks}) GROUP BY originator_id) last "
                    "ON e.originator_id = last.originator_id AND e.originator_version = last.version",
                    tuple(chunk),
                )
                for row in c.fetchall():
                    identifier = UUID(row["originator_id"])
                    found[identifier] = StoredEvent(
                        identifier, row["originator_version"], row["topic"], bytes(row["state"])
                    )
        return found

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of each aggregate in one query, in version order, by id."""
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks([identifier.hex for identifier in originator_ids]):
                marks = ",".join("?" * len(chunk))
                c.execute(
                    "SELECT originator_id, originator_version, topic, state "  # noqa: S608
                    f"FROM {self.events_table_name} WHERE originator_id IN ({marks}) "
                    "ORDER BY originator_id, originator_version",
                    tuple(chunk),
                )
                for row in c.fetchall():
                    identifier = UUID(row["originator_id"])
                    found.setdefault(identifier, []).append(
                        StoredEvent(identifier, row["originator_version"], row["topic"], bytes(row["state"]))
                    )
        return found


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, also writing learner keys in the events' transaction."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        table = Identifier(datastore.schema, "learner_keys")
        self.insert_key_statement = SQL(
            "INSERT INTO {} (learner_id, wrapped_key, master_key_id) VALUES (%s, %s, %s)"
        ).format(table)
        self.select_key_statement = SQL(
            "SELECT wrapped_key, master_key_id FROM {} WHERE learner_id = %s"
        ).format(table)
        self.select_keys_statement = SQL(
            "SELECT learner_id, wrapped_key, master_key_id FROM {} WHERE learner_id = ANY(%s)"
        ).format(table)
        self.select_last_events_statement = SQL(
            "SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state "
            "FROM {}.{} WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version DESC"
        ).format(Identifier(datastore.schema), Identifier(events_table_name))
        self.select_events_of_statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(Identifier(datastore.schema), Identifier(events_table_name))

        # The library inserts from one array of a composite type, which psycopg dumps in pure
        # Python (~60 us an event, escaping each state with a regex); four arrays of base types
        # dump in C. unnest() zips them in order, so rows, and notification ids, keep the order.
        self.insert_events_statement = SQL(
            "INSERT INTO {}.{} AS t (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(
            Identifier(datastore.schema),
            Identifier(events_table_name),
            Identifier(datastore.originator_id_type),
        )

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        columns = (
            [event.originator_id for event in stored_events],
            [event.originator_version for event in stored_events],
            [event.topic for event in stored_events],
            [event.state for event in stored_events],
        )
        curs.execute(self.insert_events_statement, columns)

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        rows: Sequence[LearnerKeyRow] = kwargs.get("learner_keys", ())
        for row in rows:
            curs.execute(self.insert_key_statement, (row.learner_id, row.wrapped_key, row.master_key_id))
        erasure: ErasureWrite | None = kwargs.get("erasure")
        if erasure is not None:
            write_erasure(SqlCursor(curs, postgres=True, schema=self.datastore.schema), erasure)

    def select_learner_key(self, learner_id: str) -> bytes | None:
        """The learner's wrapped data key, or None."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_key_statement, (learner_id,))
            row = curs.fetchone()
        return None if row is None else bytes(row["wrapped_key"])

    def select_learner_key_row(self, learner_id: str) -> LearnerKeyRow | None:
        """The learner's wrapped data key and its master key id, or None."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_key_statement, (learner_id,))
            row = curs.fetchone()
        if row is None:
            return None
        return LearnerKeyRow(learner_id, bytes(row["wrapped_key"]), row["master_key_id"])

    def select_learner_key_rows(self, learner_ids: Sequence[str]) -> dict[str, LearnerKeyRow]:
        """The wrapped data keys of many learners in one query, by learner id."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_keys_statement, (list(learner_ids),))
            rows = curs.fetchall()
        return {
            str(row["learner_id"]): LearnerKeyRow(
                row["learner_id"], bytes(row["wrapped_key"]), row["master_key_id"]
            )
            for row in rows
        }

    def select_last_events(self, originator_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The last stored event of each aggregate in one query, by id."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_last_events_statement, (list(originator_ids),))
            rows = curs.fetchall()
        return {
            row["originator_id"]: StoredEvent(
                row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])
            )
            for row in rows
        }

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of each aggregate in one query, in version order, by id."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_events_of_statement, (list(originator_ids),))
            rows = curs.fetchall()
        found: dict[UUID, list[StoredEvent]] = {}
        for row in rows:
            found.setdefault(row["originator_id"], []).append(
                StoredEvent(
                    row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])
                )
            )
        return found


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
                "APPLICATION_RECORDER_TOPIC": "ledger.storage:LedgerSQLiteRecorder",
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
            "APPLICATION_RECORDER_TOPIC": "ledger.storage:LedgerPostgresRecorder",
        }
        if schema:
            env["POSTGRES_SCHEMA"] = schema
        return Database("postgresql", url, env, schema or "public")
    raise ConfigurationError(
        f"unsupported database URL {url!r}: use sqlite:///path/to/file or postgresql://host/db"
    )
