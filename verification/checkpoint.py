"""C2SP transparency log checkpoints (c2sp.org/tlog-checkpoint), signed as C2SP notes."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from verification.errors import MalformedCheckpoint, OriginMismatch
from verification.merkle import HASH_SIZE, MAX_TREE_SIZE
from verification.note import Verifier, decode_base64, is_note_line, open_note, sign_note

# Decimal without leading zeroes; 20 digits bound the work before the uint64 range check.
_TREE_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, tree size, RFC 9162 root hash and opaque extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for line in (self.origin, *self.extensions):
            if not is_note_line(line):
                raise MalformedCheckpoint(f"checkpoint line {line!r} is empty or holds a control character")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpoint(f"tree size {self.size} is out of range")
        if len(self.root) != HASH_SIZE:
            raise MalformedCheckpoint(f"root hash is {len(self.root)} bytes, not {HASH_SIZE}")


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """Render the note text `<origin>\\n<size>\\n<base64 root>\\n` and any extension lines."""
    root = base64.b64encode(checkpoint.root).decode("ascii")
    lines = [checkpoint.origin, str(checkpoint.size), root, *checkpoint.extensions]
    return "".join(f"{line}\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text strictly; call only on text whose signature was verified."""
    if not text.endswith("\n"):
        raise MalformedCheckpoint("checkpoint text does not end in a newline")
    lines = text.removesuffix("\n").split("\n")
    if len(lines) < 3:
        raise MalformedCheckpoint(f"checkpoint has {len(lines)} lines, fewer than 3")
    origin, size, root, *extensions = lines
    if not _TREE_SIZE.fullmatch(size):
        raise MalformedCheckpoint(
            f"tree size {size[:24]!r} is not a decimal of up to 20 digits without leading zeroes"
        )
    try:
        root_hash = decode_base64(root)
    except ValueError as error:
        raise MalformedCheckpoint(f"root hash: {error}") from error
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, name: str, seed: bytes) -> str:
    """Return the checkpoint as a note signed with the Ed25519 seed under key name."""
    return sign_note(format_checkpoint(checkpoint), name, seed)


def open_checkpoint(note: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """Verify the log's signature on a checkpoint note, then parse it and check its origin."""
    text, _ = open_note(note, [verifier])
    checkpoint = parse_checkpoint(text)
    if origin is not None and checkpoint.origin != origin:
        raise OriginMismatch(origin, checkpoint.origin)
    return checkpoint
