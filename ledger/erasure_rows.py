"""What erasure deletes beside the events, written in the same transaction as the learner's
ErasureCompleted entry (through the recorder's `_insert_events` hook, like `learner_keys` rows).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.sql import SqlCursor

LEARNER_ROWS = (
    ("learner_keys", "learner_id"),
    ("api_tokens", "learner"),
    ("share_grants", "learner"),
    ("access_log", "learner"),
)
"""Every table of the ledger's own that holds rows about one learner, and the column naming them.
Destroying the `learner_keys` row is the erasure; the rest may hold labels a person typed."""


@dataclass(frozen=True)
class ErasureWrite:
    """An approved erasure: whose rows go, which request it completes, and when."""

    learner: str
    request: str
    completed_at: str


def write_erasure(cursor: SqlCursor, erasure: ErasureWrite) -> None:
    """Delete the learner's rows everywhere and mark the request completed (its reason cleared)."""
    if not cursor.postgres:
        cursor.run("PRAGMA secure_delete = ON")  # overwrite the deleted key's bytes in the file
    for table, column in LEARNER_ROWS:
        cursor.run(f"DELETE FROM {{p}}{table} WHERE {column} = ?", (erasure.learner,))  # noqa: S608 (constant names)
    cursor.run(
        "UPDATE {p}erasure_requests SET state = 'completed', decided_at = ?, decision = 'approved', "
        "reason = NULL WHERE id = ? AND state = 'requested'",
        (erasure.completed_at, erasure.request),
    )
