"""The log follower: integrates new commits as they land and signs checkpoints on a cadence.

On PostgreSQL it wakes on the event store's NOTIFY; on SQLite (and as a fallback) it polls.
Run it as `ledger log follow`, or as a thread beside the API server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.errors import StorageUnavailable
from ledger.log import TransparencyLog
from ledger.log_store import StoredCheckpoint

POLL_SECONDS = 0.2
CHANNEL = "ledger_events"


def follow(
    tlog: TransparencyLog,
    *,
    interval: float,
    stop: threading.Event,
    batch: int = 1000,
    on_checkpoint: Callable[[StoredCheckpoint], None] = lambda _: None,
    listen_url: str | None = None,
) -> None:
    """Until `stop` is set: integrate batch after batch, sign a checkpoint every `interval` seconds
    while the tree grows (a long backlog included), and when caught up wait for the next commit.
    `listen_url` (PostgreSQL) wakes it as soon as a commit is announced instead of at the next poll.
    """
    waiter = _Waiter(listen_url)
    last_signed = 0.0
    try:
        while not stop.is_set():
            try:
                _, read = tlog.integrate_batch(batch)
                if time.monotonic() - last_signed >= interval:
                    signed = tlog.sign_checkpoint()
                    if signed is not None:
                        last_signed = time.monotonic()
                        on_checkpoint(signed)
            except StorageUnavailable:
                stop.wait(1.0)  # the database is away; try again shortly
                continue
            if not read:  # caught up: sleep until a commit is announced or a checkpoint is due
                due = interval - (time.monotonic() - last_signed)
                waiter.wait(min(POLL_SECONDS, due) if due > 0 else POLL_SECONDS, stop)
    finally:
        waiter.close()


class _Waiter:
    """Sleeps until a commit is announced (PostgreSQL LISTEN) or the timeout passes."""

    def __init__(self, listen_url: str | None) -> None:
        self.connection: psycopg.Connection[tuple[object, ...]] | None = None
        if listen_url is None:
            return
        try:
            self.connection = psycopg.connect(listen_url, autocommit=True, connect_timeout=5)
            # The library NOTIFYs this channel in every transaction that inserts events.
            self.connection.execute(SQL("LISTEN {}").format(Identifier(CHANNEL)))
        except psycopg.Error:
            self.connection = None  # polling still finds every commit, only later

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Return after a commit notice, `timeout` seconds, or `stop`."""
        if self.connection is None:
            stop.wait(timeout)
            return
        try:
            for _ in self.connection.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error:
            self.close()

    def close(self) -> None:
        """Release the listening connection."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
