"""Database faults under a real `ledger serve` on PostgreSQL: its connections killed with
pg_terminate_backend while requests are in flight, then the database made unreachable (through a
proxy this test cuts; the shared cluster is never restarted). The API answers 503 with Retry-After,
/readyz reports the outage, the server recovers by itself, and nothing acknowledged is lost.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from ledger import examples
from ledger.application import Ledger
from ledger.audit import audit
from ledger.posting import post_credential
from tests.conftest import Backend, Issuer, register_issuer
from tests.e2e.served import Served
from tests.e2e.tcp_proxy import CuttableProxy
from tests.e2e.world import bearer


@dataclass
class Poster:
    """A thread posting one new credential after another, remembering every answer."""

    url: str
    token: str
    issuer: Issuer
    learner: str
    answers: list[tuple[str, int, dict[str, Any], str | None]] = field(default_factory=list)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Post until stopped: (credential id, status or 0 for no answer, body, Retry-After)."""
        # A generous timeout: on a loaded 2-core machine the server's retries against an unreachable
        # database can take well over 20 s before its 503; only no answer at all is a failure.
        with httpx.Client(base_url=self.url, timeout=90, headers=bearer(self.token)) as http:
            while not self.stop.is_set():
                document = examples.sign(examples.award(self.issuer.did, self.learner), self.issuer.key)
                self.sent[document["id"]] = document
                try:
                    response = http.post("/v1/credentials", json=document)
                except httpx.TransportError:
                    self.answers.append((document["id"], 0, {}, None))
                    continue
                body = response.json() if response.content else {}
                self.answers.append(
                    (document["id"], response.status_code, body, response.headers.get("retry-after"))
                )
                time.sleep(0.01)


def wait_until(check: Any, what: str, timeout: float = 180) -> Any:
    """Poll `check()` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def readiness(url: str) -> httpx.Response | None:
    """The /readyz answer, or None when the server does not answer at all."""
    try:
        return httpx.get(f"{url}/readyz", timeout=30)
    except httpx.TransportError:
        return None


def bundle_of(url: str, token: str, credential: str) -> dict[str, Any] | None:
    """The credential's proof bundle once the log holds it; None before."""
    answer = httpx.get(f"{url}/v1/credentials/{credential}/bundle", headers=bearer(token), timeout=30)
    return answer.json() if answer.status_code == 200 else None


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_connections_killed_and_database_unreachable_then_recovered(
    backend: Backend, ledger: Ledger, tmp_path: Path
) -> None:
    issuer = register_issuer(ledger, "caerleon", "university", ["award"], ("FHEQ",))
    token, _ = ledger.tokens.create("issuer", organisation="caerleon")
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    direct = urlsplit(backend.settings.database_url)
    proxy = CuttableProxy((direct.hostname or "127.0.0.1", direct.port or 5432))
    application_name = f"ledger-{backend.schema}"
    env = {
        **backend.process_env(),
        "LEDGER_DATABASE_URL": backend.settings.database_url.replace(
            direct.netloc, f"postgres@127.0.0.1:{proxy.port}"
        ),
        "PGAPPNAME": application_name,  # names the server's connections, so only they are killed
    }
    served = Served(env, tmp_path / "server.log")
    poster = Poster(served.url, token, issuer, learner)
    thread = threading.Thread(target=poster.run, daemon=True)
    verifying: threading.Thread | None = None
    verdicts: list[httpx.Response] = []
    terminated = 0
    try:
        served.start()
        thread.start()
        wait_until(lambda: any(status == 201 for _, status, _, _ in poster.answers), "a first post")

        # 1. every connection of the server killed, again and again, while posts are in flight
        with psycopg.connect(backend.settings.database_url, autocommit=True) as admin:
            for _ in range(20):
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (application_name,),
                ).fetchone()
                terminated += killed[0] if killed else 0
                time.sleep(0.1)
        mark = len(poster.answers)
        wait_until(
            lambda: any(status == 201 for _, status, _, _ in poster.answers[mark:]),
            "a post recorded after the connections were killed (the pool recovering by itself)",
        )

        first = next(credential for credential, status, _, _ in poster.answers if status == 201)
        bundle = wait_until(lambda: bundle_of(served.url, token, first), "the first credential's bundle")

        # 2. the database unreachable: /readyz and posts answer 503 with Retry-After
        proxy.cut()
        outage = wait_until(
            lambda: (answer := readiness(served.url)) is not None and answer.status_code == 503 and answer,
            "/readyz reporting the outage",
        )
        # a verification waiting on the database (its erasure read) leaves the server answering others
        verifying = threading.Thread(
            target=lambda: verdicts.append(httpx.post(f"{served.url}/v1/verify", json=bundle, timeout=90))
        )
        verifying.start()
        time.sleep(0.5)
        assert httpx.get(f"{served.url}/healthz", timeout=30).status_code == 200
        assert verifying.is_alive(), "the verification was expected to be still waiting on the database"
        mark = len(poster.answers)
        wait_until(lambda: len(poster.answers) > mark + 2, "posts answered during the outage")
        during = poster.answers[mark:]
        proxy.restore()
        wait_until(
            lambda: (answer := readiness(served.url)) is not None and answer.status_code == 200,
            "/readyz ready again after the database came back",
        )
        mark = len(poster.answers)
        wait_until(
            lambda: any(status == 201 for _, status, _, _ in poster.answers[mark:]),
            "a post recorded after the outage",
        )
    finally:
        poster.stop.set()
        thread.join(timeout=60)
        if verifying is not None:
            verifying.join(timeout=90)
        served.stop()
        proxy.close()

    statuses = Counter(status for _, status, _, _ in poster.answers)
    print(f"\nanswers {dict(statuses)}; {terminated} connections terminated")
    assert terminated > 0
    assert outage.json()["type"].endswith("/not-ready") and outage.headers["retry-after"]
    assert during and all(status == 503 for _, status, _, _ in during), during
    assert set(statuses) <= {201, 503}, statuses  # never a 500, never a hang without an answer
    # answered once the database came back or the retries gave up, never a 500
    assert [verdict.status_code in (200, 503) for verdict in verdicts] == [True]
    for _, status, body, retry_after in poster.answers:
        if status == 503:
            assert retry_after is not None and int(retry_after) > 0
            assert body["type"].endswith("/storage-unavailable"), body

    # nothing acknowledged is lost, nothing is doubled, and what was not acknowledged can be re-posted
    stream = ledger.read_stream(learner)
    assert stream.findings == []
    recorded = Counter(item.entry["credential"] for item in stream.items[1:])
    assert all(count == 1 for count in recorded.values())
    acknowledged = {credential for credential, status, _, _ in poster.answers if status == 201}
    assert acknowledged <= set(recorded)
    unacknowledged = [
        document for credential, document in poster.sent.items() if credential not in acknowledged
    ]
    for document in unacknowledged:  # each was wholly recorded or not at all: a re-post completes it
        post_credential(ledger, document)
    stream = ledger.read_stream(learner)
    assert stream.findings == []
    assert [item.entry["credential"] for item in stream.items[1:]].count(unacknowledged[0]["id"]) == 1
    assert len(stream.items) - 1 == len(poster.sent)
    report = audit(ledger)
    assert report.findings == [], report.findings
