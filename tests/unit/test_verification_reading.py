"""verify_bundle's one-pass reading: remembered parts read exactly as parts read afresh."""

from __future__ import annotations

import copy
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.bundle_world import (
    ISSUER_KEY,
    OTHER_KEY,
    VERIFIER_KEY,
    award,
    build,
    organisation,
    revocation,
    sign,
)
from verification import bundle_shape
from verification.bundle import parse_bundle, verify_bundle
from verification.bundle_shape import read_bundle, read_parts
from verification.canonical import canonical_json
from verification.errors import MalformedBundle
from verification.issuer_checks import (
    check_accredited,
    check_key_bound,
    check_key_not_compromised,
    check_key_valid,
    check_proof_signature,
)
from verification.log_checks import check_checkpoint_signature, check_registry_in_log, read_trusted_keys
from verification.report import Check
from verification.status_checks import check_status

GOOD = build()
KEY = ISSUER_KEY.verify_key.multibase
ELSEWHERE = "did:web:ledger.example:orgs:elsewhere"


class _Text(str):
    """A str subclass: equal to its text, of a type marshal refuses."""


def _paths(value: object, prefix: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


REGISTRY_PATHS = _paths(GOOD.bundle["registry"], ())[1:]
# Values equal (or nearly) to JSON ones but of other types, and JSON values of every kind.
ODD = st.sampled_from(
    [
        1.0,
        True,
        float("nan"),
        2**64,
        ("enrolment",),
        bytearray(b"caerleon"),
        b"caerleon",
        _Text("caerleon"),
        _Text("organisation-registered"),
        {1: "x"},
        {"a": (1, 2)},
        frozenset(),
        None,
    ]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _replaced(value: Any, path: tuple[Any, ...], item: object) -> Any:
    changed = copy.deepcopy(value)
    holder = changed
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = item
    return changed


def _fresh(value: object) -> tuple[Any, ...] | str:
    """The registry read with nothing remembered: its parts, or the words it is refused in."""
    try:
        items, forms = bundle_shape._registry(value)
        state = bundle_shape._fold(items)
    except MalformedBundle as error:
        return str(error)
    return tuple(item.entry for item in items), tuple(item.proof for item in items), forms, state


def _remembered(value: object) -> tuple[Any, ...] | str:
    try:
        return bundle_shape._read_registry(value)[:4]
    except MalformedBundle as error:
        return str(error)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(REGISTRY_PATHS), item=ODD | JSON)
def test_a_registry_reads_as_read_afresh(path: tuple[Any, ...], item: object) -> None:
    # The good registry is remembered; a changed one (in value, or only in type) reads, or is
    # refused in the same words, as with nothing remembered, the first time and every time.
    bundle_shape._read_registry(copy.deepcopy(GOOD.bundle["registry"]))
    registry = _replaced(GOOD.bundle["registry"], path, item)
    expected = _fresh(copy.deepcopy(registry))
    for _ in range(2):
        assert _remembered(registry) == expected


def test_a_remembered_registry_gives_the_bundles_own_entries() -> None:
    registry = copy.deepcopy(GOOD.bundle["registry"])
    for _ in range(2):
        again = copy.deepcopy(registry)
        entries = bundle_shape._read_registry(again)[0]
        assert all(entry is item["entry"] for entry, item in zip(entries, again, strict=True))


def test_shared_and_interned_strings_read_alike() -> None:
    registry = copy.deepcopy(GOOD.bundle["registry"])
    shared = copy.deepcopy(registry)
    name = sys.intern(str(shared[0]["entry"]["organisation"]))
    for item in shared:
        item["entry"]["organisation"] = name
    assert _remembered(shared) == _remembered(registry) == _fresh(registry)


@pytest.mark.parametrize("member", ["entry", "data"])
def test_circular_and_deep_registries_are_refused_as_afresh(member: str) -> None:
    circular = copy.deepcopy(GOOD.bundle["registry"])
    holder = circular[0]["entry"] if member == "data" else circular[0]
    holder[member] = holder
    deep: object = "x"
    for _ in range(3000):
        deep = {"a": [deep]}
    for registry in (circular, [{"entry": deep, "proof": GOOD.bundle["registry"][0]["proof"]}]):
        refused = _remembered(registry)
        assert isinstance(refused, str) and refused == _fresh(registry)
        with pytest.raises(MalformedBundle):
            parse_bundle({**GOOD.bundle, "registry": registry})


def test_read_bundle_is_read_parts_with_objects_of_its_own() -> None:
    parts = read_parts(GOOD.bundle)
    bundle, forms = read_bundle(GOOD.bundle)
    assert bundle.issuer_registry == parts.issuer_registry
    assert bundle.issuer_registry is not parts.issuer_registry
    assert [item.entry for item in bundle.registry] == list(parts.registry_entries)
    assert [item.proof for item in bundle.registry] == list(parts.registry_proofs)
    assert (
        bundle.credential,
        bundle.salt,
        bundle.entry,
        bundle.proof,
        bundle.status,
        bundle.consistency,
    ) == (
        parts.credential,
        parts.salt,
        parts.entry,
        parts.proof,
        parts.status,
        parts.consistency,
    )
    assert (forms.credential, forms.entry, forms.registry, forms.credential_plain) == (
        parts.credential_bytes,
        parts.entry_bytes,
        parts.registry_bytes,
        parts.credential_plain,
    )


def _fresh_registry_check(bundle: dict[str, Any]) -> Check:
    """registry-in-log as check_registry_in_log computes it, from a bundle read afresh."""
    parsed = parse_bundle(copy.deepcopy(bundle))
    verifiers, problems = read_trusted_keys([VERIFIER_KEY])
    note = parsed.proof.checkpoint_note
    checkpoint = check_checkpoint_signature(note, verifiers, problems)[1]
    status = check_status(parsed.status, verifiers, checkpoint, parsed.credential.get("id"))[1]
    entries = [item.entry for item in parsed.registry]
    proofs = [item.proof for item in parsed.registry]
    forms = [canonical_json(entry) for entry in entries]
    return check_registry_in_log(entries, proofs, checkpoint, note, status, canonical=forms)


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"issuer_seq": 2},
        {"issuer_seq": 4},
        {"issuer_head": "ab" * 32},
        {"issuer": "urn:uuid:00000000-0000-4000-8000-000000000000"},
        {"checkpoint_size": 3},
        {"signer_name": "impostor.example/log"},
    ],
)
def test_remembered_registry_answers_are_those_computed_afresh(change: dict[str, Any]) -> None:
    # registry-in-log is remembered by the registry's key, the checkpoint, its note and what the
    # status says of the registry: each differing status, and a registry or checkpoint changed
    # after a good bundle was verified, is answered as check_registry_in_log answers it afresh.
    bundles = [{**GOOD.bundle, "status": GOOD.status(**change)} if change else GOOD.bundle]
    bundles.append(_replaced(bundles[0], ("registry", 0, "entry", "data", "name"), "Elsewhere"))
    bundles.append({**bundles[0], "registry": bundles[0]["registry"][:-1]})
    other = build(later=[("key-retired", {"key": KEY, "retiredAt": "2025-01-01T00:00:00.000000Z"})])
    bundles.append({**bundles[0], "registry": other.bundle["registry"], "proof": other.bundle["proof"]})
    for _ in range(2):
        assert verify_bundle(GOOD.bundle, [VERIFIER_KEY]).check("registry-in-log").outcome == "pass"
        for bundle in bundles:
            report = verify_bundle(bundle, [VERIFIER_KEY])
            assert report.check("registry-in-log") == _fresh_registry_check(bundle)


