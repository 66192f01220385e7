"""Applies the SQL files in migrations/<backend>/ in name order, each once, each in a transaction.

A small runner rather than a migration framework: the ledger has a handful of plain SQL files
per backend, and the runner must share the ledger's own URL parsing and PostgreSQL schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import psycopg
from psycopg import sql

from ledger.errors import StorageUnavailable
from ledger.storage import Database

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
_ADVISORY_LOCK = 0x1ED6E5  # serialises concurrent `ledger migrate` runs on PostgreSQL


def available_migrations(backend: str) -> list[Path]:
    """The migration files for a backend, in the order they apply."""
    return sorted((MIGRATIONS_DIR / backend).glob("*.sql"))


def pending_migrations(database: Database) -> list[str]:
    """Names of the migrations not yet applied to the database."""
    applied = set(_applied(database))
    return [path.name for path in available_migrations(database.backend) if path.name not in applied]


def apply_migrations(database: Database, on_apply: Callable[[str], None] = lambda _: None) -> list[str]:
    """Apply every pending migration; return the names applied. Each is all-or-nothing."""
    done: list[str] = []
    for path in available_migrations(database.backend):
        if _apply_one(database, path):
            on_apply(path.name)
            done.append(path.name)
    return done


def ensure_schema(database: Database) -> None:
    """Create the PostgreSQL schema the ledger lives in, when it is missing."""
    if database.backend == "postgresql":
        with _postgres(database) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(database.schema)))


def _applied(database: Database) -> list[str]:
    """The migrations applied so far (none when the bookkeeping table does not exist yet)."""
    if database.backend == "sqlite":
        with closing(_sqlite(database)) as conn:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ledger_migrations'").fetchone():
                return []
            return [row[0] for row in conn.execute("SELECT name FROM ledger_migrations")]
    with _postgres(database) as conn:
        if conn.execute("SELECT to_regclass('ledger_migrations')").fetchone() == (None,):
            return []
        return [str(row[0]) for row in conn.execute("SELECT name FROM ledger_migrations")]


def _apply_one(database: Database, path: Path) -> bool:
    script = path.read_text(encoding="utf-8")
    if database.backend == "sqlite":
        return _apply_sqlite(database, path.name, script)
    return _apply_postgres(database, path.name, script)


def _apply_sqlite(database: Database, name: str, script: str) -> bool:
    with closing(_sqlite(database)) as conn:
        _sqlite_bookkeeping(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM ledger_migrations WHERE name = ?", (name,)).fetchone():
                conn.execute("ROLLBACK")
                return False
            for statement in _sqlite_statements(script):
                conn.execute(statement)
            conn.execute("INSERT INTO ledger_migrations (name) VALUES (?)", (name,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return True


def _apply_postgres(database: Database, name: str, script: str) -> bool:
    with _postgres(database) as conn, conn.transaction():
        _postgres_bookkeeping(conn)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK,))
        if conn.execute("SELECT 1 FROM ledger_migrations WHERE name = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL(script))  # a file of the project, never user input
        conn.execute("INSERT INTO ledger_migrations (name) VALUES (%s)", (name,))
        return True


def _sqlite_statements(script: str) -> list[str]:
    """Split a script into complete statements (sqlite3.complete_statement knows triggers)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current)
            current = ""
    leftover = [line for line in current.splitlines() if line.strip() and not line.strip().startswith("--")]
    if leftover:
        raise ValueError(f"incomplete SQL statement at the end of a migration: {leftover[0]!r}")
    return statements


def _sqlite(database: Database) -> sqlite3.Connection:
    try:
        return sqlite3.connect(database.env["SQLITE_DBNAME"], isolation_level=None, timeout=30)
    except sqlite3.Error as error:
        raise StorageUnavailable(f"cannot open the SQLite database: {error}") from error


def _sqlite_bookkeeping(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS ledger_migrations (name TEXT PRIMARY KEY, "
        "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
    )


def _postgres(database: Database) -> psycopg.Connection[tuple[object, ...]]:
    try:
        conn = psycopg.connect(database.url, connect_timeout=5, autocommit=True)
    except psycopg.Error as error:
        raise StorageUnavailable(f"cannot reach PostgreSQL: {error}") from error
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(database.schema)))
    return conn


def _postgres_bookkeeping(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS ledger_migrations "
        "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
