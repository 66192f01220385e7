"""Ed25519 keys as Multikey and did:key values; the one module that wraps PyNaCl signing."""

import functools
import hmac
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
import nacl.signing
import nacl.utils

from verification.errors import KeyFormatError

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_DIGITS = {character: digit for digit, character in enumerate(_ALPHABET)}
# bytes.translate maps each base58btc character to its digit and deletes every other byte, so a
# translation shorter than its input held a character outside the alphabet.
_TO_DIGITS = bytes.maketrans(_ALPHABET.encode("ascii"), bytes(range(len(_ALPHABET))))
_NOT_DIGITS = bytes(sorted(set(range(256)) - set(_ALPHABET.encode("ascii"))))
# A verification decodes the same few values again and again: the signer's key in every call,
# and one proofValue several times over (parsing, then verifying). Small, so a stream of
# distinct signatures only ever hits within one credential's checks.
_CACHED_VALUES = 64
# Decoding is quadratic in the length; the longest value we read is an 88-character signature.
_MAX_MULTIBASE_CHARS = 200
_ED25519_PUB = b"\xed\x01"  # multicodec 0xed as an unsigned varint
_ED25519_PRIV = b"\x80\x26"  # multicodec 0x1300 as an unsigned varint
_KEY_BYTES = 32
_SIGNATURE_BYTES = 64
_DID_KEY = "did:key:"


