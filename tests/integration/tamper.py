"""An attacker with full database rights: reads and rewrites the stored rows directly, after
disabling the append-only triggers as such an attacker would (used by the tamper-evidence suite).
"""

from __future__ import annotations

import sqlite3
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg import sql

from tests.conftest import POSTGRES_URL, Backend


class Attacker:
    """Direct SQL on one backend's ledger, triggers off."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.postgres = backend.name == "postgres"
        self.events = "ledger_events" if self.postgres else "stored_events"
        self.id_column = "notification_id" if self.postgres else "rowid"
        if self.postgres:
            self.conn: Any = psycopg.connect(POSTGRES_URL, autocommit=True)
            self.conn.execute(
                sql.SQL("SET search_path TO {}").format(sql.Identifier(backend.schema or "public"))
            )
            for table in (self.events, "log_leaves", "log_tiles", "log_checkpoints"):
                self.conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            self.conn = sqlite3.connect(backend.settings.data_dir / "ledger.sqlite3", isolation_level=None)
            names = [
                row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ]
            for name in names:
                self.conn.execute(f"DROP TRIGGER {name}")

    def run(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Execute SQL written with `?` placeholders."""
        if self.postgres:
            cursor = self.conn.execute(statement.replace("?", "%s").encode(), params)
            return list(cursor.fetchall()) if cursor.description else []
        return list(self.conn.execute(statement, params).fetchall())

    def event(self, stream: str, version: int) -> tuple[int, dict[str, Any]]:
        """The notification id and decoded state of a stream's event."""
        ident = UUID(stream.removeprefix("urn:uuid:"))
        value: Any = ident if self.postgres else ident.hex
        rows = self.run(
            f"SELECT {self.id_column}, state FROM {self.events} "
            "WHERE originator_id = ? AND originator_version = ?",
            (value, version),
        )
        return int(rows[0][0]), orjson.loads(bytes(rows[0][1]))

    def write_event(self, notification_id: int, state: dict[str, Any]) -> None:
        """Overwrite an event's stored state."""
        self.run(
            f"UPDATE {self.events} SET state = ? WHERE {self.id_column} = ?",
            (orjson.dumps(state), notification_id),
        )

    def delete_event(self, notification_id: int) -> None:
        """Remove an event."""
        self.run(f"DELETE FROM {self.events} WHERE {self.id_column} = ?", (notification_id,))

    def insert_event(self, stream: str, version: int, topic: str, state: dict[str, Any]) -> None:
        """Add an event as if the ledger had written it."""
        ident = UUID(stream.removeprefix("urn:uuid:"))
        value: Any = ident if self.postgres else ident.hex
        self.run(
            f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            (value, version, topic, orjson.dumps(state)),
        )

    def close(self) -> None:
        """Let go of the database."""
        self.conn.close()
