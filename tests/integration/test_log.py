"""The transparency log on SQLite and PostgreSQL: dense leaves in commit order, tiles, checkpoints."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from eventsourcing.persistence import RecordConflictError
from psycopg import sql

from ledger import examples
from ledger.application import Ledger
from ledger.log import LogInconsistent, _complete_tiles
from ledger.log_store import TILE_WIDTH, Leaf, LogCursor, LogState, TileHashSource
from ledger.posting import post_batch
from tests.conftest import POSTGRES_URL, Backend, Issuer
from verification.canonical import canonical_json
from verification.checkpoint import open_checkpoint
from verification.errors import BadHashLength
from verification.merkle import (
    ListHashSource,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from verification.note import parse_verifier_key


def all_entries(ledger: Ledger) -> list[dict[str, object]]:
    """Every entry in the event store, in notification order (index events carry none)."""
    found = []
    for notification in ledger.recorder.select_notifications(start=1, limit=1_000_000):
        entry = getattr(ledger.mapper.to_domain_event(notification), "entry", None)
        if entry is not None:
            found.append(entry)
    return found


def post_many(ledger: Ledger, issuer: Issuer, learners: list[str], count: int) -> None:
    """Post `count` enrolments spread over learners, in batches."""
    documents = [
        examples.sign(examples.enrolment(issuer.did, learners[i % len(learners)]), issuer.key)
        for i in range(count)
    ]
    for start in range(0, count, 250):
        results = post_batch(ledger, documents[start : start + 250])
        assert not [result for result in results if isinstance(result, Exception)]


def test_every_entry_becomes_exactly_one_leaf_in_commit_order(
    ledger: Ledger, exam_body: Issuer, university: Issuer, learner: str
) -> None:
    post_batch(ledger, [examples.sign(examples.enrolment(university.did, learner), university.key)])
    ledger.tlog.integrate_all()
    entries = all_entries(ledger)
    kinds = [entry["kind"] for entry in entries]
    assert kinds.count("organisation-registered") == 2 and "registration" in kinds and "enrolment" in kinds
    with ledger.tlog.store.reading() as log:
        leaves = log.leaves(0, 10_000)
    assert [leaf.index for leaf in leaves] == list(range(len(entries)))
    assert [leaf.hash for leaf in leaves] == [leaf_hash(canonical_json(entry)) for entry in entries]
    assert [leaf.notification_id for leaf in leaves] == sorted(leaf.notification_id for leaf in leaves)
    assert ledger.tlog.state().frontier.root() == root_from_leaves([leaf.hash for leaf in leaves])
    assert ledger.tlog.integrate() == 0  # idempotent: nothing twice


def test_notification_id_gaps_leave_no_gap_in_the_log(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    # A conflicting write rolls back after taking a notification id on PostgreSQL: a gap there.
    other = backend.open()
    try:
        mine, theirs = ledger.learner_stream(learner), other.learner_stream(learner)
        for stream in (mine, theirs):
            stream.record(stream.next_entry("enrolment", ledger.clock(), credential="urn:uuid:x"), "c2VhbGVk")
        ledger.save(mine)
        with pytest.raises(RecordConflictError):
            other.save(theirs)
    finally:
        other.close()
    post_batch(ledger, [examples.sign(examples.enrolment(university.did, learner), university.key)])
    ledger.tlog.integrate_all()
    with ledger.tlog.store.reading() as log:
        leaves = log.leaves(0, 10_000)
    assert [leaf.index for leaf in leaves] == list(range(len(leaves)))
    assert len(leaves) == len(all_entries(ledger))


def test_a_process_integrates_its_own_writes_and_reads_the_others(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    # `ledger` integrates its own last write as written (no read back) and reads the other's from
    # the store, in either order; the leaves are the stored entries' either way.
    other = backend.open()
    other.after_commit.clear()
    ledger.after_commit.clear()
    try:
        for first, second in ((other, ledger), (ledger, other), (other, ledger)):
            for writer in (first, second):
                document = examples.sign(examples.enrolment(university.did, learner), university.key)
                assert not isinstance(post_batch(writer, [document])[0], Exception)
            ledger.tlog.integrate_all()
    finally:
        other.close()
    entries = all_entries(ledger)
    with ledger.tlog.store.reading() as log:
        leaves = log.leaves(0, 10_000)
    assert [leaf.hash for leaf in leaves] == [leaf_hash(canonical_json(entry)) for entry in entries]
    assert ledger.tlog.state().position == max(n.id for n in ledger.recorder.select_notifications(1, 10_000))


def test_tiles_and_proofs_over_many_leaves(ledger: Ledger, university: Issuer) -> None:
    learners = [ledger.register_learner(uln, "L", "2000-01-01") for uln in ("1000000000", "1000000019")]
    post_many(ledger, university, learners, 2 * TILE_WIDTH + 40)
    ledger.tlog.integrate_all()
    checkpoint = ledger.tlog.sign_checkpoint()
    assert checkpoint is not None
    size = checkpoint.size
    with ledger.tlog.store.reading() as log:
        assert len(log.hashes(1, 0, size // TILE_WIDTH)) == size // TILE_WIDTH
        leaves = log.leaves(0, size)
    assert checkpoint.root == root_from_leaves([leaf.hash for leaf in leaves])
    for index in (0, 1, 255, 256, 300, size - 1):
        proof = ledger.tlog.inclusion(index, size)
        verify_inclusion(leaves[index].hash, index, size, proof, checkpoint.root)


class CountingCursor(LogCursor):
    """Counts range reads, to show proofs need O(log n) of them."""

    reads = 0

    def hash_run(self, level: int, start: int, count: int) -> bytes:
        CountingCursor.reads += 1
        return super().hash_run(level, start, count)


def test_a_proof_needs_logarithmically_many_reads(ledger: Ledger, university: Issuer) -> None:
    learners = [ledger.register_learner("1000000000", "L", "2000-01-01")]
    post_many(ledger, university, learners, TILE_WIDTH + 100)
    ledger.tlog.integrate_all()
    size = ledger.tlog.state().size
    with ledger.tlog.store.reading() as log:
        counting = CountingCursor(log._cursor, log.postgres, ledger.tlog.store.schema)
        for index in (0, 17, size // 2, size - 1):
            CountingCursor.reads = 0
            TileHashSource(counting).subtree_root(0, size)
            inclusion_proof(index, size, TileHashSource(counting))
            assert CountingCursor.reads <= 2 * size.bit_length() + 4


def _grow(ledger: Ledger, count: int) -> list[bytes]:
    """Append `count` synthetic leaves with their tiles (as integration stores them); every leaf hash."""
    with ledger.tlog.store.writing() as log:
        state = log.state()
        hashes = [leaf_hash(b"leaf %d" % index) for index in range(state.size, state.size + count)]
        log.insert_leaves(
            [
                Leaf(state.size + i, -(state.size + i + 1), "synthetic", state.size + i, h)
                for i, h in enumerate(hashes)
            ]
        )
        frontier = state.frontier.extend(hashes)
        _complete_tiles(log, state.size, frontier.size)
        log.set_state(LogState(state.position, frontier.size, frontier))
        return [leaf.hash for leaf in log.leaves(0, frontier.size)]


def test_proofs_from_remembered_subtree_roots_equal_proofs_computed_afresh(
    backend: Backend, ledger: Ledger
) -> None:
    # Proofs are served with the roots of complete stored subtrees remembered across proofs; the log
    # grows between rounds (partial tiles at the right edge fill in), and every proof must still equal
    # the plain in-memory computation. A remembered partial-tile or misplaced root would differ.
    leaves = _grow(ledger, 5 * TILE_WIDTH + 7)
    for grow in (0, 3 * TILE_WIDTH + 5, 1, 2 * TILE_WIDTH + 99):
        leaves = _grow(ledger, grow) if grow else leaves
        for size in sorted(
            {len(leaves), len(leaves) - 1, 4 * TILE_WIDTH + 1, 2 * TILE_WIDTH, 300}, reverse=True
        ):
            plain = ListHashSource(leaves[:size])
            for index in {0, 1, 255, 256, 511, 700, size // 3, size - 2, size - 1} & set(range(size)):
                assert ledger.tlog.inclusion(index, size) == inclusion_proof(index, size, plain)
            for old in {1, 256, 257, 512, 1000, size // 2, size - 1, size} & set(range(1, size + 1)):
                assert ledger.tlog.consistency(old, size) == consistency_proof(old, size, plain)
    remembered = ledger.tlog.store.roots
    assert any(level for level, _, _ in remembered._roots) and any(
        not level for level, _, _ in remembered._roots
    )
    # Signing recomputes from storage: a changed stored tile is found though proofs remember its root.
    assert ledger.tlog.sign_checkpoint() is not None
    _grow(ledger, 1)
    other_hash = "randomblob(32)" if backend.name == "sqlite" else "sha256(hash)"
    _tamper(
        backend, f"UPDATE log_tiles SET hash = {other_hash} WHERE level = 1 AND node_index = 1", "log_tiles"
    )
    with pytest.raises(LogInconsistent):
        ledger.tlog.sign_checkpoint()


def test_checkpoints_are_signed_consistent_and_stored(
    ledger: Ledger, university: Issuer, learner: str
) -> None:
    verifier = parse_verifier_key(ledger.tlog.signer.verifier_key)
    ledger.tlog.integrate_all()
    first = ledger.tlog.sign_checkpoint()
    assert first is not None
    assert ledger.tlog.sign_checkpoint() is None  # nothing new, nothing signed
    opened = open_checkpoint(first.note, verifier, origin="localhost:8000/log")
    assert (opened.size, opened.root) == (first.size, first.root)
    post_batch(ledger, [examples.sign(examples.enrolment(university.did, learner), university.key)])
    ledger.tlog.integrate_all()
    second = ledger.tlog.sign_checkpoint()
    assert second is not None and second.size > first.size
    proof = ledger.tlog.consistency(first.size, second.size)
    verify_consistency(first.size, second.size, proof, first.root, second.root)
    with ledger.tlog.store.reading() as log:
        assert [cp.size for cp in log.checkpoints()] == [first.size, second.size]


def _tamper(backend: Backend, statement: str, table: str = "log_leaves") -> None:
    """Change a stored leaf (or tile) the way a malicious operator with SQL access would."""
    if backend.name == "sqlite":
        conn = sqlite3.connect(backend.settings.data_dir / "ledger.sqlite3", isolation_level=None)
        conn.execute(f"DROP TRIGGER {table}_refuse_update")
        conn.execute(f"DROP TRIGGER {table}_refuse_delete")
        conn.execute(statement)
        conn.close()
        return
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(backend.schema or "public")))
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER".encode())
        conn.execute(statement.encode())


def test_the_ledger_refuses_to_sign_over_a_changed_log(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    ledger.tlog.integrate_all()
    assert ledger.tlog.sign_checkpoint() is not None
    post_batch(ledger, [examples.sign(examples.enrolment(university.did, learner), university.key)])
    ledger.tlog.integrate_all()
    other_hash = "randomblob(32)" if backend.name == "sqlite" else "sha256(leaf_hash)"
    _tamper(backend, f"UPDATE log_leaves SET leaf_hash = {other_hash} WHERE leaf_index = 0")
    with pytest.raises(LogInconsistent):
        ledger.tlog.sign_checkpoint()
    with ledger.tlog.store.reading() as log:
        assert len(log.checkpoints()) == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("UPDATE log_leaves SET leaf_hash = substr(leaf_hash, 1, 31) WHERE leaf_index = 2", BadHashLength),
        ("DELETE FROM log_leaves WHERE leaf_index = 2", LookupError),
    ],
)
def test_a_proof_over_a_short_or_missing_stored_hash_is_refused(
    backend: Backend, ledger: Ledger, university: Issuer, change: str, error: type[Exception]
) -> None:
    learners = [ledger.register_learner("1000000000", "L", "2000-01-01")]
    post_many(ledger, university, learners, 8)
    ledger.tlog.integrate_all()
    size = ledger.tlog.state().size
    _tamper(backend, change)
    with pytest.raises(error):
        ledger.tlog.inclusion(3, size)  # its proof needs leaf 2's hash
    with pytest.raises(error):
        ledger.tlog.consistency(3, size)


def test_a_bad_stored_hash_that_a_proof_does_not_need_does_not_refuse_it(
    backend: Backend, ledger: Ledger
) -> None:
    # PostgreSQL reads a tile's leaf ranges as one span, which here holds leaf 3: the exact ranges are
    # then read, and the proof of leaf 3 (which needs every hash but its own) is served as before.
    leaves = _grow(ledger, 20)
    _tamper(backend, "UPDATE log_leaves SET leaf_hash = substr(leaf_hash, 1, 31) WHERE leaf_index = 3")
    assert ledger.tlog.inclusion(3, 20) == inclusion_proof(3, 20, ListHashSource(leaves))
    with pytest.raises(BadHashLength):
        ledger.tlog.inclusion(2, 20)


def test_the_log_tables_are_append_only(backend: Backend, ledger: Ledger, learner: str) -> None:
    ledger.tlog.integrate_all()
    assert ledger.tlog.sign_checkpoint() is not None
    with ledger.tlog.store.writing() as log:
        log.insert_tiles([(9, 0, bytes(32))])  # a row to refuse to change (inserting is allowed)
    for statement in (
        "UPDATE log_leaves SET seq = 0",
        "DELETE FROM log_checkpoints",
        "DELETE FROM log_tiles",
    ):
        if backend.name == "sqlite":
            conn = sqlite3.connect(backend.settings.data_dir / "ledger.sqlite3", isolation_level=None)
            try:
                with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                    conn.execute(statement)
            finally:
                conn.close()
        else:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("SET search_path TO {}").format(sql.Identifier(backend.schema or "public"))
                )
                with pytest.raises(psycopg.Error, match="append-only"):
                    conn.execute(statement.encode())
