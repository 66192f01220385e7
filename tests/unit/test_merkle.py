"""RFC 9162 Merkle trees: transparency-dev vectors, generated proofs, frontiers."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vectors import VECTORS
from verification import merkle
from verification.errors import (
    BadHashLength,
    IndexOutOfRange,
    InvalidTreeSizes,
    MalformedFrontier,
    MerkleError,
    RootMismatch,
    WrongProofLength,
)
from verification.merkle import (
    EMPTY_ROOT,
    Frontier,
    ListHashSource,
    _inclusion_shape,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

TESTDATA = VECTORS / "transparency-dev-merkle" / "testdata"
INCLUSION_FILES = sorted((TESTDATA / "inclusion").rglob("*.json"))
CONSISTENCY_FILES = sorted((TESTDATA / "consistency").rglob("*.json"))

# The reference tree of transparency-dev/merkle, from shared/vectors/README.md.
REFERENCE_INPUTS = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
REFERENCE_LEAVES = [leaf_hash(bytes.fromhex(data)) for data in REFERENCE_INPUTS]
REFERENCE_ROOT = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 §2.1.1 defines it, recursively and independently of the module."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    left, right = reference_root(leaves[:split]), reference_root(leaves[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def distinct_leaves(size: int, salt: bytes = b"") -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(size)]


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text())
    return case


def decode(text: str) -> bytes:
    return base64.b64decode(text)


def vector_id(path: Path) -> str:
    return str(path.relative_to(TESTDATA))


def flip_bit(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


class MemoSource:
    """A HashSource that computes each subtree root once, straight from RFC 9162's MTH recursion."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.roots: dict[tuple[int, int], bytes] = {}

    def subtree_root(self, start: int, end: int) -> bytes:
        if (start, end) not in self.roots:
            if end - start == 1:
                self.roots[start, end] = self.leaves[start]
            else:
                middle = start + (1 << ((end - start - 1).bit_length() - 1))
                left, right = self.subtree_root(start, middle), self.subtree_root(middle, end)
                self.roots[start, end] = node_hash(left, right)
        return self.roots[start, end]


@dataclass(frozen=True)
class Tree:
    """A tree of distinct leaves, its root, and a source that serves its subtree roots fast."""

    leaves: list[bytes]
    source: MemoSource
    root: bytes

    def root_at(self, size: int) -> bytes:
        """The root of the tree's first `size` leaves."""
        return self.source.subtree_root(0, size) if size else EMPTY_ROOT


@functools.cache
def tree(size: int) -> Tree:
    """The tree of `size` distinct leaves, built once per size for the whole run."""
    leaves = distinct_leaves(size, b"tree")
    source = MemoSource(leaves)
    root = source.subtree_root(0, size)
    assert root == root_from_leaves(leaves)
    return Tree(leaves, source, root)


def inclusion_fits_size(index: int, size: int, other_size: int) -> bool:
    """Whether the inclusion proof of `index` in a tree of `size` also verifies for `other_size`.

    With k = bitlen(index XOR (size - 1)), the 2**k-aligned subtree holding leaf `index` and the
    last leaf has `index` in its left half and the last leaf in its right half. The proof carries
    that right half as one opaque hash, so RFC 9162's check yields the same root for every size
    whose last leaf lies in the same right half: exactly when bitlen(index XOR (other_size - 1)) is
    k too, i.e. other_size in (c + 2**(k-1), c + 2**k] with c = index rounded down to 2**k. For
    k <= 1 that is `size` alone. Nothing else verifies (distinct leaves, SHA-256 collision-free).
    """
    return index < other_size and (index ^ (size - 1)).bit_length() == (index ^ (other_size - 1)).bit_length()


def consistency_fits_new_size(old_size: int, size: int, other_size: int) -> bool:
    """Whether the consistency proof (old_size -> size) also verifies as (old_size -> other_size).

    The proof is in effect the inclusion proof of the old tree's last leaf (from the perfect
    subtree that ends there), so the same right-half rule applies; for old_size == size the proof
    is empty and fits no other size. Changing old_size alone never verifies.
    """
    return old_size < size and inclusion_fits_size(old_size - 1, size, other_size)


