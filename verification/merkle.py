"""RFC 9162 Merkle trees: hashing, proofs from a hash source, proof checks, and frontiers."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from verification.errors import (
    BadHashLength,
    IndexOutOfRange,
    InvalidTreeSizes,
    MalformedFrontier,
    MerkleError,
    RootMismatch,
    WrongProofLength,
)

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_TREE_SIZE = 2**64 - 1

NodeHasher = Callable[[bytes, bytes], bytes]


def leaf_hash(data: bytes) -> bytes:
    """Hash a leaf as RFC 9162 §2.1.1: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two children as RFC 9162 §2.1.1: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """Compute the RFC 9162 tree head MTH of the given leaf hashes (EMPTY_ROOT for none)."""
    return Frontier().extend(leaf_hashes).root()


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise BadHashLength(f"{what} is {len(value)} bytes, expected {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes], expected_length: int) -> None:
    if len(proof) != expected_length:
        raise WrongProofLength(expected_length, len(proof))
    for node in proof:
        if len(node) != HASH_SIZE:
            _check_hash(node, "proof hash")


def _split(size: int) -> int:
    """Return the largest power of two strictly below size; requires size >= 2."""
    return 1 << ((size - 1).bit_length() - 1)


class HashSource(Protocol):
    """Serves Merkle roots of leaf ranges of one tree, such as tiles in storage."""

    def subtree_root(self, start: int, end: int) -> bytes:
        """Return MTH of leaves [start, end): an aligned 2^h range, or one ending at the size."""
        ...


class ListHashSource:
    """A HashSource over leaf hashes held in memory, for tests and small trees."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self._leaf_hashes = tuple(leaf_hashes)

    def subtree_root(self, start: int, end: int) -> bytes:
        """Return MTH of leaves [start, end); requires 0 <= start < end <= number of leaves."""
        if not 0 <= start < end <= len(self._leaf_hashes):
            raise MerkleError(f"[{start}, {end}) is not a range of {len(self._leaf_hashes)} leaves")
        return root_from_leaves(self._leaf_hashes[start:end])


def inclusion_proof(index: int, size: int, source: HashSource) -> list[bytes]:
    """Build the RFC 9162 §2.1.3.1 inclusion proof of a leaf; requires 0 <= index < size."""
    if not 0 <= index < size:
        raise IndexOutOfRange(index, size)
    # Walk PATH top-down; each step asks for one aligned sibling subtree or the right edge.
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            path.append(source.subtree_root(middle, end))
            end = middle
        else:
            path.append(source.subtree_root(start, middle))
            start = middle
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, source: HashSource) -> list[bytes]:
    """Build the RFC 9162 §2.1.4.1 consistency proof; requires 0 < old_size <= new_size."""
    if old_size == new_size == 0:
        return []
    if not 0 < old_size <= new_size:
        raise InvalidTreeSizes(old_size, new_size)
    # Walk SUBPROOF top-down; `whole` is its flag b: the old tree is a complete subtree so far.
    path: list[bytes] = []
    start, end, whole = 0, new_size, True
    while old_size != end:
        middle = start + _split(end - start)
        if old_size <= middle:
            path.append(source.subtree_root(middle, end))
            end = middle
        else:
            path.append(source.subtree_root(start, middle))
            start, whole = middle, False
    if not whole:
        path.append(source.subtree_root(start, end))
    path.reverse()
    return path


def _inclusion_shape(index: int, size: int) -> tuple[int, int]:
    """Split a proof into hashes below and above where paths to index and size - 1 meet."""
    inner = (index ^ (size - 1)).bit_length()
    return inner, (index >> inner).bit_count()


def root_from_inclusion_proof(
    leaf_hash: bytes,
    index: int,
    size: int,
    proof: Sequence[bytes],
    *,
    hash_children: NodeHasher = node_hash,
) -> bytes:
    """Compute the root an inclusion proof implies (RFC 9162 §2.1.3.2); requires index < size."""
    if not 0 <= index < size:
        raise IndexOutOfRange(index, size)
    _check_hash(leaf_hash, "leaf hash")
    _check_proof(proof, sum(_inclusion_shape(index, size)))
    # The RFC also shifts fn to its next one bit once fn == sn, but only to count the proof's
    # length, checked above: fn == sn then holds to the end, every hash being a left sibling.
    fn, sn, result = index, size - 1, leaf_hash
    if hash_children is node_hash:
        exact = type(proof) is tuple and type(leaf_hash) is bytes and set(map(type, proof)) <= _ONLY_BYTES
        path = proof if type(proof) is tuple else tuple(proof)
        return _root_of_path(leaf_hash, fn, sn, path, remember=exact)
    for node in proof:
        left_sibling = fn & 1 or fn == sn
        result = hash_children(node, result) if left_sibling else hash_children(result, node)
        fn, sn = fn >> 1, sn >> 1
    return result


def _root_of_path(result: bytes, fn: int, sn: int, proof: tuple[bytes, ...], *, remember: bool) -> bytes:
    """root_from_inclusion_proof with node_hash written out (a call a level is a fifth of the loop's
    time), the part of a path above every _UPPER_STEP levels remembered when `remember`."""
    sha256 = hashlib.sha256
    missed = []
    for level, node in enumerate(proof):
        if remember and level and not level % _UPPER_STEP:
            key = (fn, sn, result, proof[level:])
            known = _upper_paths.get(key)
            if known is not None:
                result = known
                break
            missed.append(key)
        if fn & 1 or fn == sn:
            result = sha256(b"\x01" + node + result).digest()
        else:
            result = sha256(b"\x01" + result + node).digest()
        fn, sn = fn >> 1, sn >> 1
    if missed:
        if len(_upper_paths) >= _MAX_UPPER_PATHS:
            _upper_paths.clear()
        _upper_paths.update(dict.fromkeys(missed, result))
    return result


# The rest of a path from a node up is a function of the node, its place (fn, sn) and the proof's
# hashes above it: every bundle of one batch against one checkpoint shares its upper path. Keys
# hold exact bytes only (a subclass could compare equal to other bytes), so an equal key is the
# same computation and the remembered root is its root.
_upper_paths: dict[tuple[int, int, bytes, tuple[bytes, ...]], bytes] = {}
_UPPER_STEP = 4
_MAX_UPPER_PATHS = 4096
_ONLY_BYTES = frozenset((bytes,))


def _require_match(expected: bytes, computed: bytes) -> None:
    if not hmac.compare_digest(expected, computed):
        raise RootMismatch(expected, computed)


def verify_inclusion(
    leaf_hash: bytes,
    index: int,
    size: int,
    proof: Sequence[bytes],
    root: bytes,
    *,
    hash_children: NodeHasher = node_hash,
) -> None:
    """Check a leaf is at index in the tree of size and root; requires 0 <= index < size."""
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof, hash_children=hash_children)
    _require_match(root, computed)


def verify_consistency(
    size1: int,
    size2: int,
    proof: Sequence[bytes],
    root1: bytes,
    root2: bytes,
    *,
    hash_children: NodeHasher = node_hash,
) -> None:
    """Check tree (size2, root2) extends (size1, root1), RFC 9162 §2.1.4.2; needs size1 <= size2."""
    if not 0 <= size1 <= size2:
        raise InvalidTreeSizes(size1, size2)
    if size1 == size2:
        _check_proof(proof, 0)
        if size1 == 0:
            _require_match(EMPTY_ROOT, root1)
        _require_match(root2, root1)
        return
    if size1 == 0:
        # Every tree extends the empty one, so such a "proof" would prove nothing.
        raise InvalidTreeSizes(size1, size2)
    inner, border = _inclusion_shape(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    # When size1 is a power of two its root is the proof's implied first hash.
    implied = size1 == 1 << shift
    _check_proof(proof, (inner - shift) + border + (0 if implied else 1))
    path = [root1, *proof] if implied else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # As in root_from_inclusion_proof, the RFC's shift once fn == sn only counts the length.
    first = second = path[0]
    for node in path[1:]:
        if fn & 1 or fn == sn:
            first = hash_children(node, first)
            second = hash_children(node, second)
        else:
            second = hash_children(second, node)
        fn, sn = fn >> 1, sn >> 1
    _require_match(root1, first)
    _require_match(root2, second)


@dataclass(frozen=True)
class Frontier:
    """Roots of the perfect subtrees along a tree's right edge, largest first (a compact range)."""

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedFrontier(f"tree size {self.size} is out of range")
        count = self.size.bit_count()
        if len(self.hashes) != count or any(len(node) != HASH_SIZE for node in self.hashes):
            raise MalformedFrontier(f"size {self.size} needs {count} hashes of {HASH_SIZE} bytes")

    def append(self, leaf_hash: bytes) -> Frontier:
        """Return the frontier after appending one leaf hash."""
        return self.extend((leaf_hash,))

    def extend(self, leaf_hashes: Iterable[bytes]) -> Frontier:
        """Return the frontier after appending leaf hashes in order."""
        hashes, size = list(self.hashes), self.size
        for leaf in leaf_hashes:
            _check_hash(leaf, "leaf hash")
            # Each trailing one bit of the old size is a same-height subtree the new leaf completes.
            node, carry = leaf, size
            while carry & 1:
                node = node_hash(hashes.pop(), node)
                carry >>= 1
            hashes.append(node)
            size += 1
        return Frontier(size, tuple(hashes))

    def root(self) -> bytes:
        """Return the RFC 9162 tree head MTH of the tree this frontier ends."""
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            result = node_hash(left, result)
        return result

    def to_bytes(self) -> bytes:
        """Encode as the 8-byte big-endian size followed by the frontier hashes."""
        return self.size.to_bytes(8, "big") + b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        """Decode bytes written by to_bytes, refusing any length that does not fit the size."""
        if len(data) < 8:
            raise MalformedFrontier(f"frontier is {len(data)} bytes, shorter than its size field")
        size = int.from_bytes(data[:8], "big")
        body = data[8:]
        return cls(size, tuple(body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)))
