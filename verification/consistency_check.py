"""The consistency check of a bundle: its checkpoint extends the one the verifier saw before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from verification.checkpoint import Checkpoint
from verification.errors import InvalidTreeSizes, MerkleError
from verification.log_checks import NO_CHECKPOINT
from verification.merkle import EMPTY_ROOT, verify_consistency
from verification.report import Check, failed, not_checked, passed

_NAME = "consistency-with-last-seen"
# The two outcomes without a checkpoint to compare: a Check is immutable, so one serves every report.
_UNSEEN = not_checked(_NAME, "No earlier checkpoint was given, so consistency with it was not checked.")
_UNCHECKED = not_checked(_NAME, NO_CHECKPOINT)
_FORKED = (
    "The ledger has shown you two different histories; report this to the ledger's auditors and do not "
    "rely on it."
)


def check_consistency(
    checkpoint: Checkpoint | None, last_seen: Checkpoint | None, proofs: Mapping[int, Sequence[bytes]]
) -> Check:
    """consistency-with-last-seen: the checkpoint extends the last one this verifier saw."""
    name = _NAME
    if checkpoint is None or last_seen is None:
        return _UNCHECKED if last_seen is not None else _UNSEEN
    reason = _why_not_comparable(checkpoint, last_seen, proofs)
    if reason is not None:
        return not_checked(name, reason)
    try:
        verify_consistency(
            last_seen.size, checkpoint.size, proofs.get(last_seen.size, ()), last_seen.root, checkpoint.root
        )
    except InvalidTreeSizes:
        # Every log extends the empty one; RFC 9162 has no proof for it, only the empty root to match.
        if last_seen.size != 0 or last_seen.root != EMPTY_ROOT:
            return failed(name, _FORKED)
    except MerkleError:
        return failed(name, _FORKED)
    if last_seen.size == checkpoint.size:
        return passed(name, f"The checkpoint is the same one you saw before ({last_seen.size} entries).")
    return passed(
        name,
        f"The ledger's log of {checkpoint.size} entries extends the {last_seen.size}-entry log you saw "
        "before, without changing it.",
    )


def _why_not_comparable(
    checkpoint: Checkpoint, last_seen: Checkpoint, proofs: Mapping[int, Sequence[bytes]]
) -> str | None:
    """Why the bundle cannot show its checkpoint extends the one last seen, if it cannot."""
    if last_seen.origin != checkpoint.origin:
        return (
            f"The checkpoint you saw before is of another log ({last_seen.origin}): they cannot be compared."
        )
    if last_seen.size > checkpoint.size:
        return (
            f"This bundle's checkpoint ({checkpoint.size} entries) is older than the one you saw "
            f"({last_seen.size} entries); ask the ledger for a newer bundle."
        )
    if 0 < last_seen.size < checkpoint.size and last_seen.size not in proofs:
        return (
            f"The bundle carries no consistency proof from the {last_seen.size}-entry checkpoint you saw; "
            f"ask the ledger for a bundle with consistency from size {last_seen.size}."
        )
    return None
