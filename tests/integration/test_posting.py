"""Posting credentials on SQLite and PostgreSQL: what is accepted, and every refusal with nothing stored."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger import errors, examples
from ledger.application import Ledger
from ledger.posting import post_batch, post_credential
from ledger.receipts import Receipt
from tests.conftest import Backend, Issuer, assert_signed_as_inline, register_issuer
from verification.errors import VerificationError
from verification.keys import SigningKey


def event_count(ledger: Ledger) -> int:
    """How many events the store holds: unchanged by every refusal."""
    return ledger.recorder.max_notification_id() or 0


def refused(ledger: Ledger, document: object, error: type[errors.LedgerError]) -> errors.LedgerError:
    """Post, expect exactly `error`, and check nothing at all was written."""
    before = event_count(ledger)
    with pytest.raises(error) as caught:
        post_credential(ledger, document)
    assert type(caught.value) is error, caught.value
    assert event_count(ledger) == before
    assert caught.value.detail
    return caught.value


def test_every_kind_is_recorded_with_an_unbroken_chain(
    ledger: Ledger, exam_body: Issuer, university: Issuer, employer: Issuer, learner: str
) -> None:
    ucas = register_issuer(ledger, "ucas", "admissions-body", ["admission"])
    documents = [
        examples.sign(examples.assessment(exam_body.did, learner), exam_body.key),
        examples.sign(examples.admission(ucas.did, learner), ucas.key),
        examples.sign(examples.enrolment(university.did, learner), university.key),
        examples.sign(examples.award(university.did, learner), university.key),
        examples.sign(examples.employment(employer.did, learner), employer.key),
    ]
    receipts = [post_credential(ledger, document) for document in documents]
    assert [receipt.entry["seq"] for receipt in receipts] == [2, 3, 4, 5, 6]
    assert [receipt.entry["kind"] for receipt in receipts] == [
        "assessment",
        "admission",
        "enrolment",
        "award",
        "recruitment",
    ]
    report = ledger.read_stream(learner)
    assert report.findings == []
    assert [item.entry["seq"] for item in report.items] == [1, 2, 3, 4, 5, 6]
    assert report.items[4].content == documents[3]
    assert report.items[0].content == {
        "uln": "9276308686",
        "name": "Carys Pritchard",
        "dateOfBirth": "2003-05-14",
    }
    for before, after in zip(report.items, report.items[1:], strict=False):
        assert after.entry["prev"] == before.hash


def test_entry_has_the_design_shape(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    document = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    entry = post_credential(ledger, document).entry
    assert set(entry) == {
        "v",
        "learner",
        "seq",
        "prev",
        "kind",
        "credential",
        "issuer",
        "key",
        "commitment",
        "recorded_at",
    }
    assert entry["credential"] == document["id"]
    assert entry["issuer"] == exam_body.did
    assert entry["key"] == exam_body.key.verify_key.verification_method
    assert entry["recorded_at"].endswith("Z")
    # The entry carries no personal data: neither the ULN nor the result appears in it.
    assert "9276308686" not in str(entry) and "A*" not in str(entry)


def test_the_same_credential_twice_returns_the_existing_entry(
    ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    document = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    first = post_credential(ledger, document)
    before = event_count(ledger)
    again = post_credential(ledger, copy.deepcopy(document))
    assert again.duplicate and not first.duplicate
    assert again.entry == first.entry
    assert event_count(ledger) == before


def test_posting_raw_json_bytes(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    import orjson

    document = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    assert post_credential(ledger, orjson.dumps(document)).entry["seq"] == 2


# -- refusals ----------------------------------------------------------------------------------


def test_bad_signature(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    document = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    document["credentialSubject"]["result"] = "E"
    refused(ledger, document, errors.InvalidSignature)


def test_signature_by_a_key_of_another_organisation(
    ledger: Ledger, exam_body: Issuer, employer: Issuer, learner: str
) -> None:
    document = examples.assessment(exam_body.did, learner)
    signed = examples.sign(document, employer.key)  # names exam body's DID with the employer's key
    error = refused(ledger, signed, errors.KeyOfAnotherOrganisation)
    assert "severn-software" in error.detail or employer.key.verify_key.multibase in error.detail


def test_unknown_key(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    stranger = SigningKey.generate()
    refused(
        ledger,
        examples.sign(examples.assessment(exam_body.did, learner), stranger),
        errors.UnknownKey,
    )


def test_unknown_issuer(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    document = examples.assessment(exam_body.did.replace("wjec", "nobody"), learner)
    refused(ledger, examples.sign(document, exam_body.key), errors.UnknownIssuer)


def test_retired_key_for_credentials_dated_after_retirement(
    ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    multibase = exam_body.key.verify_key.multibase
    ledger.retire_key(exam_body.slug, multibase, datetime(2022, 1, 1, tzinfo=UTC))
    after = examples.assessment(exam_body.did, learner, valid_from="2022-06-01T00:00:00Z")
    error = refused(ledger, examples.sign(after, exam_body.key), errors.KeyNotValid)
    assert "retired" in error.detail
    before = examples.assessment(exam_body.did, learner, valid_from="2021-08-12T08:00:00Z")
    assert post_credential(ledger, examples.sign(before, exam_body.key)).entry["seq"] == 2


def test_key_not_yet_valid(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    late = SigningKey.generate()
    ledger.add_key(exam_body.slug, late.verify_key.multibase, datetime(2023, 1, 1, tzinfo=UTC))
    early = examples.assessment(exam_body.did, learner, valid_from="2022-06-01T00:00:00Z")
    refused(ledger, examples.sign(early, late), errors.KeyNotValid)


def test_compromised_key(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    ledger.compromise_key(
        exam_body.slug, exam_body.key.verify_key.multibase, datetime(2023, 1, 1, tzinfo=UTC)
    )
    dated_after = examples.assessment(exam_body.did, learner, valid_from="2023-06-01T00:00:00Z")
    refused(ledger, examples.sign(dated_after, exam_body.key), errors.KeyCompromised)
    # Backdating does not help: the key is known bad at receipt.
    dated_before = examples.assessment(exam_body.did, learner, valid_from="2021-06-01T00:00:00Z")
    refused(ledger, examples.sign(dated_before, exam_body.key), errors.KeyCompromised)


def test_not_accredited_for_the_kind(ledger: Ledger, employer: Issuer, learner: str) -> None:
    error = refused(
        ledger,
        examples.sign(examples.award(employer.did, learner), employer.key),
        errors.NotAccredited,
    )
    assert "award" in error.detail


def test_not_accredited_for_the_scope(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    degree = examples.award(exam_body.did, learner)  # FHEQ:6, the exam body holds RQF only
    error = refused(ledger, examples.sign(degree, exam_body.key), errors.NotAccredited)
    assert "FHEQ:6" in error.detail


def test_not_accredited_before_the_accreditation_starts(ledger: Ledger, learner: str) -> None:
    key = SigningKey.generate()
    org = ledger.register_organisation("late-board", "Late Board", "awarding-body")
    ledger.add_key("late-board", key.verify_key.multibase, datetime(2000, 1, 1, tzinfo=UTC))
    ledger.accredit("late-board", ["assessment"], ["RQF"], datetime(2022, 1, 1, tzinfo=UTC))
    early = examples.assessment(org.did, learner, valid_from="2021-08-12T08:00:00Z")
    refused(ledger, examples.sign(early, key), errors.NotAccredited)


def test_unknown_learner(ledger: Ledger, exam_body: Issuer) -> None:
    nobody = "urn:uuid:00000000-0000-4000-8000-000000000000"
    refused(
        ledger,
        examples.sign(examples.assessment(exam_body.did, nobody), exam_body.key),
        errors.UnknownLearner,
    )


def _without(document: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    holder = changed
    for step in path[:-1]:
        holder = holder[step]
    del holder[path[-1]]
    return changed


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: _without(d, "validFrom"), "validFrom"),
        (lambda d: _without(d, "id"), "id must be"),
        (lambda d: _without(d, "credentialSubject", "result"), "result"),
        (lambda d: _without(d, "credentialSubject", "alignment"), "alignment"),
        (lambda d: {**d, "type": "VerifiableCredential"}, "type"),
        (lambda d: {**d, "type": ["VerifiableCredential", "Unheard"]}, "type"),
        (lambda d: {**d, "@context": ["https://example.org"]}, "@context"),
        (lambda d: {**d, "issuer": 42}, "issuer"),
        (lambda d: {**d, "validFrom": "yesterday"}, "validFrom"),
        (lambda d: {**d, "validUntil": "2001-01-01T00:00:00Z"}, "validUntil"),
        (
            lambda d: {**d, "credentialSubject": {**d["credentialSubject"], "id": "9276308686"}},
            "never the ULN",
        ),
        (
            lambda d: {
                **d,
                "credentialSubject": {**d["credentialSubject"], "assessmentDate": 20210610},
            },
            "assessmentDate",
        ),
        (lambda d: {**d, "credentialSubject": {**d["credentialSubject"], "mark": 71.5}}, "float"),
        (lambda d: [d], "JSON object"),
    ],
)
def test_malformed_credentials(
    ledger: Ledger, exam_body: Issuer, learner: str, change: Any, words: str
) -> None:
    document = change(examples.assessment(exam_body.did, learner))
    try:
        signed = examples.sign(document, exam_body.key)
    except (TypeError, KeyError, VerificationError):
        signed = document  # cannot be signed at all (a float, no issuer): refused all the same
    error = refused(ledger, signed, errors.MalformedCredential)
    assert words in error.detail


def test_unsigned_credential(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    error = refused(ledger, examples.assessment(exam_body.did, learner), errors.MalformedCredential)
    assert "proof" in error.detail


def test_not_json(ledger: Ledger) -> None:
    refused(ledger, b'{"id": ', errors.MalformedCredential)
    refused(ledger, b'{"a": 1, "a": 2}', errors.MalformedCredential)


def test_oversized_credential(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    document = examples.assessment(exam_body.did, learner)
    document["description"] = "x" * (ledger.max_credential_bytes + 1)
    refused(ledger, examples.sign(document, exam_body.key), errors.CredentialTooLarge)
    import orjson

    refused(ledger, orjson.dumps(examples.sign(document, exam_body.key)), errors.CredentialTooLarge)


def test_id_reused_with_different_content(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    first = examples.assessment(exam_body.did, learner, result="B")
    post_credential(ledger, examples.sign(first, exam_body.key))
    second = {**examples.assessment(exam_body.did, learner, result="A"), "id": first["id"]}
    refused(ledger, examples.sign(second, exam_body.key), errors.CredentialIdReused)


def test_correction_by_the_issuer_and_refused_from_another(
    ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    other = register_issuer(ledger, "other-board", "awarding-body", ["assessment"], ("RQF",))
    original = examples.sign(examples.assessment(exam_body.did, learner, result="B"), exam_body.key)
    post_credential(ledger, original)
    intruder = examples.status(
        other.did, learner, action="revokes", names=original["id"], reason="not ours to revoke"
    )
    refused(ledger, examples.sign(intruder, other.key), errors.WrongIssuer)
    replacement = examples.sign(examples.assessment(exam_body.did, learner, result="A"), exam_body.key)
    post_credential(ledger, replacement)
    correction = examples.status(
        exam_body.did,
        learner,
        action="supersedes",
        names=original["id"],
        reason="remarked",
        replaced_by=replacement["id"],
    )
    receipt = post_credential(ledger, examples.sign(correction, exam_body.key))
    assert receipt.entry["kind"] == "correction"
    revocation = examples.status(
        exam_body.did, learner, action="revokes", names=replacement["id"], reason="malpractice"
    )
    assert post_credential(ledger, examples.sign(revocation, exam_body.key)).entry["kind"] == "revocation"


def test_status_naming_an_unknown_credential(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    missing = "urn:uuid:11111111-1111-4111-8111-111111111111"
    status = examples.status(exam_body.did, learner, action="revokes", names=missing, reason="none")
    refused(ledger, examples.sign(status, exam_body.key), errors.UnknownCredential)


# -- batches ----------------------------------------------------------------------------------


def test_a_batch_records_the_good_and_refuses_the_bad(
    ledger: Ledger, exam_body: Issuer, employer: Issuer
) -> None:
    learners = [
        ledger.register_learner(uln, f"Learner {uln}", "2004-01-01")
        for uln in ("1000000000", "1000000019", "1000000027")
    ]
    good = [examples.sign(examples.assessment(exam_body.did, who), exam_body.key) for who in learners]
    good.append(examples.sign(examples.assessment(exam_body.did, learners[0], result="C"), exam_body.key))
    forged = examples.sign(examples.award(employer.did, learners[1]), employer.key)
    tampered = copy.deepcopy(good[1])
    tampered["credentialSubject"]["result"] = "A**"
    before = event_count(ledger)
    results = post_batch(ledger, [good[0], forged, good[1], tampered, good[2], good[3], good[0]])
    kinds = [type(result).__name__ for result in results]
    assert kinds == [
        "Receipt",
        "NotAccredited",
        "Receipt",
        "InvalidSignature",
        "Receipt",
        "Receipt",
        "Receipt",
    ]
    assert results[6].duplicate  # type: ignore[union-attr]
    assert [results[i].entry["seq"] for i in (0, 2, 4, 5)] == [2, 2, 2, 3]  # type: ignore[union-attr]
    # Four credentials: four entries plus four credential-id claims, in one transaction.
    assert event_count(ledger) - before == 8
    for who in learners:
        assert ledger.read_stream(who).findings == []


def test_a_batch_refuses_bad_signatures_as_one_post_would(
    ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    """A batch checks every item's signature before writing: each refusal is the one a single post
    gives, wherever it falls, and the good credentials around it are recorded."""
    documents = [
        examples.sign(examples.assessment(exam_body.did, learner, result=f"R{number}"), exam_body.key)
        for number in range(70)
    ]
    bad = {0, 31, 32, 45, 69}
    for number in bad:
        documents[number]["credentialSubject"]["result"] = "A**"
    alone = {number: refused(ledger, documents[number], errors.InvalidSignature) for number in (0, 45)}
    results = post_batch(ledger, documents)
    for number, result in enumerate(results):
        if number in bad:
            assert type(result) is errors.InvalidSignature, (number, result)
            assert str(result) == str(alone.get(number, result))
        else:
            assert not isinstance(result, errors.LedgerError), (number, result)
    assert ledger.read_stream(learner).findings == []
    assert len(ledger.read_stream(learner).items) == 1 + len(documents) - len(bad)


def test_each_receipt_is_the_note_sign_receipt_makes(ledger: Ledger, exam_body: Issuer, learner: str) -> None:
    """Receipts are formatted once and signed: the notes are exactly
    `sign_receipt`'s (Ed25519 is deterministic), each with the write's position."""
    documents = [
        examples.sign(examples.assessment(exam_body.did, learner, result=f"R{number}"), exam_body.key)
        for number in range(40)
    ]
    results = post_batch(ledger, documents)
    positions = set()
    for result in results:
        assert isinstance(result, Receipt)
        assert_signed_as_inline(ledger, result)
        positions.add(result.position)
    assert len(positions) == 1
    assert positions.pop() > 0


def test_a_batch_chains_onto_what_another_writer_appended_since_the_last_batch(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    # `ledger` keeps the heads its batches committed; another process appends to the same stream
    # in between, so the kept head is stale and must be read again, not chained onto.
    other = backend.open()
    try:
        for writer in (ledger, other, ledger, ledger, other, ledger):
            document = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
            result = post_batch(writer, [document])[0]
            assert isinstance(result, Receipt), result
    finally:
        other.close()
    report = ledger.read_stream(learner)
    assert report.findings == []
    assert [item.entry["seq"] for item in report.items] == list(range(1, 8))


def test_a_learner_erased_by_another_writer_is_refused_by_a_batch_that_kept_their_head(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    post_credential(ledger, examples.sign(examples.assessment(exam_body.did, learner), exam_body.key))
    other = backend.open()
    try:
        request = other.erasures.request(other, learner, "please forget me")
        other.erasures.approve(other, request.id)
    finally:
        other.close()
    refused(
        ledger,
        examples.sign(examples.assessment(exam_body.did, learner), exam_body.key),
        errors.LearnerErased,
    )
