"""The stream side of an audit: each entry decoded from the event store, its link in its stream's
chain checked, what it commits to opened and compared, and credentials handed to the issuer checks.

Memory is bounded: the last entry hash of recently seen streams and recently used data keys are
kept in bounded caches; on a miss the entry before is read back from the event store.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from ledger.application import Ledger
from ledger.audit_anchors import AnchorAuditor
from ledger.audit_issuers import IssuerAuditor, RegistryReplay
from ledger.audit_report import Place, Tally
from ledger.audit_rows import read_notifications
from ledger.errors import LearnerDataErased
from ledger.sealing import DataKey, SealBroken
from ledger.streams import Entry, urn, uuid_of
from verification.canonical import canonical_json
from verification.entries import GENESIS, commitment, entry_hash
from verification.errors import VerificationError
from verification.merkle import leaf_hash

LEARNER_TOPIC = "ledger.learners:"
REGISTRY_TOPIC = "ledger.registry:"
REGISTRY_TOPICS = tuple(
    f"{REGISTRY_TOPIC}Organisation.{name}"
    for name in ("Registered", "KeyAdded", "KeyRetired", "KeyCompromised", "Accredited")
)
"""The topics of every registry event (ledger/registry.py), to replay the registry alone."""

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A least-recently-used map holding at most `size` items."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The item, freshly used, or None."""
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: K, value: V) -> None:
        """Keep an item, forgetting the least recently used one beyond the size."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)


def carries_entry(topic: str) -> bool:
    """True for the events of learner and organisation streams (index claims carry no entry)."""
    return topic.startswith((LEARNER_TOPIC, REGISTRY_TOPIC))


@dataclass(frozen=True)
class Decoded:
    """An entry-carrying stored event as read back; `entry` is None when it does not parse."""

    notification_id: int
    stream: str
    version: int
    """The row's own place in its stream (eventsourcing's originator_version): the entry's `seq`."""
    learner: bool
    event: Any
    entry: Entry | None
    leaf_hash: bytes | None


@dataclass(frozen=True)
class _KeyState:
    key: DataKey | None
    erased: bool


