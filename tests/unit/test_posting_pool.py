"""Posting worker processes (ledger/posting_pool.py): answers exactly as made inline, whatever
the worker does, and a pool that lends each worker to one batch at a time."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from ledger import examples, posting_pool
from ledger.posting_pool import CHUNK, SMALL_BATCH, Chunks, PostingWorker
from ledger.settings import Settings
from verification.canonical import canonical_json, parse_json
from verification.data_integrity import verify_proof
from verification.errors import BadSignature
from verification.keys import SigningKey, VerifyKey, multibase_decode, multibase_encode
from verification.note import sign_note

NAME = "ledger.example/log"
SEED = bytes(range(32))
ISSUER = "did:web:ledger.example:orgs:caerleon"


@pytest.fixture
def one_process() -> Iterator[None]:
    """This process's pool with one worker, stopped after the test."""
    posting_pool.configure(1)
    yield
    posting_pool.configure(None)


def inline(key: bytes, signature: bytes, canonical: bytes) -> bool:
    """The check `verification` makes of the document itself."""
    document = parse_json(canonical)
    assert isinstance(document, dict)
    proof = document["proof"]
    proof["proofValue"] = multibase_encode(signature)
    try:
        verify_proof(document, VerifyKey(key))
    except BadSignature:
        return False
    return True


def checks(count: int, bad: set[int]) -> list[tuple[bytes, bytes, bytes]]:
    """`count` (key, signature, canonical credential) checks, those at `bad` failing in assorted
    ways: content changed after signing, a signature changed, another key."""
    keys = [SigningKey.generate() for _ in range(3)]
    found = []
    for number in range(count):
        key = keys[number % 3]
        document = examples.sign(examples.enrolment(ISSUER, f"urn:uuid:{uuid.UUID(int=number)}"), key)
        signature = multibase_decode(document["proof"]["proofValue"])
        if number in bad:
            kind = number % 3
            if kind == 0:
                document["credentialSubject"]["programme"] = "Something else"
            elif kind == 1:
                signature = bytes([signature[0] ^ 1]) + signature[1:]
            else:
                key = keys[(number + 1) % 3]
        found.append((key.verify_key.raw, signature, canonical_json(document)))
    return found


def test_verdicts_from_a_worker_are_the_inline_verdicts(one_process: None) -> None:
    items = checks(3 * CHUNK + 5, bad={0, 1, 2, CHUNK - 1, CHUNK, 2 * CHUNK + 7, 3 * CHUNK + 4})
    items.append((items[3][0], items[3][1], b'{"not": "a credential"}'))
    with posting_pool.session(len(items)) as worker:
        assert worker is not None
        verdicts = Chunks(worker, "verify", posting_pool.verify)
        indexes = [verdicts.add(*item) for item in items]
        verdicts.flush()
        found = [verdicts.get(index) for index in reversed(indexes)][::-1]  # asked in any order
    assert found[:-1] == [inline(*item) for item in items[:-1]]
    assert found.count(False) == 8


def test_notes_from_a_worker_are_sign_notes(one_process: None) -> None:
    texts = [f"ledger.example/log\nreceipt {number}\n" for number in range(2 * CHUNK + 3)]
    with posting_pool.session(len(texts)) as worker:
        assert worker is not None
        notes = Chunks(worker, "sign", lambda text: sign_note(text, NAME, SEED), (NAME, SEED))
        for text in texts:
            notes.add(text)
        assert notes.all() == [sign_note(text, NAME, SEED) for text in texts]


def test_a_worker_that_dies_leaves_its_chunks_to_be_done_inline(one_process: None) -> None:
    items = checks(2 * CHUNK, bad={5, CHUNK + 5})
    texts = [f"text {number}\n" for number in range(CHUNK + 1)]
    with posting_pool.session(len(items)) as worker:
        assert worker is not None
        verdicts = Chunks(worker, "verify", inline)
        for item in items[:CHUNK]:
            verdicts.add(*item)
        worker.process.kill()
        worker.process.wait()
        for item in items[CHUNK:]:
            verdicts.add(*item)
        verdicts.flush()
        assert [verdicts.get(index) for index in range(len(items))] == [inline(*item) for item in items]
        notes = Chunks(worker, "sign", lambda text: sign_note(text, NAME, SEED), (NAME, SEED))
        for text in texts:
            notes.add(text)
        assert notes.all() == [sign_note(text, NAME, SEED) for text in texts]
    assert worker.broken
    with posting_pool.session(SMALL_BATCH) as replacement:  # the dead one is not lent again
        assert replacement is not None and replacement is not worker


