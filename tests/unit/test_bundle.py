"""Offline proof bundles, built for real from pure code, and the verifier's report on them."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.bundle_world import (
    AWARD_ID,
    DID,
    ISSUER_KEY,
    ORIGIN,
    OTHER_KEY,
    STATUS_ID,
    VERIFIER_KEY,
    World,
    award,
    build,
    organisation,
    revocation,
    sign,
)
from verification.bundle import parse_bundle, verify_bundle
from verification.bundle_shape import CanonicalForms, read_bundle
from verification.canonical import canonical_form, canonical_json
from verification.checkpoint import Checkpoint
from verification.errors import MalformedBundle
from verification.issuer_checks import check_commitment, check_proof_signature
from verification.note import Verifier, generate_signer_key, parse_verifier_key, sign_note
from verification.report import CHECK_NAMES, Report
from verification.tlog_proof import TlogProof, format_tlog_proof, parse_tlog_proof

KEY = ISSUER_KEY.verify_key.multibase
NOW = datetime(2025, 1, 1, tzinfo=UTC)
ELSEWHERE = "did:web:ledger.example:orgs:elsewhere"
GOOD = build()


def verify(bundle: object, world: World | None = None, **options: Any) -> Report:
    options.setdefault("now", NOW)
    return verify_bundle(bundle, [VERIFIER_KEY], **options)


def outcomes(report: Report) -> dict[str, str]:
    return {check.name: check.outcome for check in report.checks}


def failing(report: Report) -> set[str]:
    return set(report.failed)


# --- a good bundle ------------------------------------------------------------------------------


def test_a_good_bundle_passes_every_check() -> None:
    report = verify(GOOD.bundle)
    assert [check.name for check in report.checks] == list(CHECK_NAMES)
    assert outcomes(report) == {name: "pass" for name in CHECK_NAMES} | {
        "consistency-with-last-seen": "not-checked"
    }
    assert report.ok
    assert report.checkpoint == GOOD.checkpoint
    assert report.verdict == (
        "This award is genuine: BSc (Hons) Computer Science, First, issued by University of Caerleon "
        f"({DID}), valid from 2024-07-01, recorded in the ledger at 2024-07-01 09:00:05 UTC."
    )


def test_a_good_bundle_passes_as_text_bytes_and_with_a_verifier_object() -> None:
    text = orjson.dumps(GOOD.bundle)
    assert verify(text).ok
    assert verify(text.decode()).ok
    assert verify_bundle(GOOD.bundle, [parse_verifier_key(VERIFIER_KEY)], now=NOW).ok
    assert verify_bundle(GOOD.bundle, [VERIFIER_KEY]).ok  # the clock defaults to now


def test_the_same_checkpoint_as_last_seen_passes_consistency() -> None:
    report = verify(GOOD.bundle, last_seen=GOOD.checkpoint)
    assert outcomes(report)["consistency-with-last-seen"] == "pass"
    assert report.ok and not report.failed


def test_report_renderings() -> None:
    report = verify(GOOD.bundle)
    rendered = report.to_json()
    assert orjson.loads(orjson.dumps(rendered)) == rendered
    assert rendered["ok"] is True
    assert [check["name"] for check in rendered["checks"]] == list(CHECK_NAMES)  # type: ignore[attr-defined]
    assert rendered["checkpoint"] == {
        "origin": ORIGIN,
        "size": GOOD.checkpoint.size,
        "root": base64.b64encode(GOOD.checkpoint.root).decode(),
    }
    text = report.to_text()
    assert text.startswith(report.verdict + "\n")
    assert text.count("\u2713") == 11 and text.count("\u2013") == 1
    bad = verify(build(state=("revoked", STATUS_ID)).bundle)
    assert "\u2717 status" in bad.to_text()
    assert bad.verdict.startswith("Do not rely on this credential.")


# --- trust failures -----------------------------------------------------------------------------


def test_a_checkpoint_under_another_log_key_fails() -> None:
    _, impostor = generate_signer_key(ORIGIN)
    report = verify_bundle(GOOD.bundle, [impostor], now=NOW)
    assert failing(report) == {"checkpoint-signature"}
    assert "not signed by the ledger key you trust" in report.check("checkpoint-signature").sentence
    assert outcomes(report)["inclusion-in-checkpoint"] == "not-checked"
    assert report.checkpoint is None and not report.ok


def test_the_checkpoint_origin_must_be_the_trusted_keys_name() -> None:
    # The log's own key, pinned under another name, signs the same checkpoint body.
    other = Verifier("other.example/log", parse_verifier_key(VERIFIER_KEY).public_key)
    bundle = copy.deepcopy(GOOD.bundle)
    proof = parse_tlog_proof(bundle["proof"])
    body = proof.checkpoint_note.split("\n\n")[0] + "\n"
    note = sign_note(body, other.name, GOOD.signer[1])
    bundle["proof"] = format_tlog_proof(TlogProof(proof.index, proof.hashes, note))
    report = verify_bundle(bundle, [other], now=NOW)
    assert "checkpoint-signature" in failing(report)
    assert "names the log 'ledger.example/log'" in report.check("checkpoint-signature").sentence


def test_a_malformed_pinned_key_is_reported_not_raised() -> None:
    report = verify_bundle(GOOD.bundle, ["not a key"], now=NOW)
    assert failing(report) == {"checkpoint-signature"}
    assert "not a verifier key" in report.check("checkpoint-signature").sentence


@pytest.mark.parametrize(
    ("scenario", "check", "words"),
    [
        (
            lambda: build(
                later=[("key-compromised", {"key": KEY, "compromisedAt": "2024-06-30T00:00:00.000000Z"})]
            ),
            "key-not-compromised",
            "on or before this credential's date",
        ),
        (
            lambda: build(
                later=[("key-compromised", {"key": KEY, "compromisedAt": "2024-07-01T09:00:01.000000Z"})]
            ),
            "key-not-compromised",
            "the ledger recorded this credential after that",
        ),
        (
            lambda: build(later=[("key-retired", {"key": KEY, "retiredAt": "2024-01-01T00:00:00.000000Z"})]),
            "key-valid-at-issue",
            "after its signing key was retired on 2024-01-01",
        ),
        (
            lambda: build(stream=organisation(key_valid_from="2024-08-01T00:00:00.000000Z")),
            "key-valid-at-issue",
            "before its signing key came into use on 2024-08-01",
        ),
        (
            lambda: build(stream=organisation(kinds=None)),
            "issuer-accredited",
            "was not accredited to issue awards in FHEQ:6",
        ),
        (lambda: build(stream=organisation(scopes=("FHEQ:7",))), "issuer-accredited", "not accredited"),
        (
            lambda: build(stream=organisation(kind="employer", kinds=("recruitment",), scopes=("*",))),
            "issuer-accredited",
            "was not accredited to issue awards",
        ),
        (lambda: build(sign(award(), key=OTHER_KEY)), "key-bound-to-issuer", "is not registered to"),
        (
            lambda: build(sign(award(), controller="did:web:ledger.example:orgs:elsewhere")),
            "key-bound-to-issuer",
            "not its issuer",
        ),
        (
            lambda: build(sign(award(issuer=ELSEWHERE), controller=ELSEWHERE)),
            "key-bound-to-issuer",
            "are for did:web:ledger.example:orgs:caerleon",
        ),
        (lambda: build(state=("revoked", STATUS_ID)), "status", "The issuer revoked this credential"),
        (lambda: build(state=("superseded", STATUS_ID)), "status", "The issuer corrected this result"),
        (lambda: build(entry_kind="assessment"), "commitment-matches-entry", "kind do not match"),
    ],
)
def test_trust_failures_fail_the_right_check(scenario: Any, check: str, words: str) -> None:
    report = verify(scenario().bundle)
    assert failing(report) == {check}, report.to_text()
    assert words in report.check(check).sentence
    assert not report.ok
    assert report.verdict.startswith("Do not rely on this credential.")


def test_a_compromise_reported_after_recording_passes_with_a_note() -> None:
    world = build(later=[("key-compromised", {"key": KEY, "compromisedAt": "2024-11-30T00:00:00.000000Z"})])
    report = verify(world.bundle)
    assert report.ok, report.to_text()
    sentence = report.check("key-not-compromised").sentence
    assert "later reported compromised, on 2024-11-30" in sentence
    assert sentence in report.notes and sentence in report.verdict


def test_an_expired_credential_is_still_genuine() -> None:
    expiring = award()
    expiring["validUntil"] = "2024-12-31T00:00:00Z"
    report = verify(build(sign(expiring)).bundle)
    assert report.ok
    assert "It expired on 2024-12-31" in report.verdict
    assert verify(build(sign(expiring)).bundle, now=datetime(2024, 12, 1, tzinfo=UTC)).notes == ()


def test_a_revocation_needs_no_accreditation() -> None:
    world = build(sign(revocation()), stream=organisation(kinds=None), entry_kind="revocation")
    report = verify(world.bundle)
    assert report.ok, report.to_text()
    assert outcomes(report)["issuer-accredited"] == "not-checked"
    assert report.verdict.startswith(f"This revocation is genuine: revokes {AWARD_ID}, issued by")


def test_a_status_for_another_credential_or_checkpoint_fails() -> None:
    other = build(sign(revocation()), entry_kind="revocation")
    bundle = {**GOOD.bundle, "status": other.bundle["status"]}
    report = verify(bundle)
    # The same issuer's registry head as of the same checkpoint: only the status is wrong.
    assert failing(report) == {"status"} and "another credential" in report.check("status").sentence
    stale = GOOD.status(checkpoint_size=GOOD.checkpoint.size - 1)
    report = verify({**GOOD.bundle, "status": stale})
    assert failing(report) == {"status", "registry-in-log"}
    assert "out of date" in report.check("status").sentence
    assert "cannot be confirmed" in report.check("registry-in-log").sentence
    forged = GOOD.status(signer_name=ORIGIN, seed=bytes(32))
    report = verify({**GOOD.bundle, "status": forged})
    assert failing(report) == {"status", "registry-in-log"}
    assert "not signed by the ledger key" in report.check("status").sentence
    assert "cannot be confirmed that the bundle shows all of the issuer's registry entries" in (
        report.check("registry-in-log").sentence
    )


@pytest.mark.parametrize(
    ("later", "hidden"),
    [
        # a compromise before the credential's date: the bundle would otherwise pass every check
        (("key-compromised", {"key": KEY, "compromisedAt": "2024-06-30T00:00:00.000000Z"}), "fail"),
        # a compromise after validFrom and recording: the note saying so would silently go
        (("key-compromised", {"key": KEY, "compromisedAt": "2024-11-30T00:00:00.000000Z"}), "note"),
        (("key-retired", {"key": KEY, "retiredAt": "2024-01-01T00:00:00.000000Z"}), "fail"),
        (("key-retired", {"key": KEY, "retiredAt": "2024-12-01T00:00:00.000000Z"}), "nothing"),
    ],
)
def test_leaving_out_the_last_registry_entry_fails(later: tuple[str, dict[str, Any]], hidden: str) -> None:
    world = build(later=[later])
    full = verify(world.bundle)
    assert full.ok == (hidden != "fail")
    assert bool(full.notes) == (hidden == "note")
    truncated = copy.deepcopy(world.bundle)
    del truncated["registry"][-1]
    report = verify(truncated)
    assert failing(report) == {"registry-in-log"}, report.to_text()
    assert not report.ok and report.notes == ()
    assert report.check("registry-in-log").sentence == (
        "The bundle leaves out some of the issuer's registry entries (the ledger's registry holds 4 as of "
        "this checkpoint, the bundle shows 3): a later key retirement or compromise may be hidden; do not "
        "rely on the key and accreditation checks."
    )
    assert report.verdict.startswith("Do not rely on this credential. The bundle leaves out some")


def test_the_status_must_name_the_issuers_registry_head() -> None:
    elsewhere = "urn:uuid:0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"
    report = verify({**GOOD.bundle, "status": GOOD.status(issuer=elsewhere)})
    assert failing(report) == {"registry-in-log"}
    assert f"another organisation ({elsewhere})" in report.check("registry-in-log").sentence
    report = verify({**GOOD.bundle, "status": GOOD.status(issuer_head="ab" * 32)})
    assert failing(report) == {"registry-in-log"}
    assert "last registry entry in the bundle (number 3) is not the one" in (
        report.check("registry-in-log").sentence
    )
    report = verify({**GOOD.bundle, "status": GOOD.status(issuer_seq=2)})
    assert failing(report) == {"registry-in-log"}
    assert "shows 3 of the issuer's registry entries, but" in report.check("registry-in-log").sentence
    assert "holds 2" not in report.check("registry-in-log").sentence


def test_registry_entries_must_all_be_in_the_log_and_chained() -> None:
    world = build(later=[("key-retired", {"key": KEY, "retiredAt": "2024-12-01T00:00:00.000000Z"})])
    assert verify(world.bundle).ok
    dropped = copy.deepcopy(world.bundle)
    del dropped["registry"][2]  # the accreditation: the chain breaks
    report = verify(dropped)
    assert "registry-in-log" in failing(report)
    assert "unbroken chain" in report.check("registry-in-log").sentence
    foreign = copy.deepcopy(world.bundle)
    foreign["registry"][1]["proof"] = GOOD.bundle["registry"][1]["proof"]  # proven under another checkpoint
    assert "registry-in-log" in failing(verify(foreign))


def test_another_credential_with_the_same_entry_fails_the_commitment() -> None:
    other = award()
    other["credentialSubject"]["result"] = [{"type": ["Result"], "value": "Third"}]
    report = verify({**GOOD.bundle, "credential": sign(other)})
    assert failing(report) == {"commitment-matches-entry"}


# --- consistency with the last checkpoint seen --------------------------------------------------


def test_consistency_from_a_smaller_checkpoint() -> None:
    world = build(consistency_sizes=[3, 7])
    for size in (3, 7):
        report = verify(world.bundle, last_seen=world.older_checkpoint(size))
        assert outcomes(report)["consistency-with-last-seen"] == "pass" and report.ok
    missing = verify(world.bundle, last_seen=world.older_checkpoint(5))
    assert outcomes(missing)["consistency-with-last-seen"] == "not-checked" and not missing.ok
    assert "consistency from size 5" in missing.check("consistency-with-last-seen").sentence
    empty = Checkpoint(ORIGIN, 0, world.older_checkpoint(0).root)
    assert verify(world.bundle, last_seen=empty).ok
    newer = Checkpoint(ORIGIN, world.checkpoint.size + 1, bytes(32))
    assert outcomes(verify(world.bundle, last_seen=newer))["consistency-with-last-seen"] == "not-checked"
    elsewhere = Checkpoint("other.example/log", 3, world.older_checkpoint(3).root)
    assert outcomes(verify(world.bundle, last_seen=elsewhere))["consistency-with-last-seen"] == "not-checked"


def test_a_fork_fails_consistency() -> None:
    world = build(consistency_sizes=[3])
    forked = Checkpoint(ORIGIN, world.checkpoint.size, bytes(32))
    report = verify(world.bundle, last_seen=forked)
    assert failing(report) == {"consistency-with-last-seen"}
    assert "two different histories" in report.verdict
    other_past = Checkpoint(ORIGIN, 3, bytes(32))
    assert failing(verify(world.bundle, last_seen=other_past)) == {"consistency-with-last-seen"}
    not_empty = Checkpoint(ORIGIN, 0, bytes(32))
    assert failing(verify(world.bundle, last_seen=not_empty)) == {"consistency-with-last-seen"}


# --- any single changed byte is detected --------------------------------------------------------


def serialise(bundle: dict[str, Any]) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """The bundle's JSON bytes, and where each part lies in them (the checkpoint inside the proof)."""
    out, spans = b"{", {}
    for position, (name, value) in enumerate(bundle.items()):
        out += (b"," if position else b"") + orjson.dumps(name) + b":"
        start = len(out)
        out += orjson.dumps(value)
        spans[name] = (start, len(out))
    proof = bundle["proof"]
    note = parse_tlog_proof(proof).checkpoint_note
    split = spans["proof"][0] + len(orjson.dumps(proof[: len(proof) - len(note)])) - 1
    spans["checkpoint"] = (split, spans["proof"][1] - 1)
    spans["proof"] = (spans["proof"][0], split)
    return out + b"}", spans


