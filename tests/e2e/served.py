"""`ledger serve` as a real process the fault tests can kill, restart and read the logs of."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """One `ledger serve` on a fixed port, restartable; its stderr (uvicorn and app logs) kept in a file."""

    def __init__(self, env: dict[str, str], logs: Path, workers: int = 1) -> None:
        self.env = env
        self.logs = logs
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until it answers /healthz."""
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with self.logs.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.logs.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no follower told to stop."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server the polite way (SIGTERM), if it runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def wait_caught_up(self, timeout: float = 60) -> dict[str, int]:
        """Poll /readyz until the log and every projection have read everything; their lags."""
        deadline = time.monotonic() + timeout
        while True:
            answer = httpx.get(f"{self.url}/readyz", timeout=5)
            lags: dict[str, int] = answer.json().get("lag", {}) if answer.status_code == 200 else {}
            if lags and not any(lags.values()):
                return lags
            assert time.monotonic() < deadline, f"the followers did not catch up: {answer.text}"
            time.sleep(0.1)
