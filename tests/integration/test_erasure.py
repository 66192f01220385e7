"""Erasure by crypto-shredding, on SQLite and PostgreSQL: two learners, credentials, a share; erase
one; every proof still verifies, the audit reports the erasure and nothing else, no plaintext of the
erased learner remains in any table, and a rebuild of the read models does not bring it back.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from ledger import examples
from ledger.application import Ledger
from ledger.audit import audit
from ledger.bundles import build_bundle
from ledger.erasure import ErasureAlreadyDecided, ErasureAlreadyRequested, ErasureRequestNotFound
from ledger.errors import InvalidRegistryChange, LearnerDataErased, LearnerErased
from ledger.posting import post_credential
from ledger.tokens import NotAuthenticated
from projections.bootstrap import open_projections
from projections.credential_index import lookup
from projections.portfolio_view import load_items
from tests.conftest import POSTGRES_URL, Backend, Issuer
from verification.bundle import verify_bundle

SECRET_NAME = "Zephyrine Quillfeather"
SECRET_ULN = "1000000019"
SECRET_AWARD = "MSc Astrobiology of Icy Moons"
SECRET_RESULT = "Distinction with Viridian Commendation"


@dataclass
class Two:
    """Two learners with credentials; the first is the one to erase."""

    erased: str
    kept: str
    erased_award: str
    kept_award: str
    bundles: dict[str, dict[str, object]]


def award_for(ledger: Ledger, issuer: Issuer, learner: str, *, secret: bool) -> str:
    document = examples.award(issuer.did, learner)
    if secret:
        document["credentialSubject"]["achievement"]["name"] = SECRET_AWARD
        document["credentialSubject"]["result"][0]["value"] = SECRET_RESULT
        document["name"] = SECRET_AWARD
    post_credential(ledger, examples.sign(document, issuer.key))
    return str(document["id"])


@pytest.fixture
def two(ledger: Ledger, university: Issuer) -> Two:
    erased = ledger.register_learner(SECRET_ULN, SECRET_NAME, "2001-02-03")
    kept = ledger.register_learner("9276308686", "Carys Pritchard", "2003-05-14")
    erased_award = award_for(ledger, university, erased, secret=True)
    kept_award = award_for(ledger, university, kept, secret=False)
    ledger.tokens.create("learner", learner=erased, label=f"token of {SECRET_NAME}")
    ledger.shares.create(erased, f"Admissions for {SECRET_NAME}", datetime.now(UTC) + timedelta(days=3))
    ledger.tlog.integrate_all()
    bundles = {credential: build_bundle(ledger, credential) for credential in (erased_award, kept_award)}
    return Two(erased, kept, erased_award, kept_award, bundles)


def erase(ledger: Ledger, learner: str) -> None:
    request = ledger.erasures.request(ledger, learner, f"please forget {SECRET_NAME}")
    done = ledger.erasures.approve(ledger, request.id)
    assert done.state == "completed" and done.reason is None
    ledger.tlog.integrate_all()
    ledger.tlog.sign_checkpoint(force=True)


def every_cell(backend: Backend) -> str:
    """Every value of every table of the database, as text (bytes decoded leniently), for scans."""
    values: list[object] = []
    if backend.name == "sqlite":
        with sqlite3.connect(backend.settings.data_dir / "ledger.sqlite3") as conn:
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                values += [value for row in conn.execute(f'SELECT * FROM "{table}"') for value in row]
    else:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (backend.schema,),
                )
            ]
            for table in tables:
                query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(backend.schema or "public", table))
                values += [value for row in conn.execute(query) for value in row]
    assert len(tables) >= 10, tables
    return "\n".join(
        value.decode("utf-8", "replace") if isinstance(value, (bytes, memoryview)) else str(value)
        for value in (bytes(v) if isinstance(v, memoryview) else v for v in values)
    )


SECRETS = (SECRET_NAME, SECRET_ULN, SECRET_AWARD, SECRET_RESULT, "Zephyrine", "Quillfeather")


def test_the_scan_sees_plaintext_before_erasure(backend: Backend, ledger: Ledger, two: Two) -> None:
    """The scan can fail: before erasure the learner's data is readable in the views and tables."""
    open_projections(ledger).catch_up()
    text = every_cell(backend)
    assert SECRET_AWARD in text and SECRET_NAME in text


