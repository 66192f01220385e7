"""Work for the ledger's worker thread, handed over a chunk at a time and read back in order.

The worker runs C calls that release the GIL (Ed25519 in libsodium), but between two of them it
needs the GIL for a few microseconds of Python. A thread busy in Python hands the GIL over only
when it blocks or when the switch interval (5 ms) forces it, so the worker would make one step
per 5 ms; the thread adding items therefore gives the GIL up for a moment after each item while
the worker has work, which lets the worker run one step and start its next C call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNK = 32
"""Items per task: enough to make a task's overhead small, few enough that the worker starts
while the items are still being added."""


class Chunked(Generic[T, R]):
    """Items for `function` on the worker thread, a chunk per task; results in the items' order."""

    def __init__(self, worker: ThreadPoolExecutor, function: Callable[[list[T]], list[R]]) -> None:
        self.worker = worker
        self.function = function
        self.items: list[T] = []
        self.tasks: list[Future[list[R]]] = []

    def add(self, item: T) -> None:
        """Queue one item; hand a full chunk to the worker, and give the worker the GIL if it is busy."""
        self.items.append(item)
        if len(self.items) == CHUNK:
            self._submit()
        elif self.tasks and not self.tasks[-1].done():
            time.sleep(0)  # releases the GIL: the worker's next step runs, then its C call frees it

    def results(self) -> Iterator[R]:
        """Each item's result, in order, as its chunk finishes."""
        if self.items:
            self._submit()
        for task in self.tasks:
            yield from task.result()

    def _submit(self) -> None:
        self.tasks.append(self.worker.submit(self.function, self.items))
        self.items = []
