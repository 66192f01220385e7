"""What the ledger answers for an accepted credential: its entry, the entry's hash, and a signed
promise to integrate it into the log."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ledger.errors import LedgerError
from ledger.store import LedgerStore
from ledger.streams import Entry
from ledger.worker_tasks import Chunked
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

    Each note's text is formatted (and checked) here, and signed a chunk at a time on the ledger's
    worker thread (`sign_receipt` in two halves: ledger/worker_tasks.py), so the Ed25519 signing,
    in libsodium without the GIL, overlaps the formatting of the next chunk.
    """
    signer = ledger.log_signer
    answered = list(results)
    if signer is None:
        for index, result in enumerate(results):
            if isinstance(result, Receipt):
                answered[index] = Receipt(result.entry, result.entry_hash, result.duplicate, None, position)
        return answered
    notes = Chunked(ledger.worker(), functools.partial(_sign_all, name=signer.name, seed=signer.seed))
    signed: list[int] = []
    for index, result in enumerate(results):
        if isinstance(result, Receipt):
            entry = result.entry
            statement = statements.Receipt(
                signer.origin, result.entry_hash, entry["learner"], entry["seq"], entry["recorded_at"]
            )
            notes.add(statements.format_receipt(statement))
            signed.append(index)
    for index, note in zip(signed, notes.results(), strict=True):
        receipt = results[index]
        assert isinstance(receipt, Receipt)
        answered[index] = Receipt(receipt.entry, receipt.entry_hash, receipt.duplicate, note, position)
    return answered


def _sign_all(texts: list[str], name: str, seed: bytes) -> list[str]:
    """Each text signed as a note (run on the worker thread)."""
    return [sign_note(text, name, seed) for text in texts]
