"""Kept stream heads: a head is taken only at the version it was kept at, as a new object."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from ledger.kept_heads import KeptHeads
from ledger.learners import LearnerStream
from ledger.streams import first_entry, urn


def stream_with(credentials: int) -> LearnerStream:
    """A registered learner's stream with `credentials` entries recorded and committed."""
    stream = LearnerStream(
        entry=first_entry("learner", uuid4(), "registration", datetime.now(UTC), commitment="ab" * 32),
        sealed="c2VhbGVk",
    )
    for number in range(credentials):
        entry = stream.next_entry(
            "enrolment", datetime.now(UTC), credential=f"urn:uuid:{number}", commitment="cd"
        )
        stream.record(entry, f"sealed {number}")
    stream.collect_events()
    return stream


def test_the_tail_of_a_stream_is_the_head_of_its_last_event() -> None:
    stream = LearnerStream(
        entry=first_entry("learner", uuid4(), "registration", datetime.now(UTC), commitment="ab" * 32),
        sealed="c2VhbGVk",
    )
    stream.record(stream.next_entry("enrolment", datetime.now(UTC), credential="urn:uuid:x"), "b3RoZXI=")
    last = stream.collect_events()[-1]
    assert stream.tail().__dict__ == LearnerStream.head_of(last).__dict__


def test_a_head_is_taken_only_at_its_version_and_never_shared() -> None:
    kept = KeptHeads()
    stream = stream_with(3)
    learner = urn(stream.id)
    assert kept.take(learner, stream.version) is None
    assert not kept.holds(learner)
    kept.keep([(learner, stream)])
    assert kept.holds(learner)
    assert kept.take(learner, stream.version + 1) is None
    assert kept.take(learner, stream.version - 1) is None
    first, second = kept.take(learner, stream.version), kept.take(learner, stream.version)
    assert first is not None and second is not None and first is not second
    assert first.entries is not second.entries and first.sealed is not second.sealed
    first.record(first.next_entry("enrolment", datetime.now(UTC), credential="urn:uuid:y"), "more")
    taken = kept.take(learner, stream.version)
    assert taken is not None and (taken.version, taken.seq, taken.head) == (stream.version, 4, stream.head)
    kept.forget()
    assert kept.take(learner, stream.version) is None and not kept.holds(learner)


def test_the_least_recently_kept_heads_are_forgotten_first() -> None:
    kept = KeptHeads(limit=2)
    streams = [stream_with(1) for _ in range(3)]
    for stream in streams:
        kept.keep([(urn(stream.id), stream)])
    kept.keep([(urn(streams[1].id), streams[1])])  # kept again: now the most recent
    assert kept.take(urn(streams[0].id), streams[0].version) is None and not kept.holds(urn(streams[0].id))
    assert all(kept.take(urn(stream.id), stream.version) is not None for stream in streams[1:])
