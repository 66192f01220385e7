"""Followers of the event store: each projection reads the notification log in order and records
the position it reached in the same transaction as its view change, so it resumes exactly.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import time
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Protocol

from eventsourcing.persistence import PersistenceError
from eventsourcing.postgres import PostgresApplicationRecorder

from ledger.application import Ledger
from ledger.errors import LedgerError, StorageUnavailable
from ledger.sql import SqlCursor, SqlStore
from projections.batches import BatchReader, Context, DataKeys, collector_paused
from projections.events import Event, EventReader

NAMES = ("portfolio", "registry", "credential_index", "statistics")
REBUILD_BATCH = 3000
"""Events a rebuild transaction on PostgreSQL: six times the follower's 500, so a replay commits and
reads positions and keys a sixth as often."""
SQLITE_REBUILD_BATCH = 10_000
"""Events a rebuild transaction on SQLite, where a commit writes each page it touched of the views'
randomly keyed indexes (the portfolio's and the index's credential ids, the portfolio's learners) to
the WAL, and a checkpoint again, however many rows it put there: the larger the views, the more of
their pages every batch touches. 10,000 events write a third of the pages 3,000 did, and hold the
write lock (reading, decrypting and preparing come before it) for about 0.2-0.4 s."""
SQLITE_REBUILDING = {"cache_size": -65536, "wal_autocheckpoint": 10_000}
"""A rebuild's settings of the SQLite connections it writes with, restored after: a page cache of
64 MiB, not 2, which holds the views' indexes (17 MiB at 100,000 credentials) across batches rather
than reading them back and spilling them to the WAL within one; and a checkpoint every 10,000 WAL
pages, not 1,000, so a page several batches rewrote goes to the database file once. Neither touches
durability or crash safety: each commit is synced as before (synchronous stays FULL), and a rebuild
interrupted leaves its views consistent at the position last committed, which it resumes from."""
PIPELINED = 500
"""Events up to which a batch's statements go in a PostgreSQL pipeline (the follower's batch)."""
_COPY_FROM = 100
"""Rows from which PostgreSQL inserts go by COPY, outside a pipeline."""


class ProjectionsBehind(LedgerError):
    """The views did not reach a write's position within the time allowed."""

    slug = "projections-behind"
    status = 503


class UnknownProjection(LedgerError):
    """No projection has this name."""

    slug = "unknown-projection"
    status = 404


class Insert(NamedTuple):
    """Rows to add to a view table (`ViewCursor.insert_rows`): the table, the columns the rows give,
    and what to do with a row whose key is taken (an ON CONFLICT clause, the table aliased `v`).
    """

    table: str
    columns: tuple[str, ...]
    on_conflict: str = ""


