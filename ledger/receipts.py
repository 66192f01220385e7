"""What the ledger answers for an accepted credential: its entry, the entry's hash, and a signed
promise to integrate it into the log."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import LedgerError
from ledger.posting_pool import Chunks, PostingWorker
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


class ReceiptSigning:
    """A batch's receipts signed as they come (`add` each, then `results`): each note's text is
    formatted (and checked) once here and signed (`sign_receipt` in two halves) by the batch's
    worker process when it has one (ledger/posting_pool.py), else here. Nothing in a note depends
    on the commit, so a worker signs while the batch is recorded and saved; the notes of a batch
    built again after a write conflict are dropped."""

    def __init__(self, ledger: LedgerStore, worker: PostingWorker | None) -> None:
        signer = ledger.log_signer
        self.origin = "" if signer is None else signer.origin
        self.notes = None
        if signer is not None:
            name, seed = signer.name, signer.seed
            self.notes = Chunks(worker, "sign", lambda text: sign_note(text, name, seed), (name, seed))

    def add(self, receipt: Receipt) -> None:
        """Queue the note of one receipt."""
        if self.notes is not None:
            entry = receipt.entry
            statement = statements.Receipt(
                self.origin, receipt.entry_hash, entry["learner"], entry["seq"], entry["recorded_at"]
            )
            self.notes.add(statements.format_receipt(statement))

    def flush(self) -> None:
        """Send the notes queued so far to the worker."""
        if self.notes is not None:
            self.notes.flush()

    def results(self, results: list[PostResult], position: int) -> list[PostResult]:
        """Each receipt added (in the same order) with its note and the write's `position`."""
        notes = iter(self.notes.all()) if self.notes is not None else None
        answered = list(results)
        for index, result in enumerate(results):
            if isinstance(result, Receipt):
                note = None if notes is None else next(notes)
                answered[index] = Receipt(result.entry, result.entry_hash, result.duplicate, note, position)
        return answered
