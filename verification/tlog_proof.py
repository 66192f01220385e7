"""C2SP transparency log proofs (c2sp.org/tlog-proof@v1): index, inclusion proof and checkpoint.

The text is unauthenticated packaging: the checkpoint note inside it is opened (its signature
verified) by whoever uses the proof, and the proof hashes mean something only under that
checkpoint's root. Parsing here checks the layout alone.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from verification.errors import MalformedTlogProof
from verification.merkle import HASH_SIZE, MAX_TREE_SIZE
from verification.note import decode_base64

HEADER = "c2sp.org/tlog-proof@v1"
# Decimal without leading zeroes; 20 digits bound the work before the uint64 range check.
_INDEX = re.compile(r"index (0|[1-9][0-9]{0,19})")
# Exactly the canonical standard base64 of 32 bytes, one a line: 42 characters, a 43rd whose
# two low bits (padding) are zero, and '='. Such lines decode as _proof_hash would decode them;
# the proof lines are checked at once, and one by one only when some line is not of this form.
_HASH_LINE = "[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]="
_PROOF_LINES = re.compile(f"{_HASH_LINE}(?:\n{_HASH_LINE})*")
# A tree of at most 2**64 - 1 leaves has inclusion proofs of at most 64 hashes.
MAX_PROOF_HASHES = 64
_ONLY_BYTES = frozenset((bytes,))
_HASH_LENGTH = frozenset((HASH_SIZE,))


@dataclass(frozen=True)
class TlogProof:
    """A leaf index, its RFC 9162 inclusion proof, the checkpoint note and optional extra data."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int):
            raise MalformedTlogProof(f"index {self.index!r} is not an integer")
        if not 0 <= self.index < MAX_TREE_SIZE:
            raise MalformedTlogProof(f"index {self.index} is out of range")
        if len(self.hashes) > MAX_PROOF_HASHES:
            raise MalformedTlogProof(f"{len(self.hashes)} proof hashes, more than {MAX_PROOF_HASHES}")
        hashes = self.hashes
        exact = type(hashes) is tuple and set(map(type, hashes)) <= _ONLY_BYTES
        if not exact or not set(map(len, hashes)) <= _HASH_LENGTH:  # else every node passes below
            for node in hashes:
                if not isinstance(node, bytes) or len(node) != HASH_SIZE:
                    raise MalformedTlogProof(f"a proof hash is not {HASH_SIZE} bytes")
        if not isinstance(self.checkpoint_note, str) or not self.checkpoint_note:
            raise MalformedTlogProof("the checkpoint note is empty")
        if self.extra is not None and not isinstance(self.extra, bytes):
            raise MalformedTlogProof("extra data is not bytes")


def format_tlog_proof(proof: TlogProof) -> str:
    """Render the proof text: header, optional extra, index, one base64 hash a line, blank, note."""
    lines = [HEADER]
    if proof.extra is not None:
        lines.append("extra " + base64.b64encode(proof.extra).decode("ascii"))
    lines.append(f"index {proof.index}")
    lines.extend(base64.b64encode(node).decode("ascii") for node in proof.hashes)
    return "".join(f"{line}\n" for line in lines) + "\n" + proof.checkpoint_note


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a tlog-proof strictly; the checkpoint note is returned verbatim, not yet verified."""
    if not isinstance(text, str):
        raise MalformedTlogProof(f"a tlog-proof is text, not {type(text).__name__}")
    head, separator, checkpoint_note = text.partition("\n\n")
    if not separator:
        raise MalformedTlogProof("no empty line separates the proof from the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise MalformedTlogProof(f"first line is {lines[0][:40]!r}, expected {HEADER!r}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        try:
            extra = decode_base64(lines[position].removeprefix("extra "))
        except ValueError as error:
            raise MalformedTlogProof(f"extra line: {error}") from None
        position += 1
    if position >= len(lines):
        raise MalformedTlogProof("the index line is missing")
    index = _INDEX.fullmatch(lines[position])
    if index is None:
        raise MalformedTlogProof(
            f"line {lines[position][:40]!r} is not 'index N' (decimal, no leading zeroes)"
        )
    if len(lines) - position - 1 > MAX_PROOF_HASHES:
        raise MalformedTlogProof(f"more than {MAX_PROOF_HASHES} proof lines")
    proof_lines = lines[position + 1 :]
    if proof_lines and _PROOF_LINES.fullmatch("\n".join(proof_lines)):
        hashes = tuple(map(binascii.a2b_base64, proof_lines))
    else:
        hashes = tuple(_proof_hash(line) for line in proof_lines)
    return TlogProof(int(index.group(1)), hashes, checkpoint_note, extra)


def _proof_hash(line: str) -> bytes:
    try:
        node = decode_base64(line)
    except ValueError as error:
        raise MalformedTlogProof(f"proof line: {error}") from None
    if len(node) != HASH_SIZE:
        raise MalformedTlogProof(f"proof line {line!r} holds {len(node)} bytes, not {HASH_SIZE}")
    return node
