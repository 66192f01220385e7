"""API tokens and share grants on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.application import Ledger
from ledger.errors import InvalidRegistryChange
from ledger.shares import ShareGone, ShareNotFound
from ledger.tokens import NotAuthenticated, token_hash


def test_tokens_are_stored_hashed_scoped_expire_and_revoke(ledger: Ledger, learner: str) -> None:
    secret, principal = ledger.tokens.create("learner", learner=learner, label="phone")
    assert ledger.tokens.authenticate(secret) == principal
    with ledger.tokens.store.reading() as cursor:
        stored = [dict(row) for row in cursor.rows("SELECT * FROM {p}api_tokens")]
    assert stored[0]["token_hash"] == token_hash(secret)
    assert all(secret not in str(value) for value in stored[0].values())
    ledger.tokens.revoke(principal.token_id)
    with pytest.raises(NotAuthenticated, match="revoked"):
        ledger.tokens.authenticate(secret)
    with pytest.raises(InvalidRegistryChange, match="already revoked"):
        ledger.tokens.revoke(principal.token_id)
    with pytest.raises(NotAuthenticated, match="not known"):
        ledger.tokens.authenticate(secret + "x")
    with pytest.raises(NotAuthenticated, match="Bearer"):
        ledger.tokens.authenticate(None)


def test_an_expired_token_says_so(ledger: Ledger) -> None:
    now = datetime.now(UTC)
    secret, _ = ledger.tokens.create("auditor", expires_at=now + timedelta(seconds=60))
    ledger.tokens.clock = lambda: now + timedelta(seconds=61)
    with pytest.raises(NotAuthenticated, match="expired"):
        ledger.tokens.authenticate(secret)


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("issuer", {}),
        ("learner", {}),
        ("registrar", {"learner": "urn:uuid:x"}),
        ("nobody", {}),
        ("auditor", {"organisation": "x"}),
    ],
)
def test_token_roles_and_scopes_must_match(ledger: Ledger, role: str, scope: dict[str, str]) -> None:
    with pytest.raises(InvalidRegistryChange):
        ledger.tokens.create(role, **scope)  # type: ignore[arg-type]


def test_share_grants_open_revoke_and_expire(ledger: Ledger, learner: str) -> None:
    now = datetime.now(UTC)
    secret, grant = ledger.shares.create(
        learner, "Severn Software HR", now + timedelta(days=7), ["urn:uuid:a"]
    )
    assert ledger.shares.open(secret) == grant
    assert grant.covers("urn:uuid:a") and not grant.covers("urn:uuid:b")
    assert [item.id for item in ledger.shares.list(learner)] == [grant.id]
    with pytest.raises(ShareNotFound):
        ledger.shares.open("not-a-secret")
    ledger.shares.revoke(learner, grant.id)
    with pytest.raises(ShareGone, match="revoked"):
        ledger.shares.open(secret)
    whole, _ = ledger.shares.create(learner, "Admissions", now + timedelta(seconds=30))
    ledger.shares.clock = lambda: now + timedelta(seconds=31)
    with pytest.raises(ShareGone, match="expired"):
        ledger.shares.open(whole)
    with pytest.raises(ShareNotFound):
        ledger.shares.revoke("urn:uuid:someone-else", grant.id)
    with pytest.raises(InvalidRegistryChange):
        ledger.shares.create(learner, " ", now + timedelta(days=1))
