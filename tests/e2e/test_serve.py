"""`ledger serve` as a real process, and `ledger post --url` posting to it through the issuer client."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger import examples
from ledger.application import Ledger
from tests.conftest import Backend, register_issuer


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(backend: Backend, ledger: Ledger) -> Iterator[str]:
    """`ledger serve` on the backend's ledger, in its own process; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=backend.process_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=30)


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