class ViewCursor(SqlCursor):
    """SQL on the view tables inside one transaction."""

    def position(self, name: str, *, for_update: bool = False) -> int:
        """The notification id a projection has reached (locked against other runners if asked)."""
        return self.positions([name], for_update=for_update)[name]

    def positions(self, names: Sequence[str], *, for_update: bool = False) -> dict[str, int]:
        """The notification ids projections have reached, in one query (locked if asked)."""
        lock = " FOR UPDATE" if for_update and self.postgres else ""
        marks = ", ".join("?" * len(names))
        statement = (
            f"SELECT name, position FROM {{p}}projection_positions WHERE name IN ({marks}) ORDER BY name"  # noqa: S608
        )
        found = {row["name"]: int(row["position"]) for row in self.rows(statement + lock, names)}
        return {name: found[name] for name in names}

    def insert_rows(self, insert: Insert, rows: Sequence[Sequence[object]]) -> None:
        """Add rows to a view table (an upsert's rows must not repeat a key).

        An executemany, except for many rows on PostgreSQL: a COPY costs the client a fifth of the CPU
        (~1.3 against ~6.5 ms for 1,000 rows), straight into the table, or, when taken keys are to
        be resolved, into a temporary table an INSERT … SELECT … ON CONFLICT then reads (four
        statements, so not worth it for a follower's few rows).
        """
        table, names, then = f"{{p}}{insert.table}", ", ".join(insert.columns), insert.on_conflict
        if not self.postgres or len(rows) < _COPY_FROM or self.pipelining():
            marks = ", ".join("?" * len(insert.columns))
            self.run_many(f"INSERT INTO {table} AS v ({names}) VALUES ({marks}) {then}", rows)  # noqa: S608
            return
        staged = f"pg_temp.staged_{insert.table}" if then else table
        if then:
            self.run(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staged} (LIKE {table}) ON COMMIT DELETE ROWS")
        self.copy_rows(staged, insert.columns, rows)
        if then:
            self.run(f"INSERT INTO {table} AS v ({names}) SELECT {names} FROM {staged} {then}")  # noqa: S608
            self.run(f"DELETE FROM {staged}")  # noqa: S608 (a second call in the transaction starts empty)

    def run_in_order(self, writes: Iterable[tuple[str | Insert, Sequence[object]]]) -> None:
        """Execute each (statement or Insert, parameters) in order, a run of the same one as one
        executemany or `insert_rows`.
        """
        for statement, run in itertools.groupby(writes, key=operator.itemgetter(0)):
            rows = [params for _, params in run]
            if isinstance(statement, Insert):
                self.insert_rows(statement, rows)
            else:
                self.run_many(statement, rows)

    def set_positions(self, names: Sequence[str], position: int) -> None:
        """Record how far projections have gone."""
        marks = ", ".join("?" * len(names))
        statement = f"UPDATE {{p}}projection_positions SET position = ? WHERE name IN ({marks})"  # noqa: S608
        self.run(statement, (position, *names))


class Projection(Protocol):
    """A read model: a name, the tables it owns, and how a batch of events changes them."""

    name: str
    tables: tuple[str, ...]
    opens_content: bool
    """Whether `prepare` opens sealed content (`Context.content`): only then are data keys read."""

    def prepare(self, events: Sequence[Event], context: Context) -> object:
        """What projecting the events needs that the batch alone tells (decrypted content, rows made
        from it), before the view is locked, while the batch before is written; `project` finds it
        in `context.prepared[name]`.
        """

    def project(self, view: ViewCursor, events: Sequence[Event], context: Context) -> None:
        """Change the view for a batch of events, as applying them one by one in order would (most
        events change nothing); the runner commits it with the position the batch reached.
        """


