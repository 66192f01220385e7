"""Bundles from the ledger, verified offline by `ledger verify` in a process with no database."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import examples
from ledger.application import Ledger
from ledger.bundles import build_bundle
from ledger.posting import post_credential
from tests.conftest import Issuer
from verification.bundle import verify_bundle
from verification.checkpoint import parse_checkpoint
from verification.note import parse_verifier_key
from verification.statements import open_receipt


def offline_verify(
    bundle: dict[str, Any], log_key: str, tmp_path: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Run `ledger verify` in a fresh process with no LEDGER_* settings and no data folder."""
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEDGER_")}
    command = [
        sys.executable,
        "-m",
        "ledger.cli",
        "verify",
        str(path),
        "--log-key",
        log_key,
        "--json",
        *extra,
    ]
    return subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def award(ledger: Ledger, university: Issuer, learner: str) -> dict[str, Any]:
    """A degree recorded in the ledger and integrated into the log."""
    document = examples.sign(examples.award(university.did, learner), university.key)
    post_credential(ledger, document)
    ledger.tlog.integrate_all()
    return document


def test_a_bundle_from_the_ledger_verifies_offline(
    ledger: Ledger, award: dict[str, Any], tmp_path: Path
) -> None:
    bundle = build_bundle(ledger, award["id"])
    result = offline_verify(bundle, ledger.tlog.signer.verifier_key, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["verdict"].startswith("This award is genuine: BSc (Hons) Computer Science")
    outcomes = {check["name"]: check["outcome"] for check in report["checks"]}
    assert outcomes.pop("consistency-with-last-seen") == "not-checked"
    assert set(outcomes.values()) == {"pass"}


def test_a_tampered_bundle_fails_offline_with_exit_1(
    ledger: Ledger, award: dict[str, Any], tmp_path: Path
) -> None:
    bundle = build_bundle(ledger, award["id"])
    bundle["credential"]["credentialSubject"]["result"][0]["value"] = "Third"
    result = offline_verify(bundle, ledger.tlog.signer.verifier_key, tmp_path)
    assert result.returncode == 1
    failed = {check["name"] for check in json.loads(result.stdout)["checks"] if check["outcome"] == "fail"}
    assert {"proof-signature", "commitment-matches-entry"} <= failed


def test_the_wrong_log_key_fails(ledger: Ledger, award: dict[str, Any]) -> None:
    from verification.note import generate_signer_key

    _, stranger = generate_signer_key(ledger.tlog.signer.origin)
    report = verify_bundle(build_bundle(ledger, award["id"]), [stranger])
    assert "checkpoint-signature" in report.failed and not report.ok


def test_a_bundle_leaving_out_the_last_registry_entry_fails(
    ledger: Ledger, university: Issuer, award: dict[str, Any], tmp_path: Path
) -> None:
    ledger.compromise_key(university.slug, university.key.verify_key.multibase, datetime.now(UTC))
    bundle = build_bundle(ledger, award["id"])
    key = ledger.tlog.signer.verifier_key
    full = verify_bundle(bundle, [key])
    assert full.ok, full.to_text()
    assert [item["entry"]["kind"] for item in bundle["registry"]][-1] == "key-compromised"
    assert "later reported compromised" in full.check("key-not-compromised").sentence
    del bundle["registry"][-1]  # hide the compromise
    result = offline_verify(bundle, key, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert {name for name, check in checks.items() if check["outcome"] == "fail"} == {"registry-in-log"}
    assert "leaves out some of the issuer's registry entries" in checks["registry-in-log"]["sentence"]
    assert "holds 4 as of this checkpoint, the bundle shows 3" in checks["registry-in-log"]["sentence"]


PARTS = ["credential", "salt", "entry", "proof", "checkpoint"]


def _flip(bundle: dict[str, Any], part: str, position: int, bit: int) -> dict[str, Any]:
    """The bundle with one bit of one part's serialised bytes flipped."""
    changed = json.loads(json.dumps(bundle))
    if part in ("credential", "entry"):
        text = bytearray(json.dumps(changed[part]).encode())
        text[position % len(text)] ^= 1 << bit
        try:
            changed[part] = json.loads(text.decode())
        except (UnicodeDecodeError, json.JSONDecodeError):
            changed[part] = text.decode(errors="replace")  # no longer an object at all
    elif part == "salt":
        salt = bytearray(base64.b64decode(changed["salt"]))
        salt[position % 32] ^= 1 << bit
        changed["salt"] = base64.b64encode(bytes(salt)).decode()
    else:
        proof = changed["proof"]
        split = proof.index("\n\n") + 2
        start, stop = (0, split) if part == "proof" else (split, len(proof))
        raw = bytearray(proof.encode())
        raw[start + position % (stop - start)] ^= 1 << bit
        changed["proof"] = raw.decode(errors="replace")
    return changed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(part=st.sampled_from(PARTS), position=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_any_flipped_bit_makes_a_named_check_fail(
    ledger: Ledger, award: dict[str, Any], part: str, position: int, bit: int
) -> None:
    bundle = build_bundle(ledger, award["id"])
    key = ledger.tlog.signer.verifier_key
    assert verify_bundle(bundle, [key]).ok
    changed = _flip(bundle, part, position, bit)
    if changed == bundle:
        return
    report = verify_bundle(changed, [key])
    assert not report.ok
    assert report.failed, report.to_text()


def test_the_signed_receipt_promises_the_entry(ledger: Ledger, university: Issuer, learner: str) -> None:
    receipt = post_credential(
        ledger, examples.sign(examples.enrolment(university.did, learner), university.key)
    )
    assert receipt.signed is not None
    opened = open_receipt(
        receipt.signed, parse_verifier_key(ledger.tlog.signer.verifier_key), ledger.tlog.signer.origin
    )
    assert (opened.entry_hash, opened.stream, opened.seq) == (
        receipt.entry_hash,
        learner,
        receipt.entry["seq"],
    )


def test_a_revoked_credential_says_so(
    ledger: Ledger, university: Issuer, learner: str, award: dict[str, Any]
) -> None:
    revocation = examples.status(university.did, learner, action="revokes", names=award["id"], reason="fraud")
    post_credential(ledger, examples.sign(revocation, university.key))
    report = verify_bundle(build_bundle(ledger, award["id"]), [ledger.tlog.signer.verifier_key])
    assert report.failed == ("status",)
    assert "revoked" in report.check("status").sentence


def test_consistency_with_the_checkpoint_a_verifier_saw_before(
    ledger: Ledger, university: Issuer, learner: str, award: dict[str, Any], tmp_path: Path
) -> None:
    key = ledger.tlog.signer.verifier_key
    state = tmp_path / "seen.json"
    first = offline_verify(build_bundle(ledger, award["id"]), key, tmp_path, "--state", str(state))
    assert first.returncode == 0
    seen_size = json.loads(state.read_text())[ledger.tlog.signer.origin]["size"]
    post_credential(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
    ledger.tlog.integrate_all()
    # A newer bundle without a consistency proof cannot be trusted against what was seen.
    later = build_bundle(ledger, award["id"])
    assert offline_verify(later, key, tmp_path, "--state", str(state)).returncode == 1
    with_proof = build_bundle(ledger, award["id"], since=seen_size)
    result = offline_verify(with_proof, key, tmp_path, "--state", str(state))
    assert result.returncode == 0, result.stdout
    newest = parse_checkpoint(with_proof["proof"].split("\n\n", 1)[1].split("\n\n")[0] + "\n")
    assert json.loads(state.read_text())[ledger.tlog.signer.origin]["size"] == newest.size > seen_size
