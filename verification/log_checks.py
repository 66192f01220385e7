"""The checks of a bundle against the log: checkpoint, inclusion and registry (consistency with a
checkpoint seen before: verification/consistency_check.py; the signed status: status_checks.py)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from verification.checkpoint import Checkpoint, parse_checkpoint
from verification.entries import check_hashed_chain, entry_hash
from verification.errors import (
    InvalidNoteSignature,
    MerkleError,
    UnverifiedNote,
    VerificationError,
)
from verification.merkle import leaf_hash, verify_inclusion
from verification.note import Verifier, open_note, parse_verifier_key
from verification.report import Check, failed, not_checked, passed
from verification.statements import StatusStatement
from verification.tlog_proof import TlogProof

NO_CHECKPOINT = "Not checked: the ledger's checkpoint could not be verified."
"""The sentence of a check that needs the checkpoint when the checkpoint did not verify."""
_ONLY_BYTES = frozenset((bytes,))


def read_trusted_keys(keys: Sequence[Verifier | str] | str) -> tuple[list[Verifier], list[str]]:
    """The pinned log keys (or one key string) as Verifiers, and a sentence for each unreadable one."""
    verifiers: list[Verifier] = []
    problems: list[str] = []
    for key in [keys] if isinstance(keys, str) else keys:
        if isinstance(key, Verifier):
            verifiers.append(key)
            continue
        if not isinstance(key, str):
            problems.append(f"a pinned ledger key is a {type(key).__name__}, not a verifier key")
            continue
        try:
            verifiers.append(parse_verifier_key(key))
        except VerificationError as error:
            problems.append(f"the pinned ledger key {key[:60]!r} is not a verifier key ({error})")
    return verifiers, problems


def check_checkpoint_signature(
    note: str, verifiers: Sequence[Verifier], problems: Sequence[str]
) -> tuple[Check, Checkpoint | None]:
    """checkpoint-signature: a pinned key whose name is the checkpoint's origin signed it."""
    name = "checkpoint-signature"
    if problems and not verifiers:
        return failed(name, f"No ledger key to check against: {'; '.join(problems)}."), None
    exact = all(
        type(v) is Verifier and type(v.name) is str and type(v.public_key) is bytes for v in verifiers
    )
    if type(note) is str and exact:
        return _remembered_checkpoint(note, tuple(verifiers))
    return _checkpoint_check(note, verifiers)


def _checkpoint_check(note: str, verifiers: Sequence[Verifier]) -> tuple[Check, Checkpoint | None]:
    name = "checkpoint-signature"
    opened = _open_checkpoint(note, verifiers)
    if isinstance(opened, str):
        return failed(name, opened), None
    return passed(
        name,
        f"The ledger's signature on its checkpoint is valid (log {opened.origin}, {opened.size} entries).",
    ), opened


# A verifier of many bundles from one ledger opens the same checkpoint note in each. Opening is a
# function of the note and the pinned keys, and a Checkpoint and its Check are immutable.
_remembered_checkpoint = functools.lru_cache(maxsize=16)(_checkpoint_check)


def _open_checkpoint(note: str, verifiers: Sequence[Verifier]) -> Checkpoint | str:
    """The checkpoint, its signature verified before it is parsed; or why it cannot be relied on."""
    try:
        text, signers = open_note(note, verifiers)
        checkpoint = parse_checkpoint(text)
    except UnverifiedNote:
        return (
            "The checkpoint is not signed by the ledger key you trust, so this bundle may not come from "
            "that ledger: do not rely on it."
        )
    except InvalidNoteSignature:
        return "The checkpoint was altered after the ledger signed it: do not rely on it."
    except VerificationError as error:
        return f"The checkpoint is damaged ({error}): do not rely on it."
    if checkpoint.origin not in signers:
        return (
            f"The checkpoint names the log {checkpoint.origin!r}, but it was signed by the key of "
            f"{', '.join(signers)}: do not rely on it."
        )
    return checkpoint


def check_inclusion(canonical_entry: bytes, proof: TlogProof, checkpoint: Checkpoint | None) -> Check:
    """inclusion-in-checkpoint: the entry whose RFC 8785 bytes are `canonical_entry` is at the
    proof's index under the checkpoint's root."""
    name = "inclusion-in-checkpoint"
    if checkpoint is None:
        return not_checked(name, NO_CHECKPOINT)
    try:
        verify_inclusion(
            leaf_hash(canonical_entry), proof.index, checkpoint.size, proof.hashes, checkpoint.root
        )
    except MerkleError:
        return failed(
            name,
            f"The ledger's log does not hold this entry as number {proof.index + 1}, so the entry or its "
            "proof was altered: do not rely on it.",
        )
    return passed(
        name,
        f"The ledger entry is number {proof.index + 1} of the {checkpoint.size} entries in the ledger's log.",
    )


RegistryClaim = tuple[int, str, int, str]
"""What a status statement says of the issuer's registry: its checkpoint size, organisation, last
seq and the hash of that entry."""


def registry_claim(status: StatusStatement | None) -> RegistryClaim | None:
    """What `status` says of the issuer's registry (None for no status)."""
    if status is None:
        return None
    return status.checkpoint_size, status.issuer, status.issuer_seq, status.issuer_head


def check_registry_in_log(
    entries: Sequence[Mapping[str, Any]],
    proofs: Sequence[TlogProof],
    checkpoint: Checkpoint | None,
    note: str,
    status: StatusStatement | None,
    *,
    canonical: Sequence[bytes],
) -> Check:
    """registry-in-log: the issuer's registry entries are in the log, chained from 1, and all of them.

    `canonical[i]` is the RFC 8785 bytes of `entries[i]`. All of them: the last entry shown must be
    the registry head that `status`, the ledger's status statement as check_status opened it (None
    if it could not), names. That is the only signed word on how many registry entries there are;
    without it the bundle may leave out the trailing ones.
    """
    return registry_in_log(entries, proofs, checkpoint, note, registry_claim(status), canonical=canonical)


