"""Imports point one way (DESIGN §8): verification ← ledger ← projections ← api."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "verification": set(),
    "ledger": {"verification"},
    "projections": {"ledger", "verification"},
    "api": {"ledger", "verification", "projections"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level names a module imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package: str) -> None:
    modules = list((ROOT / package).rglob("*.py"))
    assert modules
    for module in modules:
        ours = imported_packages(module) & set(ALLOWED)
        wrong = ours - ALLOWED[package] - {package}
        assert not wrong, f"{module.relative_to(ROOT)} imports {sorted(wrong)}"


def test_verification_has_no_io_or_server_dependency() -> None:
    forbidden = {"eventsourcing", "psycopg", "sqlite3", "fastapi", "requests", "httpx", "socket"}
    for module in (ROOT / "verification").rglob("*.py"):
        assert not imported_packages(module) & forbidden, module
