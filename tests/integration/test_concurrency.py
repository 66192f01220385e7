"""Two writers on one learner's stream, on SQLite and PostgreSQL: the chain never forks."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from eventsourcing.persistence import RecordConflictError

from ledger import examples
from ledger.application import Ledger
from ledger.errors import LedgerError
from ledger.posting import post_credential
from ledger.receipts import Receipt
from tests.conftest import Backend, Issuer


def test_two_saves_of_the_same_stream_version_exactly_one_wins(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    other = backend.open()
    try:
        mine = ledger.learner_stream(learner)
        theirs = other.learner_stream(learner)
        for stream in (mine, theirs):
            stream.record(stream.next_entry("enrolment", ledger.clock(), credential="urn:uuid:x"), "c2VhbGVk")
        ledger.save(mine)
        with pytest.raises(RecordConflictError):
            other.save(theirs)
    finally:
        other.close()
    assert len(ledger.learner_stream(learner).entries) == 2


def test_concurrent_writers_never_fork_the_chain_or_lose_an_acknowledged_entry(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    writers = 2
    per_writer = 8
    documents = [
        [
            examples.sign(examples.enrolment(university.did, learner), university.key)
            for _ in range(per_writer)
        ]
        for _ in range(writers)
    ]
    acknowledged: list[Receipt] = []
    refusals: list[LedgerError] = []
    failures: list[BaseException] = []
    start = threading.Barrier(writers)
    lock = threading.Lock()

    def write(batch: list[dict[str, Any]]) -> None:
        connection = backend.open()
        try:
            start.wait()
            for document in batch:
                try:
                    receipt = post_credential(connection, document)
                except LedgerError as error:  # a clear conflict after retries is allowed, a fork is not
                    with lock:
                        refusals.append(error)
                    continue
                with lock:
                    acknowledged.append(receipt)
        except BaseException as error:  # surfaced below; a thread cannot fail the test itself
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(batch,)) for batch in documents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert all(error.slug == "stream-conflict" for error in refusals), refusals
    report = ledger.read_stream(learner)
    assert report.findings == []
    seqs = [item.entry["seq"] for item in report.items]
    assert seqs == list(range(1, len(seqs) + 1))
    recorded = [item.entry["credential"] for item in report.items[1:]]
    assert len(recorded) == len(set(recorded))  # nothing recorded twice
    for receipt in acknowledged:  # every acknowledged entry is there, exactly as acknowledged
        assert report.items[receipt.entry["seq"] - 1].entry == receipt.entry
    assert len(acknowledged) + len(refusals) == writers * per_writer
    assert len(recorded) == len(acknowledged)
