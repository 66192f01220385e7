"""The index claims behind a page of an audit's records (ledger/indexes.py), read in one query and
attached to each record as its Anchor (ledger/audit_anchors.py checks them).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple, cast
from uuid import UUID

from eventsourcing.domain import CanInitAggregate, CanMutateAggregate, decorated_funcs
from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.utils import get_topic

from ledger.application import Ledger
from ledger.audit_decoding import EventDecoder
from ledger.audit_source import Anchor, Opening
from ledger.errors import StorageUnavailable
from ledger.indexes import (
    CredentialClaim,
    ErasureClaim,
    KeyClaim,
    UlnClaim,
    credential_claim_id,
    erasure_claim_id,
    key_claim_id,
    uln_claim_id,
)
from ledger.learners import ERASURE
from ledger.storage import LedgerRecorder
from ledger.streams import Entry


class ClaimReader:
    """Finds the index claim that pins each entry of a page, for the ledger's own database."""

    def __init__(self, ledger: Ledger, decoder: EventDecoder) -> None:
        self.ledger = ledger
        self.decoder = decoder

    def anchors(self, entries: list[tuple[Entry | None, Opening | None]]) -> list[Anchor | None]:
        """The claim behind each (entry, opening) of a page (None when its kind has none), read in
        one query.
        """
        wanted = [self._claim_wanted(entry, opening) for entry, opening in entries]
        claims = self._find_many([want[0] for want in wanted if want is not None])
        return [None if want is None else _anchor(claims, *want) for want in wanted]

    def _claim_wanted(
        self, entry: Entry | None, opening: Opening | None
    ) -> tuple[UUID, type[Any], str] | None:
        """The index claim that pins this entry (its id, class and what it is on), if its kind has one."""
        if entry is None:
            return None
        kind = entry.get("kind")
        if kind == ERASURE:
            learner = str(entry.get("learner"))
            return erasure_claim_id(learner), ErasureClaim, "the learner's erasure"
        if opening is None:
            return _key_claim(entry) if kind == "key-added" else None
        if kind != "registration":
            name = entry.get("credential")
            return credential_claim_id(str(name)), CredentialClaim, f"credential {name}"
        if not isinstance(opening.content, dict):
            return None
        digest = self.ledger.master_key.uln_digest(str(opening.content.get("uln"))).hex()
        return uln_claim_id(digest), UlnClaim, "the learner's ULN"

    def _find_many(self, claim_ids: list[UUID]) -> dict[UUID, object]:
        """Claims rebuilt from their events, read in one query: each the claim, or the exception
        rebuilding it raised (a tampered event can fail anywhere in decoding); ids with none absent.

        As Ledger.find_many, without project_aggregate's runtime Protocol check on every event
        (a fifth of the time an audit spent reading a page), each event decoded as the mapper
        would (ledger/audit_decoding.py: orjson where that is exact).
        """
        if not claim_ids:
            return {}
        try:
            stored = cast(LedgerRecorder, self.ledger.recorder).select_events_of(claim_ids)
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error
        found: dict[UUID, object] = {}
        for claim_id, events in stored.items():
            claim = self._replay(events)
            if claim is not None:
                found[claim_id] = claim
                continue
            try:
                for stored_event in events:
                    claim = self.decoder.domain_event(stored_event).mutate(claim)
                found[claim_id] = claim
            except Exception as error:  # reported as the claim not parsing
                found[claim_id] = error
        return found

    def _replay(self, events: list[StoredEvent]) -> Any:
        """The claim its events make, replayed without the library's event objects, when each event
        is one of the claims' own with exactly its fields, decoded exactly (so the library's replay
        could neither fail nor differ); None when only the library can say (tampered rows, say).

        The claim holds what the aggregate's own methods set (the same bodies run), not the
        library's private attributes (id, version, timestamps), which an anchor does not compare.
        """
        claim: Any = None
        for version, stored in enumerate(events, start=1):
            replay = _REPLAYS.get(stored.topic)
            state = self.decoder.plain_state(stored) if replay is not None else None
            if replay is None or state is None or state.keys() != replay.fields:
                return None
            if stored.originator_version != version or (claim is None) != replay.created:
                return None
            if replay.created:
                if state["originator_topic"] != replay.aggregate_topic:
                    return None
                shell: Any = replay.aggregate  # the library's mutate makes the claim's shell so
                claim = shell.__new__(shell)
            elif type(claim) is not replay.aggregate:
                return None
            replay.body(claim, **{name: state[name] for name in replay.params})
        return claim


class _Replay(NamedTuple):
    """How an index claim's event of one topic changes the claim, as the library replays it."""

    aggregate: type[Any]
    aggregate_topic: str
    created: bool
    fields: frozenset[str]
    """The keys its stored state holds: the event's fields but its originator id and version."""
    params: tuple[str, ...]
    body: Callable[..., None]
    """The aggregate's method the event runs (its __init__ for the event that creates it)."""


def _replays() -> dict[str, _Replay]:
    """Each claim event's replay: the creating event runs the aggregate's __init__ (and its no-op
    apply), every other event the method its @event decorator wraps, with the state's values for
    that method's parameters (as CanInitAggregate.mutate and DecoratedFuncCaller.apply do).
    """
    found: dict[str, _Replay] = {}
    for aggregate in (UlnClaim, CredentialClaim, KeyClaim, ErasureClaim):
        for name, event_class in vars(aggregate).items():
            created = name == "Claimed"
            body = aggregate.__init__ if created else decorated_funcs.get(event_class)
            if body is None or not isinstance(event_class, type):
                continue
            params = tuple(inspect.signature(body).parameters)[1:]
            fields = frozenset(field.name for field in dataclasses.fields(event_class))
            fields -= {"originator_id", "originator_version"}
            plain = not created or (
                issubclass(event_class, CanInitAggregate) and event_class.apply is CanMutateAggregate.apply
            )
            if not plain or "id" in params or not set(params) <= fields:
                continue  # replayed by the library, which knows what else such an event does
            found[get_topic(event_class)] = _Replay(
                aggregate, get_topic(aggregate), created, fields, params, body
            )
    return found


_REPLAYS = _replays()


def _key_claim(entry: Entry) -> tuple[UUID, type[Any], str]:
    """The claim on the key an organisation's key-added entry adds."""
    data = entry.get("data")
    key = data.get("key") if isinstance(data, dict) else None
    return key_claim_id(str(key)), KeyClaim, f"key {key}"


def _anchor(claims: dict[UUID, object], claim_id: UUID, kind: type[Any], what: str) -> Anchor:
    """The claim read with the page, as an Anchor (None fields when there is none of that kind)."""
    read = claims.get(claim_id)
    if isinstance(read, Exception):
        return Anchor(what, None, f"the index claim on {what} does not parse: {read}")
    if not isinstance(read, kind):
        return Anchor(what, None)
    return Anchor(what, {name: value for name, value in vars(read).items() if not name.startswith("_")})
