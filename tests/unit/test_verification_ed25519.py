"""keys.ed25519_verify, which calls PyNaCl's binding directly for exact bytes, answers as VerifyKey.verify."""

from __future__ import annotations

import nacl.exceptions
import nacl.signing
import pytest

from verification.keys import ed25519_verify

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
