"""External audit: `ledger audit --url … --token …` through the HTTP API with an auditor token, on
SQLite and PostgreSQL, reaches the same verdict as a local audit: the same findings and counts on a
clean ledger and after each attack of an operator with database rights (tests/integration/tamper.py).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from ledger import examples
from ledger.application import Ledger
from ledger.audit import AuditReport, audit
from ledger.audit_http import HttpSource
from ledger.posting import post_credential
from tests.conftest import Backend, Issuer, register_issuer
from tests.e2e.test_serve import server  # noqa: F401 (the fixture: `ledger serve` as a real process)
from tests.integration.tamper import Attacker
from verification.canonical import canonical_json
from verification.checkpoint import format_checkpoint, parse_checkpoint
from verification.entries import commitment


@dataclass
class Scene:
    """A small honest ledger, integrated and checkpointed, an auditor token and an attacker."""

    ledger: Ledger
    attacker: Attacker
    university: Issuer
    learner: str
    auditor: str


def build(backend: Backend, ledger: Ledger) -> Scene:
    """Three awards and an enrolment for two learners, everything checkpointed."""
    university = register_issuer(ledger, "caerleon", "university", ["award", "enrolment"], ("FHEQ",))
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    other = ledger.register_learner("1000000019", "Dafydd Evans", "2002-11-02")
    for _ in range(3):
        post_credential(ledger, examples.sign(examples.award(university.did, learner), university.key))
        ledger.tlog.integrate_all()
        ledger.tlog.sign_checkpoint(force=True)
    post_credential(ledger, examples.sign(examples.enrolment(university.did, other), university.key))
    ledger.tlog.integrate_all()
    ledger.tlog.sign_checkpoint(force=True)
    auditor, _ = ledger.tokens.create("auditor", label="external auditor")
    return Scene(ledger, Attacker(backend), university, learner, auditor)


@pytest.fixture
def scene(backend: Backend, ledger: Ledger) -> Iterator[Scene]:
    """The scene, with the attacker let go of afterwards."""
    built = build(backend, ledger)
    yield built
    built.attacker.close()


def remote(client: TestClient, scene: Scene) -> AuditReport:
    """The audit through the API with the auditor's token (page 2: paging is exercised), with worker
    processes examining the credentials (the local audits it is compared with have none).
    """
    return audit(HttpSource("http://testserver", scene.auditor, http=client), page=2, workers=2)


def verdict(report: AuditReport) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """What must be the same either way: every finding and every count."""
    findings = [(f.check, f.stream, f.seq, f.leaf_index, f.detail) for f in report.findings]
    return findings, report.counted


# -- attacks (as in tests/integration/test_tamper.py) ----------------------------------------------


def edit_credential_byte(scene: Scene) -> tuple[str, int | None]:
    """Change a sealed credential's content (re-sealed: the operator holds the master key)."""
    notification, state = scene.attacker.event(scene.learner, 3)
    key = scene.ledger.data_key(scene.learner)
    content = orjson.loads(key.open(scene.learner, base64.b64decode(state["sealed"])))["content"]
    content["name"] = "A degree it never signed"
    salt = bytes(32)
    state["sealed"] = scene.ledger.seal(key, scene.learner, content, salt)
    assert commitment(salt, canonical_json(content)) != state["entry"]["commitment"]
    scene.attacker.write_event(notification, state)
    return scene.learner, 3


def edit_entry_field(scene: Scene) -> tuple[str, int | None]:
    """Change a public field of an entry."""
    notification, state = scene.attacker.event(scene.learner, 2)
    state["entry"]["recorded_at"] = "2020-01-01T00:00:00.000000Z"
    scene.attacker.write_event(notification, state)
    return scene.learner, None


def delete_entry(scene: Scene) -> tuple[str, int | None]:
    """Remove an entry from the middle of a stream."""
    notification, _ = scene.attacker.event(scene.learner, 3)
    scene.attacker.delete_event(notification)
    return scene.learner, None


def rewrite_checkpoint(scene: Scene) -> tuple[str, int | None]:
    """Replace the newest checkpoint's root, keeping its signature."""
    size, note = scene.attacker.run("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")[0]
    body, signatures = note.split("\n\n", 1)
    checkpoint = parse_checkpoint(body + "\n")
    forged = format_checkpoint(type(checkpoint)(checkpoint.origin, checkpoint.size, bytes(32)))
    scene.attacker.run(
        "UPDATE log_checkpoints SET note = ? WHERE size = ?", (forged + "\n" + signatures, size)
    )
    return "checkpoint-signature", None


