"""Storage on SQLite and PostgreSQL: append-only events, migrations, and what opening refuses."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from psycopg import sql

from ledger import bootstrap, errors
from ledger.application import Ledger
from ledger.migrations import pending_migrations
from ledger.settings import Settings
from tests.conftest import POSTGRES_URL, Backend


def raw_execute(backend: Backend, statement: str) -> None:
    """Run SQL straight against the database, as a malicious operator would."""
    if backend.name == "sqlite":
        conn = sqlite3.connect(backend.settings.data_dir / "ledger.sqlite3", isolation_level=None)
        try:
            conn.execute(statement)
        finally:
            conn.close()
        return
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(backend.schema or "public")))
        conn.execute(statement.encode())


@pytest.mark.parametrize("statement", ["UPDATE {t} SET topic = 'x'", "DELETE FROM {t}"])
def test_the_event_table_refuses_update_and_delete(
    backend: Backend, ledger: Ledger, learner: str, statement: str
) -> None:
    table = bootstrap.database_of(backend.settings).events_table
    before = ledger.recorder.max_notification_id()
    with pytest.raises((sqlite3.DatabaseError, psycopg.Error), match="append-only"):
        raw_execute(backend, statement.format(t=table))
    assert ledger.recorder.max_notification_id() == before
    assert ledger.read_stream(learner).findings == []


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_postgres_refuses_truncate(backend: Backend, ledger: Ledger, learner: str) -> None:
    with pytest.raises(psycopg.Error, match="append-only"):
        raw_execute(backend, "TRUNCATE ledger_events")


def test_migrations_are_applied_once(backend: Backend) -> None:
    database = bootstrap.database_of(backend.settings)
    assert pending_migrations(database) == []
    assert bootstrap.migrate(backend.settings) == []


def test_opening_an_unmigrated_database_is_refused(backend: Backend, tmp_path: object) -> None:
    if backend.name == "sqlite":
        fresh = backend.settings.data_dir / "fresh"
        settings = Settings(data_dir=fresh, master_key=backend.settings.master_key)
        with pytest.raises(errors.ConfigurationError, match="ledger init"):
            bootstrap.open_ledger(settings)
        fresh.mkdir()
        sqlite3.connect(fresh / "ledger.sqlite3").close()
        schema = None
    else:
        schema = f"{backend.schema}_fresh"
        settings = backend.settings.model_copy(update={"database_schema": schema})
    with pytest.raises(errors.ConfigurationError, match="ledger migrate"):
        bootstrap.open_ledger(settings)
    if schema:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_a_second_connection_sees_the_same_ledger(backend: Backend, ledger: Ledger, learner: str) -> None:
    other = backend.open()
    try:
        assert other.read_stream(learner).items[0].entry == ledger.read_stream(learner).items[0].entry
    finally:
        other.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_read_survives_the_server_closing_its_pooled_connection(backend: Backend, ledger: Ledger) -> None:
    store = ledger.erasures.store
    assert store.read_rows("SELECT pg_backend_pid() AS pid")[0]["pid"] > 0
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = ''"
        ).fetchone()
    assert killed is not None and killed[0] > 0
    assert store.read_rows("SELECT 1 AS one") == [{"one": 1}]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_sqlite_read_sees_the_latest_commit_and_refuses_plainly(backend: Backend, ledger: Ledger) -> None:
    store = ledger.erasures.store
    statement = "SELECT count(*) AS n FROM erasure_requests"
    before = store.read_rows(statement)[0]["n"]
    ledger.erasures.request(ledger, ledger.register_learner("1000000019", "Ifan Rees", "2004-02-02"))
    assert store.read_rows(statement)[0]["n"] == before + 1
    # sqlite3's own error, raised outside the library's transaction, still reaches callers as a 503's
    with pytest.raises(errors.StorageUnavailable, match="cannot be read: no such table"):
        store.read_rows("SELECT * FROM no_such_table")
