"""The read models on SQLite and PostgreSQL: portfolio, registry, credential index, statistics;
read-your-writes, rebuild and time travel.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import examples
from ledger.application import Ledger
from ledger.posting import post_batch, post_credential
from projections.bootstrap import open_projections
from projections.credential_index import lookup
from projections.portfolio import portfolio
from projections.portfolio_fold import fold
from projections.portfolio_view import live_portfolio, portfolio_as_of
from projections.registry import organisations
from projections.runner import SQLITE_REBUILDING, Projections, ProjectionsBehind
from projections.statistics import counts
from tests.conftest import Issuer


@pytest.fixture
def views(ledger: Ledger) -> Projections:
    """The projections, caught up explicitly by each test (inline on SQLite as in production)."""
    return open_projections(ledger)


def folded(ledger: Ledger, learner: str) -> dict[str, Any]:
    """The portfolio folded straight from the learner's stream."""
    report = ledger.read_stream(learner)
    items = fold(((item.entry, item.content) for item in report.items), learner)
    return portfolio(learner, items.values()).to_json()


def live(views: Projections, learner: str) -> dict[str, Any]:
    """The portfolio the live view holds, after catching up."""
    views.catch_up()
    with views.store.reading() as view:
        return live_portfolio(view, learner).to_json()


def table(views: Projections, name: str, order: str) -> list[dict[str, Any]]:
    """Every row of a view table, in a stable order."""
    with views.store.reading() as view:
        return [dict(row) for row in view.rows(f"SELECT * FROM {{p}}{name} ORDER BY {order}")]


ALL_TABLES = {
    "view_portfolio_items": "credential",
    "view_credentials": "credential",
    "view_organisations": "organisation",
    "view_keys": "key",
    "view_accreditations": "organisation, seq",
    "view_statistics": "issuer, kind, month",
}


def snapshot(views: Projections) -> dict[str, list[dict[str, Any]]]:
    """Every view table's rows."""
    return {name: table(views, name, order) for name, order in ALL_TABLES.items()}


ACTIONS = st.lists(st.tuples(st.sampled_from(["post", "correct", "revoke"]), st.integers(0, 20)), max_size=12)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_the_live_portfolio_equals_a_fold_of_the_stream(
    ledger: Ledger, views: Projections, university: Issuer, learner: str, actions: list[tuple[str, int]]
) -> None:
    recorded: list[str] = [
        item.entry["credential"]
        for item in ledger.read_stream(learner).items[1:]
        if item.entry["kind"] == "award"
    ]
    for action, pick in actions:
        if action == "post" or not recorded:
            document = examples.sign(examples.award(university.did, learner), university.key)
            post_credential(ledger, document)
            recorded.append(document["id"])
            continue
        target = recorded[pick % len(recorded)]
        if action == "correct":
            replacement = examples.sign(examples.award(university.did, learner), university.key)
            post_credential(ledger, replacement)
            recorded.append(replacement["id"])
            status = examples.status(
                university.did,
                learner,
                action="supersedes",
                names=target,
                reason="x",
                replaced_by=replacement["id"],
            )
        else:
            status = examples.status(university.did, learner, action="revokes", names=target, reason="x")
        post_credential(ledger, examples.sign(status, university.key))
    assert live(views, learner) == folded(ledger, learner)


def test_every_kind_appears_with_corrections_applied(
    ledger: Ledger, views: Projections, exam_body: Issuer, university: Issuer, employer: Issuer, learner: str
) -> None:
    first = examples.sign(examples.assessment(exam_body.did, learner, result="B"), exam_body.key)
    second = examples.sign(examples.assessment(exam_body.did, learner, result="A"), exam_body.key)
    correction = examples.status(
        exam_body.did,
        learner,
        action="supersedes",
        names=first["id"],
        reason="remark",
        replaced_by=second["id"],
    )
    post_batch(
        ledger,
        [
            first,
            second,
            examples.sign(correction, exam_body.key),
            examples.sign(examples.enrolment(university.did, learner), university.key),
            examples.sign(examples.award(university.did, learner), university.key),
            examples.sign(examples.employment(employer.did, learner), employer.key),
        ],
    )
    document = live(views, learner)
    assert document == folded(ledger, learner)
    assert len(document["enrolments"]) == len(document["awards"]) == len(document["employment"]) == 1
    with views.store.reading() as view:
        statuses = {
            row["credential"]: row["status"] for row in view.rows("SELECT * FROM {p}view_credentials")
        }
    assert statuses[first["id"]] == "superseded" and statuses[second["id"]] == "valid"