def consistency_shape(old_size: int, size: int) -> tuple[object, ...]:
    """What a consistency check computes, independent of the hash values (old_size <= size).

    Whether the old root is the proof's implied first hash (old_size a power of two), and the
    left/right order in which the proof's hashes join, level by level. Two size pairs with equal
    shapes accept each other's proofs for the same two roots; equal sizes accept equal roots.
    """
    if old_size == size:
        return ("equal sizes",)
    last, newest = old_size - 1, size - 1
    low = (old_size & -old_size).bit_length() - 1
    meet = (last ^ newest).bit_length()
    order = tuple((last >> level) & 1 for level in range(low, meet)) + (1,) * (last >> meet).bit_count()
    return (old_size == 1 << low, order)


# --- transparency-dev vectors -------------------------------------------------------------------


def test_every_vector_file_is_collected() -> None:
    assert len(INCLUSION_FILES) > 0
    assert len(CONSISTENCY_FILES) > 0
    every_file = {path for path in TESTDATA.rglob("*") if path.is_file()}
    assert every_file == set(INCLUSION_FILES) | set(CONSISTENCY_FILES)


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=vector_id)
def test_inclusion_vector(path: Path) -> None:
    case = load(path)
    proof = [decode(node) for node in case["proof"] or []]
    args = (
        decode(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        proof,
        decode(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(MerkleError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=vector_id)
def test_consistency_vector(path: Path) -> None:
    case = load(path)
    proof = [decode(node) for node in case["proof"] or []]
    args = (case["size1"], case["size2"], proof, decode(case["root1"]), decode(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(MerkleError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_reference_tree_root() -> None:
    assert root_from_leaves(REFERENCE_LEAVES).hex() == REFERENCE_ROOT
    assert reference_root(REFERENCE_LEAVES).hex() == REFERENCE_ROOT
    assert root_from_leaves([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_generated_proofs_equal_the_vectors_on_the_reference_tree() -> None:
    compared = 0
    for path in INCLUSION_FILES + CONSISTENCY_FILES:
        case = load(path)
        if case["wantErr"]:
            continue
        proof = [decode(node) for node in case["proof"] or []]
        if "leafIdx" in case:
            size, root = case["treeSize"], decode(case["root"])
        else:
            size, root = case["size2"], decode(case["root2"])
        if size > len(REFERENCE_LEAVES) or root_from_leaves(REFERENCE_LEAVES[:size]) != root:
            continue
        source = ListHashSource(REFERENCE_LEAVES[:size])
        if "leafIdx" in case:
            assert inclusion_proof(case["leafIdx"], size, source) == proof
        else:
            assert consistency_proof(case["size1"], size, source) == proof
        compared += 1
    assert compared >= 10


# --- inclusion proofs ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 41))
def test_inclusion_proof_verifies_at_its_index_and_no_other(size: int) -> None:
    leaves = distinct_leaves(size)
    root = reference_root(leaves)
    source = ListHashSource(leaves)
    for index in range(size):
        proof = inclusion_proof(index, size, source)
        verify_inclusion(leaves[index], index, size, proof, root)
        for other in range(size):
            if other != index:
                with pytest.raises(MerkleError):
                    verify_inclusion(leaves[index], other, size, proof, root)


def verifies_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except MerkleError:
        return False
    return True


def other_sizes(size: int, fits: Any, data: st.DataObject) -> set[int]:
    """Sizes near `size`, at both ends of the range `fits` accepts, and a few anywhere."""
    near = set(range(max(0, size - 40), size + 41))
    accepted = [other for other in range(1, 1 << (size.bit_length() + 1)) if fits(other)]
    ends = {edge + step for edge in (accepted[0], accepted[-1]) for step in (-1, 0, 1)} if accepted else set()
    anywhere = set(data.draw(st.lists(st.integers(0, 1 << 13), max_size=20)))
    return (near | ends | anywhere) - {size}


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 2000), data=st.data())
def test_inclusion_proofs_of_random_trees(size: int, data: st.DataObject) -> None:
    built = tree(size)
    leaves, root = built.leaves, built.root
    proofs = [inclusion_proof(index, size, built.source) for index in range(size)]
    for index, proof in enumerate(proofs):
        verify_inclusion(leaves[index], index, size, proof, root)
    index = data.draw(st.integers(0, size - 1))
    proof = proofs[index]
    for other in range(size):
        if other != index:
            with pytest.raises(MerkleError):
                verify_inclusion(leaves[index], other, size, proof, root)
            with pytest.raises(RootMismatch):
                verify_inclusion(leaves[other], index, size, proof, root)
    for other_size in other_sizes(size, lambda other: inclusion_fits_size(index, size, other), data):
        expected = inclusion_fits_size(index, size, other_size)
        assert verifies_inclusion(leaves[index], index, other_size, proof, root) == expected, other_size
    for other_size in {data.draw(st.integers(0, 2000)) for _ in range(5)} - {size}:
        assert not verifies_inclusion(
            leaves[index], index, size, proof, tree(max(other_size, 1)).root_at(other_size)
        )
    for position in range(len(proof)):
        for bit in range(0, 256, 7):
            tampered = [*proof]
            tampered[position] = flip_bit(proof[position], bit)
            with pytest.raises(RootMismatch):
                verify_inclusion(leaves[index], index, size, tampered, root)
    bit = data.draw(st.integers(0, 255))
    with pytest.raises(RootMismatch):
        verify_inclusion(flip_bit(leaves[index], bit), index, size, proof, root)
    with pytest.raises(RootMismatch) as mismatch:
        verify_inclusion(leaves[index], index, size, proof, flip_bit(root, bit))
    assert mismatch.value.expected == flip_bit(root, bit)
    assert mismatch.value.computed == root


def test_a_proof_fits_exactly_the_sizes_sharing_its_right_half() -> None:
    # The example of the rule: leaf 0 of 3 and of 4 leaves has the same proof shape (k = 2).
    four, three = tree(4), tree(3)
    proof = inclusion_proof(0, 4, four.source)
    verify_inclusion(four.leaves[0], 0, 3, proof, four.root)  # passes, against the size-4 root
    assert inclusion_fits_size(0, 4, 3) and not inclusion_fits_size(0, 4, 2)
    with pytest.raises(RootMismatch):
        verify_inclusion(four.leaves[0], 0, 3, proof, three.root)
    assert [other for other in range(1, 40) if inclusion_fits_size(5, 13, other)] == list(range(9, 17))
    assert [other for other in range(1, 40) if inclusion_fits_size(12, 13, other)] == [13]
    assert [other for other in range(1, 40) if inclusion_fits_size(9, 13, other)] == [13, 14, 15, 16]


def test_inclusion_refusals_name_what_is_wrong() -> None:
    leaves = distinct_leaves(5)
    root = reference_root(leaves)
    proof = inclusion_proof(2, 5, ListHashSource(leaves))
    with pytest.raises(IndexOutOfRange):
        verify_inclusion(leaves[2], 5, 5, proof, root)
    with pytest.raises(IndexOutOfRange):
        verify_inclusion(leaves[2], -1, 5, proof, root)
    with pytest.raises(WrongProofLength) as wrong_length:
        verify_inclusion(leaves[2], 2, 5, [*proof, proof[0]], root)
    assert (wrong_length.value.expected, wrong_length.value.got) == (3, 4)
    with pytest.raises(BadHashLength):
        verify_inclusion(leaves[2][:31], 2, 5, proof, root)
    with pytest.raises(BadHashLength):
        verify_inclusion(leaves[2], 2, 5, [proof[0] + b"\x00", *proof[1:]], root)
    with pytest.raises(IndexOutOfRange):
        inclusion_proof(5, 5, ListHashSource(leaves))
    assert root_from_inclusion_proof(leaves[2], 2, 5, proof) == root


# --- consistency proofs -------------------------------------------------------------------------


def verifies_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> bool:
    try:
        verify_consistency(size1, size2, proof, root1, root2)
    except MerkleError:
        return False
    return True


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_consistency_proofs_of_random_trees(data: st.DataObject) -> None:
    new_size = data.draw(st.integers(1, 2000))
    old_size = data.draw(st.integers(1, new_size))
    built = tree(new_size)
    old_root, new_root = built.root_at(old_size), built.root
    proof = consistency_proof(old_size, new_size, built.source)
    verify_consistency(old_size, new_size, proof, old_root, new_root)
    for other in range(0, new_size + 2):
        if other != old_size:
            assert not verifies_consistency(other, new_size, proof, old_root, new_root), other
    for other in {data.draw(st.integers(0, new_size)) for _ in range(5)} - {old_size}:
        assert not verifies_consistency(old_size, new_size, proof, built.root_at(other), new_root)
    fits = functools.partial(consistency_fits_new_size, old_size, new_size)
    for other in other_sizes(new_size, fits, data):
        assert verifies_consistency(old_size, other, proof, old_root, new_root) == fits(other), other
    for other in {data.draw(st.integers(0, 2000)) for _ in range(5)} - {new_size}:
        assert not verifies_consistency(
            old_size, new_size, proof, old_root, tree(max(other, 1)).root_at(other)
        )
    mask = data.draw(st.integers(1, 255))
    for position in range(len(proof)):
        for offset in range(32):
            tampered = [*proof]
            changed = bytearray(proof[position])
            changed[offset] ^= mask
            tampered[position] = bytes(changed)
            with pytest.raises(MerkleError):
                verify_consistency(old_size, new_size, tampered, old_root, new_root)
    bit = data.draw(st.integers(0, 255))
    with pytest.raises(RootMismatch):
        verify_consistency(old_size, new_size, proof, flip_bit(old_root, bit), new_root)
    with pytest.raises(RootMismatch):
        verify_consistency(old_size, new_size, proof, old_root, flip_bit(new_root, bit))


def test_the_one_to_four_proof_also_fits_one_to_three() -> None:
    built = tree(4)
    proof = consistency_proof(1, 4, built.source)
    verify_consistency(1, 3, proof, built.root_at(1), built.root)  # against the size-4 root
    assert [
        other for other in range(0, 20) if verifies_consistency(1, other, proof, built.root_at(1), built.root)
    ] == [
        3,
        4,
    ]


def test_which_size_pairs_a_consistency_proof_also_fits() -> None:
    # Both sizes changed at once: the proof fixes only its shape, never the sizes themselves,
    # which is why a verifier takes both sizes from signed checkpoints.
    largest = 16
    built = tree(largest)
    pairs = [(old, new) for new in range(1, largest + 1) for old in range(1, new + 1)]
    for old, new in pairs:
        proof = consistency_proof(old, new, built.source)
        roots = built.root_at(old), built.root_at(new)
        for other_old, other_new in pairs:
            expected = consistency_shape(old, new) == consistency_shape(other_old, other_new)
            assert verifies_consistency(other_old, other_new, proof, *roots) == expected
    assert consistency_shape(1, 2) == consistency_shape(2, 3) == consistency_shape(4, 5)


def test_consistency_sizes() -> None:
    source = ListHashSource(distinct_leaves(6))
    assert consistency_proof(0, 0, source) == []
    assert consistency_proof(6, 6, source) == []
    with pytest.raises(InvalidTreeSizes):
        consistency_proof(0, 6, source)
    with pytest.raises(InvalidTreeSizes):
        consistency_proof(6, 5, source)
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(RootMismatch):
        verify_consistency(0, 0, [], b"\x01" * 32, b"\x01" * 32)
    with pytest.raises(InvalidTreeSizes):
        verify_consistency(6, 5, [], EMPTY_ROOT, EMPTY_ROOT)


# --- generation asks for O(log n) aligned ranges ------------------------------------------------


class CountingSource:
    """Records every range asked for; answers with a placeholder hash."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ranges: list[tuple[int, int]] = []

    def subtree_root(self, start: int, end: int) -> bytes:
        self.ranges.append((start, end))
        return hashlib.sha256(f"{start}:{end}".encode()).digest()

    def check(self) -> None:
        assert len(self.ranges) <= 2 * math.ceil(math.log2(self.size)) + 2
        for start, end in self.ranges:
            width = end - start
            aligned = width & (width - 1) == 0 and start % width == 0
            assert 0 <= start < end <= self.size
            assert aligned or end == self.size


@given(size=st.integers(1, 2**40), data=st.data())
def test_generation_asks_for_logarithmically_many_aligned_ranges(size: int, data: st.DataObject) -> None:
    source = CountingSource(size)
    inclusion_proof(data.draw(st.integers(0, size - 1)), size, source)
    source.check()
    source = CountingSource(size)
    consistency_proof(data.draw(st.integers(1, size)), size, source)
    source.check()


# --- frontiers ----------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(size=st.integers(0, 300), salt=st.binary(max_size=8))
def test_frontier_root_matches_every_prefix(size: int, salt: bytes) -> None:
    leaves = distinct_leaves(size, salt)
    frontier = Frontier()
    for count in range(size + 1):
        assert frontier.size == count
        assert frontier.root() == reference_root(leaves[:count])
        assert root_from_leaves(leaves[:count]) == frontier.root()
        assert Frontier.from_bytes(frontier.to_bytes()) == frontier
        if count < size:
            frontier = frontier.append(leaves[count])
    assert Frontier().extend(leaves) == frontier


def test_frontier_refuses_malformed_bytes() -> None:
    encoded = Frontier().extend(distinct_leaves(5)).to_bytes()
    assert len(encoded) == 8 + 2 * 32
    for bad in (encoded[:-1], encoded + b"\x00", encoded[:7], (7).to_bytes(8, "big") + encoded[8:]):
        with pytest.raises(MalformedFrontier):
            Frontier.from_bytes(bad)
    with pytest.raises(MalformedFrontier):
        Frontier(1, ())
    with pytest.raises(BadHashLength):
        Frontier().append(b"short")


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@given(st.integers(1, 2**20), st.data())
def test_the_written_out_node_hash_loop_equals_the_hasher_parameter(size: int, data: st.DataObject) -> None:
    # root_from_inclusion_proof inlines node_hash when given it; any other hasher takes the loop
    # calling it. The same hasher passed as another callable must give the same root.
    index = data.draw(st.integers(0, size - 1))
    length = sum(_inclusion_shape(index, size))
    proof = data.draw(st.lists(st.binary(min_size=32, max_size=32), min_size=length, max_size=length))
    leaf = data.draw(st.binary(min_size=32, max_size=32))
    assert root_from_inclusion_proof(leaf, index, size, proof) == root_from_inclusion_proof(
        leaf, index, size, proof, hash_children=functools.partial(node_hash)
    )


def _plain_hash(left: bytes, right: bytes) -> bytes:
    return node_hash(left, right)  # not node_hash itself, so nothing is remembered


def test_remembered_upper_paths_give_the_root_the_plain_computation_gives() -> None:
    merkle._upper_paths.clear()
    leaves = [leaf_hash(bytes([n % 256, n // 256])) for n in range(300)]
    source, root = ListHashSource(leaves), root_from_leaves(leaves)
    for _ in range(2):  # the second time, every upper path is remembered
        for index in range(300):
            proof = tuple(inclusion_proof(index, 300, source))
            assert root_from_inclusion_proof(leaves[index], index, 300, proof) == root
    assert merkle._upper_paths
    # A wrong hash anywhere in a proof, or a wrong leaf, gives what the plain computation gives.
    proof = tuple(inclusion_proof(17, 300, source))
    for position in range(len(proof)):
        bad = (*proof[:position], bytes(32), *proof[position + 1 :])
        computed = root_from_inclusion_proof(leaves[17], 17, 300, bad)
        assert computed == root_from_inclusion_proof(leaves[17], 17, 300, bad, hash_children=_plain_hash)
        assert computed != root
        with pytest.raises(RootMismatch):
            verify_inclusion(leaves[17], 17, 300, bad, root)
    assert root_from_inclusion_proof(leaves[18], 17, 300, proof) != root
    assert root_from_inclusion_proof(leaves[17], 17, 300, list(proof)) == root  # not a tuple: not remembered