def backdate_key(scene: Scene) -> tuple[str, int | None]:
    """Move a key's validity back in the registry's own stream."""
    stream = f"urn:uuid:{scene.ledger.organisation('caerleon').id}"
    notification, state = scene.attacker.event(stream, 2)
    state["entry"]["data"]["validFrom"] = datetime(1990, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    scene.attacker.write_event(notification, state)
    return stream, None


ATTACKS: list[Callable[[Scene], tuple[str, int | None]]] = [
    edit_credential_byte,
    edit_entry_field,
    delete_entry,
    rewrite_checkpoint,
    backdate_key,
]


def test_a_clean_ledger_gives_the_same_verdict_remotely(client: TestClient, scene: Scene) -> None:
    local, external = audit(scene.ledger), remote(client, scene)
    assert external.ok and local.ok, external.findings
    assert verdict(external) == verdict(local)
    assert external.counted["commitments"] == 6 and external.counted["issuer-proofs"] == 4
    assert external.counted["checkpoints"] == 4


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.__name__)
def test_each_attack_is_found_and_located_remotely(
    client: TestClient, scene: Scene, attack: Callable[[Scene], tuple[str, int | None]]
) -> None:
    where, seq = attack(scene)
    external = remote(client, scene)
    assert not external.ok
    assert verdict(external) == verdict(audit(scene.ledger))
    if where.startswith("urn:"):
        assert [f for f in external.findings if f.stream == where and (seq is None or f.seq == seq)]
    else:
        assert [f for f in external.findings if f.check == where]


def test_ranges_and_incremental_audits_give_the_same_verdict_remotely(
    client: TestClient, scene: Scene
) -> None:
    source = HttpSource("http://testserver", scene.auditor, http=client)
    saved = scene.attacker.run("SELECT note FROM log_checkpoints ORDER BY size LIMIT 1")[0][0]
    for options in ({"from_size": 3, "to_size": 7}, {"since_checkpoint": saved}):
        external = audit(source, page=3, workers=2, **options)
        assert external.ok, external.findings
        assert verdict(external) == verdict(audit(scene.ledger, page=3, **options))
    edit_entry_field(scene)  # an entry in the part the saved checkpoint already covered
    external = audit(source, since_checkpoint=saved)
    assert not external.ok
    assert verdict(external) == verdict(audit(scene.ledger, since_checkpoint=saved))


def test_an_audit_keeps_to_the_page_size_of_a_server_with_small_pages(backend: Backend, scene: Scene) -> None:
    settings = backend.settings.model_copy(update={"max_page": 2})
    with TestClient(create_app(settings, ledger=scene.ledger, followers=False)) as small:
        source = HttpSource("http://testserver", scene.auditor, http=small)
        assert source.max_page == 2
        external = audit(source)  # asks for pages of 1,000 unless it keeps to the server's 2
    assert external.ok, external.findings
    assert verdict(external) == verdict(audit(scene.ledger))


def test_audit_routes_are_for_auditors_only(client: TestClient, scene: Scene) -> None:
    learner_token, _ = scene.ledger.tokens.create("learner", learner=scene.learner)
    for path in ("/v1/audit/records?start=1&stop=10", "/v1/log/checkpoints", "/v1/audit/state"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": f"Bearer {learner_token}"}).status_code == 403
    refused = client.get(
        "/v1/log/checkpoints?limit=100000", headers={"Authorization": f"Bearer {scene.auditor}"}
    )
    assert refused.status_code == 422 and refused.json()["type"].endswith("/invalid-page")
    listed = client.get("/v1/log/checkpoints", headers={"Authorization": f"Bearer {scene.auditor}"})
    assert [row["size"] for row in listed.json()["checkpoints"]] == sorted(
        row[0] for row in scene.attacker.run("SELECT size FROM log_checkpoints")
    )


def test_ledger_audit_url_against_a_served_ledger(server: str, scene: Scene) -> None:  # noqa: F811
    log_key = httpx.get(f"{server}/v1/log/key").text.strip()
    arguments = ["audit", "--url", server, "--token", scene.auditor, "--log-key", log_key]
    clean = CliRunner().invoke(app, arguments, env={"COLUMNS": "200"})
    assert clean.exit_code == 0, clean.output
    assert "no findings" in clean.output
    delete_entry(scene)
    tampered = CliRunner().invoke(app, arguments, env={"COLUMNS": "300"})
    assert tampered.exit_code == 1, tampered.output
    assert f"stream {scene.learner}" in tampered.output and "missing from the stream" in tampered.output
    wrong = CliRunner().invoke(app, ["audit", "--url", server, "--token", "not-a-token"])
    assert wrong.exit_code == 1 and "refused" in wrong.output
