"""The `ledger` command line end to end, on SQLite and PostgreSQL, as an operator and issuer use it."""

from __future__ import annotations

import json
from pathlib import Path

from ledger import examples
from tests.e2e.cli_runner import ledger


def test_an_operator_and_an_issuer_record_a_result(env: dict[str, str], tmp_path: Path) -> None:
    assert "ledger ready" in ledger(env, "init")
    did = ledger(env, "org", "add", "wjec", "--name", "WJEC", "--kind", "awarding-body").strip()
    assert did == "did:web:localhost%3A8000:orgs:wjec"
    key_file = tmp_path / "wjec.key.json"
    did_key = ledger(env, "keygen", str(key_file)).strip()
    key_document = json.loads(key_file.read_text())
    assert did_key == key_document["controller"] and key_document["id"].startswith(did_key + "#")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    ledger(env, "org", "key", "add", "wjec", str(key_file), "--valid-from", "2020-01-01T00:00:00Z")
    ledger(
        env,
        "org",
        "accredit",
        "wjec",
        "--kind",
        "assessment",
        "--scope",
        "RQF",
        "--from",
        "2020-01-01T00:00:00Z",
    )
    document = json.loads(ledger(env, "org", "show", "wjec"))
    assert document["assertionMethod"] == [f"{did}#{key_document['publicKeyMultibase']}"]
    learner = ledger(
        env,
        "learner",
        "add",
        "--uln",
        "9276308686",
        "--name",
        "Carys Pritchard",
        "--dob",
        "2003-05-14",
    ).strip()
    assert learner.startswith("urn:uuid:")

    unsigned = tmp_path / "result.json"
    unsigned.write_text(json.dumps(examples.assessment(did, learner)))
    signed = tmp_path / "result.signed.json"
    ledger(env, "sign", str(unsigned), "--key", str(key_file), "--out", str(signed))
    assert "recorded" in ledger(env, "post", str(signed))
    assert "already recorded" in ledger(env, "post", str(signed))
    shown = ledger(env, "stream", learner)
    assert "assessment" in shown and "chain intact: 2 entries" in shown


def test_posting_many_reports_each_refusal_and_exits_1(env: dict[str, str], tmp_path: Path) -> None:
    ledger(env, "init")
    did = ledger(env, "org", "add", "wjec", "--name", "WJEC", "--kind", "awarding-body").strip()
    key_file = tmp_path / "k.json"
    ledger(env, "keygen", str(key_file))
    ledger(env, "org", "key", "add", "wjec", str(key_file), "--valid-from", "2020-01-01T00:00:00Z")
    ledger(env, "org", "accredit", "wjec", "--kind", "assessment", "--from", "2020-01-01T00:00:00Z")
    learner = ledger(
        env, "learner", "add", "--uln", "1000000019", "--name", "Dafydd", "--dob", "2002-11-02"
    ).strip()
    from ledger.keyfile import read_key_file

    key = read_key_file(key_file)
    lines = [json.dumps(examples.sign(examples.assessment(did, learner), key)) for _ in range(3)]
    lines.insert(1, json.dumps(examples.sign(examples.award(did, learner), key)))
    lines.insert(2, "{not json")
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    output = ledger(env, "post", str(batch), code=1)
    assert "3 recorded, 2 refused" in output
    assert "[not-accredited]" in output and "[malformed-credential]" in output
    assert "chain intact: 4 entries" in ledger(env, "stream", learner)


def test_refusals_are_messages_not_tracebacks(env: dict[str, str]) -> None:
    output = ledger(env, "stream", "urn:uuid:00000000-0000-4000-8000-000000000000", code=1)
    assert "refused" in output and "ledger init" in output
    ledger(env, "init")
    output = ledger(
        env, "learner", "add", "--uln", "9276308687", "--name", "X", "--dob", "2000-01-01", code=1
    )
    assert "check digit" in output
    output = ledger(
        env,
        "org",
        "key",
        "add",
        "nobody",
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        code=1,
    )
    assert "no organisation" in output


def test_the_demo_builds_streams_for_every_kind(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    output = ledger({"COLUMNS": "200"}, "demo", "--data-dir", str(target), "--no-serve")
    for kind in (
        "assessment",
        "admission",
        "enrolment",
        "award",
        "recruitment",
        "correction",
        "revocation",
    ):
        assert kind in output
    assert "[not-accredited]" in output
    assert output.count("chain intact") == 3
    summary = json.loads((target / "demo.json").read_text())
    assert len(summary["learners"]) == 3 and len(summary["organisations"]) == 4
    assert "chain intact" in ledger(
        {"COLUMNS": "200"}, "demo", "--data-dir", str(target), "--no-serve"
    )  # rerunnable
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "precious.txt").write_text("keep me")
    output = ledger({"COLUMNS": "200"}, "demo", "--data-dir", str(tmp_path / "other"), "--no-serve", code=1)
    assert "choose another folder" in output
    assert (tmp_path / "other" / "precious.txt").exists()


def test_the_demo_summary_names_everything_a_person_needs(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    output = ledger({"COLUMNS": "200"}, "demo", "--data-dir", str(target), "--no-serve", "--port", "8123")
    summary = json.loads((target / "demo.json").read_text())
    assert summary["base_url"] == "http://localhost:8123" and "registrar token" in output
    tokens = summary["tokens"]
    assert set(tokens) == {"registrar", "auditor", "issuers", "learners"}
    assert set(tokens["issuers"]) == {item["slug"] for item in summary["organisations"]}
    assert set(tokens["learners"]) == {item["id"] for item in summary["learners"]}
    assert set(summary["examples"]) == {"enrolment", "assessment", "award", "admission", "recruitment"}
    assert all(Path(item["key_file"]).exists() for item in summary["organisations"])


def test_tokens_from_the_command_line(env: dict[str, str]) -> None:
    ledger(env, "init")
    ledger(env, "org", "add", "wjec", "--name", "WJEC", "--kind", "awarding-body")
    secret = ledger(env, "token", "create", "--role", "issuer", "--org", "wjec").splitlines()[0].strip()
    assert secret.startswith("llt_")
    assert "an issuer token" in ledger(env, "token", "create", "--role", "issuer", code=1)
    assert "no organisation" in ledger(env, "token", "create", "--role", "issuer", "--org", "nobody", code=1)
    token_id = ledger(env, "token", "create", "--role", "auditor").split("token id ")[1].split()[0]
    assert "revoked" in ledger(env, "token", "revoke", token_id)
    assert "already revoked" in ledger(env, "token", "revoke", token_id, code=1)
