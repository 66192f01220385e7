"""API tokens (DESIGN §1): opaque random secrets, stored only as SHA-256 hashes, each with one role,
one scope (an organisation for issuers, a learner for learners), an optional expiry, revocable.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.errors import InvalidRegistryChange, LedgerError
from ledger.sql import SqlCursor, SqlStore
from ledger.streams import rfc3339

ROLES = ("registrar", "issuer", "learner", "auditor")
_PREFIX = "llt_"


class NotAuthenticated(LedgerError):
    """No token, or a token the ledger does not know, has revoked, or has seen expire."""

    slug = "not-authenticated"
    status = 401


class Forbidden(LedgerError):
    """The token's role or scope does not allow this."""

    slug = "forbidden"
    status = 403


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a token's role and scope."""

    token_id: str
    role: str
    organisation: str | None = None
    """The organisation slug an issuer token acts for."""
    learner: str | None = None
    """The learner id a learner token acts for."""


def token_hash(secret: str) -> str:
    """The stored form of a token: hex SHA-256 of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """Creates, checks and revokes API tokens in the ledger's database."""

    def __init__(self, store: SqlStore[SqlCursor], clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.store = store
        self.clock = clock

    def create(
        self,
        role: str,
        *,
        organisation: str | None = None,
        learner: str | None = None,
        expires_at: datetime | None = None,
        label: str = "",
    ) -> tuple[str, Principal]:
        """A new token: its secret (shown once, never stored) and what it grants."""
        if role not in ROLES:
            raise InvalidRegistryChange(f"a token's role is one of {list(ROLES)}, not {role!r}")
        if (role == "issuer") != (organisation is not None):
            raise InvalidRegistryChange("an issuer token, and only an issuer token, names an organisation")
        if (role == "learner") != (learner is not None):
            raise InvalidRegistryChange("a learner token, and only a learner token, names a learner")
        if expires_at is not None and expires_at <= self.clock():
            raise InvalidRegistryChange("a token's expiry must be in the future")
        secret = _PREFIX + secrets.token_urlsafe(32)
        principal = Principal(str(uuid.uuid4()), role, organisation, learner)
        with self.store.writing() as cursor:
            cursor.run(
                "INSERT INTO {p}api_tokens (token_hash, id, role, organisation, learner, label, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token_hash(secret),
                    principal.token_id,
                    role,
                    organisation,
                    learner,
                    label,
                    rfc3339(self.clock()),
                    None if expires_at is None else rfc3339(expires_at),
                ),
            )
        return secret, principal

    def authenticate(self, secret: str | None) -> Principal:
        """The principal a secret stands for; NotAuthenticated saying why when it stands for none."""
        if not secret:
            raise NotAuthenticated("this needs a token: send `Authorization: Bearer <token>`")
        with self.store.reading() as cursor:
            rows = cursor.rows("SELECT * FROM {p}api_tokens WHERE token_hash = ?", (token_hash(secret),))
        if not rows:
            raise NotAuthenticated("the token is not known to this ledger")
        row = rows[0]
        if row["revoked_at"] is not None:
            raise NotAuthenticated(f"the token was revoked at {row['revoked_at']}")
        if row["expires_at"] is not None and row["expires_at"] <= rfc3339(self.clock()):
            raise NotAuthenticated(f"the token expired at {row['expires_at']}")
        return Principal(row["id"], row["role"], row["organisation"], row["learner"])

    def revoke(self, token_id: str) -> None:
        """Revoke a token by its id; refuses an unknown or already revoked one."""
        with self.store.writing() as cursor:
            rows = cursor.rows("SELECT revoked_at FROM {p}api_tokens WHERE id = ?", (token_id,))
            if not rows:
                raise InvalidRegistryChange(f"no token has the id {token_id}")
            if rows[0]["revoked_at"] is not None:
                raise InvalidRegistryChange(
                    f"token {token_id} was already revoked at {rows[0]['revoked_at']}"
                )
            cursor.run(
                "UPDATE {p}api_tokens SET revoked_at = ? WHERE id = ?", (rfc3339(self.clock()), token_id)
            )

    def of_learner(self, learner: str) -> list[dict[str, Any]]:
        """A learner's tokens as kept (id, role, label, created, expires, revoked), oldest first;
        never their hashes."""
        with self.store.reading() as cursor:
            rows = cursor.rows(
                "SELECT id, role, label, created_at, expires_at, revoked_at FROM {p}api_tokens "
                "WHERE learner = ? ORDER BY created_at",
                (learner,),
            )
        return [dict(row) for row in rows]