ISSUER_CHECKS = ("key-bound-to-issuer", "key-valid-at-issue", "key-not-compromised", "issuer-accredited")


def _fresh_issuer_checks(bundle: dict[str, Any]) -> list[Check]:
    """The key and accreditation checks as issuer_checks computes them, from a bundle read afresh."""
    parsed = parse_bundle(copy.deepcopy(bundle))
    signed = check_proof_signature(parsed.credential)[1]
    key_check, record = check_key_bound(signed, parsed.issuer_registry)
    compromise = check_key_not_compromised(signed, record, parsed.entry["recorded_at"])[0]
    valid, accredited = check_key_valid(signed, record), check_accredited(signed, parsed.issuer_registry)
    return [key_check, valid, compromise, accredited]


@pytest.mark.parametrize(
    "world",
    [
        pytest.param(lambda: build(sign(award(valid_from="2019-06-01T00:00:00Z"))), id="before the key"),
        pytest.param(lambda: build(sign(award(valid_from="2024-07-01T10:00:00+01:00"))), id="same instant"),
        pytest.param(lambda: build(sign(award(valid_from="2024-07-02T00:00:00Z"))), id="another day"),
        pytest.param(lambda: build(sign(award(), OTHER_KEY)), id="unregistered key"),
        pytest.param(lambda: build(sign(award(), controller=ELSEWHERE)), id="another controller"),
        pytest.param(lambda: build(sign(award(issuer=ELSEWHERE))), id="another issuer"),
        pytest.param(lambda: build(stream=organisation(kinds=None)), id="not accredited"),
        pytest.param(lambda: build(stream=organisation(scopes=("RQF",))), id="another scope"),
        pytest.param(
            lambda: build(later=[("key-compromised", {"key": KEY, "compromisedAt": "2024-06-01T00:00:00Z"})]),
            id="compromised before",
        ),
        pytest.param(
            lambda: build(later=[("key-retired", {"key": KEY, "retiredAt": "2024-01-01T00:00:00Z"})]),
            id="retired before",
        ),
        pytest.param(lambda: build(sign(revocation()), entry_kind="revocation"), id="a revocation"),
    ],
)
def test_remembered_issuer_answers_are_those_computed_afresh(world: Any) -> None:
    # The key and accreditation checks are remembered by the registry's key and what the signed
    # credential says (controller, issuer, key, validFrom, kind, scope): after the good bundle is
    # verified, a credential or registry differing in any of them is judged as afresh, every time.
    bundle = world().bundle
    for _ in range(2):
        assert verify_bundle(GOOD.bundle, [VERIFIER_KEY]).ok
        report = verify_bundle(bundle, [VERIFIER_KEY])
        assert [report.check(name) for name in ISSUER_CHECKS] == _fresh_issuer_checks(bundle)


class _Members(dict[str, Any]):
    """A dict subclass: equal to its members, of a type the registry's key refuses."""


@pytest.mark.parametrize(
    "change",
    [
        lambda registry: registry[1].update(extra=1),
        lambda registry: registry[1].pop("entry"),
        lambda registry: registry[1].pop("proof"),
        lambda registry: registry[1].update(proof=_Text(registry[1]["proof"])),
        lambda registry: registry.__setitem__(1, _Members(registry[1])),
        lambda registry: registry.__setitem__(
            1, {"entry": registry[1]["entry"], "extra": registry[1]["proof"]}
        ),
        lambda registry: registry.reverse(),
        lambda registry: registry.append(registry[0]),
        lambda registry: registry.clear(),
    ],
)
def test_registry_items_of_other_shapes_read_as_afresh(change: Any) -> None:
    bundle_shape._read_registry(copy.deepcopy(GOOD.bundle["registry"]))
    registry = copy.deepcopy(GOOD.bundle["registry"])
    change(registry)
    expected = _fresh(copy.deepcopy(registry))
    for _ in range(2):
        assert _remembered(registry) == expected