def registry_in_log(
    entries: Sequence[Mapping[str, Any]],
    proofs: Sequence[TlogProof],
    checkpoint: Checkpoint | None,
    note: str,
    claim: RegistryClaim | None,
    *,
    canonical: Sequence[bytes],
) -> Check:
    """check_registry_in_log, given only what the status says of the registry (registry_claim)."""
    name = "registry-in-log"
    if checkpoint is None:
        return not_checked(name, NO_CHECKPOINT)
    hashes: list[str] = []
    for position, (entry, proof) in enumerate(zip(entries, proofs, strict=True)):
        if proof.checkpoint_note != note:
            return failed(
                name,
                f"The issuer's registry entry {entry.get('seq')} is proven against another checkpoint: "
                "the key and accreditation checks cannot be relied on.",
            )
        leaf, digest = _hashes(canonical[position])
        if not _included(leaf, proof.index, checkpoint.size, proof.hashes, checkpoint.root):
            return failed(
                name,
                f"The issuer's registry entry {entry.get('seq')} is not in the ledger's log as shown: "
                "the key and accreditation checks cannot be relied on.",
            )
        hashes.append(digest)
    breaks = check_hashed_chain(entries, hashes, stream_field="organisation")
    if breaks:
        return failed(
            name,
            f"The issuer's registry entries are not one unbroken chain ({breaks[0]}): the key and "
            "accreditation checks cannot be relied on.",
        )
    head = hashes[-1] if hashes else entry_hash({})
    problem = _registry_head_problem(entries, head, checkpoint, claim)
    if problem is not None:
        return failed(name, problem)
    return passed(
        name,
        f"All {len(entries)} of the issuer's registry entries as of this checkpoint are in the ledger's log, "
        "in an unbroken chain, as the ledger's signed status statement confirms.",
    )


def _hashes(canonical: bytes) -> tuple[bytes, str]:
    """The leaf hash and the hex entry hash (entry_hash) of an entry's RFC 8785 bytes."""
    return (_remembered_hashes if type(canonical) is bytes else _hash)(canonical)


def _hash(canonical: bytes) -> tuple[bytes, str]:
    return leaf_hash(canonical), hashlib.sha256(canonical).hexdigest()


# The registry entries of every bundle of one issuer are the same, and read_bundle hands out the
# same canonical bytes objects for them (whose hash Python keeps), so these are remembered.
_remembered_hashes = functools.lru_cache(maxsize=64)(_hash)


def _included(leaf: bytes, index: int, size: int, hashes: Sequence[bytes], root: bytes) -> bool:
    """Whether verify_inclusion accepts the leaf; remembered for exactly typed values."""
    exact = type(hashes) is tuple and set(map(type, hashes)) <= _ONLY_BYTES
    if exact and type(leaf) is type(root) is bytes and type(index) is type(size) is int:
        return _remembered_inclusion(leaf, index, size, hashes, root)
    return _inclusion(leaf, index, size, hashes, root)


def _inclusion(leaf: bytes, index: int, size: int, hashes: Sequence[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, hashes, root)
    except MerkleError:
        return False
    return True


# Every bundle for a credential of one issuer, against one checkpoint, proves the same registry
# leaves with the same hashes. Checking a proof is a pure function of these values, so the
# remembered answer is the answer; LRU, so the registry in use stays while other values pass.
_remembered_inclusion = functools.lru_cache(maxsize=64)(_inclusion)


def _registry_head_problem(
    entries: Sequence[Mapping[str, Any]], head: str, checkpoint: Checkpoint, claim: RegistryClaim | None
) -> str | None:
    """Why the registry shown is not all of the issuer's registry the ledger vouches for, if it is not."""
    do_not_rely = "do not rely on the key and accreditation checks."
    unconfirmed = (
        f"so it cannot be confirmed that the bundle shows all of the issuer's registry entries: {do_not_rely}"
    )
    last = entries[-1] if entries else {}
    shown = len(entries)
    if claim is None:
        return f"The ledger's status statement could not be verified, {unconfirmed}"
    size, issuer, issuer_seq, issuer_head = claim
    if size != checkpoint.size:
        return (
            f"The ledger's status statement is as of {size} log entries, not this "
            f"checkpoint's {checkpoint.size}, {unconfirmed}"
        )
    if last.get("organisation") != issuer:
        problem = (
            f"The ledger's status statement names the registry of another organisation ({issuer}) "
            f"than the bundle shows ({last.get('organisation')}): {do_not_rely}"
        )
    elif shown < issuer_seq:
        problem = (
            "The bundle leaves out some of the issuer's registry entries (the ledger's registry holds "
            f"{issuer_seq} as of this checkpoint, the bundle shows {shown}): a later key retirement "
            f"or compromise may be hidden; {do_not_rely}"
        )
    elif shown > issuer_seq:
        problem = (
            f"The bundle shows {shown} of the issuer's registry entries, but the ledger's status statement "
            f"says its registry held {issuer_seq} as of this checkpoint: {do_not_rely}"
        )
    elif head != issuer_head:  # head: entry_hash(last)
        problem = (
            f"The issuer's last registry entry in the bundle (number {shown}) is not the one the ledger's "
            f"status statement names: {do_not_rely}"
        )
    else:
        return None
    return problem
