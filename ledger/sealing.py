"""Per-learner encryption: data keys wrapped by the master key, payloads sealed with XChaCha20-Poly1305.

Every ciphertext is bound to its learner and purpose through the associated data, so a sealed
payload or wrapped key copied onto another learner fails to open. Each master key has a key id (a
fingerprint) recorded beside what it wraps, so a rotated ledger knows which key opens each row.
"""

from __future__ import annotations

import hashlib
import hmac

import nacl.bindings
import nacl.exceptions
import nacl.secret
import nacl.utils

KEY_SIZE = nacl.secret.Aead.KEY_SIZE
_NONCE_SIZE = nacl.secret.Aead.NONCE_SIZE
_decrypt = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt
_WRAP_CONTEXT = b"learner-ledger/v1/data-key/"
_SEAL_CONTEXT = b"learner-ledger/v1/sealed/"
_INDEX_CONTEXT = b"learner-ledger/v1/uln-index"
_INDEX_WRAP_CONTEXT = b"learner-ledger/v1/index-key/"
_KEY_ID_CONTEXT = b"learner-ledger/v1/master-key-id\x00"


class SealBroken(Exception):
    """A ciphertext does not open: wrong key, wrong learner, or altered bytes."""


class DataKey:
    """A learner's own 32-byte data key, which seals everything personal about them."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"a data key is {KEY_SIZE} bytes, not {len(key)}")
        self._box = nacl.secret.Aead(key)
        self._key = key

    @classmethod
    def generate(cls) -> DataKey:
        """A fresh random data key."""
        return cls(nacl.utils.random(KEY_SIZE))

    def seal(self, learner_id: str, plaintext: bytes) -> bytes:
        """Encrypt plaintext for this learner (random 24-byte nonce prepended)."""
        return bytes(self._box.encrypt(plaintext, _SEAL_CONTEXT + learner_id.encode()))

    def open(self, learner_id: str, sealed: bytes) -> bytes:
        """Decrypt what `seal` produced for this learner, or raise SealBroken."""
        # What `Aead.decrypt` does, without its encoder and wrapper (a rebuild opens every credential).
        try:
            return _decrypt(
                sealed[_NONCE_SIZE:], _SEAL_CONTEXT + learner_id.encode(), sealed[:_NONCE_SIZE], self._key
            )
        except nacl.exceptions.CryptoError as error:
            raise SealBroken(f"sealed data of {learner_id} does not open") from error

    def __repr__(self) -> str:
        return "DataKey(…)"

    def __reduce__(self) -> tuple[type[DataKey], tuple[bytes]]:
        """Pickled as its 32 bytes: the audit hands keys to its worker processes."""
        return DataKey, (self._key,)


class MasterKey:
    """The operator's master key, which wraps learner data keys and keys the ULN index."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"the master key is {KEY_SIZE} bytes, not {len(key)}")
        self._box = nacl.secret.Aead(key)
        self._index_key = hmac.digest(key, _INDEX_CONTEXT, "sha256")
        self.key_id = hashlib.sha256(_KEY_ID_CONTEXT + key).hexdigest()[:16]
        """The key's fingerprint: names it in the key store without revealing it."""

    def wrap(self, learner_id: str, data_key: DataKey) -> bytes:
        """The learner's data key encrypted under the master key, bound to the learner."""
        return bytes(self._box.encrypt(data_key._key, _WRAP_CONTEXT + learner_id.encode()))

    def unwrap(self, learner_id: str, wrapped: bytes) -> DataKey:
        """The learner's data key from its wrapped form, or raise SealBroken."""
        try:
            raw = self._box.decrypt(wrapped, _WRAP_CONTEXT + learner_id.encode())
        except nacl.exceptions.CryptoError as error:
            raise SealBroken(f"the data key of {learner_id} does not unwrap") from error
        return DataKey(bytes(raw))

    def uln_digest(self, uln: str) -> bytes:
        """A keyed digest of a ULN: unique per ULN, useless to anyone without the master key."""
        return digest_uln(self._index_key, uln)

    def derived_index_key(self) -> bytes:
        """The ULN index key derived from this master key (how a ledger that never rotated keys it)."""
        return self._index_key

    def wrap_index_key(self, name: str, index_key: bytes) -> bytes:
        """An index key encrypted under the master key, bound to its name."""
        return bytes(self._box.encrypt(index_key, _INDEX_WRAP_CONTEXT + name.encode()))

    def unwrap_index_key(self, name: str, wrapped: bytes) -> bytes:
        """An index key from its wrapped form, or raise SealBroken."""
        try:
            return bytes(self._box.decrypt(wrapped, _INDEX_WRAP_CONTEXT + name.encode()))
        except nacl.exceptions.CryptoError as error:
            raise SealBroken(f"the index key {name!r} does not unwrap") from error

    def __repr__(self) -> str:
        return "MasterKey(…)"


def digest_uln(index_key: bytes, uln: str) -> bytes:
    """A keyed digest of a ULN under an index key (HMAC-SHA-256)."""
    return hmac.digest(index_key, uln.encode("ascii"), "sha256")
