"""The shared trust rules: key windows, accreditation, scopes, kinds, and replaying a registry.

Where the ledger applies a rule itself, the same inputs go through both, so the ledger and the
offline verifier cannot drift apart.
"""

from __future__ import annotations

import copy
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import examples
from ledger.credentials import parse_credential
from ledger.errors import InvalidRegistryChange
from ledger.registry import Organisation, organisation_id
from ledger.streams import first_entry
from verification.errors import MalformedRegistry
from verification.keys import SigningKey
from verification.trust import (
    KIND_OF_TYPE,
    Accreditation,
    KeyRecord,
    credential_kind,
    credential_scope,
    fold_registry,
    parse_instant,
    scope_matches,
)

T0 = datetime(2020, 1, 1, tzinfo=UTC)
DID = "did:web:ledger.example:orgs:caerleon"
LEARNER = "urn:uuid:7d3f1e2a-5b6c-4d8e-9f01-23456789abcd"
KEYS = [SigningKey.from_seed(bytes([n]) * 32).verify_key.multibase for n in range(1, 4)]


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


# --- key windows and accreditation -------------------------------------------------------------


def test_key_usable_in_its_window_only() -> None:
    key = KeyRecord("z6Mk", valid_from=at(10), retired_at=at(20))
    assert not key.usable_at(at(9))
    assert key.usable_at(at(10))
    assert key.usable_at(at(20) - timedelta(microseconds=1))
    assert not key.usable_at(at(20))
    compromised = KeyRecord("z6Mk", valid_from=at(10), compromised_at=at(15))
    assert compromised.usable_at(at(14))
    assert not compromised.usable_at(at(15))
    assert KeyRecord("z6Mk", valid_from=at(0)).usable_at(at(10_000))


def test_accreditation_covers_kind_scope_and_window() -> None:
    accreditation = Accreditation(("award", "assessment"), ("FHEQ:6", "RQF"), at(0), at(100))
    assert accreditation.covers("award", "FHEQ:6", at(0))
    assert accreditation.covers("assessment", "RQF:3", at(50))
    assert not accreditation.covers("award", "FHEQ:7", at(50))
    assert not accreditation.covers("recruitment", None, at(50))
    assert not accreditation.covers("award", "FHEQ:6", at(-1))
    assert not accreditation.covers("award", "FHEQ:6", at(100))
    assert accreditation.covers("award", None, at(50))  # kinds without a scope need only the kind
    assert Accreditation(("award",), ("*",), at(0), None).covers("award", "SCQF:10", at(10_000))


@pytest.mark.parametrize(
    ("pattern", "scope", "matches"),
    [
        ("*", "FHEQ:6", True),
        ("FHEQ", "FHEQ:6", True),
        ("FHEQ:*", "FHEQ:7", True),
        ("fheq:6", "FHEQ:6", True),
        ("FHEQ:6", "FHEQ:7", False),
        ("RQF", "FHEQ:6", False),
        ("RQF:3", "RQF", False),
    ],
)
def test_scope_patterns(pattern: str, scope: str, matches: bool) -> None:
    assert scope_matches(pattern, scope) is matches


# --- kinds and scopes of credentials -----------------------------------------------------------


def signed_examples() -> list[dict[str, Any]]:
    key = SigningKey.from_seed(b"\x07" * 32)
    documents = [make(DID, LEARNER) for make in examples.EXAMPLES.values()]
    documents.append(
        examples.status(
            DID,
            LEARNER,
            action="revokes",
            names=documents[0]["id"],
            reason="issued in error",
            valid_from="2024-01-01T00:00:00Z",
        )
    )
    return [examples.sign(document, key, "2024-01-01T00:00:00Z") for document in documents]


@pytest.mark.parametrize("document", signed_examples(), ids=lambda document: str(document["type"][1]))
def test_kind_and_scope_are_what_the_ledger_reads(document: dict[str, Any]) -> None:
    credential = parse_credential(document, 64 * 1024)
    assert credential_kind(document) == credential.kind
    assert credential_scope(document) == credential.scope


