"""`ledger audit` on SQLite and PostgreSQL: a clean ledger passes with every count right; ranges and
incremental audits cover what they say; tampering with events, leaves, checkpoints, views or the
issuer rules is found and named; memory does not grow with the ledger.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from api.cli import app
from ledger import examples
from ledger.application import Ledger
from ledger.audit import AuditReport, Finding, audit
from ledger.audit_claims import ClaimReader
from ledger.audit_decoding import EventDecoder
from ledger.audit_pool import WorkerStopped
from ledger.indexes import CredentialClaim, credential_claim_id, erasure_claim_id
from ledger.learners import ERASURE
from ledger.posting import post_batch
from ledger.storage import LearnerKeyRow
from ledger.streams import uuid_of
from projections.bootstrap import open_projections
from projections.runner import Projections
from tests.conftest import POSTGRES_URL, Backend, Issuer, register_issuer
from verification.canonical import canonical_json
from verification.checkpoint import Checkpoint, sign_checkpoint
from verification.entries import commitment, entry_hash
from verification.keys import SigningKey
from verification.note import generate_signer_key, parse_signer_key

VIEW_TABLES = {
    "view_portfolio_items": "credential",
    "view_credentials": "credential",
    "view_organisations": "organisation",
    "view_keys": "key",
    "view_accreditations": "organisation, seq",
    "view_statistics": "issuer, kind, month",
}


# -- building and tampering ----------------------------------------------------------------------


def checkpoint(ledger: Ledger) -> int:
    """Integrate everything and sign a checkpoint; its size."""
    ledger.tlog.integrate_all()
    signed = ledger.tlog.sign_checkpoint(force=True)
    assert signed is not None
    return signed.size


def posted(ledger: Ledger, *documents: dict[str, Any]) -> None:
    """Post documents in one batch; every one must be accepted."""
    results = post_batch(ledger, list(documents))
    assert not [result for result in results if isinstance(result, Exception)], results


def build_clean_ledger(
    ledger: Ledger, exam_body: Issuer, university: Issuer, employer: Issuer, learner: str
) -> dict[str, int]:
    """Every kind of credential, a correction, a revocation, a retired and a compromised key, four
    organisations and two learners, with checkpoints along the way; the counts an audit must give.
    """
    ucas = register_issuer(ledger, "ucas", "admissions-body", ["admission"])
    first = examples.sign(examples.assessment(exam_body.did, learner, result="B"), exam_body.key)
    second = examples.sign(examples.assessment(exam_body.did, learner, result="A"), exam_body.key)
    enrolment = examples.sign(examples.enrolment(university.did, learner), university.key)
    ended = examples.enrolment(university.did, learner)
    ended["type"] = ["VerifiableCredential", "EnrolmentEndedCredential"]
    ended["credentialSubject"] = {
        "id": learner,
        "enrolment": enrolment["id"],
        "outcome": "completed",
        "endDate": "2024-06-30",
    }
    award = examples.sign(examples.award(university.did, learner), university.key)
    posted(ledger, first, second, enrolment)
    checkpoint(ledger)
    posted(
        ledger,
        examples.sign(ended, university.key),
        award,
        examples.sign(examples.admission(ucas.did, learner), ucas.key),
        examples.sign(examples.employment(employer.did, learner), employer.key),
    )
    checkpoint(ledger)
    # The exam body rotates its key: the old one is retired from 2022, a new one used since.
    old_key, new_key = exam_body.key, SigningKey.generate()
    ledger.retire_key(exam_body.slug, old_key.verify_key.multibase, datetime(2022, 1, 1, tzinfo=UTC))
    ledger.add_key(exam_body.slug, new_key.verify_key.multibase, datetime(2022, 1, 1, tzinfo=UTC))
    correction = examples.status(
        exam_body.did,
        learner,
        action="supersedes",
        names=first["id"],
        reason="remark",
        replaced_by=second["id"],
    )
    late = examples.assessment(exam_body.did, learner, valid_from="2021-08-12T08:00:00Z", result="C")
    revocation = examples.status(university.did, learner, action="revokes", names=award["id"], reason="error")
    posted(
        ledger,
        examples.sign(correction, new_key),
        examples.sign(late, old_key),  # dated before the retirement: still valid after it
        examples.sign(revocation, university.key),
    )
    other = ledger.register_learner("1000000000", "Rhys Evans", "2001-02-03")
    later = examples.assessment(exam_body.did, other, valid_from="2023-06-01T00:00:00Z")
    posted(ledger, examples.sign(later, new_key))
    ledger.compromise_key(
        employer.slug, employer.key.verify_key.multibase, datetime.now(UTC) + timedelta(days=1)
    )
    size = checkpoint(ledger)
    registry_entries = 4 * 3 + 2 + 1  # registered, key, accreditation each; rotation; compromise
    return {
        "entries": size,
        "leaves": size,
        "streams": 6,
        "learner-streams": 2,
        "organisation-streams": 4,
        "credentials": 11,
        "corrections": 1,
        "revocations": 1,
        "commitments": 13,
        "issuer-proofs": 11,
        "checkpoints": 3,
        "registry": registry_entries,
    }


def tamper(backend: Backend, statement: str, params: tuple[object, ...] = ()) -> None:
    """Run SQL with the append-only triggers out of the way, as a malicious operator would.

    `{events}` is the event table and `{id}` its notification id column; `?` marks parameters.
    """
    if backend.name == "sqlite":
        conn = sqlite3.connect(backend.settings.data_dir / "ledger.sqlite3", isolation_level=None)
        try:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                conn.execute(f'DROP TRIGGER "{name}"')
            conn.execute(statement.format(events="stored_events", id="rowid"), params)
        finally:
            conn.close()
        return
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(backend.schema or "public")))
        for table in ("ledger_events", "log_leaves", "log_checkpoints", "log_tiles"):
            conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table)))
        text = statement.format(events="ledger_events", id="notification_id").replace("?", "%s")
        conn.execute(text.encode(), params)


def stored(ledger: Ledger, stream: str, seq: int) -> tuple[int, dict[str, Any]]:
    """The notification id and decoded state of a stream's entry `seq`."""
    for notification in ledger.recorder.select_notifications(start=1, limit=100_000):
        if notification.originator_id == uuid_of(stream) and notification.originator_version == seq:
            return notification.id, orjson.loads(notification.state)
    raise LookupError(f"{stream} has no entry {seq}")


