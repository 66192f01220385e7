"""Ed25519 keys, Multikey multibase values and did:key."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.vectors import VECTORS
from verification.errors import KeyFormatError
from verification.keys import SigningKey, VerifyKey, multibase_decode, multibase_encode

VECTORS = VECTORS / "w3c-vc-di-eddsa"
KEY_PAIR = json.loads((VECTORS / "TestVectors" / "keyPair.json").read_text())
PUBLIC = KEY_PAIR["publicKeyMultibase"]
PRIVATE = KEY_PAIR["privateKeyMultibase"]

# RFC 8032 §7.1, TEST 1.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
    "d25bf5f0595bbe24655141438e7a100b"
)


def test_vector_public_key_round_trips() -> None:
    key = VerifyKey.from_multibase(PUBLIC)
    assert key.multibase == PUBLIC
    assert key.did_key == f"did:key:{PUBLIC}"
    assert key.verification_method == f"did:key:{PUBLIC}#{PUBLIC}"
    assert VerifyKey.from_did_key(key.did_key) == key
    assert VerifyKey.from_did_key(key.verification_method) == key


def test_vector_private_key_round_trips_and_matches_public_key() -> None:
    key = SigningKey.from_multibase(PRIVATE)
    assert key.multibase == PRIVATE
    assert key.verify_key.multibase == PUBLIC
    assert SigningKey.from_seed(key.seed) == key


def test_private_multicodec_prefix_is_0x1300() -> None:
    assert multibase_decode(PRIVATE)[:2] == bytes([0x80, 0x26])
    assert multibase_decode(PUBLIC)[:2] == bytes([0xED, 0x01])


def test_rfc8032_test_1() -> None:
    key = SigningKey.from_seed(RFC8032_SEED)
    assert key.verify_key.raw == RFC8032_PUBLIC
    assert key.sign(b"") == RFC8032_SIGNATURE
    assert VerifyKey(RFC8032_PUBLIC).verify(b"", RFC8032_SIGNATURE)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", "z"),
        (b"\0", "z1"),
        (b"\0\0\x01", "z112"),
        (b"Hello World!", "z2NEpo7TZRRrLZSi2U"),
        (
            b"The quick brown fox jumps over the lazy dog.",
            "zUSm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
        ),
    ],
)
def test_base58btc_known_values(data: bytes, text: str) -> None:
    assert multibase_encode(data) == text
    assert multibase_decode(text) == data


@given(st.binary(max_size=100))
def test_base58btc_round_trips(data: bytes) -> None:
    assert multibase_decode(multibase_encode(data)) == data


def test_sign_and_verify() -> None:
    key = SigningKey.generate()
    signature = key.sign(b"statement")
    assert len(signature) == 64
    assert key.verify_key.verify(b"statement", signature)
    assert not key.verify_key.verify(b"statement!", signature)
    assert not SigningKey.generate().verify_key.verify(b"statement", signature)
    for bit in range(0, 512, 7):
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not key.verify_key.verify(b"statement", bytes(flipped))


@pytest.mark.parametrize("length", [0, 63, 65])
def test_signature_of_wrong_length_does_not_verify(length: int) -> None:
    key = SigningKey.generate()
    signature = (key.sign(b"m") * 2)[:length]
    assert not key.verify_key.verify(b"m", signature)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_raw_keys_of_wrong_length_are_refused(length: int) -> None:
    with pytest.raises(KeyFormatError, match="32 bytes"):
        VerifyKey(bytes(length))
    with pytest.raises(KeyFormatError, match="32 bytes"):
        SigningKey.from_seed(bytes(length))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("u7QFn", "does not start with 'z'"),
        (PUBLIC[1:], "does not start with 'z'"),
        (PUBLIC[:10] + "0" + PUBLIC[11:], "'0' is not a base58btc character"),
        (PUBLIC[:10] + "O" + PUBLIC[11:], "'O' is not a base58btc character"),
        (PUBLIC[:10] + "I" + PUBLIC[11:], "'I' is not a base58btc character"),
        (PUBLIC[:10] + "l" + PUBLIC[11:], "'l' is not a base58btc character"),
        (multibase_encode(b"\xec\x01" + bytes(32)), "prefix is ec01, expected ed01"),
        (PRIVATE, "prefix is 8026, expected ed01"),
        ("z", "prefix is missing"),
        (multibase_encode(b"\xed\x01" + bytes(31)), "holds 31 bytes, expected 32"),
        (multibase_encode(b"\xed\x01" + bytes(33)), "holds 33 bytes, expected 32"),
        ("z" + "2" * 300, "too long"),
    ],
)
def test_malformed_public_multibase_is_refused(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        VerifyKey.from_multibase(text)


def test_public_key_is_not_read_as_private_key() -> None:
    with pytest.raises(KeyFormatError, match="prefix is ed01, expected 8026"):
        SigningKey.from_multibase(PUBLIC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"did:key:{PUBLIC}#key-1", "fragment 'key-1' does not match"),
        (f"did:key:{PUBLIC}#{VerifyKey(bytes(32)).multibase}", "does not match"),
        (f"did:web:example.org#{PUBLIC}", "is not a did:key"),
        (PUBLIC, "is not a did:key"),
        ("did:key:", "does not start with 'z'"),
    ],
)
def test_malformed_did_key_is_refused(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        VerifyKey.from_did_key(text)


def test_repr_never_shows_the_seed() -> None:
    key = SigningKey.from_multibase(PRIVATE)
    shown = repr(key) + str(key)
    assert PRIVATE not in shown
    assert key.seed.hex() not in shown
    assert repr(key.seed) not in shown
    assert PUBLIC in shown


def test_keys_compare_by_bytes() -> None:
    assert VerifyKey.from_multibase(PUBLIC) == VerifyKey(VerifyKey.from_multibase(PUBLIC).raw)
    assert len({VerifyKey.from_multibase(PUBLIC), VerifyKey.from_multibase(PUBLIC)}) == 1
    assert SigningKey.from_multibase(PRIVATE) == SigningKey.from_multibase(PRIVATE)
    assert SigningKey.generate() != SigningKey.generate()


def _reference_decode(text: str) -> bytes:
    """multibase_decode as first written: one character at a time (the fast one must equal it)."""
    if not text.startswith("z"):
        raise KeyFormatError(f"multibase value {text[:12]!r} does not start with 'z' (base58btc)")
    if len(text) > 200:
        raise KeyFormatError(f"multibase value is {len(text)} characters, too long for a key")
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number = 0
    for character in text[1:]:
        if character not in alphabet:
            raise KeyFormatError(f"{character!r} is not a base58btc character")
        number = number * 58 + alphabet.index(character)
    zeros = len(text) - 1 - len(text[1:].lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _outcome(decode: object, text: str) -> bytes | str:
    assert callable(decode)
    try:
        result = decode(text)
    except KeyFormatError as error:
        return f"refused: {error}"
    assert isinstance(result, bytes)
    return result


_NEAR_BASE58 = st.text(
    st.sampled_from("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") | st.characters(),
    max_size=210,
)


@given(st.one_of(_NEAR_BASE58.map(lambda text: "z" + text), _NEAR_BASE58))
def test_multibase_decode_equals_the_character_at_a_time_decoder(text: str) -> None:
    # Twice: the first call may fill the cache of decoded values, the second read from it.
    assert _outcome(multibase_decode, text) == _outcome(_reference_decode, text)
    assert _outcome(multibase_decode, text) == _outcome(_reference_decode, text)


def test_public_key_multibase_is_the_same_from_the_cache() -> None:
    raw = VerifyKey.from_multibase(PUBLIC).raw
    assert [VerifyKey(raw).multibase for _ in range(3)] == [PUBLIC] * 3
    assert VerifyKey(bytes(32)).multibase == multibase_encode(b"\xed\x01" + bytes(32))


@pytest.mark.parametrize("character", ["1", "2", "z"])
def test_multibase_decode_of_every_length_equals_the_character_at_a_time_decoder(character: str) -> None:
    # Every length up to the limit, at the smallest and largest digits (fields that must not overflow).
    for length in range(200):
        text = "z" + character * length
        assert _outcome(multibase_decode, text) == _outcome(_reference_decode, text)
