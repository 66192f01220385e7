"""The whole story over HTTP, on SQLite and PostgreSQL: an exam body posts a batch of results, a
learner shares an award with an employer, the employer opens the share and verifies it offline,
and an auditor checks that the log only ever grew, with the offline verifier's own functions.
"""

from __future__ import annotations

import base64
import time

from fastapi.testclient import TestClient

from ledger import examples
from ledger.application import Ledger
from tests.e2e.world import bearer, soon
from verification.bundle import verify_bundle
from verification.canonical import canonical_json
from verification.checkpoint import open_checkpoint
from verification.keys import SigningKey
from verification.merkle import leaf_hash, verify_consistency, verify_inclusion
from verification.note import parse_verifier_key

SINCE = "2015-01-01T00:00:00Z"


def set_up_issuer(api: TestClient, registrar: dict[str, str], slug: str, kind: str, kinds: list[str]) -> str:
    """Register an organisation with a key and accreditation over HTTP; return its DID."""
    created = api.post(
        "/v1/organisations", json={"slug": slug, "name": slug.upper(), "kind": kind}, headers=registrar
    )
    assert created.status_code == 201, created.text
    return str(created.json()["did"])


def test_results_day_to_employer_to_auditor(api: TestClient, ledger: Ledger) -> None:
    registrar = bearer(ledger.tokens.create("registrar")[0])
    auditor = bearer(ledger.tokens.create("auditor")[0])
    log_key = api.get("/v1/log/key").text.strip()
    verifier = parse_verifier_key(log_key)

    # The registrar sets up an exam body and a university, each with a key and accreditation.
    issuers = {}
    for slug, kind, kinds, scopes in (
        ("wjec", "awarding-body", ["assessment"], ["RQF"]),
        ("caerleon", "university", ["award"], ["FHEQ"]),
    ):
        did = set_up_issuer(api, registrar, slug, kind, kinds)
        key = SigningKey.generate()
        added = api.post(
            f"/v1/organisations/{slug}/keys",
            json={"public_key_multibase": key.verify_key.multibase, "valid_from": SINCE},
            headers=registrar,
        )
        assert added.status_code == 201, added.text
        accredited = api.post(
            f"/v1/organisations/{slug}/accreditations",
            json={"kinds": kinds, "scopes": scopes, "valid_from": SINCE},
            headers=registrar,
        )
        assert accredited.status_code == 201, accredited.text
        issuers[slug] = (did, key, bearer(ledger.tokens.create("issuer", organisation=slug)[0]))
    learners = []
    for uln, name in (
        ("9276308686", "Carys Pritchard"),
        ("1000000019", "Dafydd Evans"),
        ("4817203918", "Amara"),
    ):
        registered = api.post("/v1/learners", json={"uln": uln, "name": name, "date_of_birth": "2003-05-14"},
                              headers=registrar)  # fmt: skip
        assert registered.status_code == 201, registered.text
        learners.append(registered.json())

    # An auditor notes the checkpoint before results day.
    first = open_checkpoint(api.get("/v1/log/checkpoint").text, verifier, verifier.name)

    # Results day: the exam body posts a batch of results.
    did, key, token = issuers["wjec"]
    batch = [examples.sign(examples.assessment(did, learner["id"]), key) for learner in learners]
    posted = api.post("/v1/credentials/batch", json={"credentials": batch}, headers=token)
    assert posted.status_code == 200, posted.text
    assert [item["status"] for item in posted.json()["results"]] == [201, 201, 201]

    # The university awards a degree; the learner shares it with an employer.
    did, key, token = issuers["caerleon"]
    degree = examples.sign(examples.award(did, learners[0]["id"]), key)
    receipt = api.post("/v1/credentials", json=degree, headers=token)
    assert receipt.status_code == 201, receipt.text
    learner = bearer(learners[0]["token"])
    share = api.post(
        f"/v1/learners/{learners[0]['id']}/shares",
        json={"audience": "Severn Software HR", "expires_at": soon(), "credentials": [degree["id"]]},
        headers=learner,
    )
    assert share.status_code == 201, share.text

    # The employer opens the link: one credential, genuine, and its bundle verifies offline too.
    opened = api.get(share.json()["url"].split("localhost:8000")[-1])
    assert opened.status_code == 200, opened.text
    shared = opened.json()["credentials"]
    assert [item["id"] for item in shared] == [degree["id"]]
    assert shared[0]["report"]["ok"] is True
    offline = verify_bundle(shared[0]["bundle"], [log_key])
    assert offline.ok and offline.verdict.startswith("This award is genuine")

    # The auditor reads the log, checks every new leaf, and that the log only grew.
    deadline = time.monotonic() + 20  # the log follower signs a checkpoint each second
    while (
        second := open_checkpoint(api.get("/v1/log/checkpoint").text, verifier, verifier.name)
    ).size < 3 + first.size:
        assert time.monotonic() < deadline, "no newer checkpoint was signed"
        time.sleep(0.1)
    page = api.get(f"/v1/log/entries?start=0&end={second.size}", headers=auditor)
    assert page.status_code == 200, page.text
    for item in page.json()["entries"]:
        digest = leaf_hash(canonical_json(item["entry"]))
        assert base64.b64decode(item["leaf_hash"]) == digest
        proof = api.get(f"/v1/log/proofs/inclusion?index={item['index']}&size={second.size}").json()
        verify_inclusion(
            digest, item["index"], second.size, [base64.b64decode(h) for h in proof["hashes"]], second.root
        )
    proof = api.get(f"/v1/log/proofs/consistency?from={first.size}&to={second.size}").json()
    verify_consistency(
        first.size, second.size, [base64.b64decode(h) for h in proof["hashes"]], first.root, second.root
    )
