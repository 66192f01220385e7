"""The members of a proof bundle (see verification.bundle), each read strictly: entries, tlog-proofs,
salt and consistency proofs; every refusal a MalformedBundle naming the member."""

from __future__ import annotations

import functools
import re
from typing import Any

from verification.canonical import canonical_form
from verification.errors import CanonicalizationError, MalformedBundle, MalformedTlogProof
from verification.merkle import HASH_SIZE
from verification.note import decode_base64
from verification.tlog_proof import TlogProof, parse_tlog_proof
from verification.trust import parse_instant

LEARNER_ENTRY_FIELDS = frozenset(
    ("v", "learner", "seq", "prev", "kind", "credential", "issuer", "key", "commitment", "recorded_at")
)
ORGANISATION_ENTRY_FIELDS = frozenset(("v", "organisation", "seq", "prev", "kind", "data", "recorded_at"))
_NOT_TEXT = frozenset(("v", "seq", "prev", "commitment", "data"))
# The members of each kind of entry that must be non-empty strings, in the order they are checked.
_TEXT_FIELDS = {
    fields: tuple(sorted(fields - _NOT_TEXT)) for fields in (LEARNER_ENTRY_FIELDS, ORGANISATION_ENTRY_FIELDS)
}
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_SIZE = re.compile(r"[1-9][0-9]{0,19}")
# RFC 9162 consistency proofs between trees of under 2**64 leaves hold fewer than 128 hashes.
_MAX_CONSISTENCY_HASHES = 128
_MAX_CONSISTENCY_PROOFS = 64


def is_int(value: object) -> bool:
    """Whether value is an int, and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def read_object(
    value: object, where: str, required: frozenset[str] = frozenset(), allowed: frozenset[str] | None = None
) -> dict[str, Any]:
    """value as a JSON object with the `required` members and no others than `allowed` (if given)."""
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


def read_canonical(value: object, where: str) -> tuple[bytes, bool]:
    """canonical.canonical_form of value, refused as a MalformedBundle naming `where`."""
    try:
        return canonical_form(value)
    except CanonicalizationError as error:
        raise MalformedBundle(f"{where} cannot be put in canonical JSON form: {error}") from None


def read_salt(value: object) -> bytes:
    """The 32 bytes of a salt given as standard base64."""
    try:
        salt = decode_base64(value) if isinstance(value, str) else b""
    except ValueError:
        salt = b""
    if len(salt) != 32:
        raise MalformedBundle("salt must be the standard base64 of 32 bytes")
    return salt


def read_entry(
    value: object, where: str, fields: frozenset[str], stream_field: str
) -> tuple[dict[str, Any], bytes]:
    """An entry of a learner's or an organisation's stream with exactly `fields`, and its canonical bytes."""
    entry = read_object(value, where, fields, fields)
    canonical, _ = read_canonical(entry, where)
    if not is_int(entry["v"]) or entry["v"] != 1:
        raise MalformedBundle(f"{where}.v must be 1")
    if not is_int(entry["seq"]) or entry["seq"] < 1:
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


def read_proof(value: object, where: str, *, remembered: bool = False) -> TlogProof:
    """A tlog-proof text, parsed (through a cache of registry proof texts when `remembered`)."""
    if not isinstance(value, str):
        raise MalformedBundle(f"{where} must be a C2SP tlog-proof, as text")
    try:
        return (_parse_registry_proof if remembered and type(value) is str else parse_tlog_proof)(value)
    except MalformedTlogProof as error:
        raise MalformedBundle(f"{where}: {error}") from None


# Every bundle for a credential of one issuer, against one checkpoint, carries the same registry
# entries with the same tlog-proof texts. A TlogProof is immutable and parsing is a function of
# the text, so a remembered parse is the parse; refusals are not remembered.
_parse_registry_proof = functools.lru_cache(maxsize=64)(parse_tlog_proof)


def read_consistency(value: object) -> dict[int, tuple[bytes, ...]]:
    """The consistency proofs, by the older tree size they prove from."""
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
