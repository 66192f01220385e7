"""The JSON shape of a proof bundle (see verification.bundle): reading it strictly, and writing it."""

from __future__ import annotations

import base64
import functools
import marshal
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from verification.canonical import canonical_form, parse_json
from verification.errors import (
    CanonicalizationError,
    MalformedBundle,
    MalformedJSON,
    MalformedRegistry,
    MalformedTlogProof,
)
from verification.merkle import HASH_SIZE
from verification.note import decode_base64
from verification.tlog_proof import TlogProof, format_tlog_proof, parse_tlog_proof
from verification.trust import RegistryState, fold_registry, parse_instant

BUNDLE_TYPE = "LearnerLedgerBundle"
BUNDLE_VERSION = 1
LEARNER_ENTRY_FIELDS = frozenset(
    ("v", "learner", "seq", "prev", "kind", "credential", "issuer", "key", "commitment", "recorded_at")
)
ORGANISATION_ENTRY_FIELDS = frozenset(("v", "organisation", "seq", "prev", "kind", "data", "recorded_at"))
_NOT_TEXT = frozenset(("v", "seq", "prev", "commitment", "data"))
# The members of each kind of entry that must be non-empty strings, in the order they are checked.
_TEXT_FIELDS = {
    fields: tuple(sorted(fields - _NOT_TEXT)) for fields in (LEARNER_ENTRY_FIELDS, ORGANISATION_ENTRY_FIELDS)
}
_REQUIRED = frozenset(("type", "version", "credential", "salt", "entry", "proof", "registry", "status"))
_MEMBERS = _REQUIRED | {"consistency"}
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_SIZE = re.compile(r"[1-9][0-9]{0,19}")
# RFC 9162 consistency proofs between trees of under 2**64 leaves hold fewer than 128 hashes.
_MAX_CONSISTENCY_HASHES = 128
_MAX_CONSISTENCY_PROOFS = 64


@dataclass(frozen=True)
class RegistryItem:
    """One entry of the issuing organisation's stream and its tlog-proof."""

    entry: dict[str, Any]
    proof: TlogProof


@dataclass(frozen=True)
class Bundle:
    """A proof bundle read from its JSON form; nothing in it is trusted yet."""

    credential: dict[str, Any]
    salt: bytes
    entry: dict[str, Any]
    proof: TlogProof
    registry: tuple[RegistryItem, ...]
    status: str
    consistency: dict[int, tuple[bytes, ...]]
    issuer_registry: RegistryState
    """The registry entries replayed: what they say, before any of it is proven."""


@dataclass(frozen=True)
class CanonicalForms:
    """The RFC 8785 bytes of a bundle's credential and entries, as reading it computed them."""

    credential: bytes
    entry: bytes
    registry: tuple[bytes, ...]
    """Of each registry entry, in order."""
    credential_plain: bool = field(default=False, compare=False)
    """Whether the credential holds only exact JSON types (canonical.canonical_form)."""


RegistryKey = tuple[bytes, tuple[str, ...]]
"""What names a registry's value: marshal's bytes of its entries, and its tlog-proof texts."""


class BundleParts(NamedTuple):
    """A bundle as read_parts reads it for verify_bundle: its parts and the canonical bytes checked."""

    credential: dict[str, Any]
    credential_bytes: bytes
    credential_plain: bool
    salt: bytes
    entry: dict[str, Any]
    entry_bytes: bytes
    proof: TlogProof
    registry_entries: tuple[dict[str, Any], ...]
    registry_proofs: tuple[TlogProof, ...]
    registry_bytes: tuple[bytes, ...]
    status: str
    consistency: dict[int, tuple[bytes, ...]]
    issuer_registry: RegistryState
    """Possibly shared with other readings: read it, never change it."""
    registry_key: RegistryKey | None
    """The key the registry was remembered by (remembered_registry), if it was."""