class EntryAuditor:
    """Checks each entry of each stream in log order: chain, commitment, issuer, registry."""

    def __init__(self, ledger: Ledger, tally: Tally, *, heads: int = 65536, keys: int = 4096) -> None:
        self.ledger = ledger
        self.tally = tally
        self.registry = RegistryReplay(tally)
        self.anchors = AnchorAuditor(ledger, tally)
        self.issuers = IssuerAuditor(tally, self.registry, self.anchors.find_recorded)
        self.heads: BoundedCache[str, tuple[int, str | None]] = BoundedCache(heads)
        self.keys: BoundedCache[str, _KeyState] = BoundedCache(keys)

    # -- reading ------------------------------------------------------------------------------

    def decode(self, stored: StoredEvent, notification_id: int) -> Decoded | None:
        """The entry a stored event carries; None for events that carry none (index claims).

        A row that does not parse is a finding, never an exception.
        """
        stream, topic = _stream_urn(stored.originator_id), str(stored.topic)
        version = stored.originator_version if isinstance(stored.originator_version, int) else 0
        place = Place(stream, version)
        learner = topic.startswith(LEARNER_TOPIC)
        unreadable = Decoded(notification_id, stream, version, learner, None, None, None)
        try:
            event: Any = self.ledger.mapper.to_domain_event(stored)
            if version < 1:
                raise ValueError(f"its place in its stream is {stored.originator_version!r}")
        except Exception as error:  # a tampered row can fail anywhere in the library's decoding
            self.tally.at(place, "unreadable", f"stored event {notification_id} does not parse: {error}")
            return unreadable if carries_entry(topic) else None
        entry = getattr(event, "entry", None)
        if entry is None and not carries_entry(topic):
            return None
        if not isinstance(entry, dict):
            self.tally.at(place, "unreadable", f"stored event {notification_id} carries no entry object")
            return unreadable
        try:
            digest = leaf_hash(canonical_json(entry))
        except VerificationError as error:
            self.tally.at(place, "unreadable", f"the entry has no canonical form: {error}")
            return unreadable
        return Decoded(notification_id, stream, version, learner, event, entry, digest)

    def replay_registry_before(self, notification_id: int, page: int) -> None:
        """Replay the registry entries recorded before a notification (the start of a range)."""
        start = 1
        while start < notification_id:
            rows, start = read_notifications(
                self.ledger, self.tally, start, notification_id - 1, page=page, topics=REGISTRY_TOPICS
            )
            for row in rows:
                entry = _stored_entry(self.ledger, row)
                if entry is not None:
                    self.registry.apply(entry, None)

    # -- checking -----------------------------------------------------------------------------

    def skip(self, item: Decoded) -> None:
        """Pass over an entry before the audited range, replaying it if it is a registry entry."""
        if item.entry is not None and not item.learner:
            self.registry.apply(item.entry, None)

    def check(self, item: Decoded, leaf_index: int | None) -> None:
        """Every check of one entry; `leaf_index` is the leaf the log holds it as, if any."""
        place = Place(item.stream, item.version, leaf_index)
        self.tally.count("entries")
        if item.version == 1:
            self.tally.count("streams")
            self.tally.count("learner-streams" if item.learner else "organisation-streams")
        if item.entry is None:
            self.heads.put(item.stream, (item.version, None))
            return
        self._check_chain(item, item.entry, place)
        if item.learner:
            self._check_learner_entry(item, item.entry, place)
        else:
            self.registry.apply(item.entry, place)
            if item.entry.get("kind") == "key-added":
                self.anchors.key_added(item.entry, place)

    def _check_chain(self, item: Decoded, entry: Entry, place: Place) -> None:
        field = "learner" if item.learner else "organisation"
        if entry.get(field) != item.stream:
            self.tally.at(place, "chain", f"the entry names {field} {entry.get(field)!r}, not its own stream")
        if entry.get("seq") != item.version:
            self.tally.at(
                place,
                "chain",
                f"seq is {entry.get('seq')!r}, but the entry is number {item.version} of its stream",
            )
        expected = self._previous_hash(item, place)
        if expected is not None and entry.get("prev") != expected:
            self.tally.at(
                place,
                "chain",
                f"prev is {entry.get('prev')!r}, but entry {item.version - 1} of the stream hashes to "
                f"{expected} (entry {item.version - 1} was changed, or this link was)",
            )
        self.heads.put(item.stream, (item.version, entry_hash(entry)))

    def _previous_hash(self, item: Decoded, place: Place) -> str | None:
        """The hash the entry's `prev` must hold; None when it cannot be known (already reported)."""
        if item.version == 1:
            return GENESIS
        head = self.heads.get(item.stream)
        if head is not None and head[0] == item.version - 1:
            return head[1]
        # Not seen in this audit (before the range, or forgotten): read the entry before it back.
        try:
            stream = uuid_of(item.stream)
        except ValueError:
            return None  # the row's id is not a stream's (reported as the entry that names it)
        before = self.ledger.recorder.select_events(stream, lte=item.version - 1, desc=True, limit=1)
        if not before or before[0].originator_version != item.version - 1:
            found = f"the one before is {before[0].originator_version}" if before else "it has none before"
            self.tally.at(place, "chain", f"entry {item.version - 1} is missing from the stream ({found})")
            return None
        previous = _stored_entry(self.ledger, before[0])
        return None if previous is None else entry_hash(previous)

    def _check_learner_entry(self, item: Decoded, entry: Entry, place: Place) -> None:
        kind = entry.get("kind")
        state = self._data_key(item.stream, place)
        if item.version == 1 and state.erased:
            self.tally.count("erased-streams")
        if kind != "registration":
            self.tally.count("credentials")
            if kind in ("correction", "revocation"):
                self.tally.count(f"{kind}s")
            self.anchors.credential(entry, place)
        if state.key is None:
            if state.erased:
                self.tally.count("erased-entries")
                if kind != "registration":
                    self.issuers.check_erased(entry, place)
            return
        opened = _open(state.key, item.stream, getattr(item.event, "sealed", None))
        if isinstance(opened, str):
            self.tally.at(place, "commitment", f"the sealed content does not open: {opened}")
            return
        content, salt = opened
        try:
            computed = commitment(salt, canonical_json(content))
        except (ValueError, VerificationError) as error:
            self.tally.at(place, "commitment", f"the sealed content cannot be committed to: {error}")
            return
        self.tally.count("commitments")
        if computed != entry.get("commitment"):
            self.tally.at(
                place,
                "commitment",
                f"commitment is {entry.get('commitment')!r}, but the sealed content and salt hash to "
                f"{computed}",
            )
        if not isinstance(content, dict):
            self.tally.at(place, "commitment", "the sealed content is not a JSON object")
        elif kind == "registration":
            self.anchors.registration(entry, content.get("uln"), place)
        else:
            self.issuers.check(entry, content, place)

    def _data_key(self, learner: str, place: Place) -> _KeyState:
        state = self.keys.get(learner)
        if state is None:
            try:
                state = _KeyState(self.ledger.data_key(learner), erased=False)
            except LearnerDataErased:
                state = _KeyState(None, erased=True)
            except SealBroken as error:
                self.tally.at(place, "unreadable", f"the learner's data key does not unwrap: {error}")
                state = _KeyState(None, erased=False)
            self.keys.put(learner, state)
        return state


def _stream_urn(originator_id: UUID | str) -> str:
    try:
        return urn(UUID(str(originator_id)))
    except ValueError:
        return str(originator_id)


def _stored_entry(ledger: Ledger, stored: StoredEvent) -> Entry | None:
    """The entry of a stored event read back (already audited, or before the range), or None."""
    try:
        entry = getattr(ledger.mapper.to_domain_event(stored), "entry", None)
        canonical_json(entry)
    except Exception:  # reported where the audit reads that row in its own place
        return None
    return entry if isinstance(entry, dict) else None


def _open(key: DataKey, learner: str, sealed: object) -> tuple[Any, bytes] | str:
    """The content and salt sealed beside an entry, or why they do not open."""
    try:
        opened = orjson.loads(key.open(learner, base64.b64decode(str(sealed), validate=True)))
        return opened["content"], base64.b64decode(opened["salt"], validate=True)
    except (SealBroken, ValueError, KeyError, TypeError) as error:
        return str(error) or type(error).__name__