# Which named check must fail when a byte of each part changes (unless the bundle is unreadable).
DETECTED_BY = {
    "credential": "commitment-matches-entry",
    "salt": "commitment-matches-entry",
    "entry": "inclusion-in-checkpoint",
    "proof": "inclusion-in-checkpoint",
    "checkpoint": "checkpoint-signature",
    "registry": "registry-in-log",
    "status": "status",
    "consistency": "consistency-with-last-seen",
}
TAMPER_WORLD = build(consistency_sizes=[4])
TAMPER_BYTES, TAMPER_SPANS = serialise(TAMPER_WORLD.bundle)
LAST_SEEN = TAMPER_WORLD.older_checkpoint(4)


def assert_detected(part: str, position: int, mask: int) -> None:
    tampered = bytearray(TAMPER_BYTES)
    tampered[position] ^= mask
    report = verify(bytes(tampered), last_seen=LAST_SEEN)
    assert not report.ok, (part, position, mask)
    failures = failing(report)
    if "bundle-format" in failures:
        assert all(check.outcome == "not-checked" for check in report.checks[1:])
        return
    if part == "consistency" and outcomes(report)[DETECTED_BY[part]] == "not-checked":
        return  # a changed size names a proof from another size: none from the size seen
    assert DETECTED_BY[part] in failures, (part, position, mask, report.to_text())


