"""Tamper evidence: one attack per test, by an operator with full database rights, on SQLite and
PostgreSQL; `audit` must fail and name the place (stream, seq or leaf) for every one.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from ledger import examples
from ledger.application import Ledger
from ledger.audit import AuditReport, audit
from ledger.posting import post_credential
from tests.conftest import Backend, Issuer, register_issuer
from tests.integration.tamper import Attacker
from verification.canonical import canonical_json
from verification.checkpoint import format_checkpoint, parse_checkpoint
from verification.entries import commitment, entry_hash
from verification.keys import SigningKey


@dataclass
class Scene:
    """A small honest ledger, fully integrated and checkpointed, and an attacker on its database."""

    ledger: Ledger
    attacker: Attacker
    university: Issuer
    learner: str
    credentials: list[dict[str, Any]]


@pytest.fixture
def scene(backend: Backend, ledger: Ledger) -> Iterator[Scene]:
    """Three awards and an enrolment for one learner, a second learner, everything checkpointed."""
    university = register_issuer(ledger, "caerleon", "university", ["award", "enrolment"], ("FHEQ",))
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    other = ledger.register_learner("1000000019", "Dafydd Evans", "2002-11-02")
    credentials = [examples.sign(examples.award(university.did, learner), university.key) for _ in range(3)]
    credentials.append(examples.sign(examples.enrolment(university.did, other), university.key))
    for document in credentials:
        post_credential(ledger, document)
    ledger.tlog.integrate_all()
    assert ledger.tlog.sign_checkpoint() is not None
    assert audit(ledger).ok  # honest to begin with
    attacker = Attacker(backend)
    yield Scene(ledger, attacker, university, learner, credentials)
    attacker.close()


def audited(ledger: Ledger) -> AuditReport:
    """The audit's report, which must be the same when worker processes examine the credentials."""
    report = audit(ledger, workers=0)
    assert audit(ledger, workers=2).to_json() == report.to_json()
    return report


def located(report: AuditReport, *, stream: str | None = None, seq: int | None = None) -> list[str]:
    """The findings that name the given place."""
    return [
        f"{finding.check}: {finding.detail}"
        for finding in report.findings
        if (stream is None or finding.stream == stream) and (seq is None or finding.seq == seq)
    ]


