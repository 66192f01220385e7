"""The stream side of an audit: each entry as its source read it, its link in its stream's chain
checked, what it commits to (opened by the source) compared, and credentials handed to the issuer
checks.

Memory is bounded: the last entry hash of recently seen streams is kept in a bounded cache; on a
miss the entry before is read back from the source, one entry, never the whole stream.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from ledger.audit_anchors import AnchorAuditor
from ledger.audit_examine import Examined, examine
from ledger.audit_issuers import IssuerAuditor, RegistryReplay
from ledger.audit_report import Place, Tally
from ledger.audit_source import AuditSource, EntryHashes, Opening, Record
from ledger.learners import ERASURE
from ledger.streams import Entry
from verification.canonical import canonical_json
from verification.entries import GENESIS, entry_hash

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

    def peek(self, key: K) -> V | None:
        """The item, without marking it used, or None."""
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        """Keep an item, forgetting the least recently used one beyond the size."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass(frozen=True)
class Decoded:
    """A record with its hashes computed: its leaf hash (what the log's leaf for it must hold) and its
    entry hash (what the next entry's `prev` and its index claim must hold).
    """

    record: Record
    leaf_hash: bytes | None
    entry_hash: str | None = None

    @property
    def notification_id(self) -> int:
        """The stored event's notification id."""
        return self.record.notification_id

    @property
    def stream(self) -> str:
        """The stream's URN."""
        return self.record.stream

    @property
    def version(self) -> int:
        """The entry's place in its stream."""
        return self.record.version


