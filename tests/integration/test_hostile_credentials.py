"""Hostile credentials on SQLite and PostgreSQL: forgeries, swaps, replays and canonicalisation tricks,
each refused with its own error and nothing stored (event store head and every table unchanged);
parsing stays bounded for huge and deep inputs. The plainer refusals are in test_posting.py.
"""

from __future__ import annotations

import copy
import json
import tracemalloc
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger import errors, examples
from ledger.application import Ledger
from ledger.posting import post_credential
from tests.conftest import Backend, Issuer, register_issuer, table_rows
from verification.keys import SigningKey

Document = dict[str, Any]


def stored(backend: Backend, ledger: Ledger) -> dict[str, int]:
    """The event store's head and every table's row count: what a refusal must leave alone."""
    counts = {table: len(rows) for table, rows in table_rows(backend).items()}
    return {**counts, "head": ledger.recorder.max_notification_id() or 0}


def refused(
    backend: Backend, ledger: Ledger, document: object, error: type[errors.LedgerError]
) -> errors.LedgerError:
    """Post, expect exactly `error`, and check that nothing at all was stored."""
    before = stored(backend, ledger)
    with pytest.raises(errors.LedgerError) as caught:
        post_credential(ledger, document)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert caught.value.detail
    assert stored(backend, ledger) == before
    return caught.value


def resigned(document: Document, key: SigningKey, change: Callable[[Document], None]) -> Document:
    """The document changed by `change`, then signed properly with `key`."""
    unsigned = copy.deepcopy(document)
    unsigned.pop("proof", None)
    change(unsigned)
    return examples.sign(unsigned, key)


def test_a_proof_copied_from_another_credential(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    genuine = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    forged = examples.assessment(exam_body.did, learner, result="A*")
    forged["proof"] = copy.deepcopy(genuine["proof"])  # a valid signature, over a different document
    refused(backend, ledger, forged, errors.InvalidSignature)


def test_verification_method_swapped_to_another_accredited_organisations_key(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    rival = register_issuer(ledger, "ocr", "awarding-body", ["assessment"], ("RQF",))
    signed = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    signed["proof"]["verificationMethod"] = f"{exam_body.did}#{rival.key.verify_key.multibase}"
    refused(backend, ledger, signed, errors.KeyOfAnotherOrganisation)
    signed["proof"]["verificationMethod"] = f"{rival.did}#{rival.key.verify_key.multibase}"
    refused(backend, ledger, signed, errors.MalformedCredential)  # the method names another DID


def test_a_key_id_that_does_not_match_the_signature(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    spare = SigningKey.generate()
    ledger.add_key(exam_body.slug, spare.verify_key.multibase)
    signed = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    signed["proof"]["verificationMethod"] = f"{exam_body.did}#{spare.verify_key.multibase}"
    refused(backend, ledger, signed, errors.InvalidSignature)


def test_the_same_credential_moved_to_another_learner(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    other = ledger.register_learner("1000000019", "Dafydd Evans", "2002-11-02")
    signed = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    signed["credentialSubject"]["id"] = other
    refused(backend, ledger, signed, errors.InvalidSignature)


def _raw(document: Document, old: str, new: str) -> bytes:
    """The signed document's JSON text with one piece of text replaced (a byte-level trick)."""
    text = json.dumps(document, ensure_ascii=False)
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("label", "trick"),
    [
        ("duplicate keys", lambda d: _raw(d, '"result": "A*"', '"result": "E", "result": "A*"')),
        ("a float 1.0", lambda d: _raw(d, '"result": "A*"', '"result": "A*", "mark": 1.0')),
        ("an exponent 1e2", lambda d: _raw(d, '"result": "A*"', '"result": "A*", "mark": 1e2')),
        ("a lone surrogate", lambda d: _raw(d, '"result": "A*"', '"result": "A\\ud800"')),
        (
            "nesting 10k deep",
            lambda d: _raw(d, '"result": "A*"', '"result": "A*", "x": ' + "[" * 10_000 + "]" * 10_000),
        ),
    ],
)
def test_canonicalisation_tricks_are_malformed(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str, label: str, trick: Any
) -> None:
    signed = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    error = refused(backend, ledger, trick(signed), errors.MalformedCredential)
    assert error.detail, label


def test_a_string_not_in_nfc_is_refused(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    decomposed = unicodedata.normalize("NFD", "Mathemateg Uwch — Caerdydd, Ysgol Gyfun Glantaf, Lefel A: é")
    assert not unicodedata.is_normalized("NFC", decomposed)
    signed = examples.sign(
        examples.assessment(exam_body.did, learner, title=decomposed), exam_body.key
    )  # properly signed: the same text could be signed twice with different bytes
    error = refused(backend, ledger, signed, errors.MalformedCredential)
    assert "NFC" in error.detail


def test_a_huge_array_is_refused_in_bounded_memory(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    signed = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    huge = _raw(signed, '"result": "A*"', '"result": "A*", "padding": [' + ",".join(["7"] * 1_000_000) + "]")
    tracemalloc.start()
    try:
        refused(backend, ledger, huge, errors.CredentialTooLarge)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 1024 * 1024, peak  # generous: tens of MB for a 2 MB body, never unbounded


def test_valid_from_in_the_far_future_or_before_the_key_existed(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    far = examples.sign(
        examples.assessment(exam_body.did, learner, valid_from="2999-01-01T00:00:00Z"), exam_body.key
    )
    error = refused(backend, ledger, far, errors.MalformedCredential)
    assert "future" in error.detail
    early = examples.sign(
        examples.assessment(exam_body.did, learner, valid_from="1999-06-01T00:00:00Z"), exam_body.key
    )
    refused(backend, ledger, early, errors.KeyNotValid)  # the key is valid from 2000


def test_a_correction_naming_another_issuers_credential(
    backend: Backend, ledger: Ledger, exam_body: Issuer, university: Issuer, learner: str
) -> None:
    theirs = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    post_credential(ledger, theirs)
    correction = examples.status(
        university.did, learner, action="supersedes", names=theirs["id"], reason="typo"
    )
    refused(backend, ledger, examples.sign(correction, university.key), errors.WrongIssuer)


def test_a_revoked_credential_replayed_stays_revoked_and_adds_nothing(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    original = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
    first = post_credential(ledger, original)
    revocation = examples.status(
        exam_body.did, learner, action="revokes", names=original["id"], reason="in error"
    )
    post_credential(ledger, examples.sign(revocation, exam_body.key))
    before = stored(backend, ledger)
    replay = post_credential(ledger, copy.deepcopy(original))  # idempotent: its existing entry, not a new one
    assert replay.duplicate and replay.entry == first.entry
    assert stored(backend, ledger) == before
    altered = resigned(original, exam_body.key, lambda d: d["credentialSubject"].update(result="B"))
    refused(backend, ledger, altered, errors.CredentialIdReused)  # the revoked id cannot be reused


def test_a_token_used_after_revocation(
    backend: Backend, ledger: Ledger, exam_body: Issuer, learner: str
) -> None:
    secret, principal = ledger.tokens.create("issuer", organisation=exam_body.slug)
    ledger.tokens.revoke(principal.token_id)
    before = stored(backend, ledger)
    with TestClient(create_app(backend.settings, ledger=ledger, followers=False)) as client:
        document = examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)
        response = client.post(
            "/v1/credentials", json=document, headers={"Authorization": f"Bearer {secret}"}
        )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert stored(backend, ledger) == before
