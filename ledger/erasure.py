"""Erasure by crypto-shredding (DESIGN §6): a learner asks, the registrar approves or refuses with a
reason. Approval appends an ErasureCompleted entry (kind `erasure`, no personal data) to the
learner's stream and, in the same transaction, destroys the learner's data key and deletes their
tokens, share grants and access records (ledger.erasure_rows). Every entry, leaf and checkpoint
stays, so every proof still verifies; what the entries committed to can no longer be read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from ledger.application import Ledger
from ledger.erasure_rows import ErasureWrite
from ledger.errors import InvalidRegistryChange, LearnerErased, LedgerError
from ledger.indexes import ErasureClaim, UlnClaim, erasure_claim_id, uln_claim_id
from ledger.learners import ERASURE
from ledger.sql import AsyncReads, SqlCursor, SqlStore
from ledger.streams import rfc3339
from verification.entries import entry_hash

MAX_REASON = 2000


class ErasureRequestNotFound(LedgerError):
    """No erasure request has this id."""

    slug = "erasure-request-not-found"
    status = 404


class ErasureAlreadyDecided(LedgerError):
    """The erasure request was already approved or refused."""

    slug = "erasure-already-decided"
    status = 409


class ErasureAlreadyRequested(LedgerError):
    """The learner already has an erasure request awaiting a decision."""

    slug = "erasure-already-requested"
    status = 409


@dataclass(frozen=True)
class ErasureRequest:
    """A learner's request to be erased, and the registrar's decision."""

    id: str
    learner: str
    requested_at: str
    reason: str | None
    """The learner's own words; cleared when the erasure is carried out."""
    state: str
    """requested, refused or completed."""
    decided_at: str | None
    decision: str | None
    """'approved', or the registrar's reason for refusing."""


