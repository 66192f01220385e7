"""Storage on SQLite and PostgreSQL: append-only events, migrations, and what opening refuses."""

from __future__ import annotations

import asyncio
import sqlite3

import psycopg
import pytest
from psycopg import sql

from ledger import bootstrap, errors
from ledger import sql as ledger_sql
from ledger.application import Ledger
from ledger.migrations import pending_migrations
from ledger.settings import Settings
from ledger.sql import AsyncReads
from tests.conftest import POSTGRES_URL, Backend
from tests.e2e.served import free_port


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


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_async_reads_answer_as_the_sync_ones_and_survive_a_killed_connection(
    backend: Backend, ledger: Ledger
) -> None:
    erased, kept = (
        ledger.register_learner(uln, "A Learner", "2004-02-02") for uln in ("1000000019", "4817203918")
    )
    request = ledger.erasures.request(ledger, erased)
    ledger.erasures.approve(ledger, request.id)
    reads = AsyncReads(ledger.erasures.store)

    async def read_all() -> list[object]:
        await reads.open()
        try:
            found: list[object] = [
                await ledger.erasures.erased_on_async(ledger, who, reads) for who in (erased, kept)
            ]
            # the server drops the pool's connection: the next read is tried again on a new one
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                killed = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND query LIKE '%originator_version = 1%'"
                ).fetchone()
            assert killed is not None and killed[0] > 0
            found.append(await ledger.erasures.erased_on_async(ledger, erased, reads))
            return found
        finally:
            await reads.close()

    found = asyncio.run(read_all())
    assert found[0] is not None and found[0] == ledger.erasures.erased_on(ledger, erased)
    assert found[1] is None and ledger.erasures.erased_on(ledger, kept) is None
    assert found[2] == found[0]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_async_reads_refuse_plainly_when_the_database_is_away(
    backend: Backend, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = AsyncReads(ledger.erasures.store)
    reads.pool.kwargs = {**reads.pool.kwargs, "port": free_port()}  # nothing listens there
    monkeypatch.setattr(ledger_sql, "READ_ATTEMPTS", 2)

    async def read() -> None:
        await reads.open()
        try:
            await reads.rows("SELECT 1 AS one")
        finally:
            await reads.close()

    with pytest.raises(errors.StorageUnavailable, match="cannot be read"):
        asyncio.run(read())
