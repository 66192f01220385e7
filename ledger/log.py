"""The transparency log (DESIGN §3): a single sequencer makes every committed entry the next leaf,
and the ledger signs C2SP checkpoints only over trees it has proved consistent with the last one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import orjson
from eventsourcing.persistence import Notification, PersistenceError

from ledger.application import Ledger
from ledger.errors import LedgerError, StorageUnavailable
from ledger.log_signer import LogSigner
from ledger.log_store import (
    TILE_WIDTH,
    Leaf,
    LogCursor,
    LogState,
    LogStore,
    StoredCheckpoint,
    TileHashSource,
    in_one_read,
)
from ledger.streams import Entry, rfc3339
from verification.canonical import canonical_json
from verification.checkpoint import Checkpoint, sign_checkpoint
from verification.errors import MerkleError
from verification.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaves,
    verify_consistency,
)


class LogInconsistent(LedgerError):
    """The stored tree does not extend the last signed checkpoint: the ledger refuses to sign."""

    slug = "log-inconsistent"
    status = 500


class NotYetIntegrated(LedgerError):
    """An entry is recorded but not yet a leaf of the log."""

    slug = "not-yet-integrated"
    status = 409


class TransparencyLog:
    """Integration, checkpoints and proofs of the ledger's one global log."""

    def __init__(
        self,
        ledger: Ledger,
        store: LogStore,
        signer: LogSigner,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.signer = signer
        self.clock = clock

    def integrate(self, limit: int = 1000) -> int:
        """Make the next committed entries leaves, in commit order; return how many were added.

        Leaves, tiles, the frontier and the position reached are written in one transaction, so a
        crash at any point leaves the log exactly as before or exactly after this batch.
        """
        return self.integrate_batch(limit)[0]

    def integrate_batch(self, limit: int) -> tuple[int, int]:
        """Integrate the next `limit` notifications; return (leaves added, notifications read).

        The events are read before the write transaction opens (never a second connection while
        holding the write lock: SQLite's pool would deadlock), and the write goes ahead only if no
        other integrator moved the position in between.
        """
        try:
            with self.store.reading() as log:
                state = log.state()
            notifications = self._next_notifications(state.position, limit)
            if not notifications:
                return 0, 0
            leaves: list[Leaf] = []
            for notification in notifications:
                entry = self._entry_of(notification)
                if entry is None:
                    continue  # index aggregates carry no entry and are not leaves
                stream = entry.get("learner") or entry["organisation"]
                digest = leaf_hash(canonical_json(entry))
                leaves.append(Leaf(state.size + len(leaves), notification.id, stream, entry["seq"], digest))
            with self.store.writing() as log:
                if log.state(for_update=True).position != state.position:
                    return 0, len(notifications)  # another integrator got there first; read again
                log.insert_leaves(leaves)
                frontier = state.frontier.extend(leaf.hash for leaf in leaves)
                _complete_tiles(log, state.size, frontier.size)
                log.set_state(LogState(notifications[-1].id, frontier.size, frontier))
                return len(leaves), len(notifications)
        except PersistenceError as error:
            raise StorageUnavailable(f"the log cannot be written: {error}") from error

    def _next_notifications(self, position: int, limit: int) -> Sequence[Notification]:
        """The next `limit` notifications after `position`, as the event store would answer.

        When this process's last write committed the very next ids, those are what the store holds
        under them (their ids are unique and every id from `position` + 1 up is there), so they
        are taken as written, without reading them back; otherwise the store is read.
        """
        committed = self.ledger.last_committed
        if committed and committed[0].id <= position + 1 <= committed[-1].id:
            start = position + 1 - committed[0].id
            taken: list[Notification] = []
            for notification in committed[start : start + limit]:
                if notification.id != position + 1 + len(taken):
                    break  # a gap: what fills it is read from the store next time
                taken.append(notification)
            if taken:
                return taken
        return self.ledger.recorder.select_notifications(start=position + 1, limit=limit)

    def _entry_of(self, notification: Notification) -> Entry | None:
        """The entry an event carries, or None (index aggregates' events carry none).

        Stored state is the transcoder's JSON; entries hold only strings and integers, which it
        writes as plain JSON, so reading the one member with orjson gives the entry the mapper would,
        without building the event. A cipher or compressor (not configured by the ledger) would
        need the mapper.
        """
        mapper = self.ledger.mapper
        if mapper.cipher is not None or mapper.compressor is not None:
            return getattr(mapper.to_domain_event(notification), "entry", None)
        entry: Entry | None = orjson.loads(notification.state).get("entry")
        return entry

    def integrate_all(self, batch: int = 1000, progress: Callable[[int], None] = lambda _: None) -> int:
        """Integrate until nothing is pending; return the number of new leaves."""
        total = 0
        while True:
            added, read = self.integrate_batch(batch)
            if not read:
                return total
            total += added
            progress(added)

    def sign_checkpoint(self, *, force: bool = False) -> StoredCheckpoint | None:
        """Sign a checkpoint of the current tree when it grew (or when forced); None if nothing new.

        Before signing, the tree is proved consistent with the last signed checkpoint, and its root
        recomputed from the stored tiles must equal the frontier's; otherwise nothing is signed.
        """
        with self.store.writing() as log:
            state = log.state(for_update=True)
            last = log.checkpoint()
            if last is not None and last.size == state.size:
                return last if force else None
            if state.size == 0 and not force:
                return None
            root = state.frontier.root()
            source = TileHashSource(log)
            if state.size and source.subtree_root(0, state.size) != root:
                raise LogInconsistent("the stored leaves and tiles do not hash to the frontier's root")
            if last is not None and last.size > 0:
                try:
                    proof = consistency_proof(last.size, state.size, source)
                    verify_consistency(last.size, state.size, proof, last.root, root)
                except MerkleError as error:
                    raise LogInconsistent(
                        f"the tree of size {state.size} does not extend checkpoint {last.size}: {error}"
                    ) from error
            body = Checkpoint(self.signer.origin, state.size, root)
            note = sign_checkpoint(body, self.signer.name, self.signer.seed)
            stored = StoredCheckpoint(state.size, root, note, rfc3339(self.clock()))
            log.insert_checkpoint(stored)
            return stored

    def state(self) -> LogState:
        """How far integration has gone."""
        with self.store.reading() as log:
            return log.state()

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The newest signed checkpoint."""
        with self.store.reading() as log:
            return log.checkpoint()

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """The inclusion proof of leaf `index` in the tree of `size`; requires index < size <= log size."""
        with self.store.one_statement() as log:
            return in_one_read(log, lambda source: inclusion_proof(index, size, source), self.store.roots)

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """The consistency proof between two tree sizes of this log."""
        with self.store.one_statement() as log:
            return in_one_read(
                log, lambda source: consistency_proof(old_size, new_size, source), self.store.roots
            )


def _complete_tiles(log: LogCursor, old_size: int, new_size: int) -> None:
    """Store the root of every 256^level subtree that the new leaves completed."""
    level = 1
    while TILE_WIDTH**level <= new_size:
        span = TILE_WIDTH**level
        nodes = [
            (level, node, root_from_leaves(log.hashes(level - 1, node * TILE_WIDTH, TILE_WIDTH)))
            for node in range(old_size // span, new_size // span)
        ]
        log.insert_tiles(nodes)
        level += 1
