"""Shared fixtures: a fresh ledger on each backend (SQLite file, PostgreSQL schema), issuers, learners."""

from __future__ import annotations

import base64
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings
from psycopg import sql
from psycopg.rows import dict_row, tuple_row

from ledger.application import Ledger
from ledger.bootstrap import init, open_ledger
from ledger.receipts import Receipt
from ledger.settings import Settings
from verification.keys import SigningKey
from verification.statements import sign_receipt

SHARED = Path(__file__).resolve().parents[2] / "shared"
POSTGRES_URL = os.environ.get("LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]

# No test asserts a timing: Hypothesis's default deadline (200 ms an example) failed a property test
# on a loaded machine, so it is off for every test.
hypothesis_settings.register_profile("ledger", deadline=None)
hypothesis_settings.load_profile("ledger")


def _postgres_answers() -> str | None:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        return str(error)
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server's URL; a failure under CI=true, a skip elsewhere, when it is down."""
    problem = _postgres_answers()
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_URL} does not answer: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)
    return POSTGRES_URL


@dataclass
class Backend:
    """A ready database for one test: the settings to reach it, and the PostgreSQL schema if any."""

    name: str
    settings: Settings
    schema: str | None

    def open(self) -> Ledger:
        """Another connection to the same ledger (as a second process would have)."""
        return open_ledger(self.settings)

    def process_env(self) -> dict[str, str]:
        """Environment variables that point a `ledger` process at this ledger."""
        settings = self.settings
        return {
            **os.environ,
            "LEDGER_DATA_DIR": str(settings.data_dir),
            "LEDGER_DATABASE_URL": settings.database_url,
            "LEDGER_DATABASE_SCHEMA": settings.database_schema,
            "LEDGER_MASTER_KEY": settings.master_key.get_secret_value() if settings.master_key else "",
        }


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """An initialised, empty ledger database on SQLite and on PostgreSQL."""
    master = base64.b64encode(os.urandom(32)).decode()
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, master_key=master)  # type: ignore[arg-type]
        init(settings)
        yield Backend("sqlite", settings, None)
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    settings = Settings(data_dir=tmp_path, database_url=url, master_key=master, database_schema=schema)  # type: ignore[arg-type]
    init(settings)
    try:
        yield Backend("postgres", settings, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def ledger(backend: Backend) -> Iterator[Ledger]:
    """An open ledger on the backend under test."""
    opened = backend.open()
    yield opened
    opened.close()


@dataclass
class Issuer:
    """A registered, accredited organisation and its signing key."""

    slug: str
    did: str
    key: SigningKey


def register_issuer(
    ledger: Ledger, slug: str, kind: str, kinds: list[str], scopes: tuple[str, ...] = ("*",)
) -> Issuer:
    """Register an organisation with one key valid since 2000, accredited since 2000."""
    from datetime import UTC, datetime

    since = datetime(2000, 1, 1, tzinfo=UTC)
    key = SigningKey.generate()
    org = ledger.register_organisation(slug, slug.replace("-", " ").title(), kind)
    ledger.add_key(slug, key.verify_key.multibase, valid_from=since)
    ledger.accredit(slug, kinds, scopes, valid_from=since)
    return Issuer(slug, org.did, key)


@pytest.fixture
def exam_body(ledger: Ledger) -> Issuer:
    """An awarding body accredited for assessments and RQF awards."""
    return register_issuer(ledger, "wjec", "awarding-body", ["assessment", "award"], ("RQF",))


@pytest.fixture
def university(ledger: Ledger) -> Issuer:
    """A university accredited for enrolments, admissions and FHEQ awards."""
    return register_issuer(ledger, "caerleon", "university", ["enrolment", "award", "admission"], ("FHEQ",))


@pytest.fixture
def employer(ledger: Ledger) -> Issuer:
    """An employer accredited for recruitment only."""
    return register_issuer(ledger, "severn-software", "employer", ["recruitment"])


@pytest.fixture
def learner(ledger: Ledger) -> str:
    """A registered learner's id."""
    return ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")


@pytest.fixture
def backend_database_bytes(backend: Backend, ledger: Ledger) -> bytes:
    """Everything the database holds after registering a learner, as bytes, for leak checks."""
    ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    if backend.name == "sqlite":
        ledger.close()
        return b"".join(path.read_bytes() for path in backend.settings.data_dir.glob("ledger.sqlite3*"))
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(backend.schema or "public")))
        tables = postgres_tables(conn, backend.schema or "public")
        dump = b""
        for table in tables:
            for row in conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))):
                dump += repr(row).encode() + b"".join(v for v in row if isinstance(v, bytes))
        return dump


def postgres_tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """The names of the tables in a PostgreSQL schema."""
    query = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY table_name"
    return [row[0] for row in conn.cursor(row_factory=tuple_row).execute(query, (schema,))]


def table_rows(backend: Backend) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the backend's database, by table name: what a leak scan reads."""
    found: dict[str, list[dict[str, Any]]] = {}
    if backend.name == "sqlite":
        with closing(sqlite3.connect(backend.settings.data_dir / "ledger.sqlite3")) as conn:
            conn.row_factory = sqlite3.Row
            names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in names:
                found[table] = [dict(row) for row in conn.execute(f'SELECT * FROM "{table}"')]
        return found
    with psycopg.connect(POSTGRES_URL, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(backend.schema or "public")))
        for table in postgres_tables(conn, backend.schema or "public"):
            found[table] = list(conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))))
    return found


def assert_signed_as_inline(ledger: Ledger, receipt: Receipt) -> None:
    """The receipt's note is the one sign_receipt makes in this process for its entry."""
    signer = ledger.log_signer
    assert signer is not None
    entry = receipt.entry
    assert receipt.signed == sign_receipt(
        signer.origin,
        receipt.entry_hash,
        entry["learner"],
        entry["seq"],
        entry["recorded_at"],
        signer_name=signer.name,
        seed=signer.seed,
    )