def test_a_worker_that_fails_a_chunk_leaves_it_to_be_done_inline(one_process: None) -> None:
    with posting_pool.session(SMALL_BATCH) as worker:
        assert worker is not None
        ticket = worker.send("verify", (), [(b"\x00" * 7,)])  # not a whole check: the worker raises
        with pytest.raises(posting_pool.WorkerFailed):
            worker.answer(ticket)
        items = checks(3, bad={1})
        verdicts = Chunks(worker, "verify", inline)  # the same worker answers the next chunk
        for item in items:
            verdicts.add(*item)
        verdicts.flush()
        assert [verdicts.get(index) for index in range(3)] == [True, False, True]


def test_a_large_message_to_a_worker_does_not_deadlock(one_process: None) -> None:
    """Answers it has not read yet fill the worker's pipe while more is sent: read as it writes."""
    texts = [f"{number:06d}".ljust(4000, "x") + "\n" for number in range(2000)]
    with posting_pool.session(len(texts)) as worker:
        assert worker is not None
        tickets = [
            worker.send("sign", (NAME, SEED), [(text,) for text in texts[start : start + 200]])
            for start in range(0, 2000, 200)
        ]
        assert worker.answer(tickets[-1])  # every earlier answer read and dropped
    with posting_pool.session(SMALL_BATCH) as again:
        assert again is worker  # drained and lent again


def test_small_batches_and_a_pool_of_none_check_inline(one_process: None) -> None:
    with posting_pool.session(SMALL_BATCH - 1) as worker:
        assert worker is None
    posting_pool.configure(0)
    with posting_pool.session(1000) as worker:
        assert worker is None


def test_a_worker_is_lent_to_one_batch_at_a_time(one_process: None) -> None:
    with posting_pool.session(SMALL_BATCH) as first:
        assert first is not None
        with posting_pool.session(SMALL_BATCH) as second:
            assert second is None  # all busy: this batch checks inline
    with posting_pool.session(SMALL_BATCH) as third:
        assert third is first


def test_workers_stop_with_the_pool(one_process: None) -> None:
    with posting_pool.session(SMALL_BATCH) as worker:
        assert isinstance(worker, PostingWorker)
    posting_pool.configure(None)  # closes the pool
    assert worker.process.poll() is not None


def test_a_forked_child_makes_its_own_pool(one_process: None) -> None:
    with posting_pool.session(SMALL_BATCH) as worker:
        assert worker is not None
    parent = worker.process.pid
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        try:
            with posting_pool.session(SMALL_BATCH) as own:
                ok = own is not None and own.process.pid != parent
                items = checks(2, bad={1})
                verdicts = Chunks(own, "verify", inline)
                for item in items:
                    verdicts.add(*item)
                verdicts.flush()
                ok = ok and [verdicts.get(0), verdicts.get(1)] == [True, False]
            os.write(writer, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(writer)
    answer = os.read(reader, 1)
    os.waitpid(child, 0)
    os.close(reader)
    assert answer == b"1"
    with posting_pool.session(SMALL_BATCH) as again:
        assert again is worker  # the parent's worker is untouched


def test_the_setting_names_the_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert Settings().posting_processes == 0  # one core: nothing to gain
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert Settings().posting_processes == 1
    monkeypatch.setenv("LEDGER_POSTING_PROCESSES", "0")
    posting_pool.configure(None)  # read again at the next large batch
    try:
        with posting_pool.session(1000) as worker:
            assert worker is None
    finally:
        posting_pool.configure(None)