def test_credential_index_and_statistics(
    ledger: Ledger, views: Projections, university: Issuer, learner: str
) -> None:
    award = examples.sign(examples.award(university.did, learner), university.key)
    post_credential(ledger, award)
    revocation = examples.status(university.did, learner, action="revokes", names=award["id"], reason="fraud")
    post_credential(ledger, examples.sign(revocation, university.key))
    ledger.tlog.integrate_all()
    views.catch_up()
    with views.store.reading() as view:
        found = lookup(view, award["id"])
        with ledger.tlog.store.reading() as log:
            leaf = log.leaf_of(learner, 2)
        assert found is not None and leaf is not None
        assert (found.learner, found.seq, found.status, found.leaf_index) == (
            learner,
            2,
            "revoked",
            leaf.index,
        )
        assert found.changed_by == revocation["id"]
        assert lookup(view, "urn:uuid:00000000-0000-4000-8000-000000000000") is None
        month = datetime.now(UTC).strftime("%Y-%m")
        assert {(c.kind, c.count) for c in counts(view) if c.month == month} == {
            ("award", 1),
            ("revocation", 1),
        }


def test_the_registry_as_of_any_instant(ledger: Ledger, views: Projections, exam_body: Issuer) -> None:
    views.catch_up()
    before = datetime.now(UTC)
    key = exam_body.key.verify_key.multibase
    ledger.retire_key("wjec", key, datetime(2022, 1, 1, tzinfo=UTC))
    views.catch_up()
    with views.store.reading() as view:
        then = {org.slug: org for org in organisations(view, before)}
        now = {org.slug: org for org in organisations(view)}
        assert then["wjec"].keys[0].retired_at is None
        assert now["wjec"].keys[0].retired_at == "2022-01-01T00:00:00.000000Z"
        assert now["wjec"].accreditations[0].scopes == ("RQF",)
        assert organisations(view, datetime(1999, 1, 1, tzinfo=UTC)) == []


def test_a_rebuilt_view_is_identical_to_the_live_one(
    ledger: Ledger, views: Projections, exam_body: Issuer, university: Issuer, learner: str
) -> None:
    award = examples.sign(examples.award(university.did, learner), university.key)
    post_batch(ledger, [award, examples.sign(examples.assessment(exam_body.did, learner), exam_body.key)])
    revocation = examples.status(university.did, learner, action="revokes", names=award["id"], reason="x")
    post_credential(ledger, examples.sign(revocation, university.key))
    views.catch_up()
    before = snapshot(views)
    assert before["view_portfolio_items"] and before["view_keys"]
    for name in views.by_name:
        views.rebuild(name)
    assert snapshot(views) == before


