"""Contention: many clients post to the same two learners at once through a real `ledger serve`.
No chain forks, no acknowledged write is lost, and a conflict the server could not retry away is a
409 stream-conflict saying to retry, with nothing recorded. Throughput and counts are printed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger import examples
from ledger.application import Ledger
from tests.conftest import Backend, register_issuer
from tests.e2e.served import Served
from tests.e2e.world import bearer

CLIENTS = 8
POSTS = 25
"""Single posts per client, alternating between the two learners."""


@pytest.mark.parametrize("workers", [1, 2])
def test_many_clients_on_the_same_learners_never_fork_or_lose_a_write(
    backend: Backend, ledger: Ledger, tmp_path: Path, workers: int
) -> None:
    """One server process, or two worker processes writing to the same database."""
    issuer = register_issuer(ledger, "caerleon", "university", ["enrolment"])
    token, _ = ledger.tokens.create("issuer", organisation="caerleon")
    learners = [ledger.register_learner(uln, "L", "2000-01-01") for uln in ("1000000000", "1000000019")]
    documents = [
        [examples.sign(examples.enrolment(issuer.did, learners[n % 2]), issuer.key) for n in range(POSTS)]
        for _ in range(CLIENTS)
    ]
    answers: list[tuple[dict[str, Any], int, dict[str, Any]]] = []
    lock = threading.Lock()
    served = Served(backend.process_env(), tmp_path / "server.log", workers)
    start = threading.Barrier(CLIENTS + 1)

    def post_all(batch: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=served.url, timeout=60, headers=bearer(token)) as http:
            start.wait()
            for document in batch:
                response = http.post("/v1/credentials", json=document)
                with lock:
                    answers.append((document, response.status_code, response.json()))

    try:
        served.start()
        threads = [threading.Thread(target=post_all, args=(batch,)) for batch in documents]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.monotonic()
        for thread in threads:
            thread.join(timeout=300)
        elapsed = time.monotonic() - began
    finally:
        served.stop()

    statuses = Counter(status for _, status, _ in answers)
    print(
        f"\n{backend.name}, {workers} worker(s): {CLIENTS} clients x {POSTS} posts to 2 learners: "
        f"{dict(statuses)} "
        f"in {elapsed:.2f} s ({statuses[201] / elapsed:.0f} recorded/s)"
    )
    assert len(answers) == CLIENTS * POSTS
    assert set(statuses) <= {201, 409}, statuses
    for _, status, body in answers:
        if status == 409:
            assert body["type"].endswith("/stream-conflict") and "retry" in body["detail"], body

    recorded: Counter[str] = Counter()
    entries: dict[str, dict[str, Any]] = {}
    for learner in learners:
        report = ledger.read_stream(learner)
        assert report.findings == []  # one chain per learner: dense seq, every prev links
        assert [item.entry["seq"] for item in report.items] == list(range(1, len(report.items) + 1))
        for item in report.items[1:]:
            recorded[item.entry["credential"]] += 1
            entries[item.entry["credential"]] = item.entry
    assert all(count == 1 for count in recorded.values())
    for document, status, body in answers:
        if status == 201:  # acknowledged: there, exactly as receipted
            assert entries[document["id"]] == body["entry"]
        else:  # refused: nothing of it recorded
            assert document["id"] not in recorded
    assert sum(recorded.values()) == statuses[201]
