"""The status check of a bundle: the ledger's signed statement that a credential is still valid."""

from __future__ import annotations

from collections.abc import Sequence

from verification.checkpoint import Checkpoint
from verification.errors import (
    InvalidNoteSignature,
    StatementOriginMismatch,
    UnverifiedNote,
    VerificationError,
)
from verification.log_checks import NO_CHECKPOINT
from verification.note import Verifier
from verification.report import Check, failed, not_checked, passed
from verification.statements import StatusStatement, open_status


def check_status(
    note: str, verifiers: Sequence[Verifier], checkpoint: Checkpoint | None, credential_id: object
) -> tuple[Check, StatusStatement | None]:
    """status: the ledger's signed status names this credential, the same checkpoint, and `valid`."""
    name = "status"
    if checkpoint is None:
        return not_checked(name, NO_CHECKPOINT), None
    statement = _open_status(note, [v for v in verifiers if v.name == checkpoint.origin], checkpoint.origin)
    if isinstance(statement, str):
        return failed(name, statement), None
    if statement.credential != credential_id:
        problem = "The status statement in the bundle is about another credential: do not rely on it."
    elif statement.checkpoint_size != checkpoint.size:
        problem = (
            f"The status statement is as of {statement.checkpoint_size} entries, not this checkpoint's "
            f"{checkpoint.size}, so it may be out of date: do not rely on it."
        )
    elif statement.state == "superseded":
        problem = (
            f"The issuer corrected this result; the correction {statement.by} names the replacement: "
            "do not rely on this version."
        )
    elif statement.state == "revoked":
        problem = f"The issuer revoked this credential (revocation {statement.by}): do not rely on it."
    else:
        sentence = (
            f"The issuer has not corrected or revoked this credential (as of {checkpoint.size} log entries)."
        )
        return passed(name, sentence), statement
    return failed(name, problem), statement


def _open_status(note: str, verifiers: Sequence[Verifier], origin: str) -> StatusStatement | str:
    """The status statement under the log's key, signature first; or why it cannot be read."""
    problem: VerificationError | None = None
    for verifier in verifiers:
        try:
            return open_status(note, verifier, origin)
        except VerificationError as error:
            problem = problem if isinstance(problem, InvalidNoteSignature) else error
    if isinstance(problem, StatementOriginMismatch):
        reason = "is for another log"
    elif problem is None or isinstance(problem, UnverifiedNote | InvalidNoteSignature):
        reason = "is not signed by the ledger key you trust"
    else:
        reason = "is damaged or not a status statement"
    return f"The ledger's status statement for this credential {reason}: do not rely on it."
