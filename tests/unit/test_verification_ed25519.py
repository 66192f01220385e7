"""keys.ed25519_verify (PyNaCl's binding, for exact bytes) answers as PyNaCl; keys remembered read as new."""

from __future__ import annotations

import nacl.exceptions
import nacl.signing
import pytest

from verification.errors import KeyFormatError
from verification.keys import VerifyKey, ed25519_verify

SIGNER = nacl.signing.SigningKey(b"\x07" * 32)
KEY = bytes(SIGNER.verify_key)
MESSAGE = b"learner-ledger/status/v1\n"
SIGNATURE = SIGNER.sign(MESSAGE).signature


def _nacl(public_key: object, message: object, signature: object) -> bool | str:
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)  # type: ignore[arg-type]
    except nacl.exceptions.BadSignatureError:
        return False
    except Exception as error:
        return type(error).__name__
    return True


def _ours(public_key: object, message: object, signature: object) -> bool | str:
    try:
        return ed25519_verify(public_key, message, signature)  # type: ignore[arg-type]
    except Exception as error:
        return type(error).__name__


@pytest.mark.parametrize(
    ("public_key", "message", "signature"),
    [
        (KEY, MESSAGE, SIGNATURE),
        (KEY, MESSAGE + b"x", SIGNATURE),
        (KEY, MESSAGE, bytes([SIGNATURE[0] ^ 1]) + SIGNATURE[1:]),
        (bytes(nacl.signing.SigningKey(b"\x08" * 32).verify_key), MESSAGE, SIGNATURE),
        (KEY, b"", SIGNER.sign(b"").signature),
        (KEY[:31], MESSAGE, SIGNATURE),
        (bytearray(KEY), MESSAGE, SIGNATURE),
        (KEY, bytearray(MESSAGE), SIGNATURE),
        (KEY, MESSAGE, bytearray(SIGNATURE)),
        (KEY, "text", SIGNATURE),
    ],
)
def test_answers_as_pynacl(public_key: object, message: object, signature: object) -> None:
    assert _ours(public_key, message, signature) == _nacl(public_key, message, signature)


def test_a_signature_of_another_length_is_false() -> None:
    assert ed25519_verify(KEY, MESSAGE, SIGNATURE[:63]) is False
    assert ed25519_verify(KEY, MESSAGE, SIGNATURE + b"\x00") is False


def test_remembered_verify_keys_read_as_fresh_ones() -> None:
    # VerifyKey.from_multibase remembers the keys it read (by exact text); refusals are raised again.
    text = VerifyKey(KEY).multibase
    other = VerifyKey(bytes(nacl.signing.SigningKey(b"\x08" * 32).verify_key)).multibase
    for _ in range(2):
        assert VerifyKey.from_multibase(text) == VerifyKey(KEY)
        assert VerifyKey.from_multibase(other) != VerifyKey(KEY)
        for bad in (text[:-1], "z" + "0" * 40, text.replace("z", "m", 1)):
            with pytest.raises(KeyFormatError):
                VerifyKey.from_multibase(bad)


class _Key(VerifyKey):
    """A subclass reads its own instances, as before."""


def test_a_subclass_reads_its_own_keys() -> None:
    key = _Key.from_multibase(VerifyKey(KEY).multibase)
    assert type(key) is _Key and key.raw == KEY
