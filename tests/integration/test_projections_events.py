"""The projections' event reader gives every stored event as the library's mapper decodes it, on
SQLite and PostgreSQL: the ledger's own events decoded by orjson, any the fast path might read
otherwise by the mapper itself.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger import examples
from ledger.application import Ledger
from ledger.posting import post_batch
from projections.bootstrap import open_projections
from projections.events import Event, EventReader
from tests.conftest import Issuer
from tests.integration.test_projections import snapshot


class Odd(Aggregate):
    """An aggregate (not the ledger's) whose events carry any value."""

    @event("Noted")
    def __init__(self, value: Any) -> None:
        self.value = value


LEFT_TO_THE_MAPPER: list[Any] = [
    UUID(int=7),  # a transcoded value besides the timestamp
    {"_type_": "uuid_hex", "_data_": UUID(int=8).hex},  # a plain dict the mapper decodes to a UUID
    "\x01 needs a \\u escape",
    "_type_",
    {"_type_": "no such transcoding"},
]
READ_BY_ORJSON: list[Any] = [2**70, -1.5e-7, "Ŵyn ☃", [None, True, {"a": []}], {"_data_": "x"}]


def mapped(ledger: Ledger) -> list[Event]:
    """Every stored event as the library reads and decodes it."""
    found = []
    for notification in ledger.recorder.select_notifications(start=1, limit=100_000):
        decoded = ledger.mapper.to_domain_event(notification)
        fields = dict(vars(decoded))
        del fields["originator_id"], fields["originator_version"]
        found.append(Event(notification.id, type(decoded).__qualname__, fields))
    return found


def test_every_stored_event_reads_as_the_mapper_decodes_it(
    ledger: Ledger, university: Issuer, learner: str
) -> None:
    award = examples.sign(examples.award(university.did, learner), university.key)
    revocation = examples.status(university.did, learner, action="revokes", names=award["id"], reason="x")
    erased = ledger.register_learner("1000000019", "Zephyrine Quillfeather", "2001-02-03")
    post_batch(
        ledger,
        [
            award,
            examples.sign(revocation, university.key),
            examples.sign(examples.enrolment(university.did, erased), university.key),
        ],
    )
    request = ledger.erasures.request(ledger, erased, "please forget me")
    assert ledger.erasures.approve(ledger, request.id).state == "completed"
    ledger.save(*(Odd(value) for value in LEFT_TO_THE_MAPPER + READ_BY_ORJSON))

    reader = EventReader(ledger)
    first = reader.read(1, 7)
    read = first + reader.read(first[-1].position + 1, 100_000, stop=10**6)
    assert read == mapped(ledger)
    assert reader.mapped == len(LEFT_TO_THE_MAPPER)
    assert {"LearnerStream.Erased", "CredentialClaim.StatusChanged", "Organisation.Accredited"} <= {
        found.name for found in read
    }
    assert reader.read(read[2].position, 100, stop=read[3].position) == read[2:4]

    views = open_projections(ledger, inline=False)
    views.catch_up(batch=3)
    followed = snapshot(views)
    views.rebuild()
    assert snapshot(views) == followed
    assert len(followed["view_portfolio_items"]) == 2
