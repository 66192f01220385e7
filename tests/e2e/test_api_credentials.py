"""The credentials API over HTTP, on SQLite and PostgreSQL: posting, reading, bundles, verifying,
and every refusal as a problem with nothing stored.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.app import create_app
from api.metrics import registry
from api.problems import TYPE_BASE
from api.schemas.credentials import BatchResults, VerificationReport
from ledger import examples
from ledger.application import Ledger
from ledger.indexes import CredentialClaim, credential_claim_id
from tests.conftest import Backend, Issuer, register_issuer
from tests.e2e.conftest import Actors
from tests.e2e.world import bearer
from verification.bundle import verify_bundle
from verification.note import parse_verifier_key
from verification.statements import open_receipt

CREDENTIALS = "/v1/credentials"
BATCH = "/v1/credentials/batch"
VERIFY = "/v1/verify"


# -- helpers ---------------------------------------------------------------------------------------


def award(actors: Actors) -> dict[str, Any]:
    """A degree signed by the actors' university about their learner."""
    return examples.sign(examples.award(actors.issuer.did, actors.learner), actors.issuer.key)


def stored(ledger: Ledger) -> tuple[int, int]:
    """Events in the store and leaves in the log, once the log has caught up."""
    ledger.tlog.integrate_all()
    return ledger.recorder.max_notification_id() or 0, ledger.tlog.state().size


