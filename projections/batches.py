"""What projecting a batch of events needs from the ledger besides the events: the learners' data keys
and the credentials their entries seal, opened; and a reader that reads the next batch while the
current one is written.
"""

from __future__ import annotations

import binascii
import concurrent.futures
import contextlib
import gc
import threading
from collections.abc import Collection, Iterator, Sequence
from typing import Any, NamedTuple, Protocol

import orjson
import pybase64

from ledger.application import Ledger
from ledger.sealing import DataKey, SealBroken
from ledger.storage import LearnerKeyRow
from projections.events import Event, EventReader


class Preparing(Protocol):
    """A projection as the batch reader sees it (`runner.Projection`)."""

    name: str
    opens_content: bool

    def prepare(self, events: Sequence[Event], context: Context) -> object:
        """What projecting the events needs that the batch alone tells (`Projection.prepare`)."""


class DataKeys:
    """Learners' data keys for the batches of one catch-up or rebuild (`Ledger.data_keys`, with its
    unwrapped keys remembered across the batches: ~5 us a learner a batch, which in a rebuild of
    many learners came to once a credential)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._unwrapped: dict[LearnerKeyRow, DataKey] = {}
        self._last: dict[str, DataKey | None] = {}
        """Each learner's key as last read (None: gone then)."""

    def read(self, learners: Collection[str]) -> dict[str, DataKey]:
        """The learners' data keys; learners whose key is gone (or does not unwrap) absent."""
        keys = self._ledger.data_keys(learners, self._unwrapped)
        self._last.update((learner, keys.get(learner)) for learner in learners)
        return keys

    def last_read(self, learners: Collection[str]) -> dict[str, DataKey]:
        """The learners' data keys as last read, only those never read read now: for a batch read
        ahead, whose keys are read again before it is written (`Context.read_keys_again`).
        """
        unread = [learner for learner in learners if learner not in self._last]
        keys = self.read(unread) if unread else {}
        for learner in learners:
            key = self._last.get(learner)
            if key is not None:
                keys[learner] = key
        return keys


class Context:
    """What projecting one batch needs from the ledger, read before the batch's write transaction
    opens (a second connection inside it would deadlock SQLite's pool): the data keys of the learners
    whose entries seal content, that content decrypted when asked, and what each projection prepares
    from the batch alone (`Projection.prepare`).
    """

    def __init__(
        self,
        keys: DataKeys,
        events: Sequence[Event],
        projections: Sequence[Preparing],
        *,
        ahead: bool = False,
    ) -> None:
        self._sealing = keys
        self._events = events
        self._projections = projections
        # Keys are read (a query a batch) only when a projection opens content.
        self._opens = any(projection.opens_content for projection in projections)
        learners: set[str] = set()
        for event in events if self._opens else ():
            entry = event.fields.get("entry")
            learner = entry.get("learner") if isinstance(entry, dict) else None
            if learner and "sealed" in event.fields:
                learners.add(learner)
        self._learners = learners
        # One query for the batch, not one per learner; a destroyed key is simply absent. A batch read
        # ahead takes the keys as last read (a rebuild reads each learner's every batch): they are read
        # again before it is written.
        self._keys: dict[str, DataKey] = (
            (keys.last_read if ahead else keys.read)(learners) if learners else {}
        )
        self.prepared: dict[str, object] = {}
        """What each projection prepared, by name."""
        self._prepare()

    def _prepare(self) -> None:
        self.prepared = {
            projection.name: projection.prepare(self._events, self) for projection in self._projections
        }

    def content(self, event: Event) -> dict[str, Any] | None:
        """The credential a recorded entry seals, or None when the learner's key is gone: opened anew
        each call, not kept (a batch's contents, kept until it was written, cost ~8 % of a rebuild's CPU
        to free then rather than as each was read).
        """
        if not self._opens:
            raise RuntimeError("no projection of this batch said it opens content: no keys were read")
        learner: str = event.fields["entry"].get("learner", "")
        data_key = self._keys.get(learner)
        content: dict[str, Any] | None = None
        if data_key is not None:
            try:
                sealed = _unbase64(event.fields["sealed"])
                content = orjson.loads(data_key.open(learner, sealed))["content"]
            except SealBroken:
                pass
        return content

    def read_keys_again(self) -> None:
        """Read the wrapped keys again, for a batch read ahead (before the batch before it committed):
        when a key an erasure has since destroyed (or that changed) opened content, the batch is
        prepared again with the keys read now.
        """
        keys = self._sealing.read(self._learners) if self._learners else {}
        stale = any(keys.get(learner) is not self._keys.get(learner) for learner in self._learners)
        self._keys = keys
        if stale:
            self._prepare()


