"""The key store: learner data keys and index keys as wrapped rows, read and re-wrapped in batches.

It holds no cryptography: re-wrapping is a function the caller passes in, so the store only sees
wrapped bytes and master key ids, and a data key is never written or logged unwrapped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.sql import SqlCursor, SqlStore
from ledger.storage import LearnerKeyRow

_NOT_UNDER = (
    "SELECT learner_id, wrapped_key, master_key_id FROM {p}learner_keys "
    "WHERE master_key_id IS NULL OR master_key_id <> ? ORDER BY learner_id LIMIT ?"
)


@dataclass(frozen=True)
class IndexKeyRow:
    """An index key (the ULN digest key) wrapped under a master key, as stored."""

    name: str
    wrapped_key: bytes
    master_key_id: str


class KeyStore:
    """The `learner_keys` and `index_keys` tables, as key rotation and the key ring use them."""

    def __init__(self, sql: SqlStore[SqlCursor]) -> None:
        self.sql = sql

    def index_key(self, name: str) -> IndexKeyRow | None:
        """The stored index key of that name, or None when the ledger never stored one."""
        with self.sql.reading() as cursor:
            rows = cursor.rows("SELECT wrapped_key, master_key_id FROM {p}index_keys WHERE name = ?", (name,))
        return _index_key(name, rows[0]) if rows else None

    def add_index_key(self, row: IndexKeyRow) -> None:
        """Store an index key unless one of that name is already stored (the first one stays)."""
        with self.sql.writing() as cursor:
            cursor.run(
                "INSERT INTO {p}index_keys (name, wrapped_key, master_key_id) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (row.name, row.wrapped_key, row.master_key_id),
            )

    def rewrap_index_key(self, name: str, current: str, rewrap: Callable[[IndexKeyRow], IndexKeyRow]) -> bool:
        """Re-wrap the index key when it is not under the `current` key id; True if it changed."""
        with self.sql.writing() as cursor:
            lock = " FOR UPDATE" if cursor.postgres else ""
            rows = cursor.rows(
                "SELECT wrapped_key, master_key_id FROM {p}index_keys WHERE name = ?" + lock,  # noqa: S608
                (name,),
            )
            if not rows or rows[0]["master_key_id"] == current:
                return False
            new = rewrap(_index_key(name, rows[0]))
            cursor.run(
                "UPDATE {p}index_keys SET wrapped_key = ?, master_key_id = ?, "
                "updated_at = CURRENT_TIMESTAMP WHERE name = ?",
                (new.wrapped_key, new.master_key_id, name),
            )
        return True

    def first_learner_key(self) -> LearnerKeyRow | None:
        """The oldest learner key still stored (its master key is the one the ledger began with)."""
        with self.sql.reading() as cursor:
            rows = cursor.rows(
                "SELECT learner_id, wrapped_key, master_key_id FROM {p}learner_keys "
                "ORDER BY created_at, learner_id LIMIT 1"
            )
        return _learner_key(rows[0]) if rows else None

    def count_by_master_key(self) -> dict[str | None, int]:
        """How many learner keys each master key id wraps (None: written before ids were recorded)."""
        with self.sql.reading() as cursor:
            rows = cursor.rows(
                "SELECT master_key_id, COUNT(*) AS n FROM {p}learner_keys GROUP BY master_key_id"
            )
        return {row["master_key_id"]: int(row["n"]) for row in rows}

    def unlabelled_keys(self, after: str, limit: int) -> list[LearnerKeyRow]:
        """Learner keys without a master key id, by learner id after `after` (a page of them)."""
        with self.sql.reading() as cursor:
            rows = cursor.rows(
                "SELECT learner_id, wrapped_key, master_key_id FROM {p}learner_keys "
                "WHERE master_key_id IS NULL AND learner_id > ? ORDER BY learner_id LIMIT ?",
                (after, limit),
            )
        return [_learner_key(row) for row in rows]

    def rewrap_learner_keys(
        self, current: str, limit: int, rewrap: Callable[[LearnerKeyRow], LearnerKeyRow]
    ) -> int:
        """Re-wrap up to `limit` learner keys not under the `current` key id, in one transaction.

        Returns how many were re-wrapped; 0 means every key is under the current master key.
        If `rewrap` raises, the transaction rolls back and nothing of this batch changes.
        """
        with self.sql.writing() as cursor:
            lock = " FOR UPDATE" if cursor.postgres else ""
            rows = cursor.rows(_NOT_UNDER + lock, (current, limit))
            for row in rows:
                new = rewrap(_learner_key(row))
                cursor.run(
                    "UPDATE {p}learner_keys SET wrapped_key = ?, master_key_id = ? WHERE learner_id = ?",
                    (new.wrapped_key, new.master_key_id, new.learner_id),
                )
        return len(rows)


def _learner_key(row: Any) -> LearnerKeyRow:
    key_id = row["master_key_id"]
    wrapped = bytes(row["wrapped_key"])
    return LearnerKeyRow(str(row["learner_id"]), wrapped, None if key_id is None else str(key_id))


def _index_key(name: str, row: Any) -> IndexKeyRow:
    return IndexKeyRow(name, bytes(row["wrapped_key"]), str(row["master_key_id"]))
