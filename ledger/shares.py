"""Share grants (DESIGN §6): a learner lets an audience see chosen credentials, or the whole
portfolio, until an expiry, through an unguessable link; the learner can revoke it at any time.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ledger.errors import InvalidRegistryChange, LedgerError
from ledger.sql import SqlCursor, SqlStore
from ledger.streams import rfc3339
from ledger.tokens import token_hash

MAX_AUDIENCE = 200


class ShareNotFound(LedgerError):
    """No share grant has this secret or id."""

    slug = "share-not-found"
    status = 404


class ShareGone(LedgerError):
    """The share grant was revoked by the learner, or has expired."""

    slug = "share-gone"
    status = 410


@dataclass(frozen=True)
class ShareGrant:
    """What a learner shared, with whom, until when."""

    id: str
    learner: str
    audience: str
    credentials: tuple[str, ...] | None
    """The credential ids shared, or None for the whole portfolio."""
    created_at: str
    expires_at: str
    revoked_at: str | None

    def covers(self, credential: str) -> bool:
        """True when the grant lets its holder see this credential."""
        return self.credentials is None or credential in self.credentials


class ShareStore:
    """Creates, lists, revokes and opens share grants."""

    def __init__(self, store: SqlStore[SqlCursor], clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.store = store
        self.clock = clock

    def create(
        self, learner: str, audience: str, expires_at: datetime, credentials: Sequence[str] | None = None
    ) -> tuple[str, ShareGrant]:
        """A new grant and its secret (shown once, stored only hashed)."""
        audience = audience.strip()
        if not audience or len(audience) > MAX_AUDIENCE:
            raise InvalidRegistryChange(f"the audience is a label of 1 to {MAX_AUDIENCE} characters")
        if expires_at <= self.clock():
            raise InvalidRegistryChange("a share grant must expire in the future")
        if credentials is not None and not credentials:
            raise InvalidRegistryChange("name at least one credential, or share the whole portfolio")
        secret = secrets.token_urlsafe(32)
        grant = ShareGrant(
            str(uuid.uuid4()),
            learner,
            audience,
            None if credentials is None else tuple(dict.fromkeys(credentials)),
            rfc3339(self.clock()),
            rfc3339(expires_at),
            None,
        )
        with self.store.writing() as cursor:
            cursor.run(
                "INSERT INTO {p}share_grants (id, secret_hash, learner, audience, credentials, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    grant.id,
                    token_hash(secret),
                    learner,
                    grant.audience,
                    None if grant.credentials is None else orjson.dumps(list(grant.credentials)).decode(),
                    grant.created_at,
                    grant.expires_at,
                ),
            )
        return secret, grant

    def list(self, learner: str) -> list[ShareGrant]:
        """Every grant a learner made, newest first."""
        with self.store.reading() as cursor:
            rows = cursor.rows(
                "SELECT * FROM {p}share_grants WHERE learner = ? ORDER BY created_at DESC", (learner,)
            )
        return [_grant(row) for row in rows]

    def revoke(self, learner: str, share_id: str) -> ShareGrant:
        """Revoke one of the learner's grants."""
        with self.store.writing() as cursor:
            rows = cursor.rows(
                "SELECT * FROM {p}share_grants WHERE id = ? AND learner = ?", (share_id, learner)
            )
            if not rows:
                raise ShareNotFound(f"the learner has no share grant {share_id}")
            if rows[0]["revoked_at"] is not None:
                raise ShareGone(f"share grant {share_id} was already revoked at {rows[0]['revoked_at']}")
            cursor.run(
                "UPDATE {p}share_grants SET revoked_at = ? WHERE id = ?", (rfc3339(self.clock()), share_id)
            )
        return _grant({**dict(rows[0]), "revoked_at": rfc3339(self.clock())})

    def lookup(self, secret: str) -> ShareGrant:
        """The grant a secret names, live or not; ShareNotFound when none does."""
        with self.store.reading() as cursor:
            rows = cursor.rows("SELECT * FROM {p}share_grants WHERE secret_hash = ?", (token_hash(secret),))
        if not rows:
            raise ShareNotFound("no share grant has this link; check it was copied whole")
        return _grant(rows[0])

    def is_live(self, grant: ShareGrant) -> bool:
        """True while the grant is neither revoked nor expired (by this store's clock)."""
        return grant.revoked_at is None and grant.expires_at > rfc3339(self.clock())

    def open(self, secret: str) -> ShareGrant:
        """The live grant a secret opens; ShareNotFound, or ShareGone saying revoked or expired."""
        grant = self.lookup(secret)
        if grant.revoked_at is not None:
            raise ShareGone(f"the learner revoked this share at {grant.revoked_at}")
        if grant.expires_at <= rfc3339(self.clock()):
            raise ShareGone(f"this share expired at {grant.expires_at}")
        return grant


def _grant(row: Mapping[str, Any]) -> ShareGrant:
    credentials = row["credentials"]
    return ShareGrant(
        row["id"],
        row["learner"],
        row["audience"],
        None if credentials is None else tuple(orjson.loads(credentials)),
        row["created_at"],
        row["expires_at"],
        row["revoked_at"],
    )
