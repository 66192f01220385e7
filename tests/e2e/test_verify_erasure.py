"""`POST /v1/verify` and erasure, on SQLite and PostgreSQL: the erasure check reads the database on
every request, so a bundle of a learner erased a moment ago carries the erasure note at once through
every worker of `ledger serve --workers 2`, dated as the ledger's erasure claim is.
"""

from __future__ import annotations

import http.client
import os
from pathlib import Path
from typing import Any

import orjson

from ledger import examples
from ledger.application import Ledger
from ledger.bundles import build_bundle
from ledger.indexes import ErasureClaim, erasure_claim_id
from ledger.posting import post_credential
from tests.conftest import Backend, Issuer
from tests.e2e.test_serve import start_server

ERASED = "The ledger erased this learner's data on"


def erase(ledger: Ledger, learner: str) -> str:
    """Erase the learner as the registrar would; the date of their erasure claim."""
    request = ledger.erasures.request(ledger, learner, "moving abroad")
    ledger.erasures.approve(ledger, request.id)
    claim = ledger.find(erasure_claim_id(learner), ErasureClaim)
    assert claim is not None
    return claim.created_on.date().isoformat()


def posted_bundle(ledger: Ledger, issuer: Issuer, learner: str) -> dict[str, Any]:
    """A bundle of a new credential of the learner, in the log under a signed checkpoint."""
    document = examples.sign(examples.award(issuer.did, learner), issuer.key)
    post_credential(ledger, document)
    ledger.tlog.integrate_all()
    ledger.tlog.sign_checkpoint()
    return build_bundle(ledger, document["id"])


def test_the_erasure_check_answers_as_the_ledgers_claim(ledger: Ledger, university: Issuer) -> None:
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    other = ledger.register_learner("1000000019", "Zephyrine Quillfeather", "2001-02-03")
    assert ledger.erasures.erased_on(ledger, learner) is None
    assert ledger.erasures.erased_on(ledger, "urn:uuid:00000000-0000-4000-8000-000000000000") is None
    erased_on = erase(ledger, learner)
    assert ledger.erasures.erased_on(ledger, learner) == erased_on
    assert ledger.erasures.erased_on(ledger, other) is None


def test_an_erasure_shows_at_once_through_every_worker(
    backend: Backend, ledger: Ledger, university: Issuer
) -> None:
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    body = orjson.dumps(posted_bundle(ledger, university, learner))
    process, url = start_server(backend, "--workers", "2")
    try:
        port = int(url.rsplit(":", 1)[1])
        workers: dict[int, http.client.HTTPConnection] = {}  # a kept-alive connection to each worker
        for _ in range(200):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            report = verify(connection, body)  # each worker checks (and could remember) "not erased"
            assert report["ok"] and not any(ERASED in note for note in report["notes"]), report
            worker = serving_process(process.pid, connection)
            if worker in workers:
                connection.close()
            else:
                workers[worker] = connection
            if len(workers) == 2:
                break
        assert len(workers) == 2, "could not reach both workers"
        erased_on = erase(ledger, learner)
        for worker, connection in workers.items():
            report = verify(connection, body)
            assert serving_process(process.pid, connection) == worker
            assert report["ok"], report
            assert [note for note in report["notes"] if ERASED in note] == [
                f"{ERASED} {erased_on}: the bundle still proves what it says, but the ledger itself can no "
                "longer show or confirm it."
            ]
        for connection in workers.values():
            connection.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def verify(connection: http.client.HTTPConnection, body: bytes) -> dict[str, Any]:
    """POST /v1/verify on this connection (kept alive); the report."""
    connection.request("POST", "/v1/verify", body, {"content-type": "application/json"})
    answer = connection.getresponse()
    assert answer.status == 200
    report: dict[str, Any] = orjson.loads(answer.read())
    return report


def serving_process(supervisor: int, connection: http.client.HTTPConnection) -> int:
    """The worker process of `ledger serve` holding the server's end of this connection."""
    assert connection.sock is not None
    client_port = connection.sock.getsockname()[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == client_port:  # its remote end is our socket
                inodes.add(f"socket:[{fields[9]}]")
    children = [
        int(pid)
        for task in Path(f"/proc/{supervisor}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    for pid in children:
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(descriptor) in inodes:
                    return pid
            except OSError:  # closed meanwhile
                continue
    raise AssertionError(f"no worker holds the connection from port {client_port}")
