"""What the ledger answers for an accepted credential: its entry, the entry's hash, and a signed
promise to integrate it into the log."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import LedgerError
from ledger.store import LedgerStore
from ledger.streams import Entry
from verification import statements
from verification.note import sign_note


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


def signed_results(ledger: LedgerStore, results: list[PostResult], position: int) -> list[PostResult]:
    """Each receipt with the ledger's signature and the write's `position`; refusals as they are.

    Each note's text is formatted (and checked) once and signed (`sign_receipt` in two halves).
    """
    signer = ledger.log_signer
    answered = list(results)
    for index, result in enumerate(results):
        if isinstance(result, Receipt):
            note = None
            if signer is not None:
                entry = result.entry
                statement = statements.Receipt(
                    signer.origin, result.entry_hash, entry["learner"], entry["seq"], entry["recorded_at"]
                )
                note = sign_note(statements.format_receipt(statement), signer.name, signer.seed)
            answered[index] = Receipt(result.entry, result.entry_hash, result.duplicate, note, position)
    return answered