def test_scopes_of_assessments_and_awards() -> None:
    assert credential_scope(examples.assessment(DID, LEARNER)) == "RQF:3"
    assert credential_scope(examples.award(DID, LEARNER)) == "FHEQ:6"
    assert credential_scope(examples.employment(DID, LEARNER)) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["credentialSubject"]["achievement"].pop("alignment"),
        lambda d: d["credentialSubject"]["achievement"].update(alignment=[]),
        lambda d: d["credentialSubject"]["achievement"].update(alignment=["FHEQ:6"]),
        lambda d: d["credentialSubject"]["achievement"]["alignment"][0].pop("targetCode"),
        lambda d: d["credentialSubject"]["achievement"]["alignment"][0].update(targetFramework=6),
        lambda d: d["credentialSubject"].update(achievement="BSc"),
        lambda d: d.update(credentialSubject=[]),
        lambda d: d.update(type=["VerifiableCredential", "AchievementCredential", "OpenBadgeCredential"]),
    ],
)
def test_scope_reading_is_tolerant(damage: Any) -> None:
    document = copy.deepcopy(examples.award(DID, LEARNER))
    damage(document)
    assert credential_scope(document) is None


def test_kinds_of_types() -> None:
    assert set(KIND_OF_TYPE.values()) == {
        "enrolment",
        "assessment",
        "award",
        "admission",
        "recruitment",
        "status",
    }
    assert credential_kind({"type": ["VerifiableCredential", "EmploymentCredential"]}) == "recruitment"
    assert credential_kind({"type": ["VerifiableCredential"]}) is None
    assert credential_kind({"type": "EmploymentCredential"}) is None
    assert credential_kind({"type": ["EmploymentCredential", "AdmissionCredential"]}) is None
    assert credential_kind({}) is None


def test_instants_are_read_as_the_ledger_reads_validFrom() -> None:
    assert parse_instant("2024-07-01T09:00:00Z") == datetime(2024, 7, 1, 9, tzinfo=UTC)
    assert parse_instant("2024-07-01T10:00:00.5+01:00") == datetime(2024, 7, 1, 9, 0, 0, 500_000, tzinfo=UTC)
    for bad in ("2024-07-01T09:00:00", "2024-07-01", "yesterday", "2024-13-01T00:00:00Z", 20240701, None):
        assert parse_instant(bad) is None


# --- replaying a registry ----------------------------------------------------------------------


def registered(slug: str = "caerleon") -> Organisation:
    data = {"slug": slug, "name": "University of Caerleon", "kind": "university", "did": DID}
    return Organisation(
        entry=first_entry("organisation", organisation_id(slug), "organisation-registered", T0, data=data)
    )


def entries_of(organisation: Organisation) -> list[dict[str, Any]]:
    return [event.entry for event in organisation.collect_events()]  # type: ignore[attr-defined]


COMMANDS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(KEYS), st.integers(-5, 50)),
        st.tuples(st.just("retire"), st.sampled_from(KEYS), st.integers(-5, 80)),
        st.tuples(st.just("compromise"), st.sampled_from(KEYS), st.integers(-5, 80)),
        st.tuples(
            st.just("accredit"),
            st.lists(st.sampled_from(["award", "assessment", "enrolment"]), min_size=1, max_size=2),
            st.lists(st.sampled_from(["*", "FHEQ", "FHEQ:6", "RQF:3"]), min_size=1, max_size=2),
            st.integers(-5, 50),
            st.none() | st.integers(1, 60),
        ),
    ),
    max_size=12,
)


