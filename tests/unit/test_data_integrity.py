"""eddsa-jcs-2022 Data Integrity proofs against the W3C vc-di-eddsa test vectors."""

import copy
import hashlib
import json
from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.vectors import VECTORS
from verification.canonical import MAX_SAFE_INTEGER, canonical_json
from verification.data_integrity import (
    Proof,
    _require_context_prefix,
    create_proof,
    parse_proof,
    signing_input,
    verify_proof,
)
from verification.errors import (
    BadSignature,
    CanonicalizationError,
    ContextMismatch,
    MalformedProof,
)
from verification.keys import SigningKey, VerifyKey, multibase_decode, multibase_encode

VECTORS = VECTORS / "w3c-vc-di-eddsa"
TEST_VECTORS = VECTORS / "TestVectors"
JCS = TEST_VECTORS / "eddsa-jcs-2022"
KEY_PAIR = json.loads((TEST_VECTORS / "keyPair.json").read_text())
SIGNING_KEY = SigningKey.from_multibase(KEY_PAIR["privateKeyMultibase"])
VERIFY_KEY = VerifyKey.from_multibase(KEY_PAIR["publicKeyMultibase"])
CREATED = "2023-02-24T23:36:38Z"


def unsigned() -> dict[str, object]:
    return json.loads((TEST_VECTORS / "unsigned.json").read_text())  # type: ignore[no-any-return]


def signed() -> dict[str, object]:
    return json.loads((JCS / "signedJCS.json").read_text())  # type: ignore[no-any-return]


def vector_text(name: str) -> str:
    return (JCS / name).read_text()


def test_vector_hashes_and_signature_are_reproduced() -> None:
    document = signed()
    doc_hash = hashlib.sha256(canonical_json(unsigned())).digest()
    proof_options = {k: v for k, v in parse_object(document["proof"]).items() if k != "proofValue"}
    proof_hash = hashlib.sha256(canonical_json(proof_options)).digest()
    assert doc_hash.hex() == vector_text("docHashJCS.txt")
    assert proof_hash.hex() == vector_text("proofHashJCS.txt")
    assert signing_input(document).hex() == vector_text("combinedHashJCS.txt")
    signature = SIGNING_KEY.sign(signing_input(document))
    assert signature.hex() == vector_text("sigHexJCS.txt")
    assert multibase_encode(signature) == vector_text("sigBTC58JCS.txt")
    assert proof_options == json.loads(vector_text("proofConfigJCS.json"))


def test_create_proof_reproduces_the_signed_vector() -> None:
    document = unsigned()
    before = copy.deepcopy(document)
    secured = create_proof(document, SIGNING_KEY, VERIFY_KEY.verification_method, CREATED)
    assert secured == signed()
    assert parse_object(secured["proof"])["proofValue"] == vector_text("sigBTC58JCS.txt")
    assert document == before
    assert "proof" not in document
    assert parse_object(secured["proof"])["@context"] is not document["@context"]


def test_signed_vector_verifies() -> None:
    verify_proof(signed(), VERIFY_KEY)


def test_parse_proof_reads_the_vector() -> None:
    assert parse_proof(signed()) == Proof(
        type="DataIntegrityProof",
        cryptosuite="eddsa-jcs-2022",
        verification_method=VERIFY_KEY.verification_method,
        proof_purpose="assertionMethod",
        created=CREATED,
        proof_value=vector_text("sigBTC58JCS.txt"),
        context=unsigned()["@context"],  # type: ignore[arg-type]
    )
    assert parse_proof(signed()).signature.hex() == vector_text("sigHexJCS.txt")


def parse_object(value: object) -> dict[str, object]:
    assert isinstance(value, dict)
    return value


def leaf_paths(value: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*path, index))
    else:
        yield path


# Changing these breaks the proof's shape, which parse_proof refuses before any signature check.
SHAPE = {("proof", "type"), ("proof", "cryptosuite"), ("proof", "proofPurpose")}
SIGNED_LEAVES = [path for path in leaf_paths(signed()) if path != ("proof", "proofValue")]


@pytest.mark.parametrize("path", SIGNED_LEAVES, ids=lambda path: ".".join(map(str, path)))
def test_any_altered_field_fails(path: tuple[str | int, ...]) -> None:
    document = signed()
    parent: object = document
    for segment in path[:-1]:
        parent = parent[segment]  # type: ignore[index]
    original = parent[path[-1]]  # type: ignore[index]
    altered = original.replace("2023-02-24", "2023-02-25") if path[-1] == "created" else original
    parent[path[-1]] = altered if altered != original else original + "x"  # type: ignore[index]
    expected = MalformedProof if path in SHAPE else BadSignature
    with pytest.raises(expected):
        verify_proof(document, VERIFY_KEY)


