"""How `ledger serve` runs: one process (HTTP and followers), or several HTTP worker processes
beside the followers, which stay in the supervising process so the log has one sequencer."""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.followers import following
from api.log_redaction import logging_config
from api.metrics import MULTIPROCESS_DIRECTORY
from ledger.settings import Settings

DATA_DIR_VARIABLE = "LEDGER_DATA_DIR"
SUPERVISOR_VARIABLE = "LEDGER_SUPERVISOR_PID"
WORKER_START_SECONDS = 60
SUPERVISOR_CHECK_SECONDS = 1.0


def serve(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Serve the API until interrupted: in this process, or in `workers` processes (uvicorn's
    supervisor restarts any that die) while this one runs the followers."""
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info", log_config=logging_config())
        return
    # The workers are fresh interpreters (spawned, not forked) reading settings from the
    # environment; --data-dir reaches them this way. Metrics are shared through files.
    os.environ[DATA_DIR_VARIABLE] = str(settings.data_dir.resolve())
    os.environ[SUPERVISOR_VARIABLE] = str(os.getpid())
    with tempfile.TemporaryDirectory(prefix="ledger-metrics-") as metrics, following(settings):
        os.environ[MULTIPROCESS_DIRECTORY] = metrics
        uvicorn.run(
            "api.serving:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            # A worker answers the supervisor's pings only once it has imported the app, which
            # takes seconds on a busy machine; uvicorn's 5 s would kill and restart it.
            timeout_worker_healthcheck=WORKER_START_SECONDS,
            log_config=logging_config(),
        )


def worker_app() -> FastAPI:
    """The app of one HTTP worker process: settings from the environment, no followers."""
    supervisor = os.environ.get(SUPERVISOR_VARIABLE)
    if supervisor is not None:
        threading.Thread(target=_stop_when_orphaned, args=(int(supervisor),), daemon=True).start()
    return create_app(Settings(), followers=False)


def _stop_when_orphaned(supervisor: int) -> None:
    """Shut this worker down, as Ctrl-C would, once its supervisor is gone (killed with SIGKILL, say):
    without the supervisor's followers nothing it accepts would reach the log, and it would keep
    the port from a restarted server."""
    while os.getppid() == supervisor:
        time.sleep(SUPERVISOR_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
