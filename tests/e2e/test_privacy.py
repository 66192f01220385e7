"""Privacy over HTTP, on SQLite and PostgreSQL: no public route reveals a learner's personal data
that the caller did not send, and erasure works end to end through the API.
"""

from __future__ import annotations

import re

import orjson
import pytest
from fastapi.testclient import TestClient

from ledger.bundles import build_bundle
from tests.e2e.world import World, routes

PUBLIC_PAGES = ["/verify", "/sign-in", "/s/not-a-share-link", "/no-such-page"]
CONSENTED = {"/v1/shares/{secret}"}
"""Routes that show a learner's record because the learner shared it (the share grant is consent)."""


def learner_secrets(world: World) -> list[str]:
    """Strings that would identify the world's learner or say what their credential holds."""
    profile, _ = world.ledger.opened(world.learner, 1)
    award, _ = world.ledger.opened(world.learner, 2)
    subject = award["credentialSubject"]
    return [
        profile["name"],
        profile["uln"],
        profile["dateOfBirth"],
        subject["achievement"]["name"],
        subject["achievement"]["criteria"]["narrative"],
    ]


def test_no_public_route_reveals_a_learner(api: TestClient, world: World) -> None:
    secrets = learner_secrets(world)
    assert "Carys Pritchard" in secrets
    public = [(method, path) for method, path, allowed in routes() if "anyone" in allowed]
    assert len(public) >= 10
    answers = {}
    for method, path in public:
        if path in CONSENTED:
            continue
        concrete = re.sub(r"\{slug\}", "caerleon", path)
        query = (
            "?index=0&size=1"
            if "inclusion" in path
            else "?old_size=1&new_size=2"
            if "consistency" in path
            else ""
        )
        if method == "POST":  # /v1/verify with a document the caller made up: nothing of the learner back
            answer = api.post(concrete, json={"type": ["VerifiableCredential"], "id": world.credential})
        else:
            answer = api.get(concrete + query)
        assert answer.status_code < 500, (path, answer.text)
        answers[path] = answer.text
    for path in PUBLIC_PAGES:
        answers[path] = api.get(path, headers={"accept": "text/html"}).text
    leaks = [(path, secret) for path, text in answers.items() for secret in secrets if secret in text]
    assert leaks == []
    # The scan can see a leak: the consented share route does show the credential's content.
    assert subject_name(secrets) in api.get(f"/v1/shares/{world.share_secret}").text


def subject_name(secrets: list[str]) -> str:
    """The achievement's name among the learner's secrets."""
    return secrets[3]


def test_erasure_through_the_api(api: TestClient, world: World) -> None:
    learner, registrar = world.tokens["learner"], world.tokens["registrar"]
    bundle = build_bundle(world.ledger, world.credential)
    path = f"/v1/learners/{world.learner}/erasure"

    assert api.post(path, json={"reason": 5}, headers=_bearer(learner)).status_code == 422
    assert api.post(path, json={}, headers=_bearer(world.tokens["learner-other"])).status_code == 403
    asked = api.post(path, json={"reason": "I left the country"}, headers=_bearer(learner))
    assert asked.status_code == 202 and asked.json()["state"] == "requested"
    again = api.post(path, json={}, headers=_bearer(learner))
    assert again.status_code == 409 and again.json()["type"].endswith("/erasure-already-requested")
    request_id = asked.json()["id"]

    pending = api.get("/v1/erasure-requests?state=requested", headers=_bearer(registrar)).json()["requests"]
    assert request_id in [item["id"] for item in pending]
    refuse = f"/v1/erasure-requests/{request_id}/refuse"
    assert api.post(refuse, json={"reason": ""}, headers=_bearer(registrar)).status_code == 422
    approved = api.post(f"/v1/erasure-requests/{request_id}/approve", headers=_bearer(registrar))
    assert approved.status_code == 200 and approved.json()["state"] == "completed"
    assert approved.json()["reason"] is None
    twice = api.post(f"/v1/erasure-requests/{request_id}/approve", headers=_bearer(registrar))
    assert twice.status_code == 409
    missing = api.post("/v1/erasure-requests/nope/approve", headers=_bearer(registrar))
    assert missing.status_code == 404

    # The learner's token went with their data; the bundle still proves what it says, and says so.
    assert api.get(path, headers=_bearer(learner)).status_code == 401
    report = api.post(
        "/v1/verify", content=orjson.dumps(bundle), headers={"content-type": "application/json"}
    )
    assert report.status_code == 200 and report.json()["ok"]
    assert any("erased this learner's data" in note for note in report.json()["notes"])
    altered = orjson.loads(orjson.dumps(bundle))
    altered["entry"]["seq"] += 1  # no longer the ledger's entry: the credential's claim names the learner
    report = api.post(
        "/v1/verify", content=orjson.dumps(altered), headers={"content-type": "application/json"}
    )
    assert report.status_code == 200 and not report.json()["ok"]
    assert any("erased this learner's data" in note for note in report.json()["notes"])
    stored = api.post("/v1/verify", json=bundle["credential"]).json()
    assert not stored["ok"] and stored["checks"][0]["outcome"] == "not-checked"
    read = api.get(f"/v1/credentials/{world.credential}", headers=_bearer(world.tokens["auditor"]))
    assert read.status_code == 410
    assert (
        api.get(
            f"/v1/credentials/{world.credential}/bundle", headers=_bearer(world.tokens["auditor"])
        ).status_code
        == 410
    )


@pytest.mark.parametrize("caller", ["issuer", "auditor", "learner"])
def test_only_the_registrar_decides(api: TestClient, world: World, caller: str) -> None:
    answer = api.post(
        f"/v1/erasure-requests/{world.erasure_request}/approve", headers=_bearer(world.tokens[caller])
    )
    assert answer.status_code == 403
    assert world.ledger.erasures.get(world.erasure_request).state == "requested"


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
