"""The audit's decoding shortcuts (ledger/audit_decoding.py) against the library's mapper."""

from __future__ import annotations

from uuid import uuid4

import orjson
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, StoredEvent
from eventsourcing.utils import get_topic

from ledger.audit_decoding import EventDecoder
from ledger.event_mapper import LedgerMapper
from ledger.indexes import CredentialClaim


def test_an_event_said_to_lack_an_entry_has_none_through_the_mapper() -> None:
    # lacks_entry skips decoding an index claim's event; whenever it says so, the mapper's event
    # has no entry (or does not decode at all). Tampered states that could hold one are decoded.
    transcoder = JSONTranscoder()
    transcoder.register(DatetimeAsISO())
    decoder = EventDecoder(LedgerMapper(transcoder=transcoder))
    assert decoder.plain
    topic = get_topic(CredentialClaim.Claimed)  # type: ignore[attr-defined]
    stamp = {"_type_": "datetime_iso", "_data_": "2024-01-01T00:00:00+00:00"}
    fields = {"timestamp": stamp, "originator_topic": get_topic(CredentialClaim), "entry_hash": "ab"}
    states = {
        orjson.dumps(fields): True,
        orjson.dumps({**fields, "entry": {"kind": "award"}}): False,
        orjson.dumps(fields).replace(b'"entry_hash"', b'"\\u0065ntry"'): False,
        orjson.dumps({**fields, "class_version": 0}): False,
        b"\xffnot json": True,
        b"[]": True,
    }
    for state, lacks in states.items():
        stored = StoredEvent(uuid4(), 1, topic, state)
        assert decoder.lacks_entry(stored) is lacks, state
        members = decoder.members(stored)
        if lacks:
            assert isinstance(members, Exception) or members[0] is None, state
    # Those it leaves to decoding include entries a looser shortcut would have missed.
    for state in [*states][1:3]:
        members = decoder.members(StoredEvent(uuid4(), 1, topic, state))
        assert not isinstance(members, Exception) and members[0] is not None, state
