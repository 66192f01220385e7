"""Secrets stay secret: a whole end-to-end run against a real `ledger serve` (uvicorn and app logs
captured from its stderr) never shows a token, the master key, the log signing key or a data key in
its logs, error bodies or metrics; and no data key is stored unwrapped in any table.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from ledger import examples
from ledger.application import Ledger
from tests.conftest import Backend, register_issuer, table_rows
from tests.e2e.served import Served
from tests.e2e.world import bearer, soon


def forms(secret: bytes | str) -> list[bytes]:
    """The ways a secret could leak: as text, raw bytes, base64, hex."""
    raw = secret.encode() if isinstance(secret, str) else secret
    found = [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="), raw.hex().encode()]
    return [form for form in found if len(form) >= 16]


def test_no_secret_in_logs_error_bodies_metrics_or_tables(
    backend: Backend, ledger: Ledger, tmp_path: Path
) -> None:
    issuer = register_issuer(ledger, "caerleon", "university", ["award"], ("FHEQ",))
    tokens = {
        "registrar": ledger.tokens.create("registrar")[0],
        "issuer": ledger.tokens.create("issuer", organisation="caerleon")[0],
        "auditor": ledger.tokens.create("auditor")[0],
    }
    revoked, principal = ledger.tokens.create("auditor")
    ledger.tokens.revoke(principal.token_id)
    served = Served(backend.process_env(), tmp_path / "server.log")
    seen = b""  # every answer's body and headers, except the ones that hand a new secret to its owner
    shown_once: list[bytes] = []
    try:
        served.start()
        with httpx.Client(base_url=served.url, timeout=30) as http:
            made = http.post(
                "/v1/learners",
                json={"uln": "9276308686", "name": "Carys Pritchard", "date_of_birth": "2003-05-14"},
                headers=bearer(tokens["registrar"]),
            )
            assert made.status_code == 201, made.text
            shown_once.append(made.content)
            learner, tokens["learner"] = made.json()["id"], made.json()["token"]
            award = examples.sign(examples.award(issuer.did, learner), issuer.key)
            share = http.post(
                f"/v1/learners/{learner}/shares",
                json={"audience": "HR", "expires_at": soon(), "credentials": None},
                headers=bearer(tokens["learner"]),
            )
            shown_once.append(share.content)
            share_secret = share.json()["secret"]
            answers = [
                http.post("/v1/credentials", json=award, headers=bearer(tokens["issuer"])),
                http.post("/v1/credentials", json=award, headers=bearer(tokens["registrar"])),  # 403
                http.post("/v1/credentials", json=award, headers=bearer(revoked)),  # 401
                http.post("/v1/credentials", content=b"{not json", headers=bearer(tokens["issuer"])),
                http.get(f"/v1/learners/{learner}/portfolio", headers=bearer(tokens["learner"])),
                http.get(f"/v1/learners/{learner}/portfolio", headers=bearer(tokens["issuer"])),  # 403
                http.get(f"/v1/learners/{learner}/entries", headers=bearer(tokens["auditor"])),
                http.get(f"/v1/shares/{share_secret}"),
                http.get(f"/v1/shares/{share_secret}x"),  # 404
                http.get("/v1/audit/state", headers=bearer(tokens["auditor"])),
                http.get("/v1/log/checkpoint"),
                http.get("/readyz"),
                http.get("/metrics"),
            ]
            assert answers[0].status_code == 201 and answers[2].status_code == 401
            for answer in answers:
                seen += answer.content + repr(answer.headers.raw).encode()
    finally:
        served.stop()
    logs = (tmp_path / "server.log").read_bytes()
    assert b'"POST /v1/credentials HTTP/1.1" 201' in logs  # the capture did see the run
    assert b"GET /v1/shares/[redacted] HTTP/1.1" in logs  # share links are logged, their secrets not

    secrets: dict[str, bytes | str] = {f"{role} token": token for role, token in tokens.items()}
    secrets["revoked token"] = revoked
    secrets["share secret"] = share_secret
    secrets["master key"] = backend.settings.master_key_bytes()
    secrets["master key text"] = backend.process_env()["LEDGER_MASTER_KEY"]
    secrets["log signing key"] = backend.settings.log_signing_key_text()
    data_key = ledger.data_key(learner)._key
    secrets["data key"] = data_key
    for name, secret in secrets.items():
        for form in forms(secret):
            assert form not in logs, f"the {name} is in the server's logs"
            if name != "share secret":  # the share's own page names its link: that is its purpose
                assert form not in seen, f"the {name} is in an answer"

    # data keys are only ever stored wrapped: the raw key appears in no table, in any encoding
    dump = repr(table_rows(backend)).encode()
    for form in forms(data_key):
        assert form not in dump
    assert any(data_key not in bytes(row["wrapped_key"]) for row in table_rows(backend)["learner_keys"])