def test_erasure_keeps_every_proof_and_leaves_no_plaintext(
    backend: Backend, ledger: Ledger, two: Two
) -> None:
    projections = open_projections(ledger)
    projections.catch_up()
    leaves_before = ledger.tlog.state().size
    erase(ledger, two.erased)
    projections.catch_up()
    key = [ledger.tlog.signer.verifier_key]

    # Every bundle made before still verifies offline, the kept learner's too, and new ones can be made.
    for bundle in two.bundles.values():
        assert verify_bundle(bundle, key).ok
    assert verify_bundle(build_bundle(ledger, two.kept_award), key).ok
    with pytest.raises(LearnerDataErased):
        build_bundle(ledger, two.erased_award)

    # The erased stream and its leaves are still in the log, plus the ErasureCompleted entry.
    stream = ledger.learner_stream(two.erased)
    assert stream.erased and [entry["kind"] for entry in stream.entries] == [
        "registration",
        "award",
        "erasure",
    ]
    assert ledger.tlog.state().size == leaves_before + 1
    report = ledger.read_stream(two.erased)
    assert report.erased and not report.findings

    # The audit: clean, with the erasure counted.
    result = audit(ledger)
    assert result.findings == []
    assert result.counted["erasures"] == 1 and result.counted["erased-streams"] == 1

    # Nothing of the erased learner in any table, on either backend.
    text = every_cell(backend)
    assert [secret for secret in SECRETS if secret in text] == []
    assert "Carys Pritchard" not in text  # sealed for the kept learner too, decrypted only in views
    # The views answer "erased" and hold no item of the learner; a rebuild does not bring them back.
    with projections.store.reading() as view:
        assert load_items(view, two.erased) == []
        indexed = lookup(view, two.erased_award)
        assert indexed is not None and indexed.status == "erased"
    for name in ("portfolio", "credential_index", "statistics"):
        projections.rebuild(name)
    with projections.store.reading() as view:
        assert load_items(view, two.erased) == []
        assert load_items(view, two.kept) != []
    assert [secret for secret in SECRETS if secret in every_cell(backend)] == []
    assert audit(ledger).findings == []


def test_after_erasure_the_learner_has_no_tokens_shares_or_future(
    ledger: Ledger, two: Two, university: Issuer
) -> None:
    token, _ = ledger.tokens.create("learner", learner=two.erased)
    erase(ledger, two.erased)
    with pytest.raises(NotAuthenticated):
        ledger.tokens.authenticate(token)
    assert ledger.shares.list(two.erased) == []
    with pytest.raises(LearnerErased):
        award_for(ledger, university, two.erased, secret=False)
    with pytest.raises(LearnerErased):
        ledger.erasures.request(ledger, two.erased)
    # The ULN is released: the person may be registered again, as a new learner.
    again = ledger.register_learner(SECRET_ULN, "Someone New", "2001-02-03")
    assert again != two.erased
    assert audit(ledger).findings == []


def test_erasure_refusals_change_nothing(ledger: Ledger, two: Two) -> None:
    first = ledger.erasures.request(ledger, two.erased, "first")
    with pytest.raises(ErasureAlreadyRequested):
        ledger.erasures.request(ledger, two.erased, "again")
    with pytest.raises(InvalidRegistryChange):
        ledger.erasures.refuse(first.id, "   ")
    with pytest.raises(ErasureRequestNotFound):
        ledger.erasures.approve(ledger, "no-such-request")
    assert ledger.erasures.get(first.id).state == "requested"
    refused = ledger.erasures.refuse(first.id, "a court order holds this record")
    assert refused.state == "refused" and refused.decision == "a court order holds this record"
    with pytest.raises(ErasureAlreadyDecided):
        ledger.erasures.approve(ledger, first.id)
    with pytest.raises(InvalidRegistryChange):
        ledger.erasures.request(ledger, two.erased, "x" * 2001)
    assert not ledger.learner_stream(two.erased).erased
    assert ledger.opened(two.erased, 2)[0]["name"] == SECRET_AWARD
    second = ledger.erasures.request(ledger, two.erased)  # a refused request does not block a new one
    assert [item.id for item in ledger.erasures.list(learner=two.erased)] == [first.id, second.id]
