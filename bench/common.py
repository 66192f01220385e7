"""What every benchmark shares: the scales, a fresh ledger per backend, timing and percentiles, the
results table and the results file (build/bench/results.jsonl, one JSON line per benchmark and backend).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import platform
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from nacl.signing import SigningKey as NaclSigningKey
from psycopg import sql
from rich.console import Console
from rich.table import Table

from ledger.application import Ledger
from ledger.bootstrap import init, open_ledger
from ledger.settings import Settings
from verification.keys import SigningKey

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "build" / "bench" / "results.jsonl"
SCALES = ("smoke", "quick", "full")
"""smoke: seconds per benchmark, to check each runs and reports (tests/integration/test_bench_smoke.py),
its figures meaningless; quick: about two minutes in all; full: the recorded figures."""
CALIBRATION_SECONDS = {"smoke": 0.1, "quick": 1.0, "full": 1.0}
"""How long a baseline measured by repetition (Ed25519 verifications per second) runs, by scale."""
console = Console(width=150)


def postgres_url() -> str:
    """The PostgreSQL server benchmarks run on: LEDGER_BENCH_POSTGRES_URL, else the local one."""
    return os.environ.get("LEDGER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Figure:
    """One measured figure, the baseline measured in the same run (if any) and their ratio."""

    name: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    target: str = ""

    @property
    def ratio(self) -> float | None:
        """value / baseline_value, when there is a baseline."""
        if not self.baseline_value:
            return None
        return self.value / self.baseline_value


@dataclass
class Outcome:
    """A benchmark's figures on one backend, with the sizes it ran at."""

    benchmark: str
    backend: str
    sizes: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Target:
    """A fresh, initialised ledger database: a SQLite file in a temporary folder or a PostgreSQL schema."""

    backend: str
    settings: Settings
    schema: str | None

    def open(self) -> Ledger:
        """Open the ledger (followers off: benchmarks integrate explicitly)."""
        ledger = open_ledger(self.settings)
        ledger.after_commit.clear()
        return ledger

    def env(self) -> dict[str, str]:
        """Environment variables that point a `ledger` process at this ledger."""
        settings = self.settings
        return {
            **os.environ,
            "LEDGER_DATA_DIR": str(settings.data_dir),
            "LEDGER_DATABASE_URL": settings.database_url,
            "LEDGER_DATABASE_SCHEMA": settings.database_schema,
            "LEDGER_MASTER_KEY": settings.master_key.get_secret_value() if settings.master_key else "",
            "PYTHONPATH": str(ROOT),
        }

    def connect(self) -> Any:
        """A plain DB-API connection to the ledger's database (for writing synthetic rows)."""
        if self.backend == "sqlite":
            return sqlite3.connect(self.settings.data_dir / "ledger.sqlite3", isolation_level=None)
        conn = psycopg.connect(postgres_url(), autocommit=True)
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema or "public")))
        return conn


@contextlib.contextmanager
def fresh(backend: str) -> Iterator[Target]:
    """A new empty ledger on `backend`; the PostgreSQL schema is dropped and the folder removed after."""
    master = base64.b64encode(os.urandom(32)).decode()
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as folder:
        if backend == "sqlite":
            settings = Settings(data_dir=Path(folder), master_key=master)  # type: ignore[arg-type]
            init(settings)
            yield Target("sqlite", settings, None)
            return
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        url = postgres_url()
        settings = Settings(
            data_dir=Path(folder),
            database_url=url,
            master_key=master,  # type: ignore[arg-type]
            database_schema=schema,
        )
        try:
            init(settings)
            yield Target("postgres", settings, schema)
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@dataclass
class Issuer:
    """A registered, accredited organisation and its signing key."""

    slug: str
    did: str
    key: SigningKey


def register_issuer(ledger: Ledger, slug: str, kinds: list[str]) -> Issuer:
    """A university with one key valid since 2000, accredited for `kinds` since 2000."""
    since = datetime(2000, 1, 1, tzinfo=UTC)
    key = SigningKey.generate()
    org = ledger.register_organisation(slug, slug.title(), "university")
    ledger.add_key(slug, key.verify_key.multibase, valid_from=since)
    ledger.accredit(slug, kinds, ("*",), valid_from=since)
    return Issuer(slug, org.did, key)


def valid_ulns(count: int, start: int = 1_000_000_000) -> list[str]:
    """`count` distinct valid ULNs."""
    found: list[str] = []
    number = start
    while len(found) < count:
        text = str(number)
        if sum(int(d) * w for d, w in zip(text, range(10, 0, -1), strict=True)) % 11 == 10:
            found.append(text)
        number += 1
    return found


def register_learners(ledger: Ledger, count: int) -> list[str]:
    """Register `count` learners; their ids."""
    return [ledger.register_learner(uln, "Learner", "2004-01-01") for uln in valid_ulns(count)]


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; requires at least one value."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


class Stopwatch:
    """Elapsed seconds of a block: `with Stopwatch() as watch: ...; watch.seconds`."""

    seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started


def machine() -> dict[str, Any]:
    """The machine and the load on it while the benchmark ran."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load": os.getloadavg(),
    }


def report(outcome: Outcome, scale: str, results: Path = RESULTS) -> dict[str, Any]:
    """Print the outcome as a table and append it to the results file; the JSON record."""
    sizes = ", ".join(
        f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
        for key, value in outcome.sizes.items()
    )
    table = Table(title=f"{outcome.benchmark} on {outcome.backend} ({scale}: {sizes})", title_justify="left")
    for column in ("figure", "value", "baseline (same run)", "ratio", "target"):
        table.add_column(column, justify="right" if column in ("value", "ratio") else "left")
    for figure in outcome.figures:
        baseline = (
            f"{figure.baseline}: {number(figure.baseline_value)}" if figure.baseline_value is not None else ""
        )
        ratio = f"{figure.ratio:.2f}x" if figure.ratio is not None else ""
        table.add_row(figure.name, f"{number(figure.value)} {figure.unit}", baseline, ratio, figure.target)
    console.print(table)
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "benchmark": outcome.benchmark,
        "backend": outcome.backend,
        "scale": scale,
        "sizes": outcome.sizes,
        "figures": [{**asdict(figure), "ratio": figure.ratio} for figure in outcome.figures],
        "machine": machine(),
    }
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a", encoding="utf-8") as lines:
        lines.write(json.dumps(record) + "\n")
    return record


def number(value: float | None) -> str:
    """A figure as the tables print it: thousands separated above 100, three digits below."""
    if value is None:
        return ""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def ed25519_per_core(seconds: float = 1.0) -> float:
    """PyNaCl Ed25519 verifications per second on one core (a bound the figures are compared with)."""
    key = NaclSigningKey.generate()
    signed = key.sign(os.urandom(64))
    verify = key.verify_key.verify
    count = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(200):
            verify(signed)
        count += 200
    return count / (time.perf_counter() - started)