@pytest.mark.parametrize("bit", range(0, 512, 5))
def test_any_flipped_signature_bit_fails(bit: int) -> None:
    document = signed()
    proof = parse_object(document["proof"])
    signature = bytearray(multibase_decode(str(proof["proofValue"])))
    signature[bit // 8] ^= 1 << (bit % 8)
    proof["proofValue"] = multibase_encode(bytes(signature))
    with pytest.raises(BadSignature, match=f"under key {VERIFY_KEY.multibase}"):
        verify_proof(document, VERIFY_KEY)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("name"),
        lambda d: d.update(extra="added"),
        lambda d: d["proof"].pop("created"),
        lambda d: d["proof"].update(nonce="added"),
        lambda d: d["credentialSubject"].update(alumniOf=None),
        lambda d: d["type"].reverse(),
    ],
)
def test_added_or_removed_fields_fail(change: object) -> None:
    document = signed()
    change(document)  # type: ignore[operator]
    with pytest.raises(BadSignature):
        verify_proof(document, VERIFY_KEY)


def test_other_key_fails() -> None:
    other = SigningKey.generate().verify_key
    with pytest.raises(BadSignature, match=f"does not verify under key {other.multibase}"):
        verify_proof(signed(), other)


def test_document_context_must_start_with_proof_context() -> None:
    document = signed()
    document["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    with pytest.raises(ContextMismatch, match="does not start with"):
        verify_proof(document, VERIFY_KEY)
    del document["@context"]
    with pytest.raises(ContextMismatch):
        verify_proof(document, VERIFY_KEY)


def test_context_appended_after_signing_still_verifies_as_the_spec_says() -> None:
    # vc-di-eddsa §3.3.2 step 4.2 hashes the document under the proof's @context.
    document = signed()
    document["@context"] = [*unsigned()["@context"], "https://example.org/extra/v1"]  # type: ignore[misc]
    verify_proof(document, VERIFY_KEY)


def test_documents_without_context_sign_and_verify() -> None:
    key = SigningKey.generate()
    secured = create_proof({"a": 1}, key, key.verify_key.verification_method, CREATED)
    assert "@context" not in parse_object(secured["proof"])
    verify_proof(secured, key.verify_key)


def test_create_proof_refusals() -> None:
    vm = VERIFY_KEY.verification_method
    with pytest.raises(MalformedProof, match="already has a proof"):
        create_proof(signed(), SIGNING_KEY, vm, CREATED)
    with pytest.raises(MalformedProof, match="not an XML Schema dateTimeStamp"):
        create_proof(unsigned(), SIGNING_KEY, vm, "2023-02-24T23:36:38")
    with pytest.raises(CanonicalizationError, match=r"at \$\.credentialSubject\.mark"):
        create_proof({**unsigned(), "credentialSubject": {"mark": 9.5}}, SIGNING_KEY, vm, CREATED)


def with_proof(**changes: object) -> dict[str, object]:
    document = signed()
    proof = parse_object(document["proof"])
    for name, value in changes.items():
        if value is None:
            del proof[name]
        else:
            proof[name] = value
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (unsigned(), "document has no proof"),
        ({**unsigned(), "proof": "z123"}, "proof is a str, not an object"),
        ({**unsigned(), "proof": [signed()["proof"]] * 2}, "list of 2 .*proof set"),
        (with_proof(type="Ed25519Signature2020"), "type is 'Ed25519Signature2020'"),
        (with_proof(cryptosuite="eddsa-rdfc-2022"), "cryptosuite is 'eddsa-rdfc-2022'"),
        (with_proof(proofPurpose="authentication"), "proofPurpose is 'authentication'"),
        (with_proof(verificationMethod=None), "verificationMethod is missing"),
        (with_proof(verificationMethod=["x"]), "verificationMethod is a list"),
        (with_proof(proofValue=None), "proofValue is missing"),
        (with_proof(proofValue=64), "proofValue is a int"),
        (with_proof(proofValue="u" + "A" * 86), "not a base58btc multibase"),
        (with_proof(proofValue="z0" + "1" * 86), "not a base58btc multibase"),
        (with_proof(proofValue=multibase_encode(bytes(63))), "holds 63 bytes, expected 64"),
        (with_proof(created="yesterday"), "created 'yesterday' is not"),
        (with_proof(created=20230224), "created is a int"),
        (with_proof(**{"@context": 7}), "@context is neither"),
    ],
)
def test_malformed_proofs_are_refused(document: dict[str, object], message: str) -> None:
    with pytest.raises(MalformedProof, match=message):
        parse_proof(document)
    with pytest.raises(MalformedProof, match=message):
        verify_proof(document, VERIFY_KEY)


JSON_DOCUMENTS = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.text(max_size=8),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=12,
    ),
    max_size=6,
).filter(
    # A document whose @context is neither a string nor a list is refused by create_proof (below).
    lambda document: "proof" not in document and isinstance(document.get("@context", ""), str | list)
)


