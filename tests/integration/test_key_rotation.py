"""Master key rotation on SQLite and PostgreSQL: every learner key re-wrapped, nothing lost or leaked.

Each test builds a ledger under an "old" master key (the backend's), then reopens it as an operator
would during a rotation: a new LEDGER_MASTER_KEY, with or without the old one in
LEDGER_PREVIOUS_MASTER_KEYS.
"""

from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from ledger import bootstrap, examples
from ledger.application import Ledger
from ledger.errors import DuplicateULN
from ledger.key_rotation import RotationSummary, WrappedKeyBroken, rotate_master_key
from ledger.master_keys import ULN_INDEX, UnknownMasterKey
from ledger.posting import post_credential
from ledger.sealing import MasterKey, SealBroken
from tests.conftest import POSTGRES_URL, Backend, Issuer

Rows = dict[str, tuple[bytes, str | None]]


class Crash(Exception):
    """A failure injected between two batches, as a killed process would stop."""


def valid_ulns(count: int) -> list[str]:
    """`count` distinct valid ULNs."""
    found: list[str] = []
    candidate = 5_000_000_000
    while len(found) < count:
        candidate += 1
        total = sum(int(d) * w for d, w in zip(str(candidate), range(10, 0, -1), strict=True))
        if total % 11 == 10:
            found.append(str(candidate))
    return found


def query(backend: Backend, statement: str) -> list[tuple[Any, ...]]:
    """Run SQL straight against the database (outside the ledger), returning rows."""
    if backend.name == "sqlite":
        conn = sqlite3.connect(backend.settings.data_dir / "ledger.sqlite3", isolation_level=None)
        try:
            return conn.execute(statement).fetchall()
        finally:
            conn.close()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(backend.schema or "public")))
        cursor = conn.execute(statement.encode())
        return cursor.fetchall() if cursor.description else []


def learner_rows(backend: Backend) -> Rows:
    """Every stored learner key: wrapped bytes and master key id, by learner."""
    rows = query(backend, "SELECT learner_id, wrapped_key, master_key_id FROM learner_keys")
    return {str(learner): (bytes(wrapped), key_id) for learner, wrapped, key_id in rows}


def index_rows(backend: Backend) -> list[tuple[str, bytes, str]]:
    """Every stored index key."""
    rows = query(backend, "SELECT name, wrapped_key, master_key_id FROM index_keys")
    return [(str(name), bytes(wrapped), str(key_id)) for name, wrapped, key_id in rows]


def reopen(backend: Backend, current: bytes, *previous: bytes) -> Ledger:
    """The same ledger opened with another LEDGER_MASTER_KEY (and LEDGER_PREVIOUS_MASTER_KEYS)."""
    update: dict[str, object] = {"master_key": SecretStr(base64.b64encode(current).decode())}
    if previous:
        update["previous_master_keys"] = SecretStr(
            ",".join(base64.b64encode(key).decode() for key in previous)
        )
    return bootstrap.open_ledger(backend.settings.model_copy(update=update))


def rotate(ledger: Ledger, **options: Any) -> RotationSummary:
    """Run the rotation on an open ledger's own key ring and key store."""
    assert ledger.master_key.store is not None
    return rotate_master_key(ledger.master_key, ledger.master_key.store, **options)


@pytest.fixture
def old_key(backend: Backend) -> bytes:
    """The master key the ledger was built under."""
    return backend.settings.master_key_bytes()


@pytest.fixture
def new_key() -> bytes:
    """The master key the operator rotates to."""
    return os.urandom(32)


@pytest.fixture
def learners(ledger: Ledger, exam_body: Issuer) -> dict[str, dict[str, Any]]:
    """Five learners under the old key, each with one recorded assessment: learner -> credential."""
    found = {}
    for number, uln in enumerate(valid_ulns(5)):
        learner = ledger.register_learner(uln, f"Learner {number}", "2004-02-29")
        document = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
        post_credential(ledger, document)
        found[learner] = document
    return found