def test_the_untouched_serialisation_verifies() -> None:
    assert verify(TAMPER_BYTES, last_seen=LAST_SEEN).ok
    assert set(TAMPER_SPANS) == set(DETECTED_BY) | {"type", "version"}


@pytest.mark.parametrize("part", ["credential", "salt", "entry", "proof", "checkpoint"])
def test_every_byte_of_each_part_is_protected(part: str) -> None:
    start, end = TAMPER_SPANS[part]
    for position in range(start, end):
        assert_detected(part, position, 1 << (position % 7))


@settings(max_examples=300, deadline=None)
@given(part=st.sampled_from(sorted(DETECTED_BY)), data=st.data())
def test_any_changed_byte_anywhere_is_detected(part: str, data: st.DataObject) -> None:
    start, end = TAMPER_SPANS[part]
    assert_detected(part, data.draw(st.integers(start, end - 1)), data.draw(st.integers(1, 255)))


# --- malformed bundles never raise --------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def assert_unreadable(report: Report) -> None:
    assert report.checks[0].name == "bundle-format" and report.checks[0].outcome == "fail"
    assert all(check.outcome == "not-checked" for check in report.checks[1:])
    assert not report.ok and report.checkpoint is None
    assert report.verdict.startswith("Do not rely on this credential. This is not a readable proof bundle")


