"""The JSON shape of a proof bundle (see verification.bundle): reading it strictly, and writing it."""

from __future__ import annotations

import base64
import functools
import marshal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from verification.bundle_members import (
    LEARNER_ENTRY_FIELDS,
    ORGANISATION_ENTRY_FIELDS,
    is_int,
    read_canonical,
    read_consistency,
    read_entry,
    read_object,
    read_proof,
    read_salt,
)
from verification.canonical import parse_json
from verification.errors import MalformedBundle, MalformedJSON, MalformedRegistry
from verification.tlog_proof import TlogProof, format_tlog_proof
from verification.trust import RegistryState, fold_registry

BUNDLE_TYPE = "LearnerLedgerBundle"
BUNDLE_VERSION = 1
_REQUIRED = frozenset(("type", "version", "credential", "salt", "entry", "proof", "registry", "status"))
_MEMBERS = _REQUIRED | {"consistency"}


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
    document = read_object(value, "the bundle", _REQUIRED, _MEMBERS)
    if document["type"] != BUNDLE_TYPE:
        raise MalformedBundle(f"type is {document['type']!r}, not {BUNDLE_TYPE!r}")
    if not is_int(document["version"]) or document["version"] != BUNDLE_VERSION:
        raise MalformedBundle(
            f"version is {document['version']!r}; this verifier reads version {BUNDLE_VERSION}"
        )
    credential = read_object(document["credential"], "credential")
    credential_bytes, plain = read_canonical(credential, "credential")
    entries, proofs, forms, state, key = _read_registry(document["registry"])
    status = document["status"]
    if not isinstance(status, str) or not status:
        raise MalformedBundle("status must be the signed status note, as text")
    salt = read_salt(document["salt"])
    entry, entry_bytes = read_entry(document["entry"], "entry", LEARNER_ENTRY_FIELDS, "learner")
    proof = read_proof(document["proof"], "proof")
    consistency = read_consistency(document.get("consistency", {}))
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


def _registry(value: object) -> tuple[tuple[RegistryItem, ...], tuple[bytes, ...]]:
    if not isinstance(value, list) or not value:
        raise MalformedBundle("registry must list the issuing organisation's entries, from its first")
    items = []
    forms = []
    for position, item in enumerate(value):
        where = f"registry[{position}]"
        members = read_object(item, where, frozenset(("entry", "proof")), frozenset(("entry", "proof")))
        entry, canonical = read_entry(
            members["entry"], f"{where}.entry", ORGANISATION_ENTRY_FIELDS, "organisation"
        )
        proof = read_proof(members["proof"], f"{where}.proof", remembered=True)
        items.append(RegistryItem(entry, proof))
        forms.append(canonical)
    return tuple(items), tuple(forms)


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