def parse_bundle(value: object) -> Bundle:
    """Read a bundle (a JSON object, or its text or bytes) strictly; raise MalformedBundle."""
    return read_bundle(value)[0]


def read_bundle(value: object) -> tuple[Bundle, CanonicalForms]:
    """parse_bundle, also returning the canonical bytes it checked, so no check computes them again."""
    parts = read_parts(value)
    bundle = Bundle(
        credential=parts.credential,
        salt=parts.salt,
        entry=parts.entry,
        proof=parts.proof,
        registry=tuple(map(RegistryItem, parts.registry_entries, parts.registry_proofs)),
        status=parts.status,
        consistency=parts.consistency,
        issuer_registry=parts.issuer_registry.copy(),
    )
    forms = CanonicalForms(
        parts.credential_bytes, parts.entry_bytes, parts.registry_bytes, parts.credential_plain
    )
    return bundle, forms


def read_parts(value: object) -> BundleParts:
    """read_bundle without building its objects: what verify_bundle reads, in one pass."""
    if isinstance(value, str | bytes):
        try:
            value = parse_json(value)
        except MalformedJSON as error:
            raise MalformedBundle(f"the bundle is not JSON: {error}") from None
    document = _object(value, "the bundle", _REQUIRED, _MEMBERS)
    if document["type"] != BUNDLE_TYPE:
        raise MalformedBundle(f"type is {document['type']!r}, not {BUNDLE_TYPE!r}")
    if not _is_int(document["version"]) or document["version"] != BUNDLE_VERSION:
        raise MalformedBundle(
            f"version is {document['version']!r}; this verifier reads version {BUNDLE_VERSION}"
        )
    credential = _object(document["credential"], "credential")
    credential_bytes, plain = _canonical(credential, "credential")
    entries, proofs, forms, state, key = _read_registry(document["registry"])
    status = document["status"]
    if not isinstance(status, str) or not status:
        raise MalformedBundle("status must be the signed status note, as text")
    salt = _salt(document["salt"])
    entry, entry_bytes = _entry(document["entry"], "entry", LEARNER_ENTRY_FIELDS, "learner")
    proof = _proof(document["proof"], "proof")
    consistency = _consistency(document.get("consistency", {}))
    return BundleParts(
        credential, credential_bytes, plain, salt, entry, entry_bytes, proof, entries, proofs, forms, status,
        consistency, state, key,
    )  # fmt: skip


def assemble_bundle(
    credential: Mapping[str, Any],
    salt: bytes,
    entry: Mapping[str, Any],
    proof: TlogProof | str,
    *,
    registry: Sequence[tuple[Mapping[str, Any], TlogProof | str]],
    status: str,
    consistency: Mapping[int, Sequence[bytes]] | None = None,
) -> dict[str, Any]:
    """The JSON object of a bundle, from its parts (tlog-proofs as objects or as text)."""
    bundle: dict[str, Any] = {
        "type": BUNDLE_TYPE,
        "version": BUNDLE_VERSION,
        "credential": dict(credential),
        "salt": base64.b64encode(salt).decode("ascii"),
        "entry": dict(entry),
        "proof": _proof_text(proof),
        "registry": [
            {"entry": dict(item), "proof": _proof_text(item_proof)} for item, item_proof in registry
        ],
        "status": status,
    }
    if consistency:
        bundle["consistency"] = {
            str(size): [base64.b64encode(node).decode("ascii") for node in hashes]
            for size, hashes in sorted(consistency.items())
        }
    return bundle


