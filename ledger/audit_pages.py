"""An audit's pages, read one ahead: while the audit checks a page, the next one is read, decoded and
opened by the source, and its opened credentials are examined (commitment and issuer proof,
ledger/audit_examine.py) by worker processes (ledger/audit_pool.py), when the audit has any.

What reading a page finds goes into the page's own tally, which the audit takes in when it checks
that page, so findings come in the same order as when each page was read just before its checks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ledger.audit_database import DatabaseSource
from ledger.audit_entries import examines_proof
from ledger.audit_examine import Examined, Task, read_opened
from ledger.audit_pool import ExaminerPool
from ledger.audit_report import Tally
from ledger.audit_source import AuditSource, Opening, Record, with_opening
from ledger.learners import ERASURE

POOL_FROM = 5_000
"""Fewer entries than this are audited in one process: starting workers would cost more than they save."""


def pool_size(entries: int) -> int:
    """How many worker processes an audit of about `entries` entries uses: one a core, none when
    there is only one core or too few entries to be worth starting them.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores if cores > 1 and entries >= POOL_FROM else 0


@dataclass(frozen=True)
class Page:
    """A page of records as the source read it, the id to read on from, what reading it found,
    and what waits for its examinations (None for a record the audit examines itself); waiting for
    them also gives the records whose opening the source deferred their opening, in `records`.
    """

    records: list[Record]
    after: int
    tally: Tally
    examined: Callable[[], list[Examined | None]]


class PageReader:
    """Reads pages from a source, handing each page's opened credentials to the workers at once."""

    def __init__(self, source: AuditSource, head: int, page: int, workers: int) -> None:
        self.source = source
        self.head = head
        self.page = page
        self.pool = ExaminerPool(workers) if workers > 0 else None
        if self.pool is not None and isinstance(source, DatabaseSource):
            source.defer = True  # the workers open credentials' sealed contents too

    def read(self, cursor: int) -> Page:
        """The page of records from notification `cursor` on, its examinations under way."""
        tally = Tally()
        records, after = self.source.records(
            cursor, self.head, page=self.page, registry_only=False, tally=tally
        )
        return Page(records, after, tally, self._examine(records))

    def _examine(self, records: list[Record]) -> Callable[[], list[Examined | None]]:
        places: list[int] = []
        tasks: list[Task] = []
        if self.pool is not None:
            for place, record in enumerate(records):
                task = examination(record)
                if task is not None:
                    places.append(place)
                    tasks.append(task)
        if not tasks or self.pool is None:
            return lambda: [None] * len(records)
        waiting = self.pool.submit(tasks)

        def results() -> list[Examined | None]:
            found: list[Examined | None] = [None] * len(records)
            for place, task, answer in zip(places, tasks, waiting(), strict=True):
                if len(task) == 4:  # opened first: the record gets its opening now
                    plain, problem, examined = answer
                    opening = Opening(problem=problem) if plain is None else Opening(*read_opened(plain))
                    records[place] = with_opening(records[place], opening)
                    found[place] = None if examined is None else Examined(*examined)
                else:
                    found[place] = Examined(*answer)
            return found

        return results

    def close(self, *, at_once: bool = False) -> None:
        """Stop the workers, if any: once their work is done, or `at_once`."""
        if self.pool is not None:
            self.pool.close(at_once=at_once)


def examination(record: Record) -> Task | None:
    """What a worker examines of a record: an opened credential's content and salt, to commit to and
    verify the proof of, or what it needs to open them first (the source deferred that). None for
    everything else, which the audit examines itself when it needs to (registrations: a commitment
    only; entries that do not open are never examined).
    """
    entry, opening = record.entry, record.opening
    if entry is not None and opening is not None and opening.deferred is not None:
        return (*opening.deferred, entry.get("kind") != "registration")
    if not record.learner or entry is None or opening is None or opening.salt is None:
        return None
    if opening.erased or opening.key_problem is not None or opening.problem is not None:
        return None
    if entry.get("kind") == ERASURE or not examines_proof(entry, opening.content):
        return None
    return opening.content, opening.salt, True
