"""The benchmarks at their smoke scale (`scripts/bench --smoke`), on SQLite and PostgreSQL: each runs,
its own self-checks hold (no refusal in an ingest batch, every verification ok, the proofs verify,
the audit exits 0), and what it reports is well-formed. Never a timing: the figures are only checked
to be positive, finite numbers (CONVENTIONS: timing belongs in bench/, never in an assertion).
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import BENCHMARKS
from bench.common import report
from tests.conftest import BACKENDS

RECORD_KEYS = {"at", "benchmark", "backend", "scale", "sizes", "figures", "machine"}
FIGURE_KEYS = {"name", "value", "unit", "baseline", "baseline_value", "target", "ratio"}


@pytest.fixture(params=BACKENDS)
def bench_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A backend the benchmarks run on; PostgreSQL is the test server (skipped or failed as tests are)."""
    if request.param == "postgres":
        monkeypatch.setenv("LEDGER_BENCH_POSTGRES_URL", request.getfixturevalue("postgres_url"))
    return str(request.param)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs_and_reports(
    name: str, bench_backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.jsonl"
    outcome = importlib.import_module(f"bench.{name}").run(bench_backend, "smoke")
    report(outcome, "smoke", results)
    printed = capsys.readouterr().out

    lines = results.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert set(record) == RECORD_KEYS
    assert (record["benchmark"], record["backend"], record["scale"]) == (name, bench_backend, "smoke")
    assert record["sizes"]
    assert record["figures"]
    for figure in record["figures"]:
        assert set(figure) == FIGURE_KEYS, figure
        assert figure["name"] and figure["unit"], figure
        assert _positive(figure["value"]), figure
        if figure["baseline"]:
            assert _positive(figure["baseline_value"]), figure
            assert _positive(figure["ratio"]), figure
        else:
            assert figure["baseline_value"] is None and figure["ratio"] is None, figure
    assert any(figure["baseline"] for figure in record["figures"]), "no figure has a baseline"

    assert f"{name} on {bench_backend} (smoke" in printed
    for figure in record["figures"]:
        assert figure["name"] in printed
        if figure["baseline"]:
            assert figure["baseline"] in printed


def _positive(value: Any) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and math.isfinite(value) and value > 0