@settings(max_examples=200, deadline=None)
@given(value=JSON)
def test_arbitrary_json_is_a_failed_report(value: object) -> None:
    assert_unreadable(verify(value))
    assert_unreadable(verify(json.dumps(value)))


def paths(value: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


GOOD_PATHS = paths(GOOD.bundle)[1:]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(GOOD_PATHS), value=JSON)
def test_replacing_any_member_never_raises(path: tuple[Any, ...], value: object) -> None:
    bundle = copy.deepcopy(GOOD.bundle)
    holder = bundle
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    report = verify(bundle)
    same = json.dumps(bundle, sort_keys=True) == json.dumps(GOOD.bundle, sort_keys=True)
    assert report.ok == same


def replaced(bundle: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(bundle)
    holder = changed
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    return changed


REGISTRY_PATHS = [path for path in GOOD_PATHS if path[0] in ("registry", "entry", "credential")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(REGISTRY_PATHS), value=JSON | st.sampled_from([1, 2, 3, "caerleon", None]))
def test_canonical_bytes_read_once_equal_those_computed_again(path: tuple[Any, ...], value: object) -> None:
    # verify_bundle hands the canonical bytes read_bundle computed to the commitment, inclusion
    # and registry checks, and its plainness to the signature check: they must be exactly what
    # computing them again gives, and judge as the checks reading everything afresh do.
    bundle = replaced(GOOD.bundle, path, value)
    try:
        parsed, canonical = read_bundle(bundle)
    except MalformedBundle:
        return
    assert parsed == parse_bundle(bundle)
    entries = [item.entry for item in parsed.registry]
    assert canonical == CanonicalForms(
        canonical_json(parsed.credential), canonical_json(parsed.entry), tuple(map(canonical_json, entries))
    )
    signature, signed = check_proof_signature(parsed.credential)
    assert check_proof_signature(parsed.credential, plain=canonical.credential_plain) == (signature, signed)
    assert canonical.credential_plain == canonical_form(parsed.credential)[1]
    assert check_commitment(
        parsed.credential, canonical.credential, parsed.salt, parsed.entry, signed=signed
    ) == check_commitment(parsed.credential, canonical_json(parsed.credential), parsed.salt, parsed.entry)


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.pop("registry"),
        lambda b: b.update(registry=[]),
        lambda b: b.update(version=2),
        lambda b: b.update(version=True),
        lambda b: b.update(type="VerifiablePresentation"),
        lambda b: b.update(surprise=1),
        lambda b: b.update(salt=base64.b64encode(bytes(31)).decode()),
        lambda b: b["entry"].update(seq=0),
        lambda b: b["entry"].update(extra="x"),
        lambda b: b["entry"].update(commitment="AB" * 32),
        lambda b: b["credential"].update(score=1.5),
        lambda b: b["registry"][0]["entry"].update(kind="organisation-renamed"),
        lambda b: b["registry"][1]["entry"]["data"].pop("validFrom"),
        lambda b: b.update(consistency={"01": []}),
        lambda b: b.update(consistency={"3": ["AAAA"]}),
        lambda b: b.update(proof=b["proof"].replace("index", "Index")),
        lambda b: b.update(status=""),
    ],
)
def test_malformed_shapes_fail_bundle_format(change: Any) -> None:
    bundle = copy.deepcopy(GOOD.bundle)
    change(bundle)
    assert_unreadable(verify(bundle))
    with pytest.raises(MalformedBundle):
        parse_bundle(bundle)


