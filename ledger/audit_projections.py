"""The projection check of an audit: every read model rebuilt into a scratch SQLite database (never
into the live views, which a running ledger keeps serving) and compared row by row with a snapshot
of the live views, each projection rebuilt exactly as far as its live view had read.

The snapshot (positions and rows) is taken in one read transaction (REPEATABLE READ on PostgreSQL),
copied page by page into the scratch folder, and compared there with SQL, so memory stays bounded;
the scratch folder is deleted afterwards.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from ledger.application import Ledger
from ledger.audit_report import Tally
from ledger.errors import LedgerError
from ledger.migrations import MIGRATIONS_DIR

VIEW_SCHEMA = MIGRATIONS_DIR / "sqlite" / "0003_projections.sql"
"""The view tables as the SQLite migrations create them (a migration changing them belongs here too)."""


class ProjectionViews(Protocol):
    """What the audit uses of projections.runner.Projections (imports point one way: ledger cannot
    import projections, so the read models are passed in)."""

    def __init__(self, ledger: Ledger, store: Any, projections: Sequence[Any]) -> None: ...

    @property
    def store(self) -> Any:
        """The live views' store: `reading()` yields cursors of `store.cursor_type`."""

    @property
    def by_name(self) -> Mapping[str, Any]:
        """Each projection (with `tables` and `apply`) by name."""

    def catch_up(
        self,
        names: Sequence[str] = (),
        *,
        batch: int = 500,
        stop: int | None = None,
        progress: Callable[[int], None] = ...,
    ) -> int:
        """Apply pending events to the named projections up to `stop`."""


class ScratchStore:
    """A throwaway SQLite database with the view tables, shaped like the live views' store."""

    postgres = False
    schema = ""

    def __init__(
        self, folder: Path, cursor_type: Callable[[Any, bool, str], Any], names: Sequence[str]
    ) -> None:
        self.cursor_type = cursor_type
        self.connection = sqlite3.connect(folder / "rebuilt.sqlite3", isolation_level=None)
        self.connection.row_factory = sqlite3.Row
        self.connection.execute("PRAGMA temp_store = FILE")
        self.connection.executescript(VIEW_SCHEMA.read_text(encoding="utf-8"))
        for name in names:
            self.connection.execute("INSERT OR IGNORE INTO projection_positions VALUES (?, 0)", (name,))
        self.connection.execute("ATTACH DATABASE ? AS live", (str(folder / "live.sqlite3"),))

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A cursor on the scratch database."""
        yield self.cursor_type(self.connection.cursor(), False, "")

    @contextmanager
    def writing(self) -> Iterator[Any]:
        """A write transaction on the scratch database."""
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield self.cursor_type(cursor, False, "")
        except BaseException:
            self.connection.rollback()
            raise
        self.connection.commit()

    def columns(self, table: str) -> tuple[list[str], list[str]]:
        """A view table's columns, and its primary key's columns in key order."""
        info = self.connection.execute(f"PRAGMA main.table_info({table})").fetchall()
        keys = sorted((row["pk"], row["name"]) for row in info if row["pk"])
        return [row["name"] for row in info], [name for _, name in keys]


def compare_projections(ledger: Ledger, views: ProjectionViews, tally: Tally, page: int) -> dict[str, int]:
    """Rebuild every projection into a scratch database and report each row that differs from the
    live one; return how far each live view had read (the rebuild goes exactly as far).
    """
    with tempfile.TemporaryDirectory(prefix="ledger-audit-") as folder:
        scratch = ScratchStore(Path(folder), views.store.cursor_type, list(views.by_name))
        try:
            tables = [table for projection in views.by_name.values() for table in projection.tables]
            positions = _snapshot(views, scratch, tables, page)
            rebuilt = type(views)(ledger, scratch, list(views.by_name.values()))
            for name, position in positions.items():
                try:
                    rebuilt.catch_up([name], batch=page, stop=position)
                except LedgerError:
                    raise
                except Exception as error:  # a tampered event can break a projection anywhere
                    tally.add(
                        "projection",
                        f"the {name} projection cannot be rebuilt from the stored events: {error}",
                    )
                    continue
                for table in views.by_name[name].tables:
                    _compare(scratch, table, tally)
        finally:
            scratch.connection.close()
    return positions


def _snapshot(
    views: ProjectionViews, scratch: ScratchStore, tables: Sequence[str], page: int
) -> dict[str, int]:
    """Copy the live views' positions and rows into the scratch folder, in one read transaction."""
    with views.store.reading() as view:
        if view.postgres:
            view.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        positions = {name: view.position(name) for name in views.by_name}
        for table in tables:
            columns, keys = scratch.columns(table)
            create = f"CREATE TABLE live.{table} AS SELECT * FROM main.{table} WHERE 0"  # noqa: S608
            scratch.connection.execute(create)
            listed, ordered = ", ".join(columns), ", ".join(keys)
            insert = f"INSERT INTO live.{table} ({listed}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
            after: tuple[Any, ...] | None = None
            while True:
                where = f"WHERE ({ordered}) > ({', '.join('?' * len(keys))}) " if after is not None else ""
                rows = view.rows(
                    f"SELECT {listed} FROM {{p}}{table} {where}ORDER BY {ordered} LIMIT ?",  # noqa: S608
                    (*(after or ()), page),
                )
                scratch.connection.executemany(
                    insert, [tuple(row[column] for column in columns) for row in rows]
                )
                if len(rows) < page:
                    break
                after = tuple(rows[-1][key] for key in keys)
    return positions


def _compare(scratch: ScratchStore, table: str, tally: Tally) -> None:
    """Report each row of one view table that the live view and the rebuild do not share."""
    connection = scratch.connection
    columns, keys = scratch.columns(table)
    listed = ", ".join(columns)
    match = " AND ".join(f"{key} IS ?" for key in keys)
    count = connection.execute(f"SELECT COUNT(*) FROM live.{table}").fetchone()[0]  # noqa: S608
    tally.count("projection-rows", int(count))
    only_live = f"SELECT {listed} FROM live.{table} EXCEPT SELECT {listed} FROM main.{table}"  # noqa: S608
    for row in connection.execute(only_live):
        key = tuple(row[name] for name in keys)
        other = connection.execute(f"SELECT {listed} FROM main.{table} WHERE {match}", key).fetchone()  # noqa: S608
        if other is None:
            what = "is in the live view, but a rebuild does not produce it"
        else:
            differ = [
                f"{name} is {row[name]!r}, a rebuild gives {other[name]!r}"
                for name in columns
                if row[name] != other[name]
            ]
            what = "differs: " + "; ".join(differ)
        _report(tally, table, keys, row, what)
    only_rebuilt = (
        f"SELECT {listed} FROM main.{table} AS r WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM live.{table} AS l WHERE {' AND '.join(f'l.{key} IS r.{key}' for key in keys)})"
    )
    for row in connection.execute(only_rebuilt):
        _report(tally, table, keys, row, "is missing from the live view")


def _report(tally: Tally, table: str, keys: Sequence[str], row: sqlite3.Row, what: str) -> None:
    named = ", ".join(f"{key}={row[key]!r}" for key in keys)
    columns = row.keys()  # `in row` would look among the values
    stream = next((row[name] for name in ("learner", "organisation") if name in columns), None)
    seq = row["seq"] if "seq" in columns and isinstance(row["seq"], int) else None
    tally.add("projection", f"{table} row ({named}) {what}", stream=stream, seq=seq)
