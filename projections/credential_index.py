"""The credential index: credential id to learner, entry, leaf index and status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from projections.batches import Context
from projections.events import Event
from projections.runner import Insert, ViewCursor


@dataclass(frozen=True)
class IndexedCredential:
    """Where a credential is recorded and what became of it."""

    credential: str
    learner: str
    seq: int
    issuer: str
    kind: str
    status: str
    """valid, superseded, revoked (or erased, once the learner's data is erased)."""
    changed_by: str | None
    leaf_index: int | None
    """Its leaf in the transparency log, once integrated."""


class CredentialIndexProjection:
    """Keeps view_credentials from the credential-id claims and their status changes."""

    name = "credential_index"
    tables: tuple[str, ...] = ("view_credentials",)
    opens_content = False

    def prepare(self, events: Sequence[Event], context: Context) -> None:
        """Nothing: the batch's events are all it needs."""

    def project(self, view: ViewCursor, events: Sequence[Event], context: Context) -> None:
        """Index newly claimed credential ids, record status changes and mark erased learners'
        credentials, in the batch's order.
        """
        view.run_in_order(write for event in events if (write := _write(event)) is not None)


_CLAIMED = Insert("view_credentials", ("credential", "learner", "seq", "issuer", "kind", "status"))


def _write(event: Event) -> tuple[str | Insert, tuple[object, ...]] | None:
    """The statement (or insert) and parameters an event's change to the index takes, if any."""
    name, fields = event.name, event.fields
    if name == "CredentialClaim.Claimed":
        claimed = (fields["credential"], fields["learner"], fields["seq"], fields["issuer"], fields["kind"])
        return (_CLAIMED, (*claimed, "valid"))
    if name == "LearnerStream.Erased":
        return (
            "UPDATE {p}view_credentials SET status = 'erased' WHERE learner = ?",
            (fields["entry"]["learner"],),
        )
    if name == "CredentialClaim.StatusChanged":
        return (
            "UPDATE {p}view_credentials SET status = ?, changed_by = ? WHERE credential = ?",
            (fields["state"], fields["by"], fields["credential"]),
        )
    return None


def lookup(view: ViewCursor, credential: str) -> IndexedCredential | None:
    """The index entry of a credential, with its log leaf when integrated."""
    rows = view.rows(
        "SELECT c.*, l.leaf_index FROM {p}view_credentials c LEFT JOIN {p}log_leaves l "
        "ON l.stream = c.learner AND l.seq = c.seq WHERE c.credential = ?",
        (credential,),
    )
    if not rows:
        return None
    row = rows[0]
    leaf = row["leaf_index"]
    return IndexedCredential(
        row["credential"],
        row["learner"],
        int(row["seq"]),
        row["issuer"],
        row["kind"],
        row["status"],
        row["changed_by"],
        None if leaf is None else int(leaf),
    )
