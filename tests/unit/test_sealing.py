"""Per-learner sealing and key wrapping."""

from __future__ import annotations

import functools
import os
import pickle
from collections.abc import Callable

import nacl.exceptions
import nacl.secret
import pytest

from ledger.sealing import DataKey, MasterKey, SealBroken

ALICE = "urn:uuid:00000000-0000-4000-8000-00000000000a"
BOB = "urn:uuid:00000000-0000-4000-8000-00000000000b"


def test_seal_and_open_round_trip_and_bind_to_the_learner() -> None:
    key = DataKey.generate()
    sealed = key.seal(ALICE, b"A level Mathematics: A*")
    assert key.open(ALICE, sealed) == b"A level Mathematics: A*"
    assert b"Mathematics" not in sealed
    with pytest.raises(SealBroken):
        key.open(BOB, sealed)
    with pytest.raises(SealBroken):
        DataKey.generate().open(ALICE, sealed)
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(SealBroken):
        key.open(ALICE, bytes(tampered))


def test_wrap_and_unwrap_bind_to_the_learner() -> None:
    master = MasterKey(bytes(range(32)))
    key = DataKey.generate()
    wrapped = master.wrap(ALICE, key)
    assert master.unwrap(ALICE, wrapped).open(ALICE, key.seal(ALICE, b"x")) == b"x"
    with pytest.raises(SealBroken):
        master.unwrap(BOB, wrapped)
    with pytest.raises(SealBroken):
        MasterKey(bytes(32)).unwrap(ALICE, wrapped)


def test_uln_digest_depends_on_the_master_key() -> None:
    first, second = MasterKey(bytes(range(32))), MasterKey(bytes(range(1, 33)))
    assert first.uln_digest("9276308686") == first.uln_digest("9276308686")
    assert first.uln_digest("9276308686") != second.uln_digest("9276308686")
    assert first.uln_digest("9276308686") != first.uln_digest("1000000019")


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_key_lengths_are_checked(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(bytes(size))
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKey(bytes(size))


def test_keys_never_show_in_repr() -> None:
    assert repr(DataKey(bytes(range(32)))) == "DataKey(…)"
    assert repr(MasterKey(bytes(range(32)))) == "MasterKey(…)"


def test_a_data_key_pickles_as_itself() -> None:
    # The audit hands learners' keys to its worker processes by pickling them.
    key = DataKey.generate()
    sealed = key.seal(ALICE, b"content")
    copy = pickle.loads(pickle.dumps(key))
    assert copy.open(ALICE, sealed) == b"content"
    with pytest.raises(SealBroken):
        pickle.loads(pickle.dumps(DataKey.generate())).open(ALICE, sealed)


def test_open_answers_as_the_aead_wrapper_does() -> None:
    key = DataKey.generate()
    box = nacl.secret.Aead(key._key)
    context = b"learner-ledger/v1/sealed/" + ALICE.encode()
    sealed = key.seal(ALICE, b"content")
    flipped = bytearray(sealed)
    flipped[3] ^= 1
    candidates = [sealed, sealed[:-1], bytes(flipped), bytes(40), *(os.urandom(size) for size in range(64))]
    for candidate in candidates:
        opened = _outcome(functools.partial(key.open, ALICE, candidate))
        assert opened == _outcome(functools.partial(box.decrypt, candidate, context))
    assert key.open(ALICE, sealed) == b"content"


def _outcome(call: Callable[[], bytes]) -> object:
    """The bytes `call` returns, or the kind of error it raises (a CryptoError as SealBroken)."""
    try:
        return call()
    except (SealBroken, nacl.exceptions.CryptoError):
        return SealBroken
    except Exception as error:
        return type(error)