def _unbase64(text: str) -> bytes:
    """The bytes base64 `text` spells, as binascii.a2b_base64 (what base64.b64decode calls) reads
    them: pybase64's SIMD decoder (a sealed credential's ~1,400 characters in 3 us, not 13), strict,
    and a2b_base64 itself for text that is not plain base64 (characters it skips, missing padding).
    """
    try:
        return pybase64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or not ASCII: a2b_base64 to accept or refuse it
        return binascii.a2b_base64(text)


class _CollectorPause:
    """Pauses the cyclic garbage collector while any batch is being read or written, in either thread.

    A batch keeps ~10^4 dicts alive at once (decoded events, items) and frees them by reference
    counting alone; with the collector on, it ran every 700 allocations and walked them again and
    again: 20-25 % of a rebuild's CPU. Counted, since the read-ahead thread's batch and the writer's
    overlap: the collector resumes (if it ran before) when the last of them ends, and the next
    allocation starts one collection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if not self._holders:
                self._resume = gc.isenabled()  # paused by the caller: left so
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if not self._holders and self._resume:
                    gc.enable()


collector_paused = _CollectorPause()


class Batch(NamedTuple):
    """Events read after a position, and their context (None when there are no events)."""

    events: list[Event]
    context: Context | None


class BatchReader:
    """Reads batches of events with their context; with `ahead`, after a full batch, reads the next
    in a thread while the caller writes this one, so reading, decoding, decrypting and preparing
    overlap the writer's waits on PostgreSQL (its work on the rows sent).

    Not on SQLite, whose steps leave the two threads mostly contending for the GIL: a quick rebuild
    of all four there ran 22.6k/24.2k/21.6k events/s with it against 30.2k/26.2k/29.6k without
    (alternated, one machine, one minute).
    """

    def __init__(self, events: EventReader, keys: DataKeys, *, ahead: bool) -> None:
        self._events = events
        self._keys = keys
        self._read_ahead = ahead
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._ahead: tuple[tuple[object, ...], concurrent.futures.Future[Batch]] | None = None

    def read(self, start: int, limit: int, stop: int | None, projections: Sequence[Preparing]) -> Batch:
        """Up to `limit` events after position `start` (none after `stop`) and their context, prepared
        for `projections`; when they are `limit`, the following batch is read meanwhile.
        """
        wanted = (start, limit, stop, tuple(projections))
        if self._ahead is not None and self._ahead[0] == wanted:
            batch = self._ahead[1].result()
            if batch.context is not None:
                batch.context.read_keys_again()
        else:
            batch = self._read(*wanted)
        self._ahead = None
        if self._read_ahead and len(batch.events) == limit:
            following = (batch.events[-1].position, limit, stop, tuple(projections))
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="projections-read")
            self._ahead = (following, self._pool.submit(self._read, *following, ahead=True))
        return batch

    def _read(
        self,
        start: int,
        limit: int,
        stop: int | None,
        projections: Sequence[Preparing],
        *,
        ahead: bool = False,
    ) -> Batch:
        if stop is not None and start >= stop:
            return Batch([], None)
        with collector_paused():
            events = self._events.read(start + 1, limit, stop)
            return Batch(events, Context(self._keys, events, projections, ahead=ahead) if events else None)

    def close(self) -> None:
        """Stop reading ahead (a batch being read is finished and dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._ahead = None