def test_deep_and_circular_values_are_unreadable() -> None:
    deep: object = "x"
    for _ in range(5000):
        deep = {"a": [deep]}
    for member in ("credential", "entry", "registry", "consistency"):
        assert_unreadable(verify({**GOOD.bundle, member: deep}))
    assert_unreadable(verify(b"[" * 100_000 + b"]" * 100_000))
    circular: dict[str, Any] = copy.deepcopy(GOOD.bundle["credential"])
    circular["self"] = circular
    assert_unreadable(verify({**GOOD.bundle, "credential": circular}))


def test_a_single_pinned_key_string_is_accepted() -> None:
    assert verify_bundle(GOOD.bundle, VERIFIER_KEY, now=NOW).ok


def test_duplicate_keys_and_bad_utf8_are_unreadable() -> None:
    text = orjson.dumps(GOOD.bundle)
    assert_unreadable(verify(text.replace(b'"version":1', b'"version":1,"version":1')))
    assert_unreadable(verify(text.replace(b"Computer", b"Comp\xffter")))


def test_remembered_registry_proofs_read_as_fresh_ones() -> None:
    # Registry tlog-proofs are parsed through a small cache of texts: the same text gives an equal
    # proof, and a changed one is read (or refused) afresh, however often it is asked for.
    first = parse_bundle(GOOD.bundle)
    assert parse_bundle(copy.deepcopy(GOOD.bundle)) == first
    text = GOOD.bundle["registry"][0]["proof"]
    lines = text.split("\n")
    lines[2] = lines[2][:10] + ("A" if lines[2][10] != "A" else "B") + lines[2][11:]
    changed = replaced(GOOD.bundle, ("registry", 0, "proof"), "\n".join(lines))
    for _ in range(2):
        assert parse_bundle(changed).registry[0].proof.hashes[0] != first.registry[0].proof.hashes[0]
        assert "registry-in-log" in failing(verify(changed))
    broken = replaced(GOOD.bundle, ("registry", 0, "proof"), text.replace("index", "index 0"))
    for _ in range(2):
        with pytest.raises(MalformedBundle, match=r"registry\[0\]\.proof"):
            parse_bundle(broken)


