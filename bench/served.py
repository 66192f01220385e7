"""`ledger serve` as a process of its own for the HTTP benchmarks, on a free port."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx

from bench.common import ROOT


class Served:
    """`with Served(env) as served:` runs `ledger serve` until the block ends (its output to a file);
    `workers` above 1 serves from that many processes, each started before the block begins."""

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        self.env = env
        self.workers = workers
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    def __enter__(self) -> Served:
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        self.process = subprocess.Popen(
            command, env=self.env, cwd=ROOT, stdout=self.logs, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200 and self._started():
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.logs.seek(0)
                raise RuntimeError(f"ledger serve did not start: {self.logs.read()[-3000:]!r}")
            time.sleep(0.05)

    def _started(self) -> bool:
        """Whether every worker has said its application started (one answering is not enough)."""
        self.logs.seek(0)
        return self.logs.read().count(b"Application startup complete") >= self.workers

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.logs.close()

    def wait_integrated(self, client: httpx.Client, timeout: float = 600) -> dict[str, Any]:
        """Poll /readyz until the log has integrated every committed entry; every follower's lag."""
        deadline = time.monotonic() + timeout
        while True:
            answer = client.get("/readyz")
            lags: dict[str, Any] = answer.json().get("lag", {})
            if lags.get("log") == 0:
                return lags
            if time.monotonic() > deadline:
                raise TimeoutError(f"the followers did not catch up: {answer.text}")
            time.sleep(0.02)
