"""The portfolio projection: items from entries, corrections, revocations, endings, and the view."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import examples
from projections.portfolio import Item, Portfolio, apply, fold, portfolio
from projections.portfolio_fold import reads_other_items
from projections.portfolio_items import canonical_text, credential_type, read_item
from verification.keys import SigningKey
from verification.trust import KIND_OF_TYPE

LEARNER = "urn:uuid:7d3f1e2a-5b6c-4d8e-9f01-23456789abcd"
ISSUER = "did:web:ledger.example:orgs:caerleon"
KEY = SigningKey.from_seed(bytes([7]) * 32)
T0 = datetime(2024, 1, 1, tzinfo=UTC)

Pair = tuple[dict[str, Any], dict[str, Any] | None]


@dataclass
class Stream:
    """A learner's stream as the follower reads it: (entry, content) pairs from the registration."""

    sign: bool = True
    pairs: list[Pair] = field(default_factory=list)

    def __post_init__(self) -> None:
        profile = {"uln": "9276308686", "name": "Ada Lovelace", "dateOfBirth": "2003-05-01"}
        registration = {
            "v": 1,
            "learner": LEARNER,
            "seq": 1,
            "prev": "0" * 64,
            "kind": "registration",
            "commitment": "cd" * 32,
            "recorded_at": "2024-01-01T00:00:00.000000Z",
        }
        self.pairs.append((registration, profile))

    def _entry(self, kind: str, credential: str) -> dict[str, Any]:
        seq = len(self.pairs) + 1
        recorded = (T0 + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {
            "v": 1,
            "learner": LEARNER,
            "seq": seq,
            "prev": "0" * 64,
            "kind": kind,
            "credential": credential,
            "issuer": ISSUER,
            "key": KEY.verify_key.verification_method,
            "commitment": "ab" * 32,
            "recorded_at": recorded,
        }

    def post(self, document: dict[str, Any], erased: bool = False) -> str:
        """Record a credential (signed unless this stream skips signing); its id."""
        content = examples.sign(document, KEY, "2024-01-01T00:00:00Z") if self.sign else document
        kind = KIND_OF_TYPE[next(name for name in document["type"] if name in KIND_OF_TYPE)]
        if kind == "status":
            kind = "correction" if "supersedes" in document["credentialSubject"] else "revocation"
        self.pairs.append((self._entry(kind, document["id"]), None if erased else content))
        return str(document["id"])

    def correct(self, names: str, replaced_by: str | None = None, reason: str = "marking error") -> str:
        return self.post(status("supersedes", names, reason, replaced_by))

    def revoke(self, names: str, reason: str = "issued in error") -> str:
        return self.post(status("revokes", names, reason))

    def end(self, enrolment: str, outcome: str = "completed", end_date: str = "2024-06-30") -> str:
        document = examples.enrolment(ISSUER, LEARNER)
        document["type"] = ["VerifiableCredential", "EnrolmentEndedCredential"]
        document["credentialSubject"] = {
            "id": LEARNER,
            "enrolment": enrolment,
            "outcome": outcome,
            "endDate": end_date,
        }
        return self.post(document)

    def items(self) -> dict[str, Item]:
        return fold(self.pairs, LEARNER)

    def portfolio(self) -> Portfolio:
        return portfolio(LEARNER, self.items().values())


def status(action: str, names: str, reason: str, replaced_by: str | None = None) -> dict[str, Any]:
    return examples.status(
        ISSUER,
        LEARNER,
        action=action,
        names=names,
        reason=reason,
        replaced_by=replaced_by,
        valid_from="2024-02-01T00:00:00Z",
    )


def admission(decision: str, day: str, programme: str = "BSc (Hons) Computer Science") -> dict[str, Any]:
    document = examples.admission(ISSUER, LEARNER)
    document["credentialSubject"].update(decision=decision, decisionDate=day, programme=programme)
    return document


def employment(start: str, role: str, end: str | None = None) -> dict[str, Any]:
    document = examples.employment(ISSUER, LEARNER)
    document["credentialSubject"].update(startDate=start, role=role, **({"endDate": end} if end else {}))
    return document


# --- every kind ---------------------------------------------------------------------------------


def test_registration_changes_nothing() -> None:
    stream = Stream()
    assert apply({}, LEARNER, *stream.pairs[0]) == []
    assert stream.portfolio() == Portfolio(LEARNER, (), (), (), (), (), ())


def test_every_kind_reads_as_plain_fields() -> None:
    stream = Stream()
    ids = {kind: stream.post(build(ISSUER, LEARNER)) for kind, build in examples.EXAMPLES.items()}
    items = stream.items()
    assessment, award = items[ids["assessment"]], items[ids["award"]]
    assert (assessment.kind, assessment.type_name, assessment.title) == (
        "assessment",
        "AssessmentResultCredential",
        "A level Mathematics",
    )
    assert assessment.detail == {
        "assessment": "A level Mathematics",
        "component": "Paper 1: Pure Mathematics",
        "result": "A*",
        "date": "2021-06-10",
        "qualification": {"title": "A level Mathematics", "framework": "RQF", "level": "3"},
    }
    assert (assessment.issuer, assessment.seq, assessment.valid_from) == (ISSUER, 3, "2021-08-12T08:00:00Z")
    assert award.title == "BSc (Hons) Computer Science"
    assert award.detail == {
        "name": "BSc (Hons) Computer Science",
        "framework": "FHEQ",
        "level": "6",
        "credits": 360,
        "result": "First",
        "awarded": "2024-07-01T09:00:00Z",
    }
    assert items[ids["enrolment"]].detail == {
        "programme": "BSc (Hons) Computer Science",
        "provider": "University of Caerleon",
        "start": "2021-09-20",
        "expected_end": "2024-06-30",
        "state": "active",
        "ended": None,
        "ended_by": None,
    }
    assert (
        items[ids["admission"]].title
        == "Conditional offer: BSc (Hons) Computer Science at University of Caerleon"
    )
    assert items[ids["admission"]].detail == {
        "institution": "University of Caerleon",
        "decision": "conditional-offer",
        "programme": "BSc (Hons) Computer Science",
        "date": "2021-03-01",
    }
    recruitment = items[ids["recruitment"]]
    assert (recruitment.kind, recruitment.title) == (
        "recruitment",
        "Graduate Software Engineer at Severn Software Ltd",
    )
    assert recruitment.detail == {
        "employer": "Severn Software Ltd",
        "role": "Graduate Software Engineer",
        "start": "2024-09-02",
        "end": None,
        "qualifications_checked": True,
    }
    assert {item.status for item in items.values()} == {"valid"}
    shown = stream.portfolio()
    sections = (shown.enrolments, shown.assessments, shown.awards, shown.admissions, shown.employment)
    assert [len(section) for section in sections] == [1, 1, 1, 1, 1]
    assert shown.employment[0].item == recruitment
    json.dumps(shown.to_json())


# --- corrections and revocations ----------------------------------------------------------------


def test_correction_with_replacement_shows_the_new_value_with_history() -> None:
    stream = Stream()
    first = stream.post(examples.assessment(ISSUER, LEARNER, result="B"))
    second = stream.post(examples.assessment(ISSUER, LEARNER, result="A"))
    third = stream.post(examples.assessment(ISSUER, LEARNER, result="A*"))
    before = stream.items()
    correction = stream.correct(first, replaced_by=second, reason="remarked")
    changed = apply(MappingProxyType(before), LEARNER, *stream.pairs[-1])
    assert [item.credential for item in changed] == [correction, first]
    assert before[first].status == "valid"  # apply does not mutate
    assert changed[0].kind == "correction"
    assert changed[0].detail == {"names": first, "replaced_by": second, "reason": "remarked"}
    target = changed[1]
    assert (target.status, target.superseded_by, target.replaced_by, target.reason) == (
        "superseded",
        correction,
        second,
        "remarked",
    )
    stream.correct(second, replaced_by=third, reason="second remark")
    shown = stream.portfolio().assessments
    assert [(entry.item.credential, [old.credential for old in entry.history]) for entry in shown] == [
        (third, [first, second])
    ]
    assert shown[0].item.detail["result"] == "A*"
    assert [old.detail["result"] for old in shown[0].history] == ["B", "A"]


def test_correction_without_replacement_keeps_the_item_marked() -> None:
    stream = Stream()
    award = stream.post(examples.award(ISSUER, LEARNER))
    correction = stream.correct(award, reason="awarded to the wrong learner")
    item = stream.items()[award]
    assert (item.status, item.superseded_by, item.replaced_by) == ("superseded", correction, None)
    (shown,) = stream.portfolio().awards
    assert shown.item == item
    assert shown.history == ()


def test_replacements_that_loop_show_each_item_marked() -> None:
    stream = Stream()
    first = stream.post(examples.assessment(ISSUER, LEARNER, result="B"))
    second = stream.post(examples.assessment(ISSUER, LEARNER, result="A"))
    stream.correct(first, replaced_by=second)
    stream.correct(second, replaced_by=first)
    shown = stream.portfolio().assessments
    assert [(entry.item.credential, entry.item.status, entry.history) for entry in shown] == [
        (first, "superseded", ()),
        (second, "superseded", ()),
    ]


def test_revocation_is_final() -> None:
    stream = Stream()
    award = stream.post(examples.award(ISSUER, LEARNER))
    replacement = stream.post(examples.award(ISSUER, LEARNER))
    revocation = stream.revoke(award, reason="fraud")
    items = stream.items()
    later = stream.correct(award, replaced_by=replacement)
    assert [item.credential for item in apply(items, LEARNER, *stream.pairs[-1])] == [later]
    stream.revoke(award, reason="again")
    item = stream.items()[award]
    assert (item.status, item.revoked_by, item.reason, item.superseded_by) == (
        "revoked",
        revocation,
        "fraud",
        None,
    )
    assert [entry.item.status for entry in stream.portfolio().awards] == ["revoked", "valid"]


def test_revoking_a_superseded_item_keeps_the_correction() -> None:
    stream = Stream()
    old = stream.post(examples.assessment(ISSUER, LEARNER, result="C"))
    new = stream.post(examples.assessment(ISSUER, LEARNER, result="B"))
    correction = stream.correct(old, replaced_by=new)
    revocation = stream.revoke(old, reason="withdrawn")
    item = stream.items()[old]
    assert (item.status, item.superseded_by, item.replaced_by, item.revoked_by, item.reason) == (
        "revoked",
        correction,
        new,
        revocation,
        "withdrawn",
    )


def test_unknown_targets_and_repeated_entries_change_nothing_else() -> None:
    stream = Stream()
    stream.post(examples.enrolment(ISSUER, LEARNER))
    correction = stream.correct("urn:uuid:00000000-0000-4000-8000-00000000dead")
    ending = stream.end("urn:uuid:00000000-0000-4000-8000-00000000beef")
    items = stream.items()
    assert set(items) == {stream.pairs[1][0]["credential"], correction, ending}
    assert apply(items, LEARNER, *stream.pairs[-1]) == []  # already folded
    with pytest.raises(ValueError, match="belongs to"):
        apply(items, "urn:uuid:11111111-1111-4111-8111-111111111111", *stream.pairs[-1])


def test_reads_other_items_tells_from_the_item_what_the_content_tells() -> None:
    """`reads_other_items(item)` is what `apply` reads: a status or ending credential's item alone."""
    stream = Stream()
    for build in examples.EXAMPLES.values():
        stream.post(build(ISSUER, LEARNER))
    enrolment = stream.post(examples.enrolment(ISSUER, LEARNER))
    stream.correct(stream.end(enrolment, "completed", "2024-06-30"))
    stream.revoke(stream.post(examples.award(ISSUER, LEARNER)))
    stream.post(status("supersedes", enrolment, "x"), erased=True)
    unlisted = ("StatusCredential", "EnrolmentEndedCredential")
    for entry, content in stream.pairs[1:]:
        expected = content is not None and credential_type(content) in unlisted
        assert reads_other_items(read_item(LEARNER, entry, content)) is expected


@given(
    st.one_of(
        st.lists(st.sampled_from([*KIND_OF_TYPE, "VerifiableCredential", "Other", 7, None]), max_size=4),
        st.text(max_size=3),
        st.none(),
    )
)
def test_credential_type_is_the_one_known_type(types: object) -> None:
    known = [name for name in types if name in KIND_OF_TYPE] if isinstance(types, list) else []
    assert credential_type({"type": types}) == (str(known[0]) if len(known) == 1 else None)


# --- enrolments, admissions, employment --------------------------------------------------------


def test_enrolment_ended_changes_its_state() -> None:
    stream = Stream()
    enrolment = stream.post(examples.enrolment(ISSUER, LEARNER))
    completed = stream.end(enrolment, "completed", "2024-06-30")
    detail = stream.items()[enrolment].detail
    assert (detail["state"], detail["ended"], detail["ended_by"]) == ("completed", "2024-06-30", completed)
    (shown,) = stream.portfolio().enrolments  # the ending is not listed on its own
    assert shown.item.credential == enrolment
    withdrawn = stream.end(enrolment, "withdrawn", "2023-01-15")
    assert stream.items()[enrolment].detail["state"] == "withdrawn"
    stream.correct(withdrawn, replaced_by=completed)
    assert stream.items()[enrolment].detail["ended_by"] == completed
    stream.revoke(completed)
    detail = stream.items()[enrolment].detail
    assert (detail["state"], detail["ended"], detail["ended_by"]) == ("active", None, None)


def test_admissions_show_the_latest_decision_per_application() -> None:
    stream = Stream()
    conditional = stream.post(admission("conditional-offer", "2021-03-01"))
    met = stream.post(admission("conditions-met", "2021-08-12"))
    other = stream.post(admission("offer", "2021-02-01", programme="BSc (Hons) Mathematics"))
    early = stream.post(admission("offer", "2021-01-10"))  # recorded last, decided first
    groups = stream.portfolio().admissions
    assert [(group.programme, group.latest.credential) for group in groups] == [
        ("BSc (Hons) Mathematics", other),
        ("BSc (Hons) Computer Science", met),
    ]
    assert [item.credential for item in groups[1].history] == [early, conditional]
    stream.revoke(met, reason="conditions not met after all")
    group = stream.portfolio().admissions[1]
    assert group.latest.credential == conditional
    assert [(item.credential, item.status) for item in group.history] == [(early, "valid"), (met, "revoked")]


def test_employment_is_a_history_by_start_date() -> None:
    stream = Stream()
    later = stream.post(employment("2026-01-05", "Software Engineer"))
    first = stream.post(employment("2024-09-02", "Graduate Software Engineer", end="2025-12-31"))
    shown = stream.portfolio().employment
    assert [entry.item.credential for entry in shown] == [first, later]
    assert shown[0].item.detail["end"] == "2025-12-31"


# --- erasure and rows --------------------------------------------------------------------------


def test_erased_content_keeps_only_the_entry_facts() -> None:
    stream = Stream()
    award = stream.post(examples.award(ISSUER, LEARNER), erased=True)
    stream.post(status("supersedes", award, "late"), erased=True)
    revocation = stream.revoke(award)
    item = stream.items()[award]
    assert item == Item(
        award,
        LEARNER,
        "award",
        None,
        ISSUER,
        2,
        stream.pairs[1][0]["recorded_at"],
        None,
        None,
        {},
        "erased",
        revoked_by=revocation,
        reason="issued in error",
    )
    shown = stream.portfolio()
    assert [entry.credential for entry in shown.erased] == [award, stream.pairs[2][0]["credential"]]
    assert shown.awards == ()


def test_rows_round_trip() -> None:
    stream = Stream()
    ids = [stream.post(build(ISSUER, LEARNER)) for build in examples.EXAMPLES.values()]
    stream.correct(ids[1], replaced_by=ids[0])
    stream.end(ids[0])
    stream.revoke(ids[2])
    stream.post(examples.assessment(ISSUER, LEARNER), erased=True)
    for item in stream.items().values():
        row = item.to_row()
        assert list(row) == [name.name for name in fields(Item)]  # items made without __init__ too
        assert Item(**{**row, "detail": item.detail}) == item
        assert all(value is None or isinstance(value, str | int) for value in row.values())
        assert Item.from_row(json.loads(json.dumps(row))) == item
        assert Item.from_row(row).to_row() == row


# --- properties --------------------------------------------------------------------------------

BUILDERS = [*examples.EXAMPLES.values()]
_op = st.tuples(
    st.sampled_from(["post", "post", "correct", "correct", "revoke", "end"]),
    st.integers(0, 99),  # which builder to post, or which earlier credential to name
    st.one_of(st.none(), st.integers(0, 99)),  # the year, the replacement, or the outcome
    st.sampled_from([False] * 7 + [True]),  # mostly readable content, sometimes erased
)


def _stream(operations: list[tuple[str, int, int | None, bool]]) -> tuple[Stream, dict[str, str]]:
    """A stream from the operations, and each posted credential's expected status (a simple model)."""
    stream, expected, types = Stream(sign=False), dict[str, str](), dict[str, str]()
    for number, (action, which, option, erased) in enumerate(operations):
        posted = [pair[0]["credential"] for pair in stream.pairs[1:]]
        if action == "post":
            day = f"202{(option or 0) % 4}-0{1 + number % 9}-1{number % 10}"
            document = BUILDERS[which % len(BUILDERS)](ISSUER, LEARNER, f"{day}T00:00:00Z")
            for name in ("startDate", "decisionDate", "assessmentDate"):
                if name in document["credentialSubject"]:
                    document["credentialSubject"][name] = day
        elif not posted:
            continue
        elif action == "end":
            enrolments = [other for other in posted if types[other] == "EnrolmentCredential"]
            document = examples.enrolment(ISSUER, LEARNER)
            document["type"] = ["VerifiableCredential", "EnrolmentEndedCredential"]
            document["credentialSubject"] = {
                "id": LEARNER,
                "enrolment": (enrolments or posted)[which % len(enrolments or posted)],
                "outcome": ("completed", "withdrawn", "transferred")[(option or 0) % 3],
                "endDate": "2024-06-30",
            }
        else:
            targets = [other for other in posted if types[other] != "StatusCredential"] or posted
            target = targets[which % len(targets)]
            alike = [other for other in posted if other != target and types[other] == types[target]]
            replacement = None if option is None else (alike or posted)[option % len(alike or posted)]
            document = status("supersedes" if action == "correct" else "revokes", target, "why", replacement)
            if not erased and expected[target] == "valid":
                expected[target] = "superseded" if action == "correct" else "revoked"
            elif not erased and expected[target] == "superseded" and action == "revoke":
                expected[target] = "revoked"
        document["id"] = f"urn:uuid:{UUID(int=number + 1)}"
        credential = stream.post(document, erased=erased)
        expected[credential] = "erased" if erased else "valid"
        types[credential] = document["type"][-1]
    return stream, expected


@settings(max_examples=200, deadline=None)
@given(operations=st.lists(_op, min_size=4, max_size=30), data=st.data())
def test_stepwise_prefix_and_any_order_agree(
    operations: list[tuple[str, int, int | None, bool]], data: st.DataObject
) -> None:
    stream, expected = _stream(operations)
    everything = stream.items()
    persisted: dict[str, Item] = {}
    for entry, content in stream.pairs:
        snapshot = dict(persisted)
        changed = apply(MappingProxyType(persisted), LEARNER, entry, content)
        assert persisted == snapshot
        assert len({item.credential for item in changed}) == len(changed)
        persisted.update((item.credential, item) for item in changed)
    assert persisted == everything
    split = data.draw(st.integers(0, len(stream.pairs)))
    assert fold(stream.pairs[split:], LEARNER, fold(stream.pairs[:split], LEARNER)) == everything
    assert {credential: item.status for credential, item in everything.items()} == expected
    for item in everything.values():
        assert Item.from_row(item.to_row()) == item
    shown = portfolio(LEARNER, everything.values())
    assert portfolio(LEARNER, data.draw(st.permutations(list(everything.values())))) == shown
    listed = [entry.credential for entry in shown.erased]
    for section in (shown.enrolments, shown.assessments, shown.awards, shown.employment):
        listed += [item.credential for entry in section for item in (entry.item, *entry.history)]
    listed += [item.credential for group in shown.admissions for item in (group.latest, *group.history)]
    unlisted = ("StatusCredential", "EnrolmentEndedCredential")
    listable = [
        item for item in everything.values() if item.status == "erased" or item.type_name not in unlisted
    ]
    assert sorted(listed) == sorted(item.credential for item in listable)
    json.dumps(shown.to_json())


DETAIL_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
    lambda inner: st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), DETAIL_VALUES, max_size=8))
def test_detail_text_is_the_canonical_json_rows_were_first_written_with(detail: dict[str, Any]) -> None:
    """Views built before and after the switch to orjson must hold the same text (the audit compares
    a live view with a rebuild)."""
    expected = json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_text(detail) == expected
    assert json.loads(expected) == detail