def _proof_text(proof: TlogProof | str) -> str:
    return proof if isinstance(proof, str) else format_tlog_proof(proof)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(
    value: object, where: str, required: frozenset[str] = frozenset(), allowed: frozenset[str] | None = None
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedBundle(f"{where} must be a JSON object, not {type(value).__name__}")
    missing = required - value.keys()
    if missing:
        raise MalformedBundle(f"{where} lacks {', '.join(sorted(missing))}")
    unknown = value.keys() - allowed if allowed else ()
    if unknown:
        names = ", ".join(sorted(str(name) for name in unknown))
        raise MalformedBundle(f"{where} has members this verifier does not know: {names}")
    return value


def _canonical(value: object, where: str) -> tuple[bytes, bool]:
    try:
        return canonical_form(value)
    except CanonicalizationError as error:
        raise MalformedBundle(f"{where} cannot be put in canonical JSON form: {error}") from None


def _salt(value: object) -> bytes:
    try:
        salt = decode_base64(value) if isinstance(value, str) else b""
    except ValueError:
        salt = b""
    if len(salt) != 32:
        raise MalformedBundle("salt must be the standard base64 of 32 bytes")
    return salt


def _entry(
    value: object, where: str, fields: frozenset[str], stream_field: str
) -> tuple[dict[str, Any], bytes]:
    entry = _object(value, where, fields, fields)
    canonical, _ = _canonical(entry, where)
    if not _is_int(entry["v"]) or entry["v"] != 1:
        raise MalformedBundle(f"{where}.v must be 1")
    if not _is_int(entry["seq"]) or entry["seq"] < 1:
        raise MalformedBundle(f"{where}.seq must be a whole number from 1")
    for name in ("prev", "commitment"):
        if name in fields and not (isinstance(entry[name], str) and _HEX_HASH.fullmatch(entry[name])):
            raise MalformedBundle(f"{where}.{name} must be 64 lower-case hex digits")
    for name in _TEXT_FIELDS.get(fields) or sorted(fields - _NOT_TEXT):
        if not isinstance(entry[name], str) or not entry[name]:
            raise MalformedBundle(f"{where}.{name} must be a non-empty string")
    if parse_instant(entry["recorded_at"]) is None:
        raise MalformedBundle(f"{where}.recorded_at must be an RFC 3339 date-time with a time zone")
    if stream_field == "organisation" and not isinstance(entry["data"], dict):
        raise MalformedBundle(f"{where}.data must be a JSON object")
    return entry, canonical


def _proof(value: object, where: str, *, remembered: bool = False) -> TlogProof:
    if not isinstance(value, str):
        raise MalformedBundle(f"{where} must be a C2SP tlog-proof, as text")
    try:
        return (_parse_registry_proof if remembered and type(value) is str else parse_tlog_proof)(value)
    except MalformedTlogProof as error:
        raise MalformedBundle(f"{where}: {error}") from None


def _registry(value: object) -> tuple[tuple[RegistryItem, ...], tuple[bytes, ...]]:
    if not isinstance(value, list) or not value:
        raise MalformedBundle("registry must list the issuing organisation's entries, from its first")
    items = []
    forms = []
    for position, item in enumerate(value):
        where = f"registry[{position}]"
        members = _object(item, where, frozenset(("entry", "proof")), frozenset(("entry", "proof")))
        entry, canonical = _entry(
            members["entry"], f"{where}.entry", ORGANISATION_ENTRY_FIELDS, "organisation"
        )
        proof = _proof(members["proof"], f"{where}.proof", remembered=True)
        items.append(RegistryItem(entry, proof))
        forms.append(canonical)
    return tuple(items), tuple(forms)


# Every bundle for a credential of one issuer, against one checkpoint, carries the same registry
# entries with the same tlog-proof texts. A TlogProof is immutable and parsing is a function of
# the text, so a remembered parse is the parse; refusals are not remembered.
_parse_registry_proof = functools.lru_cache(maxsize=64)(parse_tlog_proof)

_Entries = tuple[dict[str, Any], ...]
_Registry = tuple[_Entries, tuple[TlogProof, ...], tuple[bytes, ...], RegistryState]


def _read_registry(
    value: object,
) -> tuple[_Entries, tuple[TlogProof, ...], tuple[bytes, ...], RegistryState, RegistryKey | None]:
    """The registry's entries (the bundle's own), proofs, canonical forms, the state they replay to,
    and the key it was remembered by (None if it was not).

    Reading it is a function of its value, remembered by a key that names the value (below); the
    state it replays to is then shared by every reading of an equal registry.
    """
    if type(value) is list and (key := _registry_key(value)) is not None:
        try:
            _, proofs, forms, state = remembered_registry(key)
        except MalformedBundle:
            pass  # refused: read the bundle's own value again, for the words it is refused in
        else:
            return tuple([item["entry"] for item in value]), proofs, forms, state, key
    items, forms = _registry(value)
    entries = tuple(item.entry for item in items)
    return entries, tuple(item.proof for item in items), forms, _fold(items), None


def _registry_key(value: list[Any]) -> RegistryKey | None:
    """A key naming the registry's value, or None where it has none.

    Each item must be exactly a dict of an entry and a proof text (exactly a str), so the key
    names the items. marshal writes only values of exact built-in types (every subclass is
    refused) and each type its own way, so entries with the same bytes are equal, with the same
    types throughout; the one change of type, a buffer (bytearray …) written as bytes, is of a
    type no readable registry holds. Shared or interned strings are marked, so equal entries may
    differ in bytes (and are read afresh). The proof texts, mostly not ASCII, are keyed as they are.
    """
    entries = []
    proofs = []
    for item in value:
        if (
            type(item) is not dict
            or len(item) != 2
            or "entry" not in item
            or type(item.get("proof")) is not str
        ):
            return None
        entries.append(item["entry"])
        proofs.append(item["proof"])
    try:
        return marshal.dumps(entries), tuple(proofs)
    except ValueError:
        return None  # a type marshal does not write, or nesting too deep for it


def _read_keyed(key: RegistryKey) -> _Registry:
    # Only bytes _registry_key wrote in this process: a copy of the bundle's own entries.
    entries = marshal.loads(key[0])  # noqa: S302
    items, forms = _registry(
        [{"entry": entry, "proof": proof} for entry, proof in zip(entries, key[1], strict=True)]
    )
    return tuple(item.entry for item in items), tuple(item.proof for item in items), forms, _fold(items)


# The registry is the part of a bundle that is the same in every bundle of one issuer against one
# checkpoint, and the dearest to read. The key names the value (see _registry_key); proofs and
# canonical forms are immutable, and verify_bundle only reads the entries (a copy, never handed
# out) and the state (read_bundle copies it). Refusals are not remembered.
remembered_registry = functools.lru_cache(maxsize=16)(_read_keyed)
"""The registry a key from _registry_key names: its entries, proofs, canonical forms and state."""


def _fold(items: Sequence[RegistryItem]) -> RegistryState:
    try:
        return fold_registry([item.entry for item in items])
    except MalformedRegistry as error:
        raise MalformedBundle(f"registry: {error}") from None


def _consistency(value: object) -> dict[int, tuple[bytes, ...]]:
    if not isinstance(value, dict) or len(value) > _MAX_CONSISTENCY_PROOFS:
        raise MalformedBundle(f"consistency must map at most {_MAX_CONSISTENCY_PROOFS} tree sizes to proofs")
    proofs: dict[int, tuple[bytes, ...]] = {}
    for size, hashes in value.items():
        if not isinstance(size, str) or not _SIZE.fullmatch(size):
            raise MalformedBundle(f"consistency size {str(size)[:24]!r} is not a decimal tree size")
        if not isinstance(hashes, list) or len(hashes) > _MAX_CONSISTENCY_HASHES:
            raise MalformedBundle(f"consistency[{size}] must be a list of base64 hashes")
        proofs[int(size)] = tuple(_hash(node, f"consistency[{size}]") for node in hashes)
    return proofs


def _hash(value: object, where: str) -> bytes:
    try:
        node = decode_base64(value) if isinstance(value, str) else b""
    except ValueError:
        node = b""
    if len(node) != HASH_SIZE:
        raise MalformedBundle(f"{where} holds something other than the base64 of a {HASH_SIZE}-byte hash")
    return node
