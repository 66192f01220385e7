"""The access log (DESIGN §6): every read of a learner's data through a share grant or by an auditor,
recorded (who, when, which grant or token, what) so the learner can see who looked at their record.

Only reads that were answered are recorded: callers record after the read succeeded, so a refused
read leaves no row. The learner's own reads are never recorded. Erasure deletes a learner's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ledger.shares import ShareGrant
from ledger.sql import SqlCursor, SqlStore
from ledger.streams import rfc3339

Actor = Literal["share", "auditor"]


@dataclass(frozen=True)
class Access:
    """One recorded read of a learner's data."""

    id: str
    learner: str
    at: str
    """When, RFC 3339 UTC with microseconds."""
    actor: Actor
    """`share`: whoever held a share link; `auditor`: an auditor's token."""
    grant_id: str | None
    token_id: str | None
    audience: str | None
    """The audience the learner named on the share grant (None for an auditor)."""
    what: str
    """What was read: `portfolio`, `entries`, `shared record`, `credential <id>`, `bundle <id>`, …"""


class AccessLog:
    """Records reads of learners' data and lists them for the learner, newest first."""

    def __init__(self, store: SqlStore[SqlCursor], clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.store = store
        self.clock = clock

    def by_share(self, grant: ShareGrant, what: str) -> Access:
        """Record a read through a share grant (its learner, id and audience)."""
        return self._record(grant.learner, "share", what, grant_id=grant.id, audience=grant.audience)

    def by_auditor(self, learner: str, token_id: str, what: str) -> Access:
        """Record a read of a learner's data by an auditor's token."""
        return self._record(learner, "auditor", what, token_id=token_id)

    def list(self, learner: str, *, limit: int = 100, offset: int = 0) -> list[Access]:
        """A page of the learner's access log, newest first."""
        with self.store.reading() as cursor:
            rows = cursor.rows(
                "SELECT * FROM {p}access_log WHERE learner = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                (learner, limit, offset),
            )
        return [_access(row) for row in rows]

    def count(self, learner: str) -> int:
        """How many reads of the learner's data are recorded."""
        with self.store.reading() as cursor:
            rows = cursor.rows("SELECT COUNT(*) AS n FROM {p}access_log WHERE learner = ?", (learner,))
        return int(rows[0]["n"])

    def _record(
        self,
        learner: str,
        actor: Actor,
        what: str,
        *,
        grant_id: str | None = None,
        token_id: str | None = None,
        audience: str | None = None,
    ) -> Access:
        access = Access(
            str(uuid.uuid4()), learner, rfc3339(self.clock()), actor, grant_id, token_id, audience, what
        )
        with self.store.writing() as cursor:
            cursor.run(
                "INSERT INTO {p}access_log (id, learner, at, actor, grant_id, token_id, audience, what) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    access.id,
                    access.learner,
                    access.at,
                    access.actor,
                    access.grant_id,
                    access.token_id,
                    access.audience,
                    access.what,
                ),
            )
        return access


def _access(row: Mapping[str, Any]) -> Access:
    return Access(
        row["id"],
        row["learner"],
        row["at"],
        row["actor"],
        row["grant_id"],
        row["token_id"],
        row["audience"],
        row["what"],
    )