def leaf_index(ledger: Ledger, stream: str, seq: int) -> int:
    """The leaf an entry became."""
    with ledger.tlog.store.reading() as log:
        leaf = log.leaf_of(stream, seq)
    assert leaf is not None
    return leaf.index


def found(report: AuditReport, check: str) -> list[Finding]:
    """The findings of one check."""
    return [finding for finding in report.findings if finding.check == check]


def snapshot(views: Projections) -> dict[str, list[dict[str, Any]]]:
    """Every view table's rows, in a stable order."""
    with views.store.reading() as view:
        return {
            name: [dict(row) for row in view.rows(f"SELECT * FROM {{p}}{name} ORDER BY {order}")]
            for name, order in VIEW_TABLES.items()
        }


# -- a clean ledger --------------------------------------------------------------------------------


def audited(ledger: Ledger, **options: Any) -> AuditReport:
    """The audit's report, which must be the same when worker processes examine the credentials."""
    report = audit(ledger, workers=0, **options)
    assert audit(ledger, workers=2, **options).to_json() == report.to_json()
    return report


def test_a_clean_ledger_has_no_findings_and_every_count_right(
    backend: Backend, ledger: Ledger, exam_body: Issuer, university: Issuer, employer: Issuer, learner: str
) -> None:
    expected = build_clean_ledger(ledger, exam_body, university, employer, learner)
    views = open_projections(ledger, inline=False)
    views.catch_up()
    before = snapshot(views)
    seen: list[int] = []
    report = audit(ledger, projections=views, progress=seen.append, page=7)
    assert report.ok, report.findings
    registry = expected.pop("registry")
    assert {name: report.counted.get(name, 0) for name in expected} == expected
    assert expected["entries"] == registry + 2 + expected["credentials"]
    assert report.counted["projection-rows"] == sum(len(rows) for rows in before.values())
    assert sum(seen) == expected["entries"] and len(seen) > 3  # paged, with progress per page
    pooled: list[int] = []  # with workers: the same report, and progress as each page is checked
    assert audit(ledger, progress=pooled.append, page=7, workers=2).counted == audit(ledger).counted
    assert pooled == seen
    assert snapshot(views) == before  # the live views were only read
    # A live view changed behind the projections' back is a finding naming the row.
    revoked = next(row for row in before["view_credentials"] if row["status"] == "revoked")
    tamper(
        backend, "UPDATE view_credentials SET status = 'valid' WHERE credential = ?", (revoked["credential"],)
    )
    changed = audit(ledger, projections=views)
    assert [finding.check for finding in changed.findings] == ["projection"]
    assert revoked["credential"] in changed.findings[0].detail and "'revoked'" in changed.findings[0].detail
    assert changed.findings[0].stream == learner


