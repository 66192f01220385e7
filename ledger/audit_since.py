"""An incremental audit's starting point: the checkpoint the auditor saved last time, verified, and
the ledger's newest checkpoint proved (from the stored tiles) to extend it, so that only the
leaves after it need auditing.
"""

from __future__ import annotations

from ledger.application import Ledger
from ledger.audit_log import prove_consistent
from ledger.audit_report import Tally
from ledger.audit_rows import LogRows
from ledger.sql import SqlStore
from verification.checkpoint import Checkpoint, open_checkpoint
from verification.errors import VerificationError


def check_since(ledger: Ledger, tally: Tally, note: str) -> Checkpoint | None:
    """The auditor's saved checkpoint, verified, and the ledger's newest checkpoint proved to extend it.

    None when the note does not verify with the ledger's log key (then there is nothing to extend).
    """
    signer = ledger.tlog.signer
    try:
        saved = open_checkpoint(note, signer.verifier, signer.origin)
    except VerificationError as error:
        tally.add("checkpoint-signature", f"the saved checkpoint does not verify with the log's key: {error}")
        return None
    store = SqlStore(ledger.recorder, ledger.tlog.store.schema, LogRows)
    with store.reading() as log:
        row = log.checkpoint_row_up_to(2**63 - 1)
    try:
        newest = open_checkpoint(str(row["note"]), signer.verifier, signer.origin) if row else None
    except VerificationError as error:
        tally.add("since-consistency", f"the ledger's newest checkpoint does not verify: {error}")
        return saved
    if newest is None or newest.size < saved.size:
        held = "no checkpoint" if newest is None else f"checkpoints only up to size {newest.size}"
        tally.add(
            "since-consistency", f"the saved checkpoint is of size {saved.size}, but the ledger holds {held}"
        )
        return saved
    problem = prove_consistent(store, saved, newest)
    if problem:
        tally.add(
            "since-consistency",
            f"the ledger's newest checkpoint (size {newest.size}) is not consistent with the saved one "
            f"(size {saved.size}): {problem}",
        )
    return saved
