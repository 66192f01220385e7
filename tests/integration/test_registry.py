"""The trust registry and learner registration on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from ledger import errors
from ledger.application import Ledger
from ledger.sealing import SealBroken
from tests.conftest import Issuer
from verification.keys import SigningKey

JAN_2022 = datetime(2022, 1, 1, tzinfo=UTC)


def events(ledger: Ledger) -> int:
    """How many events the store holds."""
    return ledger.recorder.max_notification_id() or 0


def test_organisation_gets_a_did_web_and_a_did_document(ledger: Ledger, exam_body: Issuer) -> None:
    org = ledger.organisation("wjec")
    assert org.did == "did:web:localhost%3A8000:orgs:wjec" == exam_body.did
    document = org.did_document()
    method = f"{org.did}#{exam_body.key.verify_key.multibase}"
    assert document["id"] == org.did
    assert document["verificationMethod"][0]["id"] == method
    assert document["verificationMethod"][0]["type"] == "Multikey"
    assert document["assertionMethod"] == [method]


def test_retired_key_leaves_assertion_methods_but_stays_listed(ledger: Ledger, exam_body: Issuer) -> None:
    org = ledger.retire_key("wjec", exam_body.key.verify_key.multibase, JAN_2022)
    assert org.did_document()["assertionMethod"] == []
    assert len(org.did_document()["verificationMethod"]) == 1
    assert org.keys[exam_body.key.verify_key.multibase].retired_at == JAN_2022


def test_registry_changes_are_chained_entries(ledger: Ledger, exam_body: Issuer) -> None:
    org = ledger.organisation("wjec")
    assert org.seq == 3  # registered, key added, accredited
    assert org.version == 3


@pytest.mark.parametrize(
    ("slug", "name", "kind"),
    [
        ("Bad Slug", "X", "university"),
        ("-x", "X", "university"),
        ("ok", "X", "bank"),
        ("ok", "  ", "employer"),
    ],
)
def test_bad_organisations_are_refused(ledger: Ledger, slug: str, name: str, kind: str) -> None:
    before = events(ledger)
    with pytest.raises(errors.InvalidRegistryChange):
        ledger.register_organisation(slug, name, kind)
    assert events(ledger) == before


def test_duplicate_organisation(ledger: Ledger, exam_body: Issuer) -> None:
    before = events(ledger)
    with pytest.raises(errors.DuplicateOrganisation):
        ledger.register_organisation("wjec", "Another", "awarding-body")
    assert events(ledger) == before


def test_a_key_belongs_to_one_organisation(ledger: Ledger, exam_body: Issuer, employer: Issuer) -> None:
    before = events(ledger)
    with pytest.raises(errors.DuplicateKey):
        ledger.add_key("severn-software", exam_body.key.verify_key.multibase)
    with pytest.raises(errors.DuplicateKey):
        ledger.add_key("wjec", exam_body.key.verify_key.multibase)
    with pytest.raises(errors.InvalidRegistryChange):
        ledger.add_key("wjec", "z6MkNotAKey")
    with pytest.raises(errors.UnknownOrganisation):
        ledger.add_key("nobody", SigningKey.generate().verify_key.multibase)
    assert events(ledger) == before


def test_key_lifecycle_refusals(ledger: Ledger, exam_body: Issuer) -> None:
    key = exam_body.key.verify_key.multibase
    ledger.retire_key("wjec", key, JAN_2022)
    before = events(ledger)
    with pytest.raises(errors.InvalidRegistryChange, match="already retired"):
        ledger.retire_key("wjec", key, JAN_2022)
    with pytest.raises(errors.InvalidRegistryChange, match="has no key"):
        ledger.compromise_key("wjec", SigningKey.generate().verify_key.multibase, JAN_2022)
    assert events(ledger) == before


def test_accreditation_refusals(ledger: Ledger, exam_body: Issuer) -> None:
    before = events(ledger)
    with pytest.raises(errors.InvalidRegistryChange):
        ledger.accredit("wjec", ["payroll"])
    with pytest.raises(errors.InvalidRegistryChange):
        ledger.accredit("wjec", [])
    with pytest.raises(errors.InvalidRegistryChange):
        ledger.accredit("wjec", ["award"], ["RQF"], JAN_2022, datetime(2021, 1, 1, tzinfo=UTC))
    assert events(ledger) == before


def test_learner_registration_and_refusals(ledger: Ledger) -> None:
    learner = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    assert learner.startswith("urn:uuid:")
    before = events(ledger)
    with pytest.raises(errors.DuplicateULN):
        ledger.register_learner("9276308686", "Someone Else", "2001-01-01")
    with pytest.raises(errors.InvalidULN, match="check digit"):
        ledger.register_learner("9276308687", "Wrong Digit", "2001-01-01")
    with pytest.raises(errors.InvalidRegistryChange, match="date of birth"):
        ledger.register_learner("1000000019", "Bad Date", "14/05/2003")
    assert events(ledger) == before


def test_the_uln_is_never_stored_in_clear(backend_database_bytes: bytes) -> None:
    assert b"registration" in backend_database_bytes  # the dump does hold the learner's entry
    assert b"9276308686" not in backend_database_bytes
    assert b"Carys" not in backend_database_bytes


def test_learner_data_is_sealed_under_the_learners_own_key(ledger: Ledger) -> None:
    first = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    second = ledger.register_learner("1000000019", "Dafydd Evans", "2002-11-02")
    stream = ledger.learner_stream(first)

    with pytest.raises(SealBroken):
        ledger.data_key(second).open(first, base64.b64decode(stream.sealed[0]))
    with pytest.raises(SealBroken):
        ledger.data_key(first).open(second, base64.b64decode(stream.sealed[0]))