@pytest.fixture
def rotating(
    backend: Backend, learners: dict[str, dict[str, Any]], old_key: bytes, new_key: bytes
) -> Iterator[Ledger]:
    """The ledger with its learners reopened mid-rotation: the new master key current, the old previous."""
    opened = reopen(backend, new_key, old_key)
    yield opened
    opened.close()


def assert_everything_opens(ledger: Ledger, learners: dict[str, dict[str, Any]]) -> None:
    """Every learner's stream re-checks clean with its content readable, and every credential opens."""
    for learner, document in learners.items():
        report = ledger.read_stream(learner)
        assert report.findings == [] and not report.erased
        assert [item.content is not None for item in report.items] == [True, True]
        assert ledger.opened(learner, 2)[0] == document


def test_rotation_rewraps_every_key_and_every_credential_still_opens(
    backend: Backend,
    rotating: Ledger,
    learners: dict[str, dict[str, Any]],
    old_key: bytes,
    new_key: bytes,
) -> None:
    before, index_before = learner_rows(backend), index_rows(backend)
    assert {key_id for _, key_id in before.values()} == {MasterKey(old_key).key_id}
    assert [(name, key_id) for name, _, key_id in index_before] == [(ULN_INDEX, MasterKey(old_key).key_id)]
    digest_before = MasterKey(old_key).uln_digest(valid_ulns(1)[0])

    summary = rotate(rotating, batch_size=2)

    assert (summary.rewrapped, summary.batches, summary.index_key) == (5, 3, "re-wrapped")
    after = learner_rows(backend)
    assert after.keys() == before.keys() == learners.keys()
    new_id = MasterKey(new_key).key_id
    for learner, (wrapped, key_id) in after.items():
        assert key_id == new_id
        assert wrapped != before[learner][0]
        MasterKey(new_key).unwrap(learner, wrapped)
    [(_, index_wrapped, index_id)] = index_rows(backend)
    assert index_id == new_id and index_wrapped != index_before[0][1]
    assert_everything_opens(rotating, learners)

    new_only = reopen(backend, new_key)
    try:
        assert_everything_opens(new_only, learners)
        assert new_only.master_key.uln_digest(valid_ulns(1)[0]) == digest_before
        with pytest.raises(DuplicateULN):
            new_only.register_learner(valid_ulns(1)[0], "Someone Else", "2001-01-01")
        fresh = new_only.register_learner(valid_ulns(6)[-1], "Newcomer", "2001-01-01")
        assert learner_rows(backend)[fresh][1] == new_id
    finally:
        new_only.close()
    again = rotate(rotating)
    assert (again.rewrapped, again.already_current, again.index_key) == (0, 6, "already current")


def test_a_rotation_interrupted_after_a_batch_resumes_and_loses_nothing(
    backend: Backend,
    rotating: Ledger,
    learners: dict[str, dict[str, Any]],
    old_key: bytes,
    new_key: bytes,
) -> None:
    def crash(count: int) -> None:
        raise Crash(f"killed after a batch of {count}")

    with pytest.raises(Crash):
        rotate(rotating, batch_size=2, after_batch=crash)
    halfway = learner_rows(backend)
    ids = sorted(key_id or "" for _, key_id in halfway.values())
    assert ids == sorted([MasterKey(new_key).key_id] * 2 + [MasterKey(old_key).key_id] * 3)
    assert_everything_opens(rotating, learners)

    summary = rotate(rotating, batch_size=2)

    assert (summary.rewrapped, summary.already_current, summary.index_key) == (3, 2, "already current")
    assert {key_id for _, key_id in learner_rows(backend).values()} == {MasterKey(new_key).key_id}
    new_only = reopen(backend, new_key)
    try:
        assert_everything_opens(new_only, learners)
    finally:
        new_only.close()


