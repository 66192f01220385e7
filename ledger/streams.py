"""Chained aggregates: every event carries an entry (DESIGN §3) linked to the one before it."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from verification.entries import GENESIS, entry_hash

Entry = dict[str, Any]


@functools.lru_cache(maxsize=4096)
def urn(identifier: UUID) -> str:
    """The `urn:uuid:` form of an aggregate id."""
    return f"urn:uuid:{identifier}"  # remembered: UUID.__str__ is Python, and a batch repeats streams


def uuid_of(urn_text: str) -> UUID:
    """The UUID inside a `urn:uuid:` identifier."""
    return UUID(urn_text.removeprefix("urn:uuid:"))


def rfc3339(instant: datetime) -> str:
    """An instant as RFC 3339 UTC with microseconds and a `Z`, the form entries record."""
    # Remembered: every entry of a batch is recorded at the batch's one instant. `fold` is part of
    # the key because two times of one zone compare equal whatever their fold.
    return _rfc3339(instant, instant.fold)


@functools.lru_cache(maxsize=64)
def _rfc3339(instant: datetime, _fold: int) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> datetime:
    """The instant an entry recorded."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def first_entry(stream_field: str, stream: UUID, kind: str, recorded_at: datetime, **fields: Any) -> Entry:
    """The entry that opens a stream: `seq` 1, `prev` all zeros."""
    return _entry(
        stream_field, stream=stream, seq=1, prev=GENESIS, kind=kind, recorded_at=recorded_at, fields=fields
    )


def _entry(
    stream_field: str,
    *,
    stream: UUID,
    seq: int,
    prev: str,
    kind: str,
    recorded_at: datetime,
    fields: dict[str, Any],
) -> Entry:
    return {
        "v": 1,
        stream_field: urn(stream),
        "seq": seq,
        "prev": prev,
        "kind": kind,
        **fields,
        "recorded_at": rfc3339(recorded_at),
    }


class ChainedStream(Aggregate):
    """Base of the ledger's streams: tracks `seq` and the hash of the last entry."""

    stream_field: ClassVar[str] = "stream"
    seq = 0
    head = GENESIS

    def next_entry(self, kind: str, recorded_at: datetime, **fields: Any) -> Entry:
        """The entry that would come next in this stream."""
        return _entry(
            self.stream_field,
            stream=self.id,
            seq=self.seq + 1,
            prev=self.head,
            kind=kind,
            recorded_at=recorded_at,
            fields=fields,
        )

    def chain(self, entry: Entry) -> None:
        """Advance the stream past `entry` (called while applying every event)."""
        if self.seq == 0:
            self.entries: list[Entry] = []
        self.entries.append(entry)
        self.seq = entry["seq"]
        self.head = entry_hash(entry)
