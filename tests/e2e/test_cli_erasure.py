"""`ledger erasure …` end to end, on SQLite and PostgreSQL: list, refuse with a reason, approve."""

from __future__ import annotations

from ledger import bootstrap
from ledger.settings import Settings
from tests.e2e.cli_runner import ledger


def test_the_registrar_refuses_then_approves(env: dict[str, str]) -> None:
    ledger(env, "init")
    learner = ledger(
        env, "learner", "add", "--uln", "9276308686", "--name", "Carys Pritchard", "--dob", "2003-05-14"
    )
    learner = learner.strip().splitlines()[-1].strip()
    opened = bootstrap.open_ledger(Settings(_env_file=None, **_settings(env)))  # type: ignore[call-arg]
    try:
        first = opened.erasures.request(opened, learner, "please")
    finally:
        opened.close()
    assert first.id in ledger(env, "erasure", "list", "--state", "requested")
    ledger(env, "erasure", "refuse", first.id, "--reason", " ", code=1)
    assert "refused" in ledger(env, "erasure", "refuse", first.id, "--reason", "legal hold until 2030")
    assert "already refused" in ledger(env, "erasure", "approve", first.id, code=1)
    ledger(env, "erasure", "list", "--state", "nonsense", code=2)

    opened = bootstrap.open_ledger(Settings(_env_file=None, **_settings(env)))  # type: ignore[call-arg]
    try:
        second = opened.erasures.request(opened, learner)
    finally:
        opened.close()
    assert "completed" in ledger(env, "erasure", "approve", second.id)
    assert "erased" in ledger(env, "stream", learner)
    assert "erasure" in ledger(env, "audit")  # exit 0: no findings; the erased stream is reported


def _settings(env: dict[str, str]) -> dict[str, str]:
    names = {
        "LEDGER_DATA_DIR": "data_dir",
        "LEDGER_DATABASE_URL": "database_url",
        "LEDGER_DATABASE_SCHEMA": "database_schema",
    }
    return {field: env[name] for name, field in names.items() if name in env}