def test_a_ledger_given_only_the_new_key_says_which_key_is_missing_and_rotation_changes_nothing(
    backend: Backend, learners: dict[str, dict[str, Any]], old_key: bytes, new_key: bytes
) -> None:
    before, index_before = learner_rows(backend), index_rows(backend)
    wrong = reopen(backend, new_key)
    try:
        learner = next(iter(learners))
        with pytest.raises(UnknownMasterKey, match=MasterKey(old_key).key_id) as caught:
            wrong.read_stream(learner)
        assert "LEDGER_PREVIOUS_MASTER_KEYS" in caught.value.detail
        with pytest.raises(UnknownMasterKey, match="ULN index key"):
            wrong.register_learner(valid_ulns(1)[0], "Someone Else", "2001-01-01")
        with pytest.raises(UnknownMasterKey, match=f"{MasterKey(old_key).key_id} \\(5 learner keys\\)"):
            rotate(wrong)
    finally:
        wrong.close()
    assert learner_rows(backend) == before
    assert index_rows(backend) == index_before


def test_after_rotation_the_old_key_alone_unwraps_nothing(
    backend: Backend,
    rotating: Ledger,
    learners: dict[str, dict[str, Any]],
    old_key: bytes,
    new_key: bytes,
) -> None:
    rotate(rotating)
    for learner, (wrapped, _) in learner_rows(backend).items():
        with pytest.raises(SealBroken):
            MasterKey(old_key).unwrap(learner, wrapped)
    [(name, index_wrapped, _)] = index_rows(backend)
    with pytest.raises(SealBroken):
        MasterKey(old_key).unwrap_index_key(name, index_wrapped)
    old_only = reopen(backend, old_key)
    try:
        with pytest.raises(UnknownMasterKey, match=MasterKey(new_key).key_id):
            old_only.data_key(next(iter(learners)))
    finally:
        old_only.close()


def test_an_altered_wrapped_key_is_refused_and_its_batch_left_unchanged(
    backend: Backend, rotating: Ledger, learners: dict[str, dict[str, Any]]
) -> None:
    victim = sorted(learners)[-1]
    wrapped = bytearray(learner_rows(backend)[victim][0])
    wrapped[-1] ^= 1
    literal = f"X'{wrapped.hex()}'" if backend.name == "sqlite" else f"'\\x{wrapped.hex()}'::bytea"
    query(backend, f"UPDATE learner_keys SET wrapped_key = {literal} WHERE learner_id = '{victim}'")
    before = learner_rows(backend)
    assert before[victim][0] == bytes(wrapped)
    with pytest.raises(WrappedKeyBroken, match=victim):
        rotate(rotating, batch_size=10)
    assert learner_rows(backend) == before


def test_keys_stored_before_key_ids_existed_keep_their_uln_digests_through_a_rotation(
    backend: Backend, learners: dict[str, dict[str, Any]], old_key: bytes, new_key: bytes
) -> None:
    query(backend, "UPDATE learner_keys SET master_key_id = NULL")
    query(backend, "DELETE FROM index_keys")
    upgraded = reopen(backend, new_key, old_key)
    try:
        [(_, _, pinned_under)] = index_rows(backend)
        assert pinned_under == MasterKey(new_key).key_id
        assert upgraded.master_key.uln_digest("9276308686") == MasterKey(old_key).uln_digest("9276308686")
        assert_everything_opens(upgraded, learners)
        summary = rotate(upgraded, batch_size=3)
        assert (summary.rewrapped, summary.index_key) == (5, "already current")
        with pytest.raises(DuplicateULN):
            upgraded.register_learner(valid_ulns(1)[0], "Someone Else", "2001-01-01")
    finally:
        upgraded.close()
    assert {key_id for _, key_id in learner_rows(backend).values()} == {MasterKey(new_key).key_id}


def test_a_ledger_that_never_rotated_derives_its_uln_digests_as_before(
    ledger: Ledger, learner: str, old_key: bytes
) -> None:
    assert ledger.master_key.uln_digest("9276308686") == MasterKey(old_key).uln_digest("9276308686")
    with pytest.raises(DuplicateULN):
        ledger.register_learner("9276308686", "Someone Else", "2001-01-01")
