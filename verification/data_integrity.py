"""W3C Data Integrity proofs with the eddsa-jcs-2022 cryptosuite (vc-di-eddsa §3.3)."""

import copy
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from verification.canonical import canonical_json, canonical_json_of_plain
from verification.errors import BadSignature, ContextMismatch, KeyFormatError, MalformedProof
from verification.keys import SigningKey, VerifyKey, multibase_decode, multibase_encode

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_PURPOSE = "assertionMethod"
_SIGNATURE_BYTES = 64
# XML Schema dateTimeStamp: a date, a time and a mandatory time zone.
_DATE_TIME_STAMP = re.compile(
    r"-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))"
)


@dataclass(frozen=True)
class Proof:
    """The fields of one eddsa-jcs-2022 Data Integrity proof, as found in a document."""

    type: str
    cryptosuite: str
    verification_method: str
    proof_purpose: str
    created: str | None
    proof_value: str
    context: list[object] | str | None = None

    @property
    def signature(self) -> bytes:
        """The 64-byte Ed25519 signature that proofValue carries."""
        return _decode_signature(self.proof_value)


def parse_proof(document: Mapping[str, object]) -> Proof:
    """Return the document's single eddsa-jcs-2022 proof, refusing any other shape or suite."""
    proof = _proof_object(document)
    for name, expected in (
        ("type", PROOF_TYPE),
        ("cryptosuite", CRYPTOSUITE),
        ("proofPurpose", PROOF_PURPOSE),
    ):
        if proof.get(name) != expected:
            raise MalformedProof(f"proof {name} is {proof.get(name)!r}, expected {expected!r}")
    verification_method = _string_member(proof, "verificationMethod")
    proof_value = _string_member(proof, "proofValue")
    _decode_signature(proof_value)
    created = None
    if "created" in proof:
        created = _string_member(proof, "created")
        _require_date_time_stamp(created)
    context = proof.get("@context")
    if context is not None and not isinstance(context, str | list):
        raise MalformedProof("proof @context is neither a string nor a list")
    return Proof(
        type=PROOF_TYPE,
        cryptosuite=CRYPTOSUITE,
        verification_method=verification_method,
        proof_purpose=PROOF_PURPOSE,
        created=created,
        proof_value=proof_value,
        context=context,
    )


def signing_input(document: Mapping[str, object], *, plain: bool = False) -> bytes:
    """Return hashData: SHA-256(JCS(proof options)) then SHA-256(JCS(document without proof)).

    `plain`: canonical.canonical_form found the document plain (required if True), so the parts
    are put in canonical form without walking them again.
    """
    options = {name: value for name, value in _proof_object(document).items() if name != "proofValue"}
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    if "@context" in options:
        _require_context_prefix(unsecured.get("@context"), options["@context"])
        # The spec hashes the document under the proof's @context (vc-di-eddsa §3.3.2 step 4.2).
        unsecured["@context"] = options["@context"]
    canonical = canonical_json_of_plain if plain else canonical_json
    return hashlib.sha256(canonical(options)).digest() + hashlib.sha256(canonical(unsecured)).digest()


def create_proof(
    document: Mapping[str, object], key: SigningKey, verification_method: str, created: str
) -> dict[str, object]:
    """Return a copy of document with an eddsa-jcs-2022 proof by key added (input unchanged)."""
    if "proof" in document:
        raise MalformedProof("document already has a proof; proof sets are not supported")
    _require_date_time_stamp(created)
    if "@context" in document and not isinstance(document["@context"], str | list):
        raise MalformedProof("document @context is neither a string nor a list, so no proof could carry it")
    proof: dict[str, object] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }
    if "@context" in document:
        proof["@context"] = copy.deepcopy(document["@context"])
    signature = key.sign(signing_input({**document, "proof": proof}))
    proof["proofValue"] = multibase_encode(signature)
    return {**document, "proof": proof}


def verify_proof(document: Mapping[str, object], key: VerifyKey) -> None:
    """Check the document's eddsa-jcs-2022 proof under key; raise BadSignature if it fails."""
    verify_parsed_proof(document, parse_proof(document), key)


def verify_parsed_proof(
    document: Mapping[str, object], proof: Proof, key: VerifyKey, *, plain: bool = False
) -> None:
    """verify_proof of a parsed proof; requires proof == parse_proof(document) (`plain`: signing_input)."""
    if not key.verify(signing_input(document, plain=plain), proof.signature):
        raise BadSignature(f"the proof does not verify under key {key.multibase}")


def _proof_object(document: Mapping[str, object]) -> dict[str, object]:
    if "proof" not in document:
        raise MalformedProof("document has no proof")
    proof = document["proof"]
    if isinstance(proof, list):
        raise MalformedProof(
            f"proof is a list of {len(proof)} (a proof set); only a single proof is supported"
        )
    if not isinstance(proof, dict):
        raise MalformedProof(f"proof is a {type(proof).__name__}, not an object")
    return proof


def _string_member(proof: Mapping[str, object], name: str) -> str:
    value = proof.get(name)
    if not isinstance(value, str):
        problem = "is missing" if value is None else f"is a {type(value).__name__}, not a string"
        raise MalformedProof(f"proof {name} {problem}")
    return value


def _decode_signature(proof_value: str) -> bytes:
    try:
        signature = multibase_decode(proof_value)
    except KeyFormatError as error:
        raise MalformedProof(f"proofValue is not a base58btc multibase value: {error}") from None
    if len(signature) != _SIGNATURE_BYTES:
        raise MalformedProof(f"proofValue holds {len(signature)} bytes, expected {_SIGNATURE_BYTES}")
    return signature


def _require_date_time_stamp(created: str) -> None:
    if not _DATE_TIME_STAMP.fullmatch(created):
        raise MalformedProof(f"proof created {created!r} is not an XML Schema dateTimeStamp")


def _require_context_prefix(document_context: object, proof_context: object) -> None:
    document_values = _as_list(document_context)
    proof_values = _as_list(proof_context)
    if len(document_values) < len(proof_values) or not all(map(_same_json, proof_values, document_values)):
        raise ContextMismatch(
            "the document's @context does not start with the proof's @context values, in order"
        )


def _same_json(ours: object, theirs: object) -> bool:
    """canonical_json(ours) == canonical_json(theirs), raising as it would."""
    if type(ours) is str and type(theirs) is str and ours.isascii() and theirs.isascii():
        return ours == theirs  # ASCII text's JCS form is one-to-one and never refused
    return canonical_json(ours) == canonical_json(theirs)


def _as_list(context: object) -> list[object]:
    if context is None:
        return []
    return list(context) if isinstance(context, list) else [context]