class EntryAuditor:
    """Checks each entry of each stream in log order: chain, commitment, issuer, registry."""

    def __init__(self, source: AuditSource, tally: Tally, *, heads: int = 4096) -> None:
        self.source = source
        self.tally = tally
        self.registry = RegistryReplay(tally)
        self.anchors = AnchorAuditor(tally)
        self.issuers = IssuerAuditor(tally, self.registry, source.recorded)
        self.heads: BoundedCache[str, tuple[int, str | None]] = BoundedCache(heads)
        self.erased_at: BoundedCache[str, int] = BoundedCache(heads)
        """The `seq` of each recently seen learner's ErasureCompleted entry, which must be the last."""
        self.before: dict[tuple[str, int], Entry | None] = {}
        """The entries before this page's entries whose stream's head the cache had forgotten."""

    # -- reading ------------------------------------------------------------------------------

    def decode(self, record: Record) -> Decoded:
        """The record with its hashes, from the entry's canonical bytes made once; a row that did not
        parse is a finding, never an exception.
        """
        if record.entry is None:
            place = Place(record.stream, record.version)
            self.tally.at(place, "unreadable", record.problem or "the stored event does not parse")
            return Decoded(record, None)
        hashes = record.hashes or EntryHashes.of(canonical_json(record.entry))
        return Decoded(record, hashes.leaf, hashes.entry)

    def replay_registry_before(self, notification_id: int, page: int) -> None:
        """Replay the registry entries recorded before a notification (the start of a range)."""
        start = 1
        while start < notification_id:
            records, start = self.source.records(
                start, notification_id - 1, page=page, registry_only=True, tally=Tally()
            )
            for record in records:
                if record.entry is not None:
                    self.registry.apply(record.entry, None)

    def read_before(self, records: list[Record]) -> None:
        """Read back, in one go, the entry before each of a page's entries that the heads cache
        cannot give (not first in its stream, nor after another entry of its stream on the page).
        """
        seen: set[str] = set()
        wanted = []
        for record in records:
            if record.version > 1 and record.stream not in seen:
                head = self.heads.peek(record.stream)
                if head is None or head[0] != record.version - 1:
                    wanted.append((record.stream, record.version))
            seen.add(record.stream)
        self.before = self.source.entries_before(wanted) if wanted else {}

    # -- checking -----------------------------------------------------------------------------

    def skip(self, item: Decoded) -> None:
        """Pass over an entry before the audited range, replaying it if it is a registry entry."""
        if item.record.entry is not None and not item.record.learner:
            self.registry.apply(item.record.entry, None)

    def check(self, item: Decoded, leaf_index: int | None, examined: Examined | None = None) -> None:
        """Every check of one entry; `leaf_index` is the leaf the log holds it as, if any, and
        `examined` what examining its opened content found, when a worker already did.
        """
        record = item.record
        place = Place(record.stream, record.version, leaf_index)
        self.tally.count("entries")
        if record.version == 1:
            self.tally.count("streams")
            self.tally.count("learner-streams" if record.learner else "organisation-streams")
        if record.entry is None or item.entry_hash is None:
            self.heads.put(record.stream, (record.version, None))
            return
        self._check_chain(record, record.entry, item.entry_hash, place)
        if record.learner:
            self._check_learner_entry(record, record.entry, item.entry_hash, place, examined)
        else:
            self.registry.apply(record.entry, place)
            if record.entry.get("kind") == "key-added":
                self.anchors.key_added(record.entry, record.anchor, place)

    def _check_chain(self, item: Record, entry: Entry, digest: str, place: Place) -> None:
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
        self.heads.put(item.stream, (item.version, digest))

    def _previous_hash(self, item: Record, place: Place) -> str | None:
        """The hash the entry's `prev` must hold; None when it cannot be known (already reported)."""
        if item.version == 1:
            return GENESIS
        head = self.heads.get(item.stream)
        if head is not None and head[0] == item.version - 1:
            return head[1]
        # Not seen in this audit (before the range, or forgotten): read back with the page, or alone.
        if (item.stream, item.version) in self.before:
            previous = self.before[item.stream, item.version]
            return None if previous is None else entry_hash(previous)
        version, previous = self.source.entry_before(item.stream, item.version)
        if version != item.version - 1:
            found = f"the one before is {version}" if version is not None else "it has none before"
            self.tally.at(place, "chain", f"entry {item.version - 1} is missing from the stream ({found})")
            return None
        return None if previous is None else entry_hash(previous)

    def _check_learner_entry(
        self, item: Record, entry: Entry, digest: str, place: Place, examined: Examined | None
    ) -> None:
        kind = entry.get("kind")
        opening = item.opening or Opening(erased=True)
        erased_at = self.erased_at.get(item.stream)
        if erased_at is not None and erased_at < item.version:
            self.tally.at(place, "chain", f"an entry follows the learner's erasure (entry {erased_at})")
        if kind == ERASURE:
            self._check_erasure(item, entry, digest, opening, place)
            return
        if opening.key_problem is not None:
            self.tally.at(
                place, "unreadable", f"the learner's data key does not unwrap: {opening.key_problem}"
            )
        if item.version == 1 and opening.erased:
            self.tally.count("erased-streams")
        if kind != "registration":
            self.tally.count("credentials")
            if kind in ("correction", "revocation"):
                self.tally.count(f"{kind}s")
            self.anchors.credential(entry, digest, item.anchor, place)
        if opening.erased or opening.key_problem is not None:
            self._unopened(entry, opening, place)
            return
        if opening.problem is not None or opening.salt is None:
            self.tally.at(place, "commitment", f"the sealed content does not open: {opening.problem}")
            return
        self._check_opened(item, entry, digest, opening, place, examined=examined)

    def _check_erasure(self, item: Record, entry: Entry, digest: str, opening: Opening, place: Place) -> None:
        """An ErasureCompleted entry: pinned by its claim, and the learner's data key really gone."""
        self.tally.count("erasures")
        self.erased_at.put(item.stream, item.version)
        if not opening.erased:
            self.tally.at(
                place, "erasure", "the stream ends in an erasure, but the learner's data key exists"
            )
        self.anchors.erasure(entry, digest, item.anchor, place)

    def _unopened(self, entry: Entry, opening: Opening, place: Place) -> None:
        """What can be checked of an entry whose learner's data key is gone (or unreadable)."""
        if opening.erased:
            self.tally.count("erased-entries")
            if entry.get("kind") != "registration":
                self.issuers.check_erased(entry, place)

    def _check_opened(
        self,
        item: Record,
        entry: Entry,
        digest: str,
        opening: Opening,
        place: Place,
        *,
        examined: Examined | None,
    ) -> None:
        """The commitment, and the registration's claim or the credential's issuer."""
        kind = entry.get("kind")
        content = opening.content
        assert opening.salt is not None
        if examined is None:
            examined = examine(content, opening.salt, examines_proof(entry, content))
        computed = examined.commitment
        if computed is None:
            problem = examined.commitment_problem
            self.tally.at(place, "commitment", f"the sealed content cannot be committed to: {problem}")
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
            self.anchors.registration(digest, item.anchor, place)
        else:
            self.issuers.check(entry, content, place, examined)


def examines_proof(entry: Entry, content: object) -> bool:
    """Whether examining an opened entry verifies a credential's proof (what `_check_opened` checks)."""
    return isinstance(content, dict) and entry.get("kind") != "registration"
