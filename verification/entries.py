"""Ledger entries (DESIGN §3): canonical bytes, hash chain links and salted commitments."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from verification.canonical import canonical_json

GENESIS = "0" * 64
"""The `prev` of the first entry of every stream."""


def entry_hash(entry: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the entry's RFC 8785 bytes: the next entry's `prev`."""
    return hashlib.sha256(canonical_json(entry)).hexdigest()


def commitment(salt: bytes, canonical: bytes) -> str:
    """Hex SHA-256(salt ‖ canonical bytes): what an entry commits to without revealing it."""
    if len(salt) != 32:
        raise ValueError(f"a commitment salt is 32 bytes, not {len(salt)}")
    return hashlib.sha256(salt + canonical).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """One place where a stream's chain is not as it must be."""

    seq: int
    field: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.field} is {self.found!r}, expected {self.expected!r}"


def check_chain(entries: Iterable[Mapping[str, Any]], stream_field: str = "learner") -> list[ChainBreak]:
    """Every break in a stream: `seq` dense from 1, each `prev` the hash of the entry before.

    The entries are given in stored order; the stream id (`stream_field`) must not change.
    """
    return _chain_breaks(entries, lambda _, entry: entry_hash(entry), stream_field)


def check_hashed_chain(
    entries: Sequence[Mapping[str, Any]], hashes: Sequence[str], stream_field: str = "learner"
) -> list[ChainBreak]:
    """check_chain for entries whose hashes are known: requires hashes[i] == entry_hash(entries[i])."""
    return _chain_breaks(entries, lambda position, _: hashes[position - 1], stream_field)


def _chain_breaks(
    entries: Iterable[Mapping[str, Any]],
    hash_of: Callable[[int, Mapping[str, Any]], str],
    stream_field: str,
) -> list[ChainBreak]:
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS
    stream: object = None
    for position, entry in enumerate(entries, start=1):
        seq = entry.get("seq")
        if seq != position:
            breaks.append(ChainBreak(position, "seq", str(position), str(seq)))
        if entry.get("prev") != expected_prev:
            breaks.append(ChainBreak(position, "prev", expected_prev, str(entry.get("prev"))))
        if stream is None:
            stream = entry.get(stream_field)
        elif entry.get(stream_field) != stream:
            found = str(entry.get(stream_field))
            breaks.append(ChainBreak(position, stream_field, str(stream), found))
        expected_prev = hash_of(position, entry)
    return breaks


def check_stream(
    entries: Sequence[Mapping[str, Any]],
    openings: Sequence[tuple[bytes, bytes] | None],
    anchors: Mapping[int, str] | None = None,
    stream_field: str = "learner",
) -> list[str]:
    """Every finding in a stream: chain breaks, anchors missed, commitments that do not match.

    `openings[i]` is the (salt, canonical content) that entry i commits to, or None where it
    cannot be checked (no commitment, or the learner's key was destroyed). `anchors` maps a
    `seq` to the entry hash recorded independently of the stream, which pins even the last
    entry, whose hash no later `prev` covers.
    """
    findings = [str(item) for item in check_chain(entries, stream_field)]
    for seq, expected in sorted((anchors or {}).items()):
        if not 1 <= seq <= len(entries):
            findings.append(f"entry {seq}: anchored but missing from the stream")
        elif (computed := entry_hash(entries[seq - 1])) != expected:
            findings.append(f"entry {seq}: hash is {computed}, but {expected} was recorded for it")
    for entry, opening in zip(entries, openings, strict=True):
        if opening is None or "commitment" not in entry:
            continue
        salt, canonical = opening
        computed = commitment(salt, canonical) if len(salt) == 32 else "(salt is not 32 bytes)"
        if computed != entry["commitment"]:
            findings.append(
                f"entry {entry.get('seq')}: commitment is {entry['commitment']}, "
                f"but the sealed content hashes to {computed}"
            )
    return findings
