"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys: key strings, signing, opening."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import nacl.signing

from verification.errors import (
    InvalidNoteSignature,
    MalformedNote,
    MalformedNoteKey,
    UnverifiedNote,
)
from verification.keys import ed25519_verify

ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
SIGNER_KEY_PREFIX = "PRIVATE+KEY+"
# The spec requires accepting at least 16; the bound stops a note from costing unbounded work.
MAX_SIGNATURES = 100

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f]")  # the characters below " ", newline too
_CONTROL_BYTES = bytes([*range(0x0A), *range(0x0B, 0x20)])
_ASCII_KEY_NAME = re.compile(r"[^\x00-\x20+]+")


def decode_base64(text: str) -> bytes:
    """Decode canonical standard base64 (RFC 4648 §4), raising ValueError for any other form."""
    if type(text) is str and text.isascii():
        # Fast path: bytes whose standard encoding is exactly `text` are what the strict decode
        # below returns; anything else takes that path and is refused or decoded as before.
        raw = text.encode("ascii")
        try:
            data = binascii.a2b_base64(raw)
        except binascii.Error:
            pass
        else:
            if binascii.b2a_base64(data, newline=False) == raw:
                return data
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError(f"not standard base64: {text!r}") from error
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError(f"not canonical base64: {text!r}")
    return data


def is_valid_key_name(name: str) -> bool:
    """Tell whether a key name is non-empty, without Unicode spaces, '+' or control characters."""
    if type(name) is str and name.isascii():
        # Every ASCII space or control character is at or below U+0020: one match in C.
        return _ASCII_KEY_NAME.fullmatch(name) is not None
    return bool(name) and "+" not in name and not any(c.isspace() or c < " " for c in name)


def is_note_line(line: object) -> bool:
    """Tell whether line is non-empty text without control characters: one line of a note's text."""
    return isinstance(line, str) and bool(line) and _LINE_CONTROL.search(line) is None


def key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte Ed25519 key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:4]


