"""RFC 9162 Merkle trees: transparency-dev vectors, generated proofs, frontiers."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "transparency-dev-merkle" / "testdata"
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


@settings(max_examples=25, deadline=None)
@given(size=st.integers(1, 300), data=st.data())
def test_inclusion_proofs_of_random_trees(size: int, data: st.DataObject) -> None:
    leaves = distinct_leaves(size, data.draw(st.binary(max_size=8)))
    root = reference_root(leaves)
    source = ListHashSource(leaves)
    proofs = [inclusion_proof(index, size, source) for index in range(size)]
    for index, proof in enumerate(proofs):
        verify_inclusion(leaves[index], index, size, proof, root)
    index = data.draw(st.integers(0, size - 1))
    proof = proofs[index]
    for other in range(size):
        if other != index:
            with pytest.raises(MerkleError):
                verify_inclusion(leaves[index], other, size, proof, root)
    for position in range(len(proof)):
        for bit in range(256):
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


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_consistency_proofs_of_random_trees(data: st.DataObject) -> None:
    new_size = data.draw(st.integers(1, 300))
    old_size = data.draw(st.integers(1, new_size))
    leaves = distinct_leaves(new_size, data.draw(st.binary(max_size=8)))
    old_root, new_root = reference_root(leaves[:old_size]), reference_root(leaves)
    proof = consistency_proof(old_size, new_size, ListHashSource(leaves))
    verify_consistency(old_size, new_size, proof, old_root, new_root)
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
