"""What the ledger answers for an accepted credential: its entry, the entry's hash, and a signed
promise to integrate it into the log."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ledger.errors import LedgerError
from ledger.store import LedgerStore
from ledger.streams import Entry
from verification.statements import sign_receipt


@dataclass(frozen=True)
class Receipt:
    """What the ledger answers for an accepted credential: its entry and the entry's hash."""

    entry: Entry
    entry_hash: str
    duplicate: bool
    """True when the same credential was already recorded and nothing new was written."""
    signed: str | None = None
    """The ledger's signed receipt (a C2SP note under the log key): a promise to integrate."""
    position: int = 0
    """The event store position of the write: wait for views to reach it to read your own write."""


PostResult = Receipt | LedgerError


def with_signature(ledger: LedgerStore, receipt: Receipt) -> Receipt:
    """The receipt with the ledger's signature over the entry hash, position and time."""
    signer = ledger.log_signer
    if signer is None:
        return receipt
    entry = receipt.entry
    note = sign_receipt(
        signer.origin,
        receipt.entry_hash,
        entry["learner"],
        entry["seq"],
        entry["recorded_at"],
        signer_name=signer.name,
        seed=signer.seed,
    )
    return replace(receipt, signed=note)
