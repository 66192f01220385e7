"""Errors raised by the pure verification primitives; one root, one class per failure."""


class VerificationError(Exception):
    """Root of every error the verification library raises."""


class CanonicalizationError(VerificationError):
    """A value cannot be put in RFC 8785 canonical form (a float, a non-string key, ...)."""


class MalformedJSON(VerificationError):
    """Bytes are not a single, well-formed JSON document without duplicate keys."""


class KeyFormatError(VerificationError):
    """A key, multibase string or did:key is not in the expected form."""


class MalformedProof(VerificationError):
    """A Data Integrity proof is missing, of the wrong shape or of an unsupported suite."""


class BadSignature(VerificationError):
    """A signature does not verify under the given public key."""


class MerkleError(VerificationError):
    """A Merkle proof or tree argument is invalid (RFC 9162)."""


class RootMismatch(MerkleError):
    """A proof computes a root different from the expected one."""

    def __init__(self, expected: bytes, computed: bytes) -> None:
        super().__init__(f"root mismatch: expected {expected.hex()}, computed {computed.hex()}")
        self.expected = expected
        self.computed = computed


class NoteError(VerificationError):
    """A C2SP signed note or checkpoint is malformed or not signed by a trusted key."""
