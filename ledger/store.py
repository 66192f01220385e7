"""The ledger's event store access: one transaction per write, rebuilt on a write conflict, and the
reads every part of the ledger shares (aggregates, last events, many at once).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    Mapper,
    Notification,
    PersistenceError,
    RecordConflictError,
    StoredEvent,
)

from ledger.errors import LedgerError, StorageUnavailable, StreamConflict
from ledger.event_mapper import LedgerMapper
from ledger.kept_heads import KeptHeads
from ledger.master_keys import MasterKeyRing
from ledger.sealing import MasterKey
from ledger.storage import LedgerRecorder

if TYPE_CHECKING:
    from ledger.access_log import AccessLog
    from ledger.erasure import ErasureStore
    from ledger.log import TransparencyLog
    from ledger.log_signer import LogSigner
    from ledger.shares import ShareStore
    from ledger.tokens import TokenStore

_ATTEMPTS = 8
T = TypeVar("T")


@dataclass(frozen=True)
class Committed:
    """What one write saved, and the event store position it reached (for read-your-writes)."""

    aggregates: list[Aggregate]
    position: int


class LedgerStore(Application[UUID]):
    """The event store under the ledger: commit (build then save, retried on conflict) and reads."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        master_key: MasterKey | MasterKeyRing,
        did_host: str,
        max_credential_bytes: int = 64 * 1024,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        log_signer: LogSigner | None = None,
    ) -> None:
        super().__init__(env)
        self.master_key = master_key if isinstance(master_key, MasterKeyRing) else MasterKeyRing(master_key)
        self.did_host = did_host
        self.max_credential_bytes = max_credential_bytes
        self.clock = clock
        self.log_signer = log_signer
        self.after_commit: list[Callable[[], object]] = []
        """Called after every committed write (on SQLite: integrate into the log at once)."""
        self.kept_heads = KeptHeads()
        """Learners' stream heads as this process's last posting batches committed them."""
        self.last_committed: Sequence[Notification] = ()
        """The notifications the last write of this process committed, in id order: what the event
        store now holds under those ids, so the log integrates them without reading them back."""
        self.tlog: TransparencyLog
        """The transparency log of this ledger, attached by `bootstrap.open_ledger`."""
        self.tokens: TokenStore
        """API tokens, attached by `bootstrap.open_ledger`."""
        self.shares: ShareStore
        """Learners' share grants, attached by `bootstrap.open_ledger`."""
        self.access_log: AccessLog
        """Reads of learners' data by share holders and auditors, attached by `bootstrap.open_ledger`."""
        self.erasures: ErasureStore
        """Learners' erasure requests and their decisions, attached by `bootstrap.open_ledger`."""

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper, but posting's two events encoded with orjson (the same bytes)."""
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=LedgerMapper)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save aggregates in one transaction, then run the after-commit hooks."""
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in objs:
            # Application.save would pass each through `collect_events`, whose runtime-Protocol
            # isinstance check costs ~10 µs an object on Python 3.11; these are all aggregates.
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        processing.saved_kwargs.update(kwargs)
        recordings = self._record(processing)
        self.last_committed = sorted(
            (recording.notification for recording in recordings), key=lambda notification: notification.id
        )
        self._take_snapshots(processing)
        self._notify(recordings)
        for hook in self.after_commit:
            # The write is committed whatever a hook does; the log follower catches up later.
            with contextlib.suppress(LedgerError):
                hook()
        return recordings

    # -- storage helpers ----------------------------------------------------------------------

    def _recorder(self) -> LedgerRecorder:
        return self.recorder  # type: ignore[return-value]

    def exists(self, aggregate_id: UUID) -> bool:
        """True when the aggregate has at least one stored event (nothing is decoded)."""
        try:
            return bool(self.recorder.select_events(aggregate_id, limit=1))
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error

    def last_events(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The last stored event of each aggregate, in one query; aggregates that do not exist absent."""
        if not aggregate_ids:
            return {}
        try:
            return self._recorder().select_last_events(aggregate_ids)
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error

    def last_versions(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The last stored version of each aggregate, in one query; aggregates that do not exist absent."""
        if not aggregate_ids:
            return {}
        try:
            return self._recorder().select_last_versions(aggregate_ids)
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error

    def find_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, object]:
        """Many aggregates rebuilt from their events read in one query, by id: each the aggregate,
        or the exception rebuilding it raised (a tampered event can fail anywhere in decoding);
        ids with no events absent.
        """
        if not aggregate_ids:
            return {}
        try:
            stored = self._recorder().select_events_of(aggregate_ids)
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error
        found: dict[UUID, object] = {}
        for identifier, events in stored.items():
            try:
                found[identifier] = project_aggregate(None, map(self.mapper.to_domain_event, events))
            except Exception as error:  # reported by the caller as `find` would have raised it
                found[identifier] = error
        return found

    def find(self, aggregate_id: UUID, kind: type[T]) -> T | None:
        """The aggregate rebuilt from its events, if it exists and is a `kind`; else None."""
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        except PersistenceError as error:
            raise StorageUnavailable(f"the event store cannot be read: {error}") from error
        return found if isinstance(found, kind) else None

    def commit(self, build: Callable[[], list[Aggregate]], **kwargs: Any) -> Committed:
        """Build (reading current state) and save in one transaction; rebuild on a write conflict."""
        for attempt in range(_ATTEMPTS):
            aggregates = build()
            try:
                recordings = self.save(*aggregates, **kwargs)
            except RecordConflictError:
                time.sleep(0.005 * (attempt + 1) * (1 + secrets.randbelow(4)))
                continue
            except PersistenceError as error:
                raise StorageUnavailable(f"the event store refused the write: {error}") from error
            position = max((recording.notification.id for recording in recordings), default=0)
            return Committed(aggregates, position)
        raise StreamConflict(f"gave up after {_ATTEMPTS} write conflicts; retry the request")