def _require_key_name(name: str) -> None:
    if not is_valid_key_name(name):
        raise MalformedNoteKey(f"invalid key name {name!r}")


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 note verifier key, as in a C2SP verifier key string."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _require_key_name(self.name)
        if len(self.public_key) != 32:
            raise MalformedNoteKey(f"Ed25519 public key is {len(self.public_key)} bytes, not 32")

    @functools.cached_property
    def key_id(self) -> bytes:
        """The 4-byte key ID that signature lines by this key carry."""
        return key_id(self.name, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Tell whether signature is this key's Ed25519 signature of message."""
        if len(signature) != 64:
            return False
        return ed25519_verify(self.public_key, message, signature)

    def __str__(self) -> str:
        encoded = base64.b64encode(ED25519_TYPE + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


def _split_key(key: str, what: str) -> tuple[str, str, bytes]:
    """Split `<name>+<hex key ID>+<base64(0x01 || key)>` into name, key ID and 32 key bytes."""
    parts = key.split("+", 2)  # Base64 may hold '+'; names and key IDs never do.
    if len(parts) != 3:
        raise MalformedNoteKey(f"{what} is not a name, a key ID and a key joined by '+'")
    name, key_id_hex, encoded = parts
    _require_key_name(name)
    try:
        typed = decode_base64(encoded)
    except ValueError as error:
        raise MalformedNoteKey(f"{what}: {error}") from error
    if typed[:1] != ED25519_TYPE or len(typed) != 33:
        raise MalformedNoteKey(f"{what} is not 0x01 followed by a 32-byte Ed25519 key")
    return name, key_id_hex, typed[1:]


def _require_key_id(name: str, public_key: bytes, key_id_hex: str) -> None:
    if key_id(name, public_key).hex() != key_id_hex:
        raise MalformedNoteKey(f"key ID {key_id_hex!r} does not match key {name!r}")


def parse_verifier_key(verifier_key: str) -> Verifier:
    """Parse `<name>+<hex key ID>+<base64(0x01 || public key)>`, checking the key ID."""
    if type(verifier_key) is str:
        return _remembered_verifier(verifier_key)
    return _parse_verifier_key(verifier_key)


def _parse_verifier_key(verifier_key: str) -> Verifier:
    name, key_id_hex, public_key = _split_key(verifier_key, "verifier key")
    _require_key_id(name, public_key, key_id_hex)
    return Verifier(name, public_key)


# A verifier is handed the same pinned key strings on every call; a Verifier is immutable.
_remembered_verifier = functools.lru_cache(maxsize=16)(_parse_verifier_key)


def parse_signer_key(signer_key: str) -> tuple[str, bytes]:
    """Parse `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>` into (name, seed)."""
    if not signer_key.startswith(SIGNER_KEY_PREFIX):
        raise MalformedNoteKey(f"signer key does not start with {SIGNER_KEY_PREFIX!r}")
    name, key_id_hex, seed = _split_key(signer_key.removeprefix(SIGNER_KEY_PREFIX), "signer key")
    _require_key_id(name, bytes(nacl.signing.SigningKey(seed).verify_key), key_id_hex)
    return name, seed


def generate_signer_key(name: str) -> tuple[str, str]:
    """Make a fresh Ed25519 key for name; return (signer key string, verifier key string)."""
    _require_key_name(name)
    signing_key = nacl.signing.SigningKey.generate()
    verifier = Verifier(name, bytes(signing_key.verify_key))
    seed = base64.b64encode(ED25519_TYPE + bytes(signing_key)).decode("ascii")
    return f"{SIGNER_KEY_PREFIX}{name}+{verifier.key_id.hex()}+{seed}", str(verifier)


def _require_note_characters(text: str) -> None:
    if type(text) is str:
        # Fast path: UTF-8 that holds no control byte. A control character is one byte in UTF-8
        # and every byte of a longer sequence is 0x80 or above, so such a note passes both checks.
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            if len(encoded.translate(None, _CONTROL_BYTES)) == len(encoded):
                return
    if _CONTROL.search(text):
        raise MalformedNote("note holds a control character other than newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise MalformedNote("note is not valid UTF-8") from error


def sign_note(text: str, name: str, seed: bytes) -> str:
    """Sign text with the Ed25519 seed under key name; return the note with one signature line."""
    _require_note_characters(text)
    if not text.endswith("\n"):
        raise MalformedNote("note text does not end in a newline")
    _require_key_name(name)
    if len(seed) != 32:
        raise MalformedNoteKey(f"Ed25519 seed is {len(seed)} bytes, not 32")
    cacheable = type(seed) is bytes and type(name) is str
    signing_key, identifier = (_signer if cacheable else _make_signer)(name, seed)
    signature = signing_key.sign(text.encode()).signature
    encoded = base64.b64encode(identifier + signature).decode("ascii")
    return f"{text}\n{SIGNATURE_PREFIX}{name} {encoded}\n"


@functools.lru_cache(maxsize=8)
def _signer(name: str, seed: bytes) -> tuple[nacl.signing.SigningKey, bytes]:
    """The key object and key ID for a seed: deriving them costs half a signature, and a ledger
    signs every receipt, status and checkpoint with the one log key. The seed is held here as
    long as by the caller that passes it on every call."""
    return _make_signer(name, seed)


def _make_signer(name: str, seed: bytes) -> tuple[nacl.signing.SigningKey, bytes]:
    signing_key = nacl.signing.SigningKey(seed)
    return signing_key, key_id(name, bytes(signing_key.verify_key))


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    """Split a signature line into (key name, key ID, signature)."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNote(f"signature line {line!r} does not start with an em dash and space")
    name, _, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
    try:
        signature = decode_base64(encoded)
    except ValueError as error:
        raise MalformedNote(f"signature line {line!r}: {error}") from error
    if not is_valid_key_name(name) or len(signature) < 5:
        raise MalformedNote(f"malformed signature line {line!r}")
    return name, signature[:4], signature[4:]


def open_note(note: str, verifiers: Iterable[Verifier]) -> tuple[str, list[str]]:
    """Verify a signed note against known keys; return its text and the names that signed it."""
    _require_note_characters(note)
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise MalformedNote("note is not text, a blank line, then lines ending in newline")
    text, signature_block = note[: split + 1], note[split + 2 :]
    lines = signature_block.removesuffix("\n").split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"note carries more than {MAX_SIGNATURES} signature lines")
    known = {(v.name, v.key_id): v for v in verifiers}
    message = text.encode()
    verified: list[str] = []
    for line in lines:
        name, identifier, signature = _parse_signature_line(line)
        verifier = known.get((name, identifier))
        if verifier is None:
            continue  # The spec requires ignoring signatures from unknown keys.
        if not verifier.verify(message, signature):
            raise InvalidNoteSignature(f"signature by known key {name!r} does not verify")
        if name not in verified:
            verified.append(name)
    if not verified:
        raise UnverifiedNote("no signature on the note is from a known key")
    return text, verified