@given(JSON_DOCUMENTS, st.text(min_size=1, max_size=8).filter(lambda n: n not in {"proof", "@context"}))
def test_any_document_signs_verifies_and_detects_a_changed_member(
    document: dict[str, object], name: str
) -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    secured = create_proof(document, key, key.verify_key.verification_method, CREATED)
    verify_proof(secured, key.verify_key)
    with pytest.raises(BadSignature):
        verify_proof({**secured, name: [secured.get(name)]}, key.verify_key)


def _reference_context_outcome(document_context: object, proof_context: object) -> str:
    """How signing_input first judged the proof's @context: JCS of every value compared in order."""

    def values(context: object) -> list[object]:
        return [] if context is None else list(context) if isinstance(context, list) else [context]

    ours, theirs = values(proof_context), values(document_context)
    try:
        if len(theirs) < len(ours) or any(
            canonical_json(a) != canonical_json(b) for a, b in zip(ours, theirs, strict=False)
        ):
            return "ContextMismatch"
    except CanonicalizationError as error:
        return f"CanonicalizationError: {error}"
    return "ok"


def _context_outcome(document_context: object, proof_context: object) -> str:
    try:
        _require_context_prefix(document_context, proof_context)
    except ContextMismatch:
        return "ContextMismatch"
    except CanonicalizationError as error:
        return f"CanonicalizationError: {error}"
    return "ok"


_CONTEXT_VALUE = (
    st.sampled_from(
        ["https://www.w3.org/ns/credentials/v2", "https://W3.org/ns/credentials/v2", "é", "\ud800", "1", 1]
    )
    | st.text('aAé\ud800"', max_size=3)
    | st.dictionaries(st.text("aA", max_size=2), st.text("aA", max_size=2) | st.integers(0, 1), max_size=2)
    | st.floats(allow_nan=False)
)
_CONTEXT = st.none() | _CONTEXT_VALUE | st.lists(_CONTEXT_VALUE, max_size=3)


def _near(value: object) -> st.SearchStrategy[object]:
    """The value itself, or one like it: its case swapped, or a character added."""
    if isinstance(value, str):
        return st.sampled_from([value, value.swapcase(), value + "a", value[:-1]])
    return st.just(value) | _CONTEXT_VALUE


@settings(max_examples=300)
@given(st.lists(_CONTEXT_VALUE, max_size=3), st.data())
def test_a_context_like_the_proofs_is_judged_as_by_comparing_canonical_forms(
    proof: list[object], data: st.DataObject
) -> None:
    document = [data.draw(_near(value)) for value in proof] + data.draw(st.lists(_CONTEXT_VALUE, max_size=1))
    assert _context_outcome(document, proof) == _reference_context_outcome(document, proof)
    assert _context_outcome(document[:1], proof[:1]) == _reference_context_outcome(document[:1], proof[:1])


@settings(max_examples=300)
@given(_CONTEXT, _CONTEXT)
@example(["A", "b"], ["a"])
@example(["https://W3.org/x"], "https://w3.org/x")
@example(["é"], ["é"])
@example(["\ud800"], ["\ud800"])
@example(["a", "\ud800"], ["a", "\ud800"])
@example([1, "a"], ["1"])
def test_the_context_prefix_is_judged_as_by_comparing_canonical_forms(
    document: object, proof: object
) -> None:
    assert _context_outcome(document, proof) == _reference_context_outcome(document, proof)


@pytest.mark.parametrize("context", [False, 7, None, {"@vocab": "https://example.org/"}])
def test_a_document_whose_context_no_proof_could_carry_is_refused_before_signing(context: object) -> None:
    with pytest.raises(MalformedProof, match="@context is neither a string nor a list"):
        create_proof({"@context": context, "name": "x"}, SIGNING_KEY, VERIFY_KEY.verification_method, CREATED)


@pytest.mark.parametrize(
    "change",
    [
        lambda document: None,
        lambda document: document.update(name="caf\u00e9 \U0001f600"),
        lambda document: document.update(name="\ud800"),
        lambda document: document["proof"].update({"@context": ["https://www.w3.org/ns/credentials/v2"]}),
    ],
)
def test_signing_input_of_a_plain_document_equals_the_walked_one(change: object) -> None:
    # verify_bundle tells signing_input when read_bundle found the credential plain (only exact
    # JSON types, as every document here holds); its parts are then serialised without a walk, and
    # must come out, or be refused, exactly as walked.
    document = signed()
    assert callable(change)
    change(document)
    assert _signing_outcome(document, plain=True) == _signing_outcome(document, plain=False)


def _signing_outcome(document: dict[str, object], *, plain: bool) -> bytes | str:
    try:
        return signing_input(document, plain=plain)
    except (CanonicalizationError, ContextMismatch) as error:
        return repr(error)
