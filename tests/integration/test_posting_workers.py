"""Posting a large batch with its signatures checked, and its receipts signed, in a worker process
(ledger/posting_pool.py): every result exactly as posting inline gives it, on both backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import RecordConflictError

from ledger import bootstrap, errors, examples, posting_pool
from ledger.application import Ledger
from ledger.posting import post_batch, post_credential
from ledger.receipts import Receipt
from tests.conftest import Backend, Issuer, assert_signed_as_inline
from verification.keys import SigningKey

CHUNK = posting_pool.CHUNK


@pytest.fixture(params=[0, 1], ids=["inline", "worker"])
def processes(request: pytest.FixtureRequest) -> Iterator[int]:
    """Signature checks inline, and in one worker process."""
    posting_pool.configure(request.param)
    yield request.param
    posting_pool.configure(None)


def batch_of(ledger: Ledger, issuer: Issuer, learner: str, count: int) -> list[dict[str, Any]]:
    return [
        examples.sign(examples.assessment(issuer.did, learner, result=f"R{number}"), issuer.key)
        for number in range(count)
    ]


def single_refusal(ledger: Ledger, document: object) -> errors.LedgerError:
    with pytest.raises(errors.LedgerError) as caught:
        post_credential(ledger, document)
    return caught.value


def test_a_large_batch_refuses_each_item_as_one_post_would(
    processes: int, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    documents: list[Any] = batch_of(ledger, exam_body, learner, 2 * CHUNK + 10)
    bad_signatures = {0, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 9}
    for number in bad_signatures:
        documents[number]["credentialSubject"]["result"] = "A**"
    documents[3] = examples.sign(examples.assessment(exam_body.did, learner), SigningKey.generate())
    documents[CHUNK + 2] = {"not": "a credential"}
    documents[CHUNK + 3] = b"{not json"
    documents[CHUNK + 4] = documents[10]  # the same credential twice: a duplicate receipt
    expected = {
        number: single_refusal(ledger, documents[number])
        for number in sorted(bad_signatures | {3, CHUNK + 2, CHUNK + 3})
    }
    before = ledger.recorder.max_notification_id()
    results = post_batch(ledger, documents)
    for number, result in enumerate(results):
        if number in expected:
            assert type(result) is type(expected[number]), (number, result)
            assert str(result) == str(expected[number])
        else:
            assert isinstance(result, Receipt), (number, result)
            assert result.duplicate == (number == CHUNK + 4)
    recorded = len(documents) - len(expected) - 1
    assert (ledger.recorder.max_notification_id() or 0) - (before or 0) == 2 * recorded
    report = ledger.read_stream(learner)
    assert report.findings == []  # every sealed content opens and matches its entry's commitment
    assert len(report.items) == 1 + recorded  # after the registration
    skipped = {*expected, CHUNK + 4}
    assert [item.content for item in report.items[1:]] == [
        document for number, document in enumerate(documents) if number not in skipped
    ]


def test_a_large_batch_s_receipts_are_the_notes_sign_receipt_makes(
    processes: int, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    documents = batch_of(ledger, exam_body, learner, CHUNK + 5)
    results = post_batch(ledger, [*documents, documents[2]])
    assert len({result.position for result in results if isinstance(result, Receipt)}) == 1
    for result in results:
        assert isinstance(result, Receipt)
        assert_signed_as_inline(ledger, result)
    assert results[-1].duplicate  # type: ignore[union-attr]


def test_a_large_batch_built_again_after_a_write_conflict(
    processes: int, ledger: Ledger, exam_body: Issuer, learner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first build's verdicts and notes are dropped; the receipts are the second build's."""
    documents = batch_of(ledger, exam_body, learner, CHUNK + 1)
    documents[CHUNK]["credentialSubject"]["result"] = "A**"
    save = ledger.save
    conflicts = [RecordConflictError("another writer")]

    def save_after_one_conflict(*aggregates: Any, **kwargs: Any) -> Any:
        if conflicts:
            raise conflicts.pop()
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(ledger, "save", save_after_one_conflict)
    results = post_batch(ledger, documents)
    assert not conflicts
    assert type(results[CHUNK]) is errors.InvalidSignature
    receipts = [result for result in results if isinstance(result, Receipt)]
    assert [receipt.entry["seq"] for receipt in receipts] == list(range(2, CHUNK + 2))
    for receipt in receipts:
        assert_signed_as_inline(ledger, receipt)
    monkeypatch.undo()
    again = post_batch(ledger, batch_of(ledger, exam_body, learner, CHUNK))  # the worker is clean
    assert all(isinstance(result, Receipt) and not result.duplicate for result in again)


def test_batches_posted_side_by_side_share_the_workers(
    processes: int, backend: Backend, ledger: Ledger, exam_body: Issuer
) -> None:
    """As a server's threads post: each batch borrows an idle worker or works inline."""
    learners = [
        ledger.register_learner(uln, "Side By Side", "2004-01-01") for uln in ("1000000000", "1000000019")
    ]
    batches = {
        learner: [batch_of(ledger, exam_body, learner, CHUNK + 6) for _ in range(3)] for learner in learners
    }
    results: dict[str, list[list[Any]]] = {learner: [] for learner in learners}
    failures: list[BaseException] = []
    start = threading.Barrier(len(learners))

    def post(learner: str) -> None:
        connection = backend.open()
        try:
            start.wait()
            for documents in batches[learner]:
                results[learner].append(post_batch(connection, documents))
        except BaseException as error:  # surfaced below; a thread cannot fail the test itself
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(learner,)) for learner in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []
    for learner in learners:
        receipts = [receipt for batch in results[learner] for receipt in batch]
        assert all(isinstance(receipt, Receipt) for receipt in receipts), receipts
        assert [receipt.entry["seq"] for receipt in receipts] == list(range(2, 2 + 3 * (CHUNK + 6)))
        for receipt in receipts:
            assert_signed_as_inline(ledger, receipt)
        assert ledger.read_stream(learner).findings == []


def test_the_ledger_s_settings_name_this_process_s_worker_count(backend: Backend) -> None:
    try:
        for count, lent in ((1, True), (0, False)):
            settings = backend.settings.model_copy(update={"posting_processes": count})
            bootstrap.open_ledger(settings).close()
            with posting_pool.session(posting_pool.SMALL_BATCH) as worker:
                assert (worker is not None) is lent
        assert "posting_processes" not in backend.settings.model_fields_set
        bootstrap.open_ledger(backend.settings).close()  # its default (1 on two cores) leaves 0 as it is
        with posting_pool.session(posting_pool.SMALL_BATCH) as worker:
            assert worker is None
    finally:
        posting_pool.configure(None)