def refused(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The response is the problem `slug` with `status`, as application/problem+json."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == TYPE_BASE + slug, body
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def post(api: TestClient, actors: Actors, document: object) -> dict[str, Any]:
    """Post a credential as the actors' university; expect it recorded."""
    response = api.post(CREDENTIALS, json=document, headers=bearer(actors.issuer_token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def posts_counted(outcome: str) -> float:
    """How many posted credentials the metrics counted with this outcome."""
    return registry.get_sample_value("ledger_credentials_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def exam_body_token(ledger: Ledger, actors: Actors) -> tuple[Issuer, str]:
    """A second organisation (an awarding body) with an issuer token of its own."""
    wjec = register_issuer(ledger, "wjec", "awarding-body", ["assessment", "award"], ("RQF",))
    token, _ = ledger.tokens.create("issuer", organisation="wjec")
    return wjec, token


@contextmanager
def small_app(backend: Backend, ledger: Ledger, **limits: int) -> Iterator[TestClient]:
    """The API with tighter limits (a Settings copy) over the same ledger."""
    settings = backend.settings.model_copy(update=limits)
    with TestClient(
        create_app(settings, ledger=ledger, followers=False), raise_server_exceptions=False
    ) as client:
        yield client


# -- posting ---------------------------------------------------------------------------------------


def test_post_records_then_returns_the_same_receipt(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    document = award(actors)
    first = post(api, actors, document)
    assert set(first) == {"entry", "entry_hash", "receipt", "position", "duplicate"}
    assert first["duplicate"] is False and first["position"] > 0
    assert first["entry"]["credential"] == document["id"]
    assert first["entry"]["learner"] == actors.learner and first["entry"]["kind"] == "award"

    signer = ledger.tlog.signer
    receipt = open_receipt(first["receipt"], parse_verifier_key(signer.verifier_key), signer.origin)
    assert receipt.entry_hash == first["entry_hash"]
    assert (receipt.stream, receipt.seq) == (actors.learner, first["entry"]["seq"])

    before = stored(ledger)
    again = api.post(CREDENTIALS, json=copy.deepcopy(document), headers=bearer(actors.issuer_token))
    assert again.status_code == 200, again.text
    assert again.headers["content-type"] == "application/json"
    repeat = again.json()
    assert repeat["duplicate"] is True
    assert {key: repeat[key] for key in ("entry", "entry_hash", "receipt")} == {
        key: first[key] for key in ("entry", "entry_hash", "receipt")
    }
    assert stored(ledger) == before


def test_post_accepts_an_issuer_object_of_its_own_organisation(api: TestClient, actors: Actors) -> None:
    unsigned = examples.award(actors.issuer.did, actors.learner)
    unsigned["issuer"] = {"id": actors.issuer.did, "name": "University of Caerleon"}
    assert post(api, actors, examples.sign(unsigned, actors.issuer.key))["duplicate"] is False


def test_batch_returns_a_result_per_item_and_refused_items_leave_nothing(
    api: TestClient, ledger: Ledger, actors: Actors, exam_body_token: tuple[Issuer, str]
) -> None:
    wjec, _ = exam_body_token
    earlier = award(actors)
    post(api, actors, earlier)
    fresh = examples.sign(examples.enrolment(actors.issuer.did, actors.learner), actors.issuer.key)
    foreign = examples.sign(examples.assessment(wjec.did, actors.learner), wjec.key)
    tampered = award(actors)
    tampered["credentialSubject"]["result"][0]["value"] = "Third"
    admission = examples.sign(examples.admission(actors.issuer.did, actors.learner), actors.issuer.key)
    recorded, refused_foreign = posts_counted("recorded"), posts_counted("other-organisation")

    response = api.post(
        BATCH,
        json={"credentials": [fresh, earlier, foreign, tampered, "not a credential", admission]},
        headers=bearer(actors.issuer_token),
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["status"] for result in results] == [201, 200, 403, 422, 422, 201]
    assert_is_the_model(response, BatchResults)
    assert results[0]["receipt"]["entry"]["credential"] == fresh["id"]
    assert results[1]["receipt"]["duplicate"] is True
    assert results[5]["receipt"]["entry"]["seq"] == results[0]["receipt"]["entry"]["seq"] + 1
    slugs = [result["problem"]["type"].removeprefix(TYPE_BASE) for result in results[2:5]]
    assert slugs == ["other-organisation", "invalid-signature", "malformed-credential"]
    for result in results[2:5]:
        assert set(result["problem"]) == {"type", "title", "status", "detail"}
        assert result["problem"]["status"] == result["status"]
    for refusal in (foreign, tampered):
        assert ledger.find(credential_claim_id(refusal["id"]), CredentialClaim) is None
    assert posts_counted("recorded") == recorded + 2
    assert posts_counted("other-organisation") == refused_foreign + 1


def test_an_empty_batch_is_an_empty_answer(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    before = stored(ledger)
    response = api.post(BATCH, json={"credentials": []}, headers=bearer(actors.issuer_token))
    assert response.status_code == 200 and response.json() == {"results": []}
    assert stored(ledger) == before


# -- refusals of posts: a problem each, nothing stored ---------------------------------------------


@pytest.mark.parametrize(
    ("case", "status", "slug"),
    [
        ("no token", 401, "not-authenticated"),
        ("unknown token", 401, "not-authenticated"),
        ("learner token", 403, "forbidden"),
        ("auditor token", 403, "forbidden"),
        ("other organisation's credential", 403, "other-organisation"),
        ("malformed JSON", 400, "malformed-json"),
        ("duplicate JSON keys", 400, "malformed-json"),
        ("text/plain", 415, "unsupported-media-type"),
        ("a JSON string", 422, "malformed-credential"),
        ("no validFrom", 422, "malformed-credential"),
        ("a float", 422, "malformed-credential"),
        ("bad signature", 422, "invalid-signature"),
        ("unknown learner", 422, "unknown-learner"),
        ("not accredited", 403, "not-accredited"),
    ],
)
def test_a_refused_post_stores_nothing(
    api: TestClient,
    ledger: Ledger,
    actors: Actors,
    exam_body_token: tuple[Issuer, str],
    case: str,
    status: int,
    slug: str,
) -> None:
    wjec, _ = exam_body_token
    university = actors.issuer
    document = award(actors)
    headers = {**bearer(actors.issuer_token), "content-type": "application/json"}
    content = orjson.dumps(document)
    if case == "no token":
        del headers["Authorization"]
    elif case == "unknown token":
        headers.update(bearer("llt_not-a-token"))
    elif case == "learner token":
        headers.update(bearer(actors.learner_token))
    elif case == "auditor token":
        headers.update(bearer(actors.auditor))
    elif case == "other organisation's credential":
        content = orjson.dumps(examples.sign(examples.assessment(wjec.did, actors.learner), wjec.key))
    elif case == "malformed JSON":
        content = content[:-1]
    elif case == "duplicate JSON keys":
        content = b'{"issuer": "did:web:example.org", ' + content[1:]  # issuer appears twice
    elif case == "text/plain":
        headers["content-type"] = "text/plain"
    elif case == "a JSON string":
        content = orjson.dumps(content.decode())
    elif case == "no validFrom":
        unsigned = examples.award(university.did, actors.learner)
        del unsigned["validFrom"]
        content = orjson.dumps(examples.sign(unsigned, university.key))
    elif case == "a float":
        content = content.replace(b'"creditsAvailable":360', b'"creditsAvailable":360.5')
        assert b"360.5" in content
    elif case == "bad signature":
        document["name"] = "BSc (Hons) Computer Science with Distinction"
        content = orjson.dumps(document)
    elif case == "unknown learner":
        stranger = "urn:uuid:5d1a6e38-4b52-4a8e-9b1e-6f0a1c2d3e4f"
        content = orjson.dumps(examples.sign(examples.award(university.did, stranger), university.key))
    elif case == "not accredited":
        content = orjson.dumps(
            examples.sign(examples.employment(university.did, actors.learner), university.key)
        )
    before = stored(ledger)
    refused(api.post(CREDENTIALS, content=content, headers=headers), status, slug)
    assert stored(ledger) == before


def test_an_oversized_body_is_refused(backend: Backend, ledger: Ledger, actors: Actors) -> None:
    content = orjson.dumps(award(actors))
    assert len(content) > 1024
    before = stored(ledger)
    with small_app(backend, ledger, max_request_bytes=1024) as client:
        headers = {**bearer(actors.issuer_token), "content-type": "application/json"}
        refused(client.post(CREDENTIALS, content=content, headers=headers), 413, "request-too-large")
        refused(client.post(VERIFY, content=content, headers=headers), 413, "request-too-large")
    assert stored(ledger) == before


def test_an_oversized_streamed_body_is_refused(backend: Backend, ledger: Ledger, actors: Actors) -> None:
    content = orjson.dumps(award(actors))
    before = stored(ledger)
    with small_app(backend, ledger, max_request_bytes=1024) as client:
        headers = {**bearer(actors.issuer_token), "content-type": "application/json"}
        chunks = iter([content[:800], content[800:]])  # streamed: no Content-Length to trust
        refused(client.post(CREDENTIALS, content=chunks, headers=headers), 413, "request-too-large")
    assert stored(ledger) == before


def test_a_batch_over_the_limit_or_not_a_list_is_refused_whole(
    backend: Backend, ledger: Ledger, actors: Actors
) -> None:
    documents = [award(actors) for _ in range(3)]
    before = stored(ledger)
    with small_app(backend, ledger, max_batch=2) as client:
        headers = bearer(actors.issuer_token)
        refused(client.post(BATCH, json={"credentials": documents}, headers=headers), 413, "batch-too-large")
        for body in ({"credentials": documents[0]}, documents, {"credentials": [], "more": 1}, {}):
            refused(client.post(BATCH, json=body, headers=headers), 422, "malformed-batch")
        refused(client.post(BATCH, json={"credentials": []}), 401, "not-authenticated")
    assert stored(ledger) == before


# -- reading ---------------------------------------------------------------------------------------


def test_a_credential_is_read_by_its_issuer_learner_auditor_and_share(
    api: TestClient, ledger: Ledger, actors: Actors
) -> None:
    document = award(actors)
    receipt = post(api, actors, document)
    ledger.tlog.integrate_all()
    secret, _ = ledger.shares.create(
        actors.learner, "Severn HR", datetime.now(UTC) + timedelta(days=7), [document["id"]]
    )
    everything, _ = ledger.shares.create(actors.learner, "UCAS", datetime.now(UTC) + timedelta(days=7))
    url = f"{CREDENTIALS}/{document['id']}"
    after = {"after": receipt["position"]}
    answers = [
        api.get(url, params=after, headers=bearer(actors.issuer_token)),
        api.get(url, params=after, headers=bearer(actors.learner_token)),
        api.get(url, params=after, headers=bearer(actors.auditor)),
        api.get(url, params={**after, "share": secret}),
        api.get(url, params={**after, "share": everything}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["credential"] == document
        index = body["index"]
        assert index["credential"] == document["id"] and index["learner"] == actors.learner
        assert index["seq"] == receipt["entry"]["seq"] and index["issuer"] == actors.issuer.did
        assert index["kind"] == "award" and index["status"] == "valid" and index["changed_by"] is None
        assert isinstance(index["leaf_index"], int)


def test_a_revocation_shows_in_the_index(api: TestClient, actors: Actors) -> None:
    document = award(actors)
    post(api, actors, document)
    unsigned = examples.status(
        actors.issuer.did, actors.learner, action="revokes", names=document["id"], reason="awarded in error"
    )
    revocation = examples.sign(unsigned, actors.issuer.key)
    receipt = post(api, actors, revocation)
    answer = api.get(
        f"{CREDENTIALS}/{document['id']}",
        params={"after": receipt["position"]},
        headers=bearer(actors.learner_token),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["index"]["status"] == "revoked"
    assert answer.json()["index"]["changed_by"] == revocation["id"]


def test_who_may_not_read_a_credential_is_told_without_learning_it_exists(
    api: TestClient, ledger: Ledger, actors: Actors, exam_body_token: tuple[Issuer, str]
) -> None:
    _, wjec_token = exam_body_token
    document = award(actors)
    receipt = post(api, actors, document)
    other = ledger.register_learner("4817263503", "Dafydd Rees", "2002-01-09")
    other_token, _ = ledger.tokens.create("learner", learner=other)
    week = datetime.now(UTC) + timedelta(days=7)
    elsewhere, _ = ledger.shares.create(
        actors.learner, "Severn HR", week, ["urn:uuid:" + "0" * 8 + "-0000-4000-8000-" + "0" * 12]
    )
    others, _ = ledger.shares.create(other, "Severn HR", week)
    revoked, grant = ledger.shares.create(actors.learner, "Severn HR", week)
    ledger.shares.revoke(actors.learner, grant.id)
    unknown = "urn:uuid:9a4c2b1e-0d3f-4e5a-8b6c-7d8e9f0a1b2c"
    after = {"after": receipt["position"]}
    for suffix in ("", "/bundle"):
        url = f"{CREDENTIALS}/{document['id']}{suffix}"
        refused(api.get(url, params=after), 401, "not-authenticated")
        refused(api.get(url, headers=bearer("llt_nobody")), 401, "not-authenticated")
        refused(api.get(url, params=after, headers=bearer(actors.registrar)), 403, "forbidden")
        refused(api.get(url, params={"share": elsewhere}), 403, "forbidden")
        refused(api.get(url, params={"share": "not-a-share"}), 404, "share-not-found")
        refused(api.get(url, params={"share": revoked}), 410, "share-gone")
        # Another organisation, another learner, another learner's share: as if it did not exist.
        for hidden in (
            api.get(url, params=after, headers=bearer(wjec_token)),
            api.get(url, params=after, headers=bearer(other_token)),
            api.get(url, params={**after, "share": others}),
            api.get(f"{CREDENTIALS}/{unknown}{suffix}", params=after, headers=bearer(actors.auditor)),
        ):
            refused(hidden, 404, "unknown-credential")
    refused(
        api.get(f"{CREDENTIALS}/{document['id']}", params={"after": "soon"}, headers=bearer(actors.auditor)),
        422,
        "invalid-request",
    )
    refused(
        api.get(
            f"{CREDENTIALS}/{document['id']}",
            params={"after": receipt["position"] + 10**12},
            headers=bearer(actors.auditor),
        ),
        422,
        "unknown-position",
    )


# -- bundles and verifying -------------------------------------------------------------------------


def test_the_bundle_verifies_offline(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    first = award(actors)
    post(api, actors, first)
    seen = ledger.tlog.sign_checkpoint(force=True)
    assert seen is not None
    document = award(actors)
    post(api, actors, document)
    response = api.get(
        f"{CREDENTIALS}/{document['id']}/bundle",
        params={"since": seen.size},
        headers=bearer(actors.learner_token),
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "LearnerLedgerBundle" and bundle["credential"] == document
    assert str(seen.size) in bundle["consistency"]
    report = verify_bundle(bundle, [ledger.tlog.signer.verifier_key])
    assert report.ok, report.to_text()


def assert_is_the_model(answer: httpx.Response, schema: type[BaseModel] = VerificationReport) -> None:
    """Routes that send their answer without FastAPI's re-validation (/v1/verify, the batch) must
    send exactly what their response model would have sent."""
    model = schema.model_validate_json(answer.content, strict=True)
    assert answer.json() == model.model_dump(mode="json")


def test_verify_a_bundle_good_or_tampered(api: TestClient, ledger: Ledger, actors: Actors) -> None:
    document = award(actors)
    post(api, actors, document)
    bundle = api.get(f"{CREDENTIALS}/{document['id']}/bundle", headers=bearer(actors.auditor)).json()
    good = api.post(VERIFY, json=bundle)
    assert good.status_code == 200, good.text
    report = good.json()
    assert report["ok"] is True and "genuine" in report["verdict"]
    assert all(check["outcome"] != "fail" for check in report["checks"])
    assert report["checkpoint"]["origin"] == ledger.tlog.signer.origin
    assert_is_the_model(good)

    tampered = copy.deepcopy(bundle)
    tampered["credential"]["credentialSubject"]["result"][0]["value"] = "Third"
    answer = api.post(VERIFY, json=tampered)
    assert answer.status_code == 200, answer.text
    failed = {check["name"] for check in answer.json()["checks"] if check["outcome"] == "fail"}
    assert answer.json()["ok"] is False and "proof-signature" in failed
    assert_is_the_model(answer)

    broken = {**bundle, "version": 99}
    answer = api.post(VERIFY, json=broken)
    assert answer.status_code == 200 and answer.json()["ok"] is False
    assert answer.json()["checks"][0] == {
        "name": "bundle-format",
        "outcome": "fail",
        "sentence": answer.json()["checks"][0]["sentence"],
    }


def test_verify_a_bare_credential_held_not_held_or_altered(
    api: TestClient, ledger: Ledger, actors: Actors
) -> None:
    document = award(actors)
    post(api, actors, document)
    before = stored(ledger)

    held = api.post(VERIFY, json=document)
    assert held.status_code == 200, held.text
    report = held.json()
    assert report["ok"] is True, report["verdict"]
    assert report["checks"][0] == {
        "name": "recorded-in-ledger",
        "outcome": "pass",
        "sentence": "The ledger holds exactly this credential.",
    }
    assert report["bundle"]["credential"] == document
    assert_is_the_model(held)
    assert verify_bundle(report["bundle"], [ledger.tlog.signer.verifier_key]).ok

    never = award(actors)  # validly signed, never posted
    # A different credential under a recorded id, validly signed by the same issuer.
    unsigned = examples.award(actors.issuer.did, actors.learner)
    unsigned["id"] = document["id"]
    unsigned["credentialSubject"]["result"][0]["value"] = "Third"
    swapped = examples.sign(unsigned, actors.issuer.key)
    edited = copy.deepcopy(document)  # the recorded one, edited after signing
    edited["credentialSubject"]["result"][0]["value"] = "Third"
    for presented, signature in ((never, "pass"), (swapped, "pass"), (edited, "fail")):
        answer = api.post(VERIFY, json=presented)
        assert answer.status_code == 200, answer.text
        report = answer.json()
        outcomes = {check["name"]: check["outcome"] for check in report["checks"]}
        assert report["ok"] is False and report["verdict"].startswith("Do not rely on this credential.")
        assert outcomes["recorded-in-ledger"] == "fail"
        assert outcomes["proof-signature"] == signature
        assert outcomes["inclusion-in-checkpoint"] == "not-checked"
        assert report["bundle"] is None and report["checkpoint"] is None
        assert_is_the_model(answer)
    assert stored(ledger)[0] == before[0]


@pytest.mark.parametrize(
    "body",
    [b"[]", b'"text"', b"{}", b'{"type": "Something"}', b"null", b"17"],
)
def test_verify_refuses_what_is_neither_bundle_nor_credential(
    api: TestClient, ledger: Ledger, body: bytes
) -> None:
    before = stored(ledger)
    refused(api.post(VERIFY, content=body), 422, "not-verifiable")
    refused(api.post(VERIFY, content=b"{"), 400, "malformed-json")
    refused(
        api.post(VERIFY, content=b"{}", headers={"content-type": "text/plain"}), 415, "unsupported-media-type"
    )
    assert stored(ledger) == before


def test_every_route_declares_roles_a_summary_and_its_problems(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    expected = {
        ("post", CREDENTIALS): ["issuer"],
        ("post", BATCH): ["issuer"],
        ("get", CREDENTIALS + "/{credential_id}"): ["issuer", "learner", "auditor", "verifier"],
        ("get", CREDENTIALS + "/{credential_id}/bundle"): ["issuer", "learner", "auditor", "verifier"],
        ("post", VERIFY): ["anyone"],
    }
    for (method, path), roles in expected.items():
        operation = paths[path][method]
        assert operation["x-roles"] == roles
        assert operation["description"]
        problems = [status for status in operation["responses"] if status.startswith("4")]
        assert problems
        for status in problems:
            assert "application/problem+json" in operation["responses"][status]["content"]
        if method == "post":
            assert operation["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