class _Text(str):
    """A str subclass: equal to its text, but not of a type exact_json keys."""


@pytest.mark.parametrize(
    ("path", "value", "refused"),
    [
        (("registry", 2, "entry", "data", "validUntil"), float("nan"), "float nan refused"),
        (("registry", 2, "entry", "data", "kinds"), ("enrolment", "award"), "kinds must be a list"),
        (("registry", 0, "entry", "seq"), 1.0, "float 1.0 refused"),
        (("registry", 0, "entry", "seq"), True, "seq must be a whole number"),
        (("registry", 0, "entry", "kind"), _Text("organisation-registered"), None),
        (("registry", 1, "entry", "data", "key"), "z6Mk" + "1" * 44, None),
    ],
)
def test_remembered_registries_read_as_fresh_ones(
    path: tuple[Any, ...], value: object, refused: str | None
) -> None:
    # Registries are read through a small cache keyed by their exact JSON text: an equal one reads
    # equal, with the bundle's own entries and a state of its own, and one differing in value or
    # only in type (a NaN for a null, a tuple for a list, 1.0 or True for 1) is read afresh, every time.
    first = parse_bundle(GOOD.bundle)
    changed = replaced(GOOD.bundle, path, value)
    for _ in range(2):
        again = copy.deepcopy(GOOD.bundle)
        parsed = parse_bundle(again)
        assert parsed == first
        assert parsed.registry[0].entry is again["registry"][0]["entry"]
        parsed.issuer_registry.keys.clear()
        parsed.issuer_registry.history.append("changed by a caller")
        if refused is not None:
            with pytest.raises(MalformedBundle, match=refused):
                parse_bundle(changed)
            continue
        state = parse_bundle(changed).issuer_registry
        assert state.keys.keys() == {changed["registry"][1]["entry"]["data"]["key"]}
        assert state.history == [item["entry"]["kind"] for item in changed["registry"]]
    assert parse_bundle(GOOD.bundle) == first


