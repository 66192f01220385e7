"""The ledger's PostgreSQL recorder: the library's, plus learner keys and erasures in the events'
transaction, a faster event insert, and the batched reads posting and the audit need."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.erasure_rows import ErasureWrite, write_erasure
from ledger.sql import SqlCursor
from ledger.storage import LearnerKeyRow


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
        self.select_last_versions_statement = SQL(
            "SELECT originator_id, MAX(originator_version) AS version FROM {}.{} "
            "WHERE originator_id = ANY(%s) GROUP BY originator_id"
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

    def select_last_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The last stored version of each aggregate in one query (no state read), by id."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_last_versions_statement, (list(originator_ids),))
            rows = curs.fetchall()
        return {row["originator_id"]: int(row["version"]) for row in rows}

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
