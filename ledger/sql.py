"""SQL on the ledger's own tables through the event store's connection pool, the same on both backends.

Statements are written with `?` placeholders and `{p}` before each table name; on PostgreSQL the
placeholders become `%s` and `{p}` the schema, on SQLite `{p}` disappears.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Generic, TypeVar, cast

from eventsourcing.persistence import ApplicationRecorder, InterfaceError, OperationalError, PersistenceError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg import InterfaceError as PsycopgInterfaceError
from psycopg import OperationalError as PsycopgOperationalError
from psycopg import pq
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ledger.errors import StorageUnavailable

READ_ATTEMPTS = 10
"""Tries of `SqlStore.read_rows` on PostgreSQL, 0.2 s apart, as the library tries its own reads (a pooled
connection the server closed is replaced, and an absent database waited for ~12 s before a 503)."""


def postgres_text(statement: str, prefix: str) -> str:
    """A statement written for both backends as PostgreSQL reads it: `{p}` the schema prefix, `?` `%s`."""
    return statement.replace("{p}", prefix).replace("?", "%s")


class SqlCursor:
    """A cursor inside one transaction that speaks both SQL dialects."""

    def __init__(self, cursor: Any, postgres: bool, schema: str) -> None:
        self._cursor = cursor
        self.postgres = postgres
        self._prefix = f'"{schema}".' if postgres else ""

    def run(self, statement: str, params: Sequence[object] = ()) -> None:
        """Execute one statement."""
        text = postgres_text(statement, self._prefix) if self.postgres else statement.replace("{p}", "")
        self._cursor.execute(text, params)

    def pipelined(self) -> AbstractContextManager[object]:
        """On PostgreSQL, send statements without waiting for each answer until one is read (psycopg
        pipeline mode: an error still surfaces before the transaction commits); nothing on SQLite.
        """
        if self.postgres:
            return cast(AbstractContextManager[object], self._cursor.connection.pipeline())
        return nullcontext()

    def pipelining(self) -> bool:
        """Whether statements are being pipelined (PostgreSQL pipeline mode, where COPY is refused)."""
        return self.postgres and self._cursor.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """PostgreSQL, outside pipeline mode: write rows into `table` (`{p}` before its name) by COPY."""
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN".replace("{p}", self._prefix)
        with self._cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def run_many(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        """Execute one statement for each of many rows (psycopg pipelines them: no round trip each)."""
        if not rows:
            return
        text = postgres_text(statement, self._prefix) if self.postgres else statement.replace("{p}", "")
        self._cursor.executemany(text, rows)

    def rows(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        """Execute one query; rows are indexable by column name."""
        self.run(statement, params)
        return list(self._cursor.fetchall())

    def binary_rows(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        """`rows`, with PostgreSQL sending the results in binary: a bytea as its bytes, not as hex text
        the client decodes (2,000 stored events: client CPU 12 -> 3 ms, wall 32 -> 11 ms).
        """
        if not self.postgres:
            return self.rows(statement, params)
        self._cursor.execute(postgres_text(statement, self._prefix), params, binary=True)
        return list(self._cursor.fetchall())


CursorT = TypeVar("CursorT", bound=SqlCursor)


class SqlStore(Generic[CursorT]):
    """Read and write transactions on the event store's database, yielding `cursor_type` cursors."""

    def __init__(self, recorder: ApplicationRecorder, schema: str, cursor_type: type[CursorT]) -> None:
        self.recorder = recorder
        self.postgres = isinstance(recorder, PostgresApplicationRecorder)
        self.schema = schema
        self.cursor_type = cursor_type

    @contextmanager
    def writing(self) -> Iterator[CursorT]:
        """A write transaction, committed when the block ends and rolled back if it raises.

        On SQLite it takes the database's write lock at once (BEGIN IMMEDIATE), so what it reads
        cannot change before it writes; on PostgreSQL lock rows with SELECT … FOR UPDATE.
        """
        if isinstance(self.recorder, PostgresApplicationRecorder):
            with self.recorder.datastore.transaction(commit=True) as cursor:
                yield self.cursor_type(cursor, True, self.schema)
            return
        assert isinstance(self.recorder, SQLiteApplicationRecorder)
        with self.recorder.datastore.get_connection(commit=True) as connection:
            sqlite_cursor = connection.cursor()
            sqlite_cursor.execute("BEGIN IMMEDIATE")
            try:
                yield self.cursor_type(sqlite_cursor, False, self.schema)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    @contextmanager
    def reading(self) -> Iterator[CursorT]:
        """A read-only transaction: one consistent view."""
        with self.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
            yield self.cursor_type(cursor, self.postgres, self.schema)

    @contextmanager
    def one_statement(self) -> Iterator[CursorT]:
        """A cursor for one read statement: on PostgreSQL outside a transaction (the pool's connections
        commit each statement), one round trip where BEGIN, the query and ROLLBACK take three, and a
        single statement sees one snapshot anyway; on SQLite the same as `reading`.
        """
        if not self.postgres:
            with self.reading() as cursor:
                yield cursor
            return
        with self.recorder.datastore.get_connection() as connection:  # type: ignore[attr-defined]
            yield self.cursor_type(connection.cursor(), True, self.schema)

    def read_rows(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        """One read statement's rows, outside a transaction: on PostgreSQL by `one_statement`, tried again
        as the library tries its own reads; StorageUnavailable when the database cannot be read.
        """
        if not self.postgres:
            return self._sqlite_rows(statement, params)
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                with self.one_statement() as cursor:
                    return cursor.rows(statement, params)
            except (InterfaceError, OperationalError) as error:
                if attempt == READ_ATTEMPTS:
                    raise StorageUnavailable(f"the database cannot be read: {error}") from error
                time.sleep(0.2)
            except PersistenceError as error:
                raise StorageUnavailable(f"the database cannot be read: {error}") from error
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _sqlite_rows(self, statement: str, params: Sequence[object]) -> list[Any]:
        """One statement on a pooled SQLite connection as it is, in autocommit mode: a single statement
        reads one snapshot by itself, and without BEGIN and ROLLBACK a read costs ~40 us, not ~90.
        """
        assert isinstance(self.recorder, SQLiteApplicationRecorder)
        datastore = self.recorder.datastore
        try:
            with datastore.get_connection(commit=False) as connection, connection.cursor() as raw:
                return self.cursor_type(raw, False, self.schema).rows(statement, params)
        except (sqlite3.Error, PersistenceError) as error:
            raise StorageUnavailable(f"the database cannot be read: {error}") from error


class AsyncReads:
    """Read statements on PostgreSQL from an event loop, without a thread: psycopg's async pool on the
    event store's own connection settings, each read tried again as `SqlStore.read_rows` tries.

    A read on a worker thread cost a verification a third of its CPU under load (the hop, and the
    GIL contended by the thread and the loop); here a database that is away holds only the
    coroutines waiting on it, never the loop.
    """

    def __init__(self, store: SqlStore[Any], size: int = 4) -> None:
        assert isinstance(store.recorder, PostgresApplicationRecorder)
        self.prefix = f'"{store.schema}".'
        settings = cast(dict[str, Any], store.recorder.datastore.pool.kwargs)  # the library's, as given
        kwargs = {**settings, "row_factory": dict_row, "autocommit": True}
        self.pool = AsyncConnectionPool(kwargs=kwargs, min_size=1, max_size=size, open=False, timeout=1)

    async def open(self) -> None:
        """Start the pool (it connects in the background: a database that is away is waited for)."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        """Close the pool's connections."""
        await self.pool.close()

    async def rows(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        """One read statement's rows (`?` placeholders, `{p}` before table names); StorageUnavailable
        when the database cannot be read after READ_ATTEMPTS tries 0.2 s apart."""
        text = postgres_text(statement, self.prefix)
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                async with self.pool.connection() as connection:
                    cursor = await connection.execute(text, params)
                    return await cursor.fetchall()
            except (PsycopgInterfaceError, PsycopgOperationalError) as error:  # PoolTimeout is one too
                if attempt == READ_ATTEMPTS:
                    raise StorageUnavailable(f"the database cannot be read: {error}") from error
                await asyncio.sleep(0.2)
        raise AssertionError("unreachable: the last attempt returns or raises")
