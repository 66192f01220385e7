"""The ULN rule (DESIGN §2), and a learner stream's head loaded from its last event."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidULN
from ledger.learners import LearnerStream, check_uln
from ledger.streams import first_entry
from verification.entries import entry_hash


@pytest.mark.parametrize("uln", ["9276308686", "1000000000", "1000000019", "4817203918"])
def test_valid_ulns(uln: str) -> None:
    check_uln(uln)


@pytest.mark.parametrize(
    ("uln", "words"),
    [
        ("9276308687", "check digit"),
        ("0276308686", "cannot start with 0"),
        ("927630868", "exactly 10 digits"),
        ("92763086861", "exactly 10 digits"),
        ("92763O8686", "exactly 10 digits"),
        ("\uff19\uff12\uff17\uff16\uff13\uff10\uff18\uff16\uff18\uff16", "exactly 10 digits"),  # full-width
        ("", "exactly 10 digits"),
    ],
)
def test_invalid_ulns(uln: str, words: str) -> None:
    with pytest.raises(InvalidULN, match=words):
        check_uln(uln)


@given(st.from_regex(r"[1-9][0-9]{9}", fullmatch=True))
def test_exactly_the_numbers_with_remainder_ten_pass(uln: str) -> None:
    total = sum(int(digit) * weight for digit, weight in zip(uln, range(10, 0, -1), strict=True))
    if total % 11 == 10:
        check_uln(uln)
    else:
        with pytest.raises(InvalidULN):
            check_uln(uln)


@given(st.from_regex(r"[1-9][0-9]{9}", fullmatch=True), st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_of_a_valid_uln_is_caught(uln: str, position: int, delta: int) -> None:
    total = sum(int(digit) * weight for digit, weight in zip(uln, range(10, 0, -1), strict=True))
    if total % 11 != 10:
        return
    digits = list(uln)
    digits[position] = str((int(digits[position]) + delta) % 10)
    changed = "".join(digits)
    if changed[0] == "0":
        return
    with pytest.raises(InvalidULN):
        check_uln(changed)


def test_a_head_is_what_a_snapshot_of_its_last_event_makes() -> None:
    stream = LearnerStream(
        entry=first_entry("learner", uuid4(), "registration", datetime.now(UTC), commitment="ab" * 32),
        sealed="c2VhbGVk",
    )
    entry = stream.next_entry("enrolment", datetime.now(UTC), credential="urn:uuid:x", commitment="cd" * 32)
    stream.record(entry, "b3RoZXI=")
    last = stream.collect_events()[-1]
    head = LearnerStream.head_of(last)
    state = {
        "_created_on": last.timestamp,
        "_modified_on": last.timestamp,
        "seq": entry["seq"],
        "head": entry_hash(entry),
        "entries": [entry],
        "sealed": ["b3RoZXI="],
        "credentials": {},
        "first_seq": entry["seq"],
    }
    snapshot = Snapshot(
        originator_id=last.originator_id,
        originator_version=last.originator_version,
        timestamp=last.timestamp,
        topic=get_topic(LearnerStream),
        state=state,
    )
    made = snapshot.mutate(None)
    assert type(head) is type(made) is LearnerStream
    assert head.__dict__ == made.__dict__
    assert (head.version, head.seq, head.head) == (stream.version, stream.seq, stream.head)
