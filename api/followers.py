"""The followers a served ledger runs beside its HTTP workers: the log sequencer (integrating
entries and signing checkpoints) and the projection follower (keeping the views current)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ledger import bootstrap
from ledger.application import Ledger
from ledger.errors import StorageUnavailable
from ledger.log_follower import follow
from ledger.settings import Settings
from projections.bootstrap import open_projections
from projections.runner import Projections


@contextmanager
def followers_running(ledger: Ledger, projections: Projections, settings: Settings) -> Iterator[None]:
    """The log sequencer and the projection follower as daemon threads of this process, stopped
    (and joined) when the block ends."""
    database = bootstrap.database_of(settings)
    listen_url = database.url if database.backend == "postgresql" else None
    stop = threading.Event()

    def sequence() -> None:
        follow(ledger.tlog, interval=settings.checkpoint_interval, stop=stop, listen_url=listen_url)

    def project() -> None:
        while not stop.is_set():
            try:
                if not projections.catch_up():
                    stop.wait(0.05)
            except StorageUnavailable:
                stop.wait(1.0)

    threads = [
        threading.Thread(target=sequence, name="log-follower", daemon=True),
        threading.Thread(target=project, name="projection-follower", daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


@contextmanager
def following(settings: Settings) -> Iterator[None]:
    """Open the ledger and run its followers in this process until the block ends."""
    ledger = bootstrap.open_ledger(settings)
    try:
        with followers_running(ledger, open_projections(ledger), settings):
            yield
    finally:
        ledger.close()