def apply(organisation: Organisation, command: tuple[Any, ...]) -> None:
    try:
        if command[0] == "add":
            organisation.add_key(command[1], at(command[2]), T0)
        elif command[0] == "retire":
            organisation.retire_key(command[1], at(command[2]), T0)
        elif command[0] == "compromise":
            organisation.compromise_key(command[1], at(command[2]), T0)
        else:
            _, kinds, scopes, start, length = command
            until = None if length is None else at(start + length)
            organisation.accredit(Accreditation(tuple(kinds), tuple(scopes), at(start), until), T0)
    except InvalidRegistryChange:
        pass


@settings(max_examples=60, deadline=None)
@given(commands=COMMANDS, probes=st.lists(st.integers(-10, 150), min_size=1, max_size=8))
def test_fold_rebuilds_what_the_ledger_knew(commands: list[tuple[Any, ...]], probes: list[int]) -> None:
    organisation = registered()
    for command in commands:
        apply(organisation, command)
    state = fold_registry(entries_of(organisation))
    assert (state.slug, state.did, state.kind, state.name) == (
        "caerleon",
        DID,
        "university",
        "University of Caerleon",
    )
    assert state.organisation == f"urn:uuid:{organisation.id}"
    assert state.seq == organisation.seq
    assert {key: astuple(record) for key, record in state.keys.items()} == {
        key: astuple(record) for key, record in organisation.keys.items()
    }
    assert [astuple(item) for item in state.accreditations] == [
        astuple(item) for item in organisation.accreditations
    ]
    for day in probes:
        for kind in ("award", "assessment", "recruitment"):
            for scope in (None, "FHEQ:6", "RQF:3", "SCQF:10"):
                assert state.is_accredited(kind, scope, at(day)) == organisation.is_accredited(
                    kind, scope, at(day)
                )
        for key in KEYS:
            if key in state.keys:
                assert state.keys[key].usable_at(at(day)) == organisation.keys[key].usable_at(at(day))


def test_fold_refuses_what_the_ledger_never_writes() -> None:
    organisation = registered()
    organisation.add_key(KEYS[0], T0, T0)
    organisation.retire_key(KEYS[0], at(5), T0)
    good = entries_of(organisation)
    assert fold_registry(good).keys[KEYS[0]].retired_at == at(5)

    def damaged(change: Any) -> list[dict[str, Any]]:
        entries = copy.deepcopy(good)
        change(entries)
        return entries

    refusals = [
        [],
        good[1:],  # no registration first
        damaged(lambda e: e[1].update(kind="key-rotated")),
        damaged(lambda e: e[2]["data"].update(key=KEYS[1])),  # retiring a key never added
        damaged(lambda e: e.insert(2, copy.deepcopy(e[1]))),  # adding a key twice would un-retire it
        damaged(lambda e: e[1]["data"].update(validFrom="soon")),
        damaged(lambda e: e[1]["data"].update(validFrom="2020-01-01T00:00:00")),
        damaged(lambda e: e[1].pop("data")),
        damaged(lambda e: e[0]["data"].pop("did")),
        damaged(lambda e: e[0]["data"].update(slug=7)),
        damaged(lambda e: e.append({**e[1], "kind": "accreditation-granted", "data": {"kinds": "award"}})),
    ]
    for entries in refusals:
        with pytest.raises(MalformedRegistry):
            fold_registry(entries)


@pytest.mark.parametrize(
    "value",
    [
        "2024-07-01T09:00:00Z",
        "2024-07-01T10:00:00+01:00",
        "2024-07-01T09:00:00",
        "2024-13-01T09:00:00Z",
        "",
        7,
    ],
)
def test_remembered_instants_read_as_fresh_ones(value: object) -> None:
    class Text(str):
        pass

    first = parse_instant(value)
    assert parse_instant(value) == first
    if isinstance(value, str):
        assert parse_instant(Text(value)) == first
        if first is not None:
            assert first == datetime.fromisoformat(value.replace("Z", "+00:00"))
            assert first.utcoffset() == datetime.fromisoformat(value.replace("Z", "+00:00")).utcoffset()
