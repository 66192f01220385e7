"""Properties over many random histories: chains stay intact, and any one-byte change is detected."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import examples
from ledger.application import Ledger
from ledger.posting import post_batch
from tests.conftest import Issuer
from verification.canonical import canonical_json
from verification.entries import check_stream

ULNS = ("1000000000", "1000000019", "1000000027")
KINDS = ("assessment", "award", "enrolment", "admission")
FIXTURE_SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def learners_of(ledger: Ledger) -> list[str]:
    """The three learners the properties post about (registered on first use)."""
    found = getattr(ledger, "_property_learners", None)
    if found is None:
        found = [ledger.register_learner(uln, f"Learner {uln}", "2004-02-29") for uln in ULNS]
        ledger._property_learners = found  # type: ignore[attr-defined]
    return found


def credential(kind: str, issuer: Issuer, learner: str) -> dict[str, Any]:
    """A signed credential of `kind` by the fixture university."""
    unsigned = {
        "assessment": examples.enrolment,  # the university is not an exam body; enrolments stand in
        "award": examples.award,
        "enrolment": examples.enrolment,
        "admission": examples.admission,
    }[kind](issuer.did, learner)
    return examples.sign(unsigned, issuer.key)


posts = st.lists(
    st.lists(st.tuples(st.integers(0, 2), st.sampled_from(KINDS)), min_size=1, max_size=6),
    min_size=1,
    max_size=4,
)


@FIXTURE_SETTINGS
@given(batches=posts)
def test_any_sequence_of_posts_keeps_every_chain_intact(
    ledger: Ledger, university: Issuer, batches: list[list[tuple[int, str]]]
) -> None:
    learners = learners_of(ledger)
    before = {who: len(ledger.learner_stream(who).entries) for who in learners}
    for batch in batches:
        results = post_batch(ledger, [credential(kind, university, learners[who]) for who, kind in batch])
        assert all(not isinstance(result, Exception) for result in results), results
    for index, who in enumerate(learners):
        report = ledger.read_stream(who)
        assert report.findings == []
        assert [item.entry["seq"] for item in report.items] == list(range(1, len(report.items) + 1))
        posted = sum(1 for batch in batches for target, _ in batch if target == index)
        assert len(report.items) == before[who] + posted


@FIXTURE_SETTINGS
@given(data=st.data())
def test_any_one_byte_change_is_detected(ledger: Ledger, university: Issuer, data: st.DataObject) -> None:
    learners = learners_of(ledger)
    who = learners[data.draw(st.integers(0, 2))]
    if len(ledger.learner_stream(who).entries) < 3:
        post_batch(ledger, [credential("award", university, who), credential("admission", university, who)])
    report = ledger.read_stream(who)
    entries = [dict(item.entry) for item in report.items]
    openings: list[tuple[bytes, bytes] | None] = [
        (item.salt, canonical_json(item.content)) for item in report.items if item.salt and item.content
    ]
    anchors = report.anchors
    assert sorted(anchors) == list(range(1, len(entries) + 1))  # every entry is pinned
    assert check_stream(entries, openings, anchors) == []  # untouched, nothing to find

    index = data.draw(st.integers(0, len(entries) - 1))
    target = data.draw(st.sampled_from(["entry", "content", "salt"]))
    blob = {
        "entry": canonical_json(entries[index]),
        "content": openings[index][1],
        "salt": openings[index][0],
    }[target]  # type: ignore[index]
    position = data.draw(st.integers(0, len(blob) - 1))
    bit = data.draw(st.integers(0, 7))
    changed = bytearray(blob)
    changed[position] ^= 1 << bit
    if target == "entry":
        try:
            entries[index] = orjson.loads(bytes(changed))
        except orjson.JSONDecodeError:
            return  # the stored entry no longer parses: detected before any hash is needed
        if not isinstance(entries[index], dict):
            return
    elif target == "content":
        openings[index] = (openings[index][0], bytes(changed))  # type: ignore[index]
    else:
        openings[index] = (bytes(changed), openings[index][1])  # type: ignore[index]
    assert check_stream(entries, openings, anchors) != []
