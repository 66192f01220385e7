"""The events posting builds directly are the events the library's decorators would have built:
the same class, fields and stored bytes (only the creation timestamp differs between two calls)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.learners import LearnerStream
from ledger.streams import first_entry

_TIMESTAMP = re.compile(rb'"timestamp":\{"_type_":"datetime_iso","_data_":"[^"]+"\}')
_MAPPER = Application[object]().mapper


def _stored(event: object) -> StoredEvent:
    stored = _MAPPER.to_stored_event(event)  # type: ignore[arg-type]
    state = _TIMESTAMP.sub(b'"timestamp":T', stored.state)
    return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, state)


def _stream(entry: dict[str, object]) -> LearnerStream:
    stream = LearnerStream(entry=entry, sealed="c2VhbGVk")
    stream.collect_events()
    return stream


def test_record_builds_the_event_the_decorated_method_would() -> None:
    """`record` and the decorated `_recorded` give equal stored events and equal streams."""
    first = first_entry("learner", uuid4(), "registration", datetime.now(UTC), commitment="ab" * 32)
    direct, decorated = _stream(first), _stream(first)
    for seq in range(2, 5):
        fields = {"credential": f"urn:uuid:{uuid4()}", "issuer": "did:web:x", "commitment": "cd" * 32}
        entry = direct.next_entry("enrolment", datetime.now(UTC), **fields)
        direct.record(entry, f"sealed-{seq}")
        decorated._recorded(entry, f"sealed-{seq}")
    ours, theirs = direct.collect_events(), decorated.collect_events()
    assert [_stored(event) for event in ours] == [_stored(event) for event in theirs]
    assert [type(event) for event in ours] == [type(event) for event in theirs]
    assert (direct.version, direct.seq, direct.head, direct.entries, direct.sealed, direct.credentials) == (
        decorated.version,
        decorated.seq,
        decorated.head,
        decorated.entries,
        decorated.sealed,
        decorated.credentials,
    )


def test_claim_builds_the_event_the_constructor_would() -> None:
    """`CredentialClaim.claim` and `CredentialClaim(...)` give equal stored events and claims."""
    credential = f"urn:uuid:{uuid4()}"
    fields = {
        "credential": credential,
        "learner": f"urn:uuid:{uuid4()}",
        "seq": 7,
        "issuer": "did:web:x",
        "kind": "enrolment",
        "entry_hash": "ef" * 32,
    }
    direct = CredentialClaim.claim(credential_claim_id(credential), **fields)  # type: ignore[arg-type]
    constructed = CredentialClaim(**fields)
    assert direct.id == constructed.id
    ours, theirs = direct.collect_events(), constructed.collect_events()
    assert [_stored(event) for event in ours] == [_stored(event) for event in theirs]
    assert [type(event) for event in ours] == [type(event) for event in theirs]
    ours_state = {
        key: value for key, value in vars(direct).items() if key not in ("_created_on", "_modified_on")
    }
    theirs_state = {
        key: value for key, value in vars(constructed).items() if key not in ("_created_on", "_modified_on")
    }
    assert ours_state == theirs_state


def test_rfc3339_remembers_nothing_it_should_not() -> None:
    """Equal instants in other zones, and the two readings of a time a clock shows twice."""
    from zoneinfo import ZoneInfo

    from ledger.streams import rfc3339

    london = ZoneInfo("Europe/London")
    first = datetime(2026, 10, 25, 1, 30, tzinfo=london)
    second = first.replace(fold=1)
    assert rfc3339(first) == "2026-10-25T00:30:00.000000Z"
    assert rfc3339(second) == "2026-10-25T01:30:00.000000Z"
    utc = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert rfc3339(utc) == rfc3339(first)
