"""An incremental audit's starting point: the checkpoint the auditor saved last time, verified, and
the ledger's newest checkpoint proved (from the stored tiles) to extend it, so that only the
leaves after it need auditing.
"""

from __future__ import annotations

from ledger.audit_log import prove_consistent
from ledger.audit_report import Tally
from ledger.audit_source import AuditSource
from verification.checkpoint import Checkpoint, open_checkpoint
from verification.errors import VerificationError


def check_since(source: AuditSource, tally: Tally, note: str) -> Checkpoint | None:
    """The auditor's saved checkpoint, verified, and the ledger's newest checkpoint proved to extend it.

    None when the note does not verify with the ledger's log key (then there is nothing to extend).
    """
    try:
        saved = open_checkpoint(note, source.verifier, source.origin)
    except VerificationError as error:
        tally.add("checkpoint-signature", f"the saved checkpoint does not verify with the log's key: {error}")
        return None
    rows = source.checkpoint_rows(0, 2**63 - 1, 1, newest_first=True)
    row = rows[0] if rows else None
    try:
        newest = open_checkpoint(str(row["note"]), source.verifier, source.origin) if row else None
    except VerificationError as error:
        tally.add("since-consistency", f"the ledger's newest checkpoint does not verify: {error}")
        return saved
    if newest is None or newest.size < saved.size:
        held = "no checkpoint" if newest is None else f"checkpoints only up to size {newest.size}"
        tally.add(
            "since-consistency", f"the saved checkpoint is of size {saved.size}, but the ledger holds {held}"
        )
        return saved
    problem = prove_consistent(source, saved, newest)
    if problem:
        tally.add(
            "since-consistency",
            f"the ledger's newest checkpoint (size {newest.size}) is not consistent with the saved one "
            f"(size {saved.size}): {problem}",
        )
    return saved