def multibase_encode(data: bytes) -> str:
    """Return 'z' followed by the base58btc (bitcoin alphabet) encoding of data."""
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, digit = divmod(number, 58)
        digits.append(_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "z" + "1" * zeros + "".join(reversed(digits))


def multibase_decode(text: str) -> bytes:
    """Return the bytes of a 'z' (base58btc) multibase string."""
    if type(text) is str:
        return _cached_decode(text)
    return _decode(text)


@functools.lru_cache(maxsize=_CACHED_VALUES)
def _cached_decode(text: str) -> bytes:
    return _decode(text)


def _decode(text: str) -> bytes:
    if not text.startswith("z"):
        raise KeyFormatError(f"multibase value {text[:12]!r} does not start with 'z' (base58btc)")
    if len(text) > _MAX_MULTIBASE_CHARS:
        raise KeyFormatError(f"multibase value is {len(text)} characters, too long for a key")
    body = text[1:]
    digits = body.encode("ascii").translate(_TO_DIGITS, _NOT_DIGITS) if body.isascii() else b""
    if len(digits) != len(body):
        _refuse_character(body)
    number = _from_digits(digits)
    zeros = len(body) - len(body.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _from_digits(digits: bytes) -> int:
    """The number whose base-58 digits, most significant first, are the bytes of `digits`.

    Read as one big-endian integer, the digits sit in 8-bit fields; each round joins neighbouring
    fields (high * 58**k + low, k digits a field) into fields twice as wide, which still hold them
    (58**k < 256**k), so a few whole-number operations do what a loop did digit by digit.
    """
    number = int.from_bytes(digits, "big")
    for base, width, low_fields in _ROUNDS[(len(digits) - 1).bit_length()]:
        number = ((number >> width) & low_fields) * base + (number & low_fields)
    return number


def _rounds(count: int) -> tuple[tuple[int, int, int], ...]:
    """_from_digits' rounds for up to 2**count digits: (58**k, field bits, mask of the low fields)."""
    bits = 8 << count
    steps = []
    for step in range(count):
        width = 8 << step
        low_fields = ((1 << bits) - 1) // ((1 << 2 * width) - 1) * ((1 << width) - 1)
        steps.append((58 ** (1 << step), width, low_fields))
    return tuple(steps)


_ROUNDS = tuple(_rounds(count) for count in range(_MAX_MULTIBASE_CHARS.bit_length() + 1))


def _refuse_character(body: str) -> None:
    """Raise for the first character of body outside the base58btc alphabet."""
    for character in body:
        if character not in _DIGITS:
            raise KeyFormatError(f"{character!r} is not a base58btc character")


@functools.lru_cache(maxsize=_CACHED_VALUES)
def _public_multibase(raw: bytes) -> str:
    return multibase_encode(_ED25519_PUB + raw)


def _decode_multikey(text: str, prefix: bytes, kind: str) -> bytes:
    data = multibase_decode(text)
    if data[:2] != prefix:
        raise KeyFormatError(
            f"{text[:12]!r}… is not an {kind}: multicodec prefix is {data[:2].hex() or 'missing'}, "
            f"expected {prefix.hex()}"
        )
    if len(data) != 2 + _KEY_BYTES:
        raise KeyFormatError(f"{kind} holds {len(data) - 2} bytes, expected {_KEY_BYTES}")
    return data[2:]


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """An Ed25519 public key: 32 raw bytes, shown as a Multikey 'z6Mk…' string."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != _KEY_BYTES:
            raise KeyFormatError(f"an Ed25519 public key is {_KEY_BYTES} bytes")

    def __repr__(self) -> str:
        return f"VerifyKey({self.multibase!r})"

    @classmethod
    def from_multibase(cls, text: str) -> "VerifyKey":
        """Read a Multikey publicKeyMultibase ('z' + base58btc of 0xed01 + 32 bytes)."""
        if cls is VerifyKey and type(text) is str:
            return _remembered_verify_key(text)
        return cls(_decode_multikey(text, _ED25519_PUB, "Ed25519 public key"))

    @classmethod
    def from_did_key(cls, text: str) -> "VerifyKey":
        """Read a did:key DID, or a did:key verification method URL whose fragment is the key."""
        if not text.startswith(_DID_KEY):
            raise KeyFormatError(f"{text[:24]!r} is not a did:key")
        value, has_fragment, fragment = text[len(_DID_KEY) :].partition("#")
        if has_fragment and fragment != value:
            raise KeyFormatError(f"did:key fragment {fragment!r} does not match key {value!r}")
        return cls.from_multibase(value)

    @property
    def multibase(self) -> str:
        """The Multikey publicKeyMultibase form, 'z6Mk…'."""
        return _public_multibase(self.raw)

    @property
    def did_key(self) -> str:
        """The did:key DID of this key."""
        return _DID_KEY + self.multibase

    @property
    def verification_method(self) -> str:
        """The did:key verification method URL, 'did:key:z6Mk…#z6Mk…'."""
        return f"{self.did_key}#{self.multibase}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether signature is a valid detached Ed25519 signature of message."""
        return ed25519_verify(self.raw, message, signature)


def _verify_key(text: str) -> VerifyKey:
    return VerifyKey(_decode_multikey(text, _ED25519_PUB, "Ed25519 public key"))


# A verifier reads the same few signing keys in every credential; a VerifyKey is immutable and
# reading one is a function of the text. Refusals are not remembered.
_remembered_verify_key = functools.lru_cache(maxsize=_CACHED_VALUES)(_verify_key)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is a valid detached Ed25519 signature of `message` by `public_key`."""
    if len(signature) != _SIGNATURE_BYTES:
        return False
    try:
        if type(public_key) is type(message) is type(signature) is bytes and len(public_key) == _KEY_BYTES:
            # What nacl.signing.VerifyKey(public_key).verify(message, signature) does for these values.
            nacl.bindings.crypto_sign_open(signature + message, public_key)
        else:
            nacl.signing.VerifyKey(public_key).verify(message, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


class SigningKey:
    """An Ed25519 private key held as its 32-byte seed; never shown in repr."""

    __slots__ = ("_key", "_seed", "_verify_key")

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != _KEY_BYTES:
            raise KeyFormatError(f"an Ed25519 seed is {_KEY_BYTES} bytes")
        self._seed = seed
        self._key = nacl.signing.SigningKey(seed)
        self._verify_key = VerifyKey(bytes(self._key.verify_key))

    def __repr__(self) -> str:
        return f"SigningKey(verify_key={self._verify_key.multibase!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SigningKey):
            return NotImplemented
        return hmac.compare_digest(self._seed, other._seed)

    def __hash__(self) -> int:
        return hash(self._verify_key)

    @classmethod
    def generate(cls) -> "SigningKey":
        """Return a new key from 32 random bytes."""
        return cls(nacl.utils.random(_KEY_BYTES))

    @classmethod
    def from_seed(cls, seed: bytes) -> "SigningKey":
        """Return the key for a 32-byte seed."""
        return cls(seed)

    @classmethod
    def from_multibase(cls, text: str) -> "SigningKey":
        """Read a Multikey privateKeyMultibase ('z' + base58btc of 0x1300 + 32-byte seed)."""
        return cls(_decode_multikey(text, _ED25519_PRIV, "Ed25519 private key"))

    @property
    def multibase(self) -> str:
        """The Multikey privateKeyMultibase form, 'z3u2…'."""
        return multibase_encode(_ED25519_PRIV + self._seed)

    @property
    def seed(self) -> bytes:
        """The 32-byte seed."""
        return self._seed

    @property
    def verify_key(self) -> VerifyKey:
        """The matching public key."""
        return self._verify_key

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte detached Ed25519 signature of message."""
        return self._key.sign(message).signature
