"""Learners' stream heads as this process's last committed batches left them, so a later batch that
finds a stream still at the same version takes its head from here instead of reading and decoding
its last event again.

Stored events never change (the event tables refuse UPDATE and DELETE) and a stream's version
names one event, so a stream whose last stored version is the kept head's version ends in exactly
that head's last event. Anything else (another writer appended, the stream is unknown here) is
read from the store as before; a head taken from here and made stale by a writer in between fails
on the write as any stale read does (a version conflict, and the batch is built again).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from ledger.learners import LearnerStream

LIMIT = 4096
"""Heads kept at most, the least recently used forgotten first."""


class KeptHeads:
    """The last committed head of recently posted-to learners' streams, by learner."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._heads: OrderedDict[str, LearnerStream] = OrderedDict()
        self._lock = threading.Lock()

    def holds(self, learner: str) -> bool:
        """Whether a head of the learner's stream is kept (at whatever version)."""
        with self._lock:
            return learner in self._heads

    def take(self, learner: str, version: int) -> LearnerStream | None:
        """A new head of the learner's stream if the kept one is at `version`; else None."""
        with self._lock:
            kept = self._heads.get(learner)
        if kept is None or kept.version != version:
            return None
        return kept.tail()

    def keep(self, streams: Iterable[tuple[str, LearnerStream]]) -> None:
        """Remember streams as a committed write left them (a stream is never changed after this)."""
        with self._lock:
            for learner, stream in streams:
                self._heads.pop(learner, None)
                self._heads[learner] = stream
            while len(self._heads) > self.limit:
                self._heads.popitem(last=False)

    def forget(self) -> None:
        """Forget every kept head."""
        with self._lock:
            self._heads.clear()
