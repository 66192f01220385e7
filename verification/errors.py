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


class ContextMismatch(BadSignature):
    """A document's @context does not start with its proof's @context, so the proof fails."""


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


class IndexOutOfRange(MerkleError):
    """A leaf index is not inside the tree: requires 0 <= index < size."""

    def __init__(self, index: int, size: int) -> None:
        super().__init__(f"leaf index {index} is outside a tree of size {size}")
        self.index = index
        self.size = size


class InvalidTreeSizes(MerkleError):
    """Two tree sizes cannot be compared: requires 0 < size1 <= size2 (or equal sizes)."""

    def __init__(self, size1: int, size2: int) -> None:
        super().__init__(f"no consistency proof exists from size {size1} to size {size2}")
        self.size1 = size1
        self.size2 = size2


class WrongProofLength(MerkleError):
    """A proof has a different number of hashes than its tree shape requires."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"wrong proof length: expected {expected} hashes, got {got}")
        self.expected = expected
        self.got = got


class BadHashLength(MerkleError):
    """A leaf hash or proof hash is not a 32-byte SHA-256 digest."""


class MalformedFrontier(MerkleError):
    """Stored compact-range frontier bytes or hashes do not fit its tree size."""


class MalformedNote(NoteError):
    """A signed note breaks the C2SP signed-note format."""


class MalformedNoteKey(NoteError, KeyFormatError):
    """A note key name, verifier key or signer key string is not in the C2SP form."""


class UnverifiedNote(NoteError):
    """No signature on a note comes from a known key."""


class InvalidNoteSignature(NoteError, BadSignature):
    """A signature line from a known key does not verify, so the whole note is refused."""


class MalformedCheckpoint(NoteError):
    """A checkpoint body breaks the C2SP tlog-checkpoint format."""


class OriginMismatch(NoteError):
    """A checkpoint names a different log origin than the one expected."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"checkpoint origin mismatch: expected {expected!r}, got {got!r}")
        self.expected = expected
        self.got = got


class MalformedTlogProof(VerificationError):
    """A C2SP tlog-proof text breaks the c2sp.org/tlog-proof@v1 format."""


class MalformedRegistry(VerificationError):
    """An organisation's registry entries cannot be replayed (unknown kind, missing field, ...)."""


class MalformedStatement(NoteError):
    """A ledger-signed receipt or status note, once its signature verified, breaks its format."""


class StatementOriginMismatch(OriginMismatch):
    """A receipt or status statement names a different log origin than the one expected."""

    def __init__(self, expected: str, got: str) -> None:
        NoteError.__init__(self, f"statement origin mismatch: expected {expected!r}, got {got!r}")
        self.expected = expected
        self.got = got


class MalformedBundle(VerificationError):
    """A proof bundle is not the JSON shape of a LearnerLedgerBundle, version 1."""