class Projections:
    """Runs the projections: catch up, wait for a position, rebuild."""

    def __init__(
        self, ledger: Ledger, store: SqlStore[ViewCursor], projections: Sequence[Projection]
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.by_name = {projection.name: projection for projection in projections}
        self.events = EventReader(ledger)

    def projection(self, name: str) -> Projection:
        """The projection called `name`."""
        try:
            return self.by_name[name]
        except KeyError:
            raise UnknownProjection(
                f"no projection is called {name!r}; there are {sorted(self.by_name)}"
            ) from None

    def _run_together(
        self,
        names: Sequence[str],
        reader: BatchReader,
        limit: int,
        stop: int | None,
        position: int,
        *,
        settings: Sequence[str],
    ) -> int:
        """Apply the next events to projections standing at `position`, reading and decoding them
        once, in one transaction (begun with the `settings` statements); return the events read.
        Each records its own position.
        """
        projections = [self.projection(name) for name in names]
        try:
            events, context = reader.read(position, limit, stop, projections)
            if context is None:
                return 0
            with self.store.writing() as view:
                for statement in settings:
                    view.run(statement)
                for now in view.positions(names, for_update=True).values():
                    if now != position:
                        return len(events)  # another runner got there first; read again
                # A follower's batch sends its statements in a pipeline; a larger batch's many rows go
                # by COPY instead, which a pipeline cannot carry.
                with view.pipelined() if len(events) <= PIPELINED else contextlib.nullcontext():
                    for projection in projections:
                        projection.project(view, events, context)
                view.set_positions(names, events[-1].position)
                return len(events)
        except PersistenceError as error:
            raise StorageUnavailable(f"the views cannot be written: {error}") from error

    def catch_up(
        self,
        names: Sequence[str] = (),
        *,
        batch: int = 500,
        stop: int | None = None,
        progress: Callable[[int], None] = lambda _: None,
        settings: Sequence[str] = (),
    ) -> int:
        """Run projections (all by default) until nothing is pending (or `stop` is reached); return
        the events read. Projections at the same position advance together on one read of the events,
        and on PostgreSQL while a full batch is written the next is read. Each write transaction
        begins with the `settings` statements (a rebuild's SQLite pragmas).
        """
        total = 0
        pending = list(names or self.by_name)
        for name in pending:
            self.projection(name)
        postgres = isinstance(self.ledger.recorder, PostgresApplicationRecorder)
        reader = BatchReader(self.events, DataKeys(self.ledger), ahead=postgres)
        try:
            while pending:
                positions = self.positions()
                lowest = min(positions[name] for name in pending)
                together = [name for name in pending if positions[name] == lowest]
                with collector_paused():
                    read = self._run_together(together, reader, batch, stop, lowest, settings=settings)
                if not read:
                    pending = [name for name in pending if name not in together]
                    continue
                total += read
                progress(read)
        finally:
            reader.close()
        return total

    def positions(self) -> dict[str, int]:
        """How far each projection has gone."""
        with self.store.reading() as view:
            return view.positions(list(self.by_name))

    def wait_until(self, position: int, timeout: float = 5.0) -> None:
        """Return once every projection has reached `position`; ProjectionsBehind after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            behind = {name: at for name, at in self.positions().items() if at < position}
            if not behind:
                return
            if time.monotonic() >= deadline:
                raise ProjectionsBehind(
                    f"the views had not reached position {position} after {timeout:g} s "
                    f"(at {behind}); is the projection follower running?"
                )
            time.sleep(0.02)

    def rebuild(
        self, *names: str, batch: int | None = None, progress: Callable[[int], None] = lambda _: None
    ) -> int:
        """Empty projections' tables (all by default) and replay the whole event store into them,
        in one pass when there are several, `batch` events a transaction (by default
        `SQLITE_REBUILD_BATCH` on SQLite, with `SQLITE_REBUILDING`'s settings, else `REBUILD_BATCH`).
        """
        chosen = [self.projection(name) for name in names or list(self.by_name)]
        rebuilding = {} if self.store.postgres else SQLITE_REBUILDING
        settings = [f"PRAGMA {name} = {value}" for name, value in rebuilding.items()]
        with self.store.writing() as view:
            before = {name: int(view.rows(f"PRAGMA {name}")[0][0]) for name in rebuilding}
            for statement in settings:
                view.run(statement)
            for projection in chosen:
                view.position(projection.name, for_update=True)
                for table in projection.tables:
                    view.run(f"DELETE FROM {{p}}{table}")  # noqa: S608 (table names are constants)
                view.set_positions([projection.name], 0)
        chosen_names = [projection.name for projection in chosen]
        if batch is None:
            batch = REBUILD_BATCH if self.store.postgres else SQLITE_REBUILD_BATCH
        try:
            return self.catch_up(chosen_names, batch=batch, progress=progress, settings=settings)
        finally:
            if before:
                with self.store.writing() as view:
                    for name, value in before.items():
                        view.run(f"PRAGMA {name} = {value}")
                    # A write, so that its commit checkpoints what the larger interval left in the WAL.
                    view.run(
                        "UPDATE {p}projection_positions SET position = position WHERE name = ?",
                        (chosen_names[0],),
                    )
