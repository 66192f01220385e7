"""Master key rotation: every wrapped key moved from a previous master key to the current one.

Checks first, so a refusal changes nothing; then pins and re-wraps the ULN index key, then the
learner keys in batches, each batch one transaction. A row already under the current key is never
selected, so a rotation that stopped part-way is finished by running it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.errors import LedgerError
from ledger.key_store import KeyStore
from ledger.master_keys import ULN_INDEX, MasterKeyRing, UnknownMasterKey
from ledger.sealing import SealBroken
from ledger.storage import LearnerKeyRow

_PAGE = 1000


class WrappedKeyBroken(LedgerError):
    """A stored key does not unwrap under the master key it names: its bytes were altered."""

    slug = "wrapped-key-broken"
    status = 500


@dataclass(frozen=True)
class RotationPlan:
    """What a rotation would do: learner keys per master key id, and how many need re-wrapping."""

    current: str
    by_key: dict[str | None, int] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        """Learner keys not yet under the current master key."""
        return sum(count for key_id, count in self.by_key.items() if key_id != self.current)


@dataclass(frozen=True)
class RotationSummary:
    """What a rotation did."""

    current: str
    rewrapped: int
    already_current: int
    batches: int
    index_key: str
    """`re-wrapped`, `stored` (first time the ledger keeps it), or `already current`."""


def plan_rotation(ring: MasterKeyRing, store: KeyStore) -> RotationPlan:
    """Check every stored key can be unwrapped by a known master key; UnknownMasterKey if not."""
    by_key = store.count_by_master_key()
    unknown = {
        key_id: count for key_id, count in by_key.items() if key_id is not None and key_id not in ring.keys
    }
    if unknown:
        named = ", ".join(f"{key_id} ({count} learner keys)" for key_id, count in sorted(unknown.items()))
        raise UnknownMasterKey(
            f"learner keys are wrapped under master keys this ledger was not given: {named}; "
            f"LEDGER_MASTER_KEY is {ring.key_id} and LEDGER_PREVIOUS_MASTER_KEYS holds "
            f"{[key.key_id for key in ring.previous] or 'none'}; add the missing keys there and run again"
        )
    stored = store.index_key(ULN_INDEX)
    if stored is not None:
        ring.key(stored.master_key_id, "the ULN index key")
    ring.uln_index_key()
    if by_key.get(None):
        _check_unlabelled(ring, store)
    return RotationPlan(ring.key_id, by_key)


def rotate_master_key(
    ring: MasterKeyRing,
    store: KeyStore,
    *,
    batch_size: int = 500,
    after_batch: Callable[[int], None] = lambda count: None,
    plan: RotationPlan | None = None,
) -> RotationSummary:
    """Re-wrap the index key and every learner key under the current master key, batch by batch.

    `after_batch` is called with each committed batch's size (progress; a test injects a crash).
    `plan` is the result of `plan_rotation` when the caller already checked.
    """
    if batch_size < 1:
        raise ValueError("a batch holds at least one key")
    plan = plan or plan_rotation(ring, store)
    if ring.pin_index_key():
        index_state = "stored"
    elif store.rewrap_index_key(ULN_INDEX, ring.key_id, ring.rewrap_index_key):
        index_state = "re-wrapped"
    else:
        index_state = "already current"
    rewrapped = batches = 0
    while True:
        count = store.rewrap_learner_keys(ring.key_id, batch_size, lambda row: _rewrap(ring, row))
        if count == 0:
            break
        rewrapped += count
        batches += 1
        after_batch(count)
    already = plan.by_key.get(ring.key_id, 0)
    return RotationSummary(ring.key_id, rewrapped, already, batches, index_state)


def _rewrap(ring: MasterKeyRing, row: LearnerKeyRow) -> LearnerKeyRow:
    try:
        return ring.rewrap(row)
    except SealBroken as error:
        raise WrappedKeyBroken(
            f"the data key of {row.learner_id} does not unwrap under master key {row.master_key_id}, "
            "which it names: the stored bytes were altered; nothing of this batch was changed"
        ) from error


def _check_unlabelled(ring: MasterKeyRing, store: KeyStore) -> None:
    """Keys stored before key ids were recorded must each open under some configured key."""
    after = ""
    while page := store.unlabelled_keys(after, _PAGE):
        for row in page:
            ring.unwrap_row(row)
        after = page[-1].learner_id
