"""The ledger's SQLite recorder: the library's, plus learner keys and erasures in the events'
transaction, and the batched reads posting and the audit need."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from ledger.erasure_rows import ErasureWrite, write_erasure
from ledger.sql import SqlCursor
from ledger.storage import LearnerKeyRow, chunks


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
        rows = self._rows_in(
            "SELECT learner_id, wrapped_key, master_key_id FROM learner_keys WHERE learner_id IN ({marks})",
            learner_ids,
        )
        return {row[0]: LearnerKeyRow(row[0], bytes(row[1]), row[2]) for row in rows}

    def select_last_events(self, originator_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The last stored event of each aggregate in one query, by id."""
        table = self.events_table_name
        rows = self._rows_in(
            f"SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {table} e "  # noqa: S608
            f"JOIN (SELECT originator_id, MAX(originator_version) AS version FROM {table} "
            "WHERE originator_id IN ({marks}) GROUP BY originator_id) last "
            "ON e.originator_id = last.originator_id AND e.originator_version = last.version",
            [identifier.hex for identifier in originator_ids],
        )
        found: dict[UUID, StoredEvent] = {}
        for row in rows:
            identifier = UUID(row["originator_id"])
            found[identifier] = StoredEvent(
                identifier, row["originator_version"], row["topic"], bytes(row["state"])
            )
        return found

    def select_last_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The last stored version of each aggregate in one query (no state read), by id."""
        rows = self._rows_in(
            f"SELECT originator_id, MAX(originator_version) AS version FROM {self.events_table_name} "  # noqa: S608
            "WHERE originator_id IN ({marks}) GROUP BY originator_id",
            [identifier.hex for identifier in originator_ids],
        )
        return {UUID(row["originator_id"]): int(row["version"]) for row in rows}

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of each aggregate in one query, in version order, by id."""
        found: dict[UUID, list[StoredEvent]] = {}
        rows = self._rows_in(
            f"SELECT originator_id, originator_version, topic, state FROM {self.events_table_name} "  # noqa: S608
            "WHERE originator_id IN ({marks}) ORDER BY originator_id, originator_version",
            [identifier.hex for identifier in originator_ids],
        )
        for row in rows:
            identifier = UUID(row["originator_id"])
            found.setdefault(identifier, []).append(
                StoredEvent(identifier, row["originator_version"], row["topic"], bytes(row["state"]))
            )
        return found

    def _rows_in(self, statement: str, keys: Sequence[str]) -> list[Any]:
        """The rows of `statement` for every key, its `{marks}` standing for the placeholders of one
        chunk of keys (SQLite caps a statement's parameters), all read in one transaction."""
        rows: list[Any] = []
        with self.datastore.transaction(commit=False) as c:
            for chunk in chunks(list(keys)):
                c.execute(statement.replace("{marks}", ",".join("?" * len(chunk))), tuple(chunk))
                rows += c.fetchall()
        return rows