class ErasureStore:
    """Requests to be erased and their decisions."""

    def __init__(self, store: SqlStore[SqlCursor], clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.store = store
        self.clock = clock
        recorder = store.recorder
        assert isinstance(recorder, SQLiteApplicationRecorder | PostgresApplicationRecorder)
        self._claim_statement = (
            f"SELECT topic, state FROM {{p}}{recorder.events_table_name} "  # noqa: S608 (the library's table)
            "WHERE originator_id = ? AND originator_version = 1"
        )

    def erased_on(self, ledger: Ledger, learner: str) -> str | None:
        """The date the learner was erased, or None: the first event of their erasure claim (its
        creation), read by one indexed statement that usually finds nothing, and decoded if found.
        """
        return self._erased_date(ledger, learner, self.store.read_rows(*self._claim_query(learner)))

    async def erased_on_async(self, ledger: Ledger, learner: str, reads: AsyncReads | None) -> str | None:
        """`erased_on` from an event loop: through `reads` on PostgreSQL; with none (SQLite) the local
        file is read directly, which cannot stall the loop as a database server that is away would.
        """
        if reads is None:
            return self.erased_on(ledger, learner)
        return self._erased_date(ledger, learner, await reads.rows(*self._claim_query(learner)))

    def _claim_query(self, learner: str) -> tuple[str, tuple[object]]:
        claim = erasure_claim_id(learner)
        return self._claim_statement, (claim if self.store.postgres else claim.hex,)

    @staticmethod
    def _erased_date(ledger: Ledger, learner: str, rows: list[Any]) -> str | None:
        if not rows:
            return None
        created = ledger.mapper.to_domain_event(
            StoredEvent(erasure_claim_id(learner), 1, rows[0]["topic"], bytes(rows[0]["state"]))
        )
        return created.timestamp.date().isoformat() if isinstance(created, ErasureClaim.Event) else None

    def request(self, ledger: Ledger, learner: str, reason: str | None = None) -> ErasureRequest:
        """Record a learner's request; one may await a decision at a time."""
        stream = ledger.learner_stream(learner)
        if stream.erased:
            raise LearnerErased(f"learner {learner} is already erased")
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > MAX_REASON:
            raise InvalidRegistryChange(f"the reason is at most {MAX_REASON} characters")
        request_id = str(uuid.uuid4())
        with self.store.writing() as cursor:
            pending = cursor.rows(
                "SELECT id FROM {p}erasure_requests WHERE learner = ? AND state = 'requested'", (learner,)
            )
            if pending:
                raise ErasureAlreadyRequested(
                    f"learner {learner} already asked to be erased (request {pending[0]['id']}); "
                    "the registrar will decide"
                )
            cursor.run(
                "INSERT INTO {p}erasure_requests (id, learner, requested_at, reason, state) "
                "VALUES (?, ?, ?, ?, 'requested')",
                (request_id, learner, rfc3339(self.clock()), reason),
            )
        return self.get(request_id)

    def get(self, request_id: str) -> ErasureRequest:
        """The request with this id."""
        with self.store.reading() as cursor:
            rows = cursor.rows("SELECT * FROM {p}erasure_requests WHERE id = ?", (request_id,))
        if not rows:
            raise ErasureRequestNotFound(f"no erasure request has the id {request_id!r}")
        return _request(rows[0])

    def list(self, state: str | None = None, learner: str | None = None) -> list[ErasureRequest]:
        """Requests, oldest first, optionally only in one state or of one learner."""
        where, params = [], []
        if state is not None:
            where.append("state = ?")
            params.append(state)
        if learner is not None:
            where.append("learner = ?")
            params.append(learner)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        with self.store.reading() as cursor:
            rows = cursor.rows(
                f"SELECT * FROM {{p}}erasure_requests{condition} ORDER BY requested_at, id",  # noqa: S608 (fixed columns)
                tuple(params),
            )
        return [_request(row) for row in rows]

    def refuse(self, request_id: str, decision: str) -> ErasureRequest:
        """Refuse a request, saying why (the learner sees the reason)."""
        decision = decision.strip()
        if not decision or len(decision) > MAX_REASON:
            raise InvalidRegistryChange(f"say why the request is refused, in 1 to {MAX_REASON} characters")
        with self.store.writing() as cursor:
            rows = cursor.rows("SELECT * FROM {p}erasure_requests WHERE id = ?", (request_id,))
            if not rows:
                raise ErasureRequestNotFound(f"no erasure request has the id {request_id!r}")
            _require_open(_request(rows[0]))
            cursor.run(
                "UPDATE {p}erasure_requests SET state = 'refused', decided_at = ?, decision = ? WHERE id = ?",
                (rfc3339(self.clock()), decision, request_id),
            )
        return self.get(request_id)

    def approve(self, ledger: Ledger, request_id: str) -> ErasureRequest:
        """Carry out the erasure: the entry, the destroyed key and the deleted rows, in one transaction."""
        request = _require_open(self.get(request_id))
        learner = request.learner
        profile, _ = ledger.opened(learner, 1)  # read the ULN while the key still exists
        digest = ledger.master_key.uln_digest(str(profile["uln"])).hex()
        at = self.clock()

        def build() -> list[Aggregate]:
            stream = ledger.learner_stream(learner)
            if stream.erased:
                raise LearnerErased(f"learner {learner} is already erased")
            entry = stream.next_entry(ERASURE, at, request=f"urn:uuid:{request_id}")
            stream.erase(entry)
            erased: list[Aggregate] = [stream, ErasureClaim(learner, request_id, entry_hash(entry))]
            uln = ledger.find(uln_claim_id(digest), UlnClaim)
            if uln is not None and uln.learner == learner:
                uln.release()
                erased.append(uln)
            return erased

        ledger.commit(build, erasure=ErasureWrite(learner, request_id, rfc3339(at)))
        return self.get(request_id)


def _require_open(request: ErasureRequest) -> ErasureRequest:
    if request.state != "requested":
        raise ErasureAlreadyDecided(
            f"erasure request {request.id} was already {request.state} at {request.decided_at}"
        )
    return request


def _request(row: Mapping[str, Any]) -> ErasureRequest:
    return ErasureRequest(
        row["id"],
        row["learner"],
        row["requested_at"],
        row["reason"],
        row["state"],
        row["decided_at"],
        row["decision"],
    )
