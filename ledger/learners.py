"""Learners: the ULN rule, and each learner's own chained stream of entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot, event
from eventsourcing.utils import get_topic

from ledger.errors import InvalidULN
from ledger.streams import ChainedStream, Entry, uuid_of
from verification.entries import entry_hash

_ULN_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
ERASURE = "erasure"
"""The kind of the entry that ends an erased learner's stream (ErasureCompleted)."""


def check_uln(uln: str) -> None:
    """Refuse anything but a valid ULN: 10 digits, first non-zero, weighted sum ≡ 10 (mod 11)."""
    if len(uln) != 10 or not uln.isascii() or not uln.isdigit():
        raise InvalidULN(f"a ULN is exactly 10 digits, got {uln!r}")
    if uln[0] == "0":
        raise InvalidULN(f"a ULN cannot start with 0, got {uln!r}")
    total = sum(int(digit) * weight for digit, weight in zip(uln, _ULN_WEIGHTS, strict=True))
    if total % 11 != 10:
        raise InvalidULN(f"{uln} fails the ULN check digit")


class LearnerStream(ChainedStream):
    """One learner's record: registration, then every credential recorded about them.

    Each entry is public (ids, hashes, commitments); what it commits to is kept beside it, sealed
    under the learner's data key (`sealed`, base64), so destroying that key erases the content
    and leaves every hash intact.
    """

    stream_field = "learner"
    first_seq = 1
    """The seq of `entries[0]`: 1, except in a head loaded alone (`head_of`), which holds the tail."""

    @staticmethod
    def create_id(entry: Entry, **_: Any) -> UUID:
        """The stream id named by the registration entry."""
        return uuid_of(entry["learner"])

    @event("Registered")
    def __init__(self, entry: Entry, sealed: str) -> None:
        self.sealed: list[str] = []
        self.credentials: dict[str, int] = {}
        self._append(entry, sealed)

    def record(self, entry: Entry, sealed: str) -> None:
        """Append a credential's entry (built with `next_entry`) and its sealed content."""
        # What calling `_recorded` triggers, without the decorator binding its arguments each call
        # (most of the cost): the same event class and fields, so the same stored bytes.
        recorded_class: Any = self.CredentialRecorded  # type: ignore[attr-defined]
        recorded = recorded_class(
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=recorded_class.create_timestamp(),
            entry=entry,
            sealed=sealed,
        )
        # What `recorded.mutate(self)` does, without filtering the event's fields by signature.
        self._append_credential(entry, sealed)
        self.version = recorded.originator_version
        self.modified_on = recorded.timestamp
        self.pending_events.append(recorded)

    @event("CredentialRecorded")
    def _recorded(self, entry: Entry, sealed: str) -> None:
        self._append_credential(entry, sealed)

    def _append_credential(self, entry: Entry, sealed: str) -> None:
        self._append(entry, sealed)
        self.credentials[entry["credential"]] = entry["seq"]

    def erase(self, entry: Entry) -> None:
        """Append the ErasureCompleted entry (kind `erasure`, no personal data, nothing sealed)."""
        self._erased(entry)

    @event("Erased")
    def _erased(self, entry: Entry) -> None:
        self._append(entry, "")

    def entry_at(self, seq: int) -> tuple[Entry, str] | None:
        """Entry `seq` and its sealed content, when this object holds it (a head holds only the tail)."""
        index = seq - self.first_seq
        if index < 0 or index >= len(self.entries):
            return None
        return self.entries[index], self.sealed[index]

    @classmethod
    def head_of(cls, last: LearnerStream.Event) -> LearnerStream:
        """The stream as posting needs it, from its last event alone: no replay of earlier entries.

        It chains and records the next entry exactly as the whole stream would (seq, head, version);
        earlier entries are not held (`entry_at` answers None for them, `credentials` lists none).
        """
        entry: Entry = last.entry  # type: ignore[attr-defined]
        sealed: str = getattr(last, "sealed", "")
        return cls._head(last.originator_id, last.originator_version, last.timestamp, entry, sealed)

    def tail(self) -> LearnerStream:
        """A new head of this stream as it stands, as `head_of` its last event makes it."""
        last = self.entries[-1]
        return self._head(self.id, self.version, self.modified_on, last, self.sealed[-1], hashed=self.head)

    @classmethod
    def _head(
        cls,
        originator_id: UUID,
        version: int,
        timestamp: datetime,
        entry: Entry,
        sealed: str,
        *,
        hashed: str | None = None,
    ) -> LearnerStream:
        """The head whose last event (`version`, at `timestamp`) recorded `entry` and `sealed`;
        `hashed`, when known, is `entry_hash(entry)`."""
        state = {
            "_created_on": timestamp,
            "_modified_on": timestamp,
            "seq": entry["seq"],
            "head": entry_hash(entry) if hashed is None else hashed,
            "entries": [entry],
            "sealed": [sealed],
            "credentials": {},
            "first_seq": entry["seq"],
        }
        if getattr(cls, "class_version", 1) != 1:  # a snapshot of this state would be upcast
            snapshot = Snapshot(
                originator_id=originator_id,
                originator_version=version,
                timestamp=timestamp,
                topic=get_topic(cls),
                state=state,
            )
            upcast: LearnerStream = snapshot.mutate(None)  # type: ignore[assignment]
            return upcast
        # What `Snapshot(...).mutate(None)` makes of this state, without building the snapshot event.
        state["_id"] = originator_id
        state["_version"] = version
        state["_pending_events"] = []
        head = object.__new__(cls)
        object.__setattr__(head, "__dict__", state)
        return head

    @property
    def erased(self) -> bool:
        """True once the stream ends with an ErasureCompleted entry."""
        return bool(self.entries[-1]["kind"] == ERASURE)

    def _append(self, entry: Entry, sealed: str) -> None:
        self.chain(entry)
        self.sealed.append(sealed)