def reseal(scene: Scene, state: dict[str, Any], content: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """New sealed content for a learner's event and its commitment (the operator holds the master key)."""
    learner = state["entry"]["learner"]
    salt = bytes(32)
    sealed = scene.ledger.seal(scene.ledger.data_key(learner), learner, content, salt)
    return {**state, "sealed": sealed}, commitment(salt, canonical_json(content))


def opened(scene: Scene, state: dict[str, Any]) -> dict[str, Any]:
    """The credential an event seals."""
    learner = state["entry"]["learner"]
    raw = scene.ledger.data_key(learner).open(learner, base64.b64decode(state["sealed"]))
    content: dict[str, Any] = orjson.loads(raw)["content"]
    return content


def test_a_credential_byte_edited(scene: Scene) -> None:
    notification, state = scene.attacker.event(scene.learner, 3)
    content = opened(scene, state)
    content["credentialSubject"]["result"][0]["value"] = "Third"
    changed, _ = reseal(scene, state, content)
    scene.attacker.write_event(notification, changed)
    assert located(audited(scene.ledger), stream=scene.learner, seq=3)


def test_an_entry_field_edited(scene: Scene) -> None:
    notification, state = scene.attacker.event(scene.learner, 2)
    state["entry"]["recorded_at"] = "2020-01-01T00:00:00.000000Z"
    scene.attacker.write_event(notification, state)
    assert located(audited(scene.ledger), stream=scene.learner)


def test_an_entry_deleted(scene: Scene) -> None:
    notification, _ = scene.attacker.event(scene.learner, 3)
    scene.attacker.delete_event(notification)
    assert located(audited(scene.ledger), stream=scene.learner)


def test_two_entries_swapped(scene: Scene) -> None:
    first, first_state = scene.attacker.event(scene.learner, 2)
    second, second_state = scene.attacker.event(scene.learner, 3)
    scene.attacker.write_event(first, second_state)
    scene.attacker.write_event(second, first_state)
    assert located(audited(scene.ledger), stream=scene.learner)


def test_a_forged_entry_with_a_valid_shape_inserted(scene: Scene) -> None:
    _, last = scene.attacker.event(scene.learner, 4)
    forged = examples.award(scene.university.did, scene.learner)
    forged = examples.sign(forged, SigningKey.generate())  # nobody's registered key
    entry = {**last["entry"], "seq": 5, "prev": entry_hash(last["entry"]), "credential": forged["id"]}
    state, digest = reseal(scene, {**last, "entry": entry}, forged)
    state["entry"]["commitment"] = digest
    scene.attacker.insert_event(scene.learner, 5, "ledger.learners:LearnerStream.CredentialRecorded", state)
    assert located(audited(scene.ledger), stream=scene.learner, seq=5)


def test_the_log_truncated(scene: Scene) -> None:
    size = scene.ledger.tlog.state().size
    scene.attacker.run("DELETE FROM log_leaves WHERE leaf_index >= ?", (size - 2,))
    report = audited(scene.ledger)
    assert not report.ok
    assert any(
        finding.leaf_index is not None and finding.leaf_index >= size - 2 for finding in report.findings
    ) or any(
        finding.check.startswith("checkpoint") or finding.check.startswith("log")
        for finding in report.findings
    )


def test_a_checkpoint_rewritten(scene: Scene) -> None:
    size, note = scene.attacker.run("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")[0]
    body, signatures = note.split("\n\n", 1)
    checkpoint = parse_checkpoint(body + "\n")
    forged = format_checkpoint(type(checkpoint)(checkpoint.origin, checkpoint.size, bytes(32)))
    scene.attacker.run(
        "UPDATE log_checkpoints SET note = ? WHERE size = ?", (forged + "\n" + signatures, size)
    )
    report = audited(scene.ledger)
    assert [finding for finding in report.findings if finding.check == "checkpoint-signature"], (
        report.findings
    )


def test_the_tail_replaced_by_a_consistent_looking_history(scene: Scene) -> None:
    # Rewrite the other learner's only credential, re-chain it, and make its leaf match the new entry.
    other_state = scene.attacker.run("SELECT stream FROM log_leaves ORDER BY leaf_index DESC LIMIT 1")[0][0]
    notification, state = scene.attacker.event(other_state, 2)
    content = opened(scene, state)
    content["credentialSubject"]["programme"] = "MSc Forgery"
    changed, digest = reseal(scene, state, content)
    changed["entry"]["commitment"] = digest
    scene.attacker.write_event(notification, changed)
    from verification.merkle import leaf_hash

    new_leaf = leaf_hash(canonical_json(changed["entry"]))
    scene.attacker.run(
        "UPDATE log_leaves SET leaf_hash = ? WHERE stream = ? AND seq = 2", (new_leaf, other_state)
    )
    report = audited(scene.ledger)
    assert not report.ok
    assert located(report, stream=other_state) or any(
        f.check.startswith("checkpoint") for f in report.findings
    )


def test_a_credential_re_signed_with_an_unregistered_key(scene: Scene) -> None:
    notification, state = scene.attacker.event(scene.learner, 4)  # the last award: no later prev to break
    content = opened(scene, state)
    unsigned = {name: value for name, value in content.items() if name != "proof"}
    resigned = examples.sign(unsigned, SigningKey.generate())
    changed, digest = reseal(scene, state, resigned)
    changed["entry"]["commitment"] = digest
    scene.attacker.write_event(notification, changed)
    report = audited(scene.ledger)
    assert any(f.check in ("issuer-key", "issuer-proof") for f in located_findings(report, scene.learner, 4))


def located_findings(report: AuditReport, stream: str, seq: int) -> list[Any]:
    """The findings naming a stream and seq."""
    return [f for f in report.findings if f.stream == stream and f.seq == seq]


def test_a_key_validity_backdated_in_the_registry(scene: Scene) -> None:
    organisation = scene.ledger.organisation("caerleon")
    stream = f"urn:uuid:{organisation.id}"
    notification, state = scene.attacker.event(stream, 2)  # key-added
    assert state["entry"]["kind"] == "key-added"
    state["entry"]["data"]["validFrom"] = datetime(1990, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    scene.attacker.write_event(notification, state)
    assert located(audited(scene.ledger), stream=stream)