def test_projections_that_open_no_content_rebuild_without_reading_data_keys(
    ledger: Ledger, views: Projections, university: Issuer, learner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the portfolio opens sealed content, so the others, rebuilt alone or together, read no
    learner's data key, and their views are as before; the portfolio still reads them."""
    post_credential(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
    views.catch_up()
    before = snapshot(views)
    read: list[object] = []
    data_keys = ledger.data_keys

    def counted(*args: Any) -> Any:
        read.append(args)
        return data_keys(*args)

    monkeypatch.setattr(ledger, "data_keys", counted)
    others = [name for name in views.by_name if name != "portfolio"]
    for name in others:
        views.rebuild(name)
    views.rebuild(*others)
    assert not read
    assert snapshot(views) == before
    views.rebuild("portfolio")
    assert read
    assert snapshot(views) == before


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the pragmas are SQLite's
def test_a_rebuild_on_sqlite_leaves_the_connection_settings_as_they_were(
    ledger: Ledger, views: Projections, university: Issuer, learner: str
) -> None:
    """A rebuild's larger page cache and checkpoint interval (`SQLITE_REBUILDING`) last only as long
    as it, and its views equal those followed one event at a time."""
    assert not views.store.postgres
    post_credential(ledger, examples.sign(examples.enrolment(university.did, learner), university.key))
    views.catch_up()
    followed = snapshot(views)

    def settings() -> dict[str, int]:
        with views.store.reading() as view:
            return {name: int(view.rows(f"PRAGMA {name}")[0][0]) for name in SQLITE_REBUILDING}

    before = settings()
    assert before != SQLITE_REBUILDING
    views.rebuild()
    assert settings() == before
    assert snapshot(views) == followed


def test_read_your_writes_waits_for_the_views(ledger: Ledger, university: Issuer, learner: str) -> None:
    views = open_projections(ledger, inline=False)  # as on PostgreSQL: a follower keeps them current
    receipt = post_credential(
        ledger, examples.sign(examples.enrolment(university.did, learner), university.key)
    )
    assert receipt.position > 0
    with pytest.raises(ProjectionsBehind, match="follower"):
        views.wait_until(receipt.position, timeout=0.1)
    views.catch_up()
    views.wait_until(receipt.position, timeout=0.1)
    with views.store.reading() as view:
        assert live_portfolio(view, learner).to_json()["enrolments"]


def test_as_of_answers_match_a_rebuild_stopped_there(
    ledger: Ledger, exam_body: Issuer, university: Issuer, learner: str
) -> None:
    views = open_projections(ledger, inline=False)
    first = examples.sign(examples.assessment(exam_body.did, learner, result="C"), exam_body.key)
    post_batch(ledger, [first, examples.sign(examples.enrolment(university.did, learner), university.key)])
    ledger.tlog.integrate_all()
    stop = ledger.recorder.max_notification_id()
    size = ledger.tlog.state().size
    instant = datetime.now(UTC)
    second = examples.sign(examples.assessment(exam_body.did, learner, result="A"), exam_body.key)
    post_credential(ledger, second)
    correction = examples.status(
        exam_body.did,
        learner,
        action="supersedes",
        names=first["id"],
        reason="remark",
        replaced_by=second["id"],
    )
    post_credential(ledger, examples.sign(correction, exam_body.key))
    ledger.tlog.integrate_all()
    views.catch_up(stop=stop)  # a rebuild stopped where the instant was
    with views.store.reading() as view:
        then = live_portfolio(view, learner).to_json()
    assert portfolio_as_of(ledger, learner, as_of=instant).to_json() == then
    assert portfolio_as_of(ledger, learner, at_size=size).to_json() == then
    assert then["assessments"][0]["status"] == "valid"
    assert portfolio_as_of(ledger, learner).to_json() == live(views, learner) != then


def enrolment_ended(issuer: Issuer, learner: str, enrolment: str, outcome: str) -> dict[str, Any]:
    """A signed EnrolmentEndedCredential for `enrolment`."""
    document = examples.enrolment(issuer.did, learner)
    document["type"] = ["VerifiableCredential", "EnrolmentEndedCredential"]
    document["credentialSubject"] = {
        "id": learner,
        "enrolment": enrolment,
        "outcome": outcome,
        "endDate": "2024-06-30",
    }
    return examples.sign(document, issuer.key)


def test_views_rebuilt_in_batches_of_any_size_equal_those_followed_one_event_at_a_time(
    ledger: Ledger, exam_body: Issuer, university: Issuer, learner: str
) -> None:
    """Each batch folds its events in memory and writes each learner's items once, so what one batch
    holds must not matter: several credentials of a learner, corrections and revocations beside what
    they name, an enrolment ended twice with the first ending revoked, and an erasure with other
    learners' entries either side of it.
    """
    views = open_projections(ledger, inline=False)
    erased = ledger.register_learner("1000000019", "Zephyrine Quillfeather", "2001-02-03")

    def status(issuer: Issuer, names: str, replaced_by: str | None = None) -> dict[str, Any]:
        action = "supersedes" if replaced_by else "revokes"
        document = examples.status(
            issuer.did, learner, action=action, names=names, reason="x", replaced_by=replaced_by
        )
        return examples.sign(document, issuer.key)

    def post(*documents: dict[str, Any]) -> None:
        results = post_batch(ledger, list(documents))
        assert not [result for result in results if isinstance(result, Exception)], results
        views.catch_up(batch=1)  # the live follower, one event a transaction

    first = examples.sign(examples.assessment(exam_body.did, learner, result="B"), exam_body.key)
    second = examples.sign(examples.assessment(exam_body.did, learner, result="A"), exam_body.key)
    enrolment = examples.sign(examples.enrolment(university.did, learner), university.key)
    withdrawn = enrolment_ended(university, learner, enrolment["id"], "withdrawn")
    award = examples.sign(examples.award(university.did, learner), university.key)
    post(
        first,
        examples.sign(examples.award(university.did, erased), university.key),
        second,
        status(exam_body, first["id"], replaced_by=second["id"]),
        enrolment,
        withdrawn,
        award,
        status(university, award["id"]),
        examples.sign(examples.enrolment(university.did, erased), university.key),
    )
    post(
        enrolment_ended(university, learner, enrolment["id"], "completed"),
        status(university, withdrawn["id"]),
    )
    request = ledger.erasures.request(ledger, erased, "please forget me")
    assert ledger.erasures.approve(ledger, request.id).state == "completed"
    views.catch_up(batch=1)
    post(examples.sign(examples.admission(university.did, learner), university.key))

    followed = snapshot(views)
    document = live(views, learner)
    assert document == folded(ledger, learner)
    assert document["enrolments"][0]["detail"]["state"] == "completed"
    assert document["assessments"][0]["history"] and document["awards"][0]["status"] == "revoked"
    assert {row["learner"] for row in followed["view_portfolio_items"]} == {learner}
    for batch in (2, 3, 5, 500):
        views.rebuild(batch=batch)
        assert snapshot(views) == followed, batch


@pytest.mark.parametrize("batch", [1, 2])
def test_a_key_destroyed_between_two_batches_is_not_used_for_the_second(
    ledger: Ledger, university: Issuer, learner: str, batch: int
) -> None:
    """One catch-up keeps the data keys it unwrapped, so each is unwrapped once; but every batch reads
    the wrapped keys again, so credentials projected after the erasure committed show as erased, as
    they would had the follower started afresh, never decrypted; a batch read (and decrypted) while
    the one before it was written included.
    """
    views = open_projections(ledger, inline=False)
    views.catch_up()
    first = examples.sign(examples.award(university.did, learner), university.key)
    second = examples.sign(examples.enrolment(university.did, learner), university.key)
    post_credential(ledger, first)
    post_credential(ledger, second)
    seen: dict[str, str] = {}

    def after_each_batch(_: int) -> None:
        with views.store.reading() as view:
            rows = view.rows("SELECT credential, status FROM {p}view_portfolio_items")
        seen.update((row["credential"], row["status"]) for row in rows)
        if rows and not ledger.learner_stream(learner).erased:
            request = ledger.erasures.request(ledger, learner, "please forget me")
            ledger.erasures.approve(ledger, request.id)

    views.catch_up(batch=batch, progress=after_each_batch)
    assert seen == {first["id"]: "valid", second["id"]: "erased"}
    with views.store.reading() as view:
        assert view.rows("SELECT * FROM {p}view_portfolio_items") == []


def test_views_rebuilt_in_large_batches_equal_those_followed_in_small_ones(
    ledger: Ledger, university: Issuer, learner: str
) -> None:
    """Batches of more than 500 events write their rows another way on PostgreSQL (COPY, through a
    temporary table for the portfolio's upserts): such a batch, with a correction and a revocation
    of credentials an earlier batch wrote, gives the views a follower built in small batches.
    """
    views = open_projections(ledger, inline=False)

    def awards(count: int) -> list[dict[str, Any]]:
        return [examples.sign(examples.award(university.did, learner), university.key) for _ in range(count)]

    earlier, later = awards(260), awards(260)
    correction = examples.status(
        university.did,
        learner,
        action="supersedes",
        names=earlier[0]["id"],
        reason="x",
        replaced_by=later[0]["id"],
    )
    revocation = examples.status(
        university.did, learner, action="revokes", names=earlier[1]["id"], reason="x"
    )
    statuses = [examples.sign(correction, university.key), examples.sign(revocation, university.key)]
    for documents in (earlier, [*later[:130], *statuses, *later[130:]]):
        results = post_batch(ledger, documents)
        assert not [result for result in results if isinstance(result, Exception)], results
        views.catch_up(batch=10)
    followed = snapshot(views)
    status = {row["credential"]: row["status"] for row in followed["view_portfolio_items"]}
    assert (status[earlier[0]["id"]], status[earlier[1]["id"]]) == ("superseded", "revoked")
    # 520: the statuses in the second batch, what they name in the first; None: the backend's own size
    # (and, on SQLite, the rebuild's pragmas)
    for batch in (520, 2000, None):
        views.rebuild(batch=batch)
        assert snapshot(views) == followed, batch