def test_remembered_registry_inclusions_answer_as_fresh_ones() -> None:
    # Registry inclusion answers are remembered by (leaf, index, size, hashes, root): after the
    # good bundle passes, a changed registry entry or checkpoint must still fail, every time.
    assert verify(GOOD.bundle).ok
    renamed = replaced(GOOD.bundle, ("registry", 0, "entry", "data", "name"), "University of Elsewhere")
    for _ in range(2):
        assert verify(GOOD.bundle).ok
        assert "registry-in-log" in failing(verify(renamed))
        # The inclusion check itself refuses it (a wrongly remembered answer would let it through to
        # the chain check, which fails with another sentence).
        assert "is not in the ledger's log as shown" in verify(renamed).check("registry-in-log").sentence


def test_remembered_checkpoints_open_as_fresh_ones() -> None:
    # Opened checkpoints are remembered by (note, pinned keys): after the good bundle passes, the
    # same note under another key, or an altered note, must still fail, every time.
    _, impostor = generate_signer_key(ORIGIN)
    note = parse_tlog_proof(GOOD.bundle["proof"]).checkpoint_note
    size = str(GOOD.checkpoint.size)
    altered = replaced(GOOD.bundle, ("proof",), GOOD.bundle["proof"].replace(f"\n{size}\n", f"\n{size}0\n"))
    assert note.count(f"\n{size}\n") == 1
    for _ in range(2):
        assert verify(GOOD.bundle).ok
        assert failing(verify_bundle(GOOD.bundle, [impostor], now=NOW)) == {"checkpoint-signature"}
        assert verify_bundle(GOOD.bundle, [impostor, VERIFIER_KEY], now=NOW).ok
        assert "checkpoint-signature" in failing(verify(altered))
