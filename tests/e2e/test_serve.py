"""`ledger serve` as a real process, and `ledger post --url` posting to it through the issuer client."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger import examples
from ledger.application import Ledger
from ledger.client import LedgerClient
from projections.bootstrap import open_projections
from tests.conftest import Backend, register_issuer


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(backend: Backend, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """`ledger serve` on the backend's ledger, in its own process, once it answers; it and its URL."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *extra]
    process = subprocess.Popen(
        command, env=backend.process_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.1)


@contextmanager
def served(backend: Backend, *extra: str) -> Iterator[str]:
    """`ledger serve` on the backend's ledger, in its own process, until the block ends; its URL."""
    process, url = start_server(backend, *extra)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def server(backend: Backend, ledger: Ledger) -> Iterator[str]:
    """`ledger serve` on the backend's ledger; yields its base URL."""
    with served(backend) as url:
        yield url


def test_post_to_a_served_ledger_with_checked_receipts(server: str, ledger: Ledger, tmp_path: Path) -> None:
    issuer = register_issuer(ledger, "caerleon", "university", ["award"], ("FHEQ",))
    token, _ = ledger.tokens.create("issuer", organisation="caerleon")
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    lines = [json.dumps(examples.sign(examples.award(issuer.did, learner), issuer.key)) for _ in range(3)]
    lines.append(
        json.dumps(examples.sign(examples.enrolment(issuer.did, learner), issuer.key))
    )  # not accredited
    source = tmp_path / "results.jsonl"
    source.write_text("\n".join(lines) + "\n")
    log_key = httpx.get(f"{server}/v1/log/key").text.strip()
    result = CliRunner().invoke(
        app,
        ["post", str(source), "--url", server, "--token", token, "--log-key", log_key],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1, result.output  # one refusal
    assert "3 recorded, 1 refused" in result.output and "accredited" in result.output
    assert len(ledger.learner_stream(learner).entries) == 4
    assert httpx.get(f"{server}/openapi.json").json()["info"]["title"] == "Learner Ledger"


def test_several_workers_share_one_ledger_and_one_sequencer(backend: Backend, ledger: Ledger) -> None:
    """With --workers 2 the HTTP workers post and verify while the supervisor's followers integrate
    the log and keep the views; metrics add up over both workers."""
    issuer = register_issuer(ledger, "caerleon", "university", ["award"], ("FHEQ",))
    token, _ = ledger.tokens.create("issuer", organisation="caerleon")
    learners = [
        ledger.register_learner(uln, f"Learner {uln}", "2003-05-14")
        for uln in ("9276308686", "1000000000", "1000000019", "1000000027")
    ]
    with served(backend, "--workers", "2") as url:
        log_key = httpx.get(f"{url}/v1/log/key").text.strip()
        client = LedgerClient(url, token, log_key=log_key)
        credentials = [examples.sign(examples.award(issuer.did, learner), issuer.key) for learner in learners]
        results = [client.post(credential) for credential in credentials]  # receipts checked
        bundles = [client.bundle(credential["id"]) for credential in credentials]  # waits for the log
        verdicts = [httpx.post(f"{url}/v1/verify", json=bundle).json() for bundle in bundles]
        metrics = httpx.get(f"{url}/metrics").text
    assert [result["entry"] for result in results] == [bundle["entry"] for bundle in bundles]
    assert all(verdict["ok"] for verdict in verdicts), verdicts
    assert ledger.tlog.state().size >= len(credentials)  # integrated by the one sequencer
    head = ledger.recorder.max_notification_id() or 0
    assert min(open_projections(ledger).positions().values()) == head  # the views followed too
    served_verifications = re.search(
        r'ledger_http_requests_total\{method="POST",route="/v1/verify",status="200"\} (\S+)', metrics
    )
    assert served_verifications is not None and float(served_verifications[1]) == len(bundles)


def test_workers_stop_when_their_supervisor_is_killed(backend: Backend, ledger: Ledger) -> None:
    """A supervisor killed outright (SIGKILL: no chance to stop its workers) leaves no worker serving:
    they would accept posts that no sequencer integrates and keep the port from a restarted server."""
    process, url = start_server(backend, "--workers", "2")
    children = [
        int(pid)
        for task in Path(f"/proc/{process.pid}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    assert len(children) >= 2  # the two workers (and multiprocessing's resource tracker)
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 30
    while left := [pid for pid in children if _running(pid)]:
        assert time.monotonic() < deadline, f"processes {left} still run after their supervisor was killed"
        time.sleep(0.2)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)


def _running(pid: int) -> bool:
    """Whether a process exists and has not exited (a zombie, exited but not yet reaped, has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