def test_an_erased_learner_is_counted_not_reported(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    posted(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
    checkpoint(ledger)
    tamper(backend, "DELETE FROM learner_keys WHERE learner_id = ?", (learner,))  # as erasure does
    report = audited(ledger)
    assert report.ok, report.findings
    assert (report.counted["erased-streams"], report.counted["erased-entries"]) == (1, 2)
    assert "commitments" not in report.counted and report.counted["entries"] == report.counted["leaves"]


def erased(ledger: Ledger, university: Issuer, learner: str) -> tuple[str, LearnerKeyRow]:
    """Post for the learner, then erase them through the registrar; the request id and the wrapped
    data key row as it stood before the erasure destroyed it."""
    posted(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
    row = ledger.recorder.select_learner_key_row(learner)  # type: ignore[attr-defined]
    request = ledger.erasures.request(ledger, learner, "please forget me")
    ledger.erasures.approve(ledger, request.id)
    checkpoint(ledger)
    assert audit(ledger).ok
    return request.id, row


def test_a_restored_data_key_of_an_erased_learner_is_found(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    _, row = erased(ledger, university, learner)
    tamper(
        backend,
        "INSERT INTO learner_keys (learner_id, wrapped_key, master_key_id) VALUES (?, ?, ?)",
        (row.learner_id, row.wrapped_key, row.master_key_id),
    )
    report = audited(ledger)
    details = [finding.detail for finding in found(report, "erasure")]
    assert details == ["the stream ends in an erasure, but the learner's data key exists"]
    assert found(report, "erasure")[0].stream == learner


def test_an_erasure_claim_naming_another_request_is_found(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    request, _ = erased(ledger, university, learner)
    other = "00000000-0000-4000-8000-000000000000"
    claim_id = erasure_claim_id(learner)
    rows = [
        n for n in ledger.recorder.select_notifications(start=1, limit=100_000) if n.originator_id == claim_id
    ]
    assert len(rows) == 1 and request.encode() in rows[0].state
    tamper(
        backend,
        "UPDATE {events} SET state = ? WHERE {id} = ?",
        (rows[0].state.replace(request.encode(), other.encode()), rows[0].id),
    )
    report = audited(ledger)
    assert any(
        f"the index claims this erasure for {learner} and urn:uuid:{other}" in finding.detail
        for finding in found(report, "chain")
    ), report.findings


def test_an_entry_after_an_erasure_is_found(ledger: Ledger, university: Issuer, learner: str) -> None:
    erased(ledger, university, learner)
    stream = ledger.learner_stream(learner)
    forged = stream.next_entry(
        ERASURE, ledger.clock(), request="urn:uuid:00000000-0000-4000-8000-000000000000"
    )
    stream.erase(forged)  # a rogue operator's code, skipping the erasure store's checks
    ledger.save(stream)
    ledger.tlog.integrate_all()
    report = audited(ledger)
    details = [finding.detail for finding in found(report, "chain") if finding.stream == learner]
    assert any(detail.startswith("an entry follows the learner's erasure") for detail in details), details


def test_the_index_claims_read_as_the_library_rebuilds_them(
    ledger: Ledger, exam_body: Issuer, university: Issuer, employer: Issuer, learner: str
) -> None:
    # Every kind of claim and claim event: credentials corrected and revoked, keys, an erasure (its
    # ULN released) and the ULN registered again (reclaimed). The audit replays claims without the
    # library's event objects; every field an anchor compares must come out the same.
    build_clean_ledger(ledger, exam_body, university, employer, learner)
    erased(ledger, university, ledger.register_learner("1000000019", "Once", "2001-01-01"))
    ledger.register_learner("1000000019", "Again", "2001-01-01")
    claim_ids = list(
        {
            event.originator_id
            for event in ledger.recorder.select_notifications(start=1, limit=10_000)
            if event.topic.startswith("ledger.indexes:")
        }
    )
    stored = ledger.recorder.select_events_of(claim_ids)  # type: ignore[attr-defined]
    kinds = {event.topic.rpartition(".")[2] for events in stored.values() for event in events}
    assert kinds == {"Claimed", "StatusChanged", "Released", "Reclaimed"}
    reader = ClaimReader(ledger, EventDecoder(ledger.mapper))
    assert all(reader._replay(events) is not None for events in stored.values())  # none left to the library
    replayed = reader._find_many(claim_ids)
    rebuilt = ledger.find_many(claim_ids)
    assert replayed.keys() == rebuilt.keys() == set(claim_ids)
    for claim_id, claim in rebuilt.items():
        fields = {name: value for name, value in vars(claim).items() if not name.startswith("_")}
        assert type(replayed[claim_id]) is type(claim)
        assert vars(replayed[claim_id]) == fields


def test_the_report_as_json_and_from_the_command_line(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str, tmp_path: Path
) -> None:
    posted(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
    size = checkpoint(ledger)
    document = json.loads(json.dumps(audit(ledger).to_json()))
    assert document["ok"] is True and document["findings"] == []
    assert document["counted"]["leaves"] == size and document["covered"]["log_size"] == size
    runner = CliRunner()
    out = tmp_path / "report.json"
    env = {**backend.process_env(), "COLUMNS": "200"}
    result = runner.invoke(app, ["audit", "--json", str(out), "--projections"], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "no findings" in result.output
    written = json.loads(out.read_text())
    assert written["ok"] and written["counted"]["entries"] == size and written["covered"]["projections"]
    result = runner.invoke(app, ["audit", "--from-size", "2", "--to-size", "4"], env=env)
    assert result.exit_code == 0, result.output
    tamper(backend, "DELETE FROM log_leaves WHERE leaf_index = 3")
    result = runner.invoke(app, ["audit", "--json", str(out)], env=env)
    assert result.exit_code == 1 and "log-missing" in result.output
    assert [
        item["leaf_index"]
        for item in json.loads(out.read_text())["findings"]
        if item["check"] == "log-missing"
    ] == [3]


def test_an_audit_whose_worker_dies_says_so_and_concludes_nothing(
    backend: Backend,
    ledger: Ledger,
    university: Issuer,
    learner: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    posted(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
    checkpoint(ledger)
    monkeypatch.setattr(sys, "executable", "/bin/false")  # each worker process exits at once
    with pytest.raises(WorkerStopped):
        audit(ledger, workers=1)
    monkeypatch.setattr("ledger.audit.pool_size", lambda entries: 1)
    env = {**backend.process_env(), "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["audit"], env=env)
    assert result.exit_code == 1, result.output
    assert "not finished" in result.output and "an audit worker stopped" in result.output
    assert "no findings" not in result.output and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a plain exit, not an exception escaping


# -- ranges and incremental audits -----------------------------------------------------------------


def test_a_range_audit_covers_its_leaves_and_chains_from_before_it(
    backend: Backend, ledger: Ledger, exam_body: Issuer, university: Issuer, learner: str
) -> None:
    for _ in range(3):
        posted(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
        checkpoint(ledger)
    size = ledger.tlog.state().size
    report = audited(ledger, from_size=4, to_size=size - 1)
    assert report.ok, report.findings
    assert report.counted["leaves"] == report.counted["entries"] == size - 5
    assert report.counted["checkpoints"] == 2  # the last checkpoint is of size `size`, beyond the range
    assert report.covered["from_size"] == 4 and report.covered["to_size"] == size - 1
    # Entries not yet in the log are checked and counted as pending; a range may reach them.
    ledger.after_commit.clear()  # no integration after each commit (as on PostgreSQL without a follower)
    posted(
        ledger,
        *(examples.sign(examples.enrolment(university.did, learner), university.key) for _ in range(2)),
    )
    pending = audit(ledger)
    assert pending.ok and pending.counted["pending"] == 2 and pending.counted["entries"] == size + 2
    beyond = audit(ledger, from_size=size + 1, to_size=size + 2)
    assert beyond.ok and (beyond.counted["entries"], beyond.counted["pending"]) == (1, 1)
    # Change entry 2 of the learner's stream; audit only the leaf of entry 3.
    notification, state = stored(ledger, learner, 2)
    state["entry"]["recorded_at"] = "1999-01-01T00:00:00.000000Z"
    tamper(backend, "UPDATE {events} SET state = ? WHERE {id} = ?", (orjson.dumps(state), notification))
    third = leaf_index(ledger, learner, 3)
    ranged = audited(ledger, from_size=third, to_size=third + 1)
    assert [(f.check, f.stream, f.seq, f.leaf_index) for f in ranged.findings] == [
        ("chain", learner, 3, third)
    ]
    assert ranged.counted["entries"] == 1


def test_an_incremental_audit_checks_only_what_came_after_a_saved_checkpoint(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    posted(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
    checkpoint(ledger)
    saved = ledger.tlog.latest_checkpoint()
    assert saved is not None
    posted(
        ledger,
        *(examples.sign(examples.enrolment(university.did, learner), university.key) for _ in range(3)),
    )
    size = checkpoint(ledger)
    report = audited(ledger, since_checkpoint=saved.note)
    assert report.ok, report.findings
    assert report.counted["leaves"] == report.counted["entries"] == 3 == size - saved.size
    assert report.counted["checkpoints"] == 1 and report.covered["since_size"] == saved.size
    # Rewrite the old part: the current tree no longer extends the saved checkpoint.
    tamper(backend, "UPDATE log_leaves SET leaf_hash = ? WHERE leaf_index = 0", (bytes(32),))
    rewritten = audit(ledger, since_checkpoint=saved.note)
    assert found(rewritten, "since-consistency")
    assert (
        not found(rewritten, "log-leaf") and rewritten.counted["leaves"] == 3
    )  # the old part is not re-read
    # A saved checkpoint the ledger never signed is refused (and then everything is audited).
    _, seed = parse_signer_key(generate_signer_key(ledger.tlog.signer.name)[0])
    forged = sign_checkpoint(
        Checkpoint(ledger.tlog.signer.origin, size, bytes(32)), ledger.tlog.signer.name, seed
    )
    refused = audit(ledger, since_checkpoint=forged)
    assert found(refused, "checkpoint-signature") and refused.counted["leaves"] == size


# -- tampering, end to end -------------------------------------------------------------------------


def test_a_changed_entry_is_named_by_stream_seq_and_leaf(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    posted(
        ledger,
        *(examples.sign(examples.enrolment(university.did, learner), university.key) for _ in range(2)),
    )
    checkpoint(ledger)
    notification, state = stored(ledger, learner, 2)
    state["entry"]["kind"] = "award"
    tamper(backend, "UPDATE {events} SET state = ? WHERE {id} = ?", (orjson.dumps(state), notification))
    report = audited(ledger)
    changed, after = leaf_index(ledger, learner, 2), leaf_index(ledger, learner, 3)
    assert {(f.check, f.stream, f.seq, f.leaf_index) for f in report.findings} == {
        ("log-leaf", learner, 2, changed),  # the leaf no longer hashes the entry
        ("chain", learner, 2, changed),  # nor does the hash its index claim recorded
        ("chain", learner, 3, after),  # the next entry's prev no longer matches
        ("commitment", learner, 2, changed),  # the entry no longer describes the credential
    }


def test_a_deleted_leaf_is_missing_and_later_roots_cannot_be_recomputed(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    posted(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
    checkpoint(ledger)
    index = leaf_index(ledger, learner, 2)
    tamper(backend, "DELETE FROM log_leaves WHERE leaf_index = ?", (index,))
    report = audited(ledger)
    assert [(f.stream, f.seq, f.leaf_index) for f in found(report, "log-missing")] == [(learner, 2, index)]
    assert found(report, "checkpoint-root") and not found(report, "chain")


def test_a_forged_checkpoint_note_fails_its_signature(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    size = checkpoint(ledger)
    stored_root = ledger.tlog.latest_checkpoint()
    assert stored_root is not None
    _, seed = parse_signer_key(generate_signer_key(ledger.tlog.signer.name)[0])
    body = Checkpoint(ledger.tlog.signer.origin, size, stored_root.root)
    forged = sign_checkpoint(body, ledger.tlog.signer.name, seed)
    tamper(backend, "UPDATE log_checkpoints SET note = ? WHERE size = ?", (forged, size))
    report = audited(ledger)
    assert [finding.check for finding in report.findings] == ["checkpoint-signature"]
    assert f"size {size}" in report.findings[0].detail


def test_rows_that_do_not_parse_are_findings_never_errors(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    posted(
        ledger,
        *(examples.sign(examples.enrolment(university.did, learner), university.key) for _ in range(2)),
    )
    checkpoint(ledger)
    notification, _ = stored(ledger, learner, 2)
    tamper(backend, "UPDATE {events} SET state = ? WHERE {id} = ?", (b"\xffnot json", notification))
    tamper(
        backend,
        "UPDATE log_leaves SET leaf_hash = ? WHERE leaf_index = ?",
        (b"\x00", leaf_index(ledger, learner, 3)),
    )
    if backend.name == "sqlite":  # PostgreSQL's uuid column cannot hold a garbled id
        garbled, _ = stored(ledger, learner, 3)
        tamper(backend, "UPDATE {events} SET originator_id = 'garbled' WHERE {id} = ?", (garbled,))
    report = audited(ledger, page=4)
    unreadable = found(report, "unreadable")
    assert (learner, 2) in [(f.stream, f.seq) for f in unreadable]
    assert any(f.leaf_index == leaf_index(ledger, learner, 3) for f in unreadable)
    if backend.name == "sqlite":
        assert any(f"stored event {garbled} cannot be read" in f.detail for f in unreadable)
        assert report.counted["entries"] == 5  # every other entry was read and audited


def record_directly(ledger: Ledger, learner: str, document: dict[str, Any], key: SigningKey) -> None:
    """Record a credential the way a rogue operator's code could, skipping every check of posting."""
    stream = ledger.learner_stream(learner)
    salt = os.urandom(32)
    kind = {"StatusCredential": "revocation"}.get(document["type"][-1], "award")
    entry = stream.next_entry(
        kind,
        ledger.clock(),
        credential=document["id"],
        issuer=document["issuer"],
        key=key.verify_key.verification_method,
        commitment=commitment(salt, canonical_json(document)),
    )
    stream.record(entry, ledger.seal(ledger.data_key(learner), learner, document, salt))
    claims = [
        CredentialClaim(
            credential=document["id"],
            learner=learner,
            seq=entry["seq"],
            issuer=document["issuer"],
            kind=kind,
            entry_hash=entry_hash(entry),
        )
    ]
    if kind == "revocation":
        target = ledger.find(credential_claim_id(document["credentialSubject"]["revokes"]), CredentialClaim)
        assert target is not None
        target.change_status("revokes", by=document["id"])
        claims.append(target)
    ledger.save(stream, *claims)
    ledger.tlog.integrate_all()


def test_sealed_contents_that_do_not_open_are_the_same_findings_in_workers(
    backend: Backend, ledger: Ledger, university: Issuer, learner: str
) -> None:
    # The workers open credentials' sealed contents when the audit has them: each way one can fail
    # to open (or to hold an object) must be reported as the audit process reports it.
    posted(
        ledger,
        *(examples.sign(examples.enrolment(university.did, learner), university.key) for _ in range(5)),
    )
    checkpoint(ledger)
    key = ledger.data_key(learner)
    other = ledger.register_learner("1000000019", "Other", "2001-01-01")
    sealed = {
        2: "not base64!",
        3: ledger.seal(ledger.data_key(other), learner, {"a": 1}, bytes(32)),  # another learner's key
        4: base64.b64encode(key.seal(learner, b'{"content": {}}')).decode(),  # no salt
        5: ledger.seal(key, learner, ["not", "an", "object"], bytes(32)),  # type: ignore[arg-type]
    }
    for seq, text in sealed.items():
        notification, state = stored(ledger, learner, seq)
        state["sealed"] = text
        tamper(backend, "UPDATE {events} SET state = ? WHERE {id} = ?", (orjson.dumps(state), notification))
    report = audited(ledger)
    assert [(finding.check, finding.seq) for finding in report.findings] == [
        ("commitment", 2),
        ("commitment", 3),
        ("commitment", 4),
        ("commitment", 5),
        ("commitment", 5),
    ], report.findings
    assert "does not open" in report.findings[1].detail and "'salt'" in report.findings[2].detail


def test_the_issuer_rules_are_checked_as_the_registry_stood(
    ledger: Ledger, exam_body: Issuer, university: Issuer, employer: Issuer, learner: str
) -> None:
    assessment = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    posted(ledger, assessment)
    award = examples.award(employer.did, learner)  # an employer is not accredited for awards
    record_directly(ledger, learner, examples.sign(award, employer.key), employer.key)
    changed = examples.sign(examples.award(university.did, learner), university.key)
    changed["name"] = "A degree it never signed"
    record_directly(ledger, learner, changed, university.key)
    revocation = examples.status(
        university.did, learner, action="revokes", names=assessment["id"], reason="x"
    )
    record_directly(ledger, learner, examples.sign(revocation, university.key), university.key)
    checkpoint(ledger)
    report = audited(ledger)
    assert [(f.check, f.seq) for f in report.findings] == [
        ("accreditation", 3),
        ("issuer-proof", 4),
        ("accreditation", 5),
    ]
    assert "severn-software was not accredited for award" in report.findings[0].detail
    assert "only its issuer may correct or revoke it" in report.findings[2].detail


# -- memory ----------------------------------------------------------------------------------------


def test_memory_does_not_grow_with_the_ledger(backend: Backend, ledger: Ledger, university: Issuer) -> None:
    learners = [ledger.register_learner(uln, "L", "2000-01-01") for uln in ("1000000000", "1000000019")]

    def grow(count: int) -> None:
        documents = [
            examples.sign(examples.enrolment(university.did, learners[i % 2]), university.key)
            for i in range(count)
        ]
        for start in range(0, count, 250):
            posted(ledger, *documents[start : start + 250])
        checkpoint(ledger)

    def peak() -> tuple[int, AuditReport]:
        tracemalloc.start()
        try:
            report = audit(ledger, page=100)
            return tracemalloc.get_traced_memory()[1], report
        finally:
            tracemalloc.stop()

    grow(500)
    small, report = peak()
    assert report.ok and report.counted["credentials"] == 500
    grow(1500)
    large, report = peak()
    assert report.ok and report.counted["credentials"] == 2000
    assert large < 1.5 * small, (small, large)  # four times the entries, about the same peak
    # With tiles in play: one changed tile breaks the consistency proof between the two checkpoints.
    tamper(backend, "UPDATE log_tiles SET hash = ? WHERE level = 1 AND node_index = 0", (bytes(32),))
    assert [finding.check for finding in audit(ledger).findings] == ["checkpoint-consistency"]


def test_memory_does_not_grow_with_one_streams_length(ledger: Ledger, university: Issuer) -> None:
    # One learner: every credential lands in one stream, so an audit that read whole streams (every
    # sealed credential of the learner, to open one) would hold eight times more for the long one.
    learner = ledger.register_learner("1000000000", "L", "2000-01-01")

    def grow(count: int) -> None:
        for start in range(0, count, 100):
            batch = min(100, count - start)
            posted(
                ledger,
                *(
                    examples.sign(examples.award(university.did, learner), university.key)
                    for _ in range(batch)
                ),
            )
        checkpoint(ledger)

    def peak() -> tuple[int, AuditReport]:
        tracemalloc.start()
        try:
            report = audit(ledger, page=50)
            return tracemalloc.get_traced_memory()[1], report
        finally:
            tracemalloc.stop()

    grow(100)
    peak()  # what a first audit in this process allocates once (imports, prepared statements) is not counted
    short, report = peak()
    assert report.ok and report.counted["credentials"] == 100
    grow(700)
    long, report = peak()
    assert report.ok and report.counted["credentials"] == 800
    # A stream eight times longer, about the same peak: reading whole streams added ~7 MB here. What
    # may grow is bounded caches filling (stream URNs, decoded signatures: ~0.5 MB at 800 entries).
    assert long - short < 1_500_000, (short, long)
