"""The ledger's mapper stores posting's events in exactly the bytes the library's mapper does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application
from hypothesis import given
from hypothesis import strategies as st

from ledger.event_mapper import LedgerMapper
from ledger.indexes import CredentialClaim, credential_claim_id
from ledger.learners import LearnerStream

_LIBRARY = Application[Any]().mapper
_OURS = LedgerMapper(transcoder=_LIBRARY.transcoder)
_TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
_VALUE = st.one_of(_TEXT, st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans(), st.none())
_INSTANT = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]))


def _recorded(entry: dict[str, Any], sealed: str, timestamp: datetime) -> object:
    event_class: Any = LearnerStream.CredentialRecorded  # type: ignore[attr-defined]
    return event_class(
        originator_id=uuid4(), originator_version=2, timestamp=timestamp, entry=entry, sealed=sealed
    )


@given(st.dictionaries(_TEXT, _VALUE, max_size=12), _TEXT, _INSTANT)
def test_a_recorded_event_is_stored_as_the_library_stores_it(
    entry: dict[str, Any], sealed: str, timestamp: datetime
) -> None:
    event = _recorded(entry, sealed, timestamp)
    assert _OURS.to_stored_event(event) == _LIBRARY.to_stored_event(event)  # type: ignore[arg-type]


@given(_TEXT, _TEXT, st.integers(min_value=1, max_value=2**53), _TEXT, _TEXT, _INSTANT)
def test_a_claim_is_stored_as_the_library_stores_it(
    credential: str, learner: str, seq: int, issuer: str, kind: str, timestamp: datetime
) -> None:
    claim = CredentialClaim.claim(
        credential_claim_id(credential),
        credential=credential,
        learner=learner,
        seq=seq,
        issuer=issuer,
        kind=kind,
        entry_hash="ab" * 32,
    )
    event = claim.collect_events()[0]
    assert _OURS.to_stored_event(event) == _LIBRARY.to_stored_event(event)  # type: ignore[arg-type]


def test_what_orjson_would_write_otherwise_goes_to_the_library() -> None:
    """A float, a huge integer or a lone surrogate: the library's bytes, or the library's error."""
    for entry in ({"x": 1.5e16}, {"x": 2**70}, {"x": True, "y": [1, {"z": None}]}):
        event = _recorded(entry, "s", datetime.now(UTC))
        assert _OURS.to_stored_event(event) == _LIBRARY.to_stored_event(event)  # type: ignore[arg-type]
    event = _recorded({"x": "\ud800"}, "s", datetime.now(UTC))
    for mapper in (_OURS, _LIBRARY):
        try:
            mapper.to_stored_event(event)  # type: ignore[arg-type]
        except UnicodeEncodeError:
            continue
        raise AssertionError("a lone surrogate was stored")
