"""The transparency log over HTTP: checkpoints, the log's key, RFC 9162 proofs and (for auditors) its
entries. Proofs are served only for trees the ledger has signed: sizes up to the newest checkpoint's.

`GET /v1/log/checkpoint` serves the newest checkpoint the ledger signed. When it has never signed one
(a new ledger whose sequencer has not yet run), the request integrates what is committed and signs one
there and then, so a verifier of a working ledger never meets "no checkpoint yet"; from then on the
sequencer's checkpoints are served and reading writes nothing.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from api.auth import Role, roles
from api.problems import problem_responses
from api.state import ledger_of, settings_of
from ledger.application import Ledger
from ledger.errors import LedgerError
from ledger.log import LogInconsistent, TransparencyLog
from ledger.log_store import Leaf, StoredCheckpoint
from verification.merkle import MAX_TREE_SIZE

router = APIRouter(tags=["log"])

TEXT = "text/plain; charset=utf-8"
_SIZE_NOT_SIGNED = (
    "`tree-size-not-signed`: the size is beyond the newest checkpoint (retry once it is signed)"
)


class InvalidProofRequest(LedgerError):
    """The sizes or index asked for describe no proof."""

    slug = "invalid-proof-request"
    status = 422


class TreeSizeNotSigned(LedgerError):
    """A tree size beyond the newest checkpoint: the ledger has not committed to that tree yet."""

    slug = "tree-size-not-signed"
    status = 404


class InvalidPage(LedgerError):
    """A page of entries that ends before it starts, or holds more than a page may."""

    slug = "invalid-page"
    status = 422


class InclusionProof(BaseModel):
    """An RFC 9162 inclusion proof of leaf `index` in the tree of `size`."""

    index: int
    size: int
    hashes: list[str] = Field(description="the proof's hashes, base64, leaf to root")


class ConsistencyProof(BaseModel):
    """An RFC 9162 consistency proof that the tree of `to` extends the tree of `from`."""

    from_: int = Field(serialization_alias="from")
    to: int
    hashes: list[str] = Field(description="the proof's hashes, base64")


class LogEntry(BaseModel):
    """One leaf: its index, its hash, and the canonical entry it hashes."""

    index: int
    leaf_hash: str = Field(description="base64 of SHA-256(0x00 ‖ JCS(entry))")
    entry: dict[str, Any]


class LogEntries(BaseModel):
    """A page of the log's leaves, in index order."""

    start: int
    end: int = Field(description="one past the last index returned")
    size: int = Field(description="leaves in the log now (integrated, signed or not)")
    next: int | None = Field(description="where the next page starts; null at the end of the log")
    entries: list[LogEntry]


def _tree_position(description: str, alias: str | None = None) -> Any:
    """A query parameter holding a leaf index or tree size: 0 to 2^64 - 1, as in C2SP checkpoints."""
    return Query(alias=alias, ge=0, le=MAX_TREE_SIZE, description=description)


@router.get(
    "/v1/log/checkpoint",
    openapi_extra=roles(),
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "a C2SP signed note: `<origin>\\n<size>\\n<base64 root>\\n`, then "
            "the log key's signature",
            "content": {"text/plain": {}},
        }
    },
)
def newest_checkpoint(request: Request) -> PlainTextResponse:
    """The newest signed checkpoint (signed on demand when the ledger has signed none yet)."""
    return PlainTextResponse(_newest(ledger_of(request).tlog).note, media_type=TEXT)


@router.get(
    "/v1/log/key",
    openapi_extra=roles(),
    response_class=PlainTextResponse,
    responses={
        200: {"description": "`<name>+<key id>+<base64 key>` and a newline", "content": {"text/plain": {}}}
    },
)
def log_key(request: Request) -> PlainTextResponse:
    """The log's C2SP verifier key: the one to pin to check checkpoints, receipts and statuses."""
    return PlainTextResponse(ledger_of(request).tlog.signer.verifier_key + "\n", media_type=TEXT)


@router.get(
    "/v1/log/proofs/inclusion",
    openapi_extra=roles(),
    responses=problem_responses(
        {
            404: _SIZE_NOT_SIGNED,
            422: "`invalid-request`: index or size is not an integer from 0 to 2^64 - 1; "
            "`invalid-proof-request`: index is not below size",
        }
    ),
)
def inclusion_proof(
    request: Request,
    index: Annotated[int, _tree_position("the leaf's index")],
    size: Annotated[int, _tree_position("the tree size, at most the newest checkpoint's")],
) -> InclusionProof:
    """An RFC 9162 inclusion proof of a leaf in a signed tree."""
    if index >= size:
        raise InvalidProofRequest(
            f"leaf {index} is not in a tree of size {size} (its leaves are 0 to {size - 1})"
        )
    tlog = ledger_of(request).tlog
    _require_signed(tlog, size)
    return InclusionProof(index=index, size=size, hashes=_base64(tlog.inclusion(index, size)))


@router.get(
    "/v1/log/proofs/consistency",
    openapi_extra=roles(),
    responses=problem_responses(
        {
            404: _SIZE_NOT_SIGNED,
            422: "`invalid-request`: from or to is not an integer from 0 to 2^64 - 1; "
            "`invalid-proof-request`: from is 0 or greater than to",
        }
    ),
)
def consistency_proof(
    request: Request,
    old_size: Annotated[int, _tree_position("the older tree size, at least 1", alias="from")],
    new_size: Annotated[int, _tree_position("the newer size, at most the newest checkpoint's", alias="to")],
) -> ConsistencyProof:
    """An RFC 9162 consistency proof that a signed tree extends an older one."""
    if old_size == 0:
        raise InvalidProofRequest("from=0: every tree extends the empty one, so there is nothing to prove")
    if old_size > new_size:
        raise InvalidProofRequest(f"from={old_size} is greater than to={new_size}; a tree only grows")
    tlog = ledger_of(request).tlog
    _require_signed(tlog, new_size)
    return ConsistencyProof(from_=old_size, to=new_size, hashes=_base64(tlog.consistency(old_size, new_size)))


@router.get(
    "/v1/log/entries",
    dependencies=[Role("auditor")],
    openapi_extra=roles("auditor"),
    responses=problem_responses(
        {
            401: "`not-authenticated`: no token, or one the ledger does not know, revoked or saw expire",
            403: "`forbidden`: the token is not an auditor's",
            422: "`invalid-request`: start or end is not an integer from 0 to 2^64 - 1; "
            "`invalid-page`: end is before start, or the page is longer than the ledger serves at once",
        }
    ),
)
def log_entries(
    request: Request,
    start: Annotated[int, _tree_position("the first leaf index")] = 0,
    end: Annotated[
        int | None, _tree_position("one past the last index; default a page, or the log's end")
    ] = None,
) -> LogEntries:
    """A page of the log: each leaf's index and hash with the canonical entry it hashes."""
    most = settings_of(request).max_page
    if end is not None and end < start:
        raise InvalidPage(f"end={end} is before start={start}")
    if end is not None and end - start > most:
        raise InvalidPage(f"a page holds at most {most} entries; ask for start={start}&end={start + most}")
    ledger = ledger_of(request)
    size = ledger.tlog.state().size
    stop = min(start + most if end is None else end, size)
    leaves: list[Leaf] = []
    if start < stop:  # also keeps an index past the log (or past 64 bits) away from the database
        with ledger.tlog.store.reading() as log:
            leaves = log.leaves(start, stop)
    found = _entries_of(ledger, leaves)
    reached = start + len(found)
    return LogEntries(
        start=start, end=reached, size=size, next=reached if reached < size else None, entries=found
    )


def _entries_of(ledger: Ledger, leaves: list[Leaf]) -> list[LogEntry]:
    """The entries the leaves hash, read from the event store in one range read."""
    if not leaves:
        return []
    first, last = leaves[0].notification_id, leaves[-1].notification_id
    # Between two leaves lie only the index aggregates' events, so the range stays near the page.
    notifications = ledger.recorder.select_notifications(start=first, limit=last - first + 1, stop=last)
    by_id = {notification.id: notification for notification in notifications}
    found = []
    for leaf in leaves:
        notification = by_id.get(leaf.notification_id)
        event = None if notification is None else ledger.mapper.to_domain_event(notification)
        entry = getattr(event, "entry", None)
        if entry is None:
            raise LogInconsistent(
                f"leaf {leaf.index} is event {leaf.notification_id}, which holds no entry in the event store"
            )
        found.append(LogEntry(index=leaf.index, leaf_hash=_base64([leaf.hash])[0], entry=entry))
    return found


def _newest(tlog: TransparencyLog) -> StoredCheckpoint:
    """The newest checkpoint; when none was ever signed, integrate what is committed and sign one."""
    latest = tlog.latest_checkpoint()
    if latest is not None:
        return latest
    tlog.integrate_all()
    signed = tlog.sign_checkpoint(force=True)  # forced: never None
    if signed is None:
        raise LogInconsistent("the ledger signed no checkpoint when forced to")
    return signed


def _require_signed(tlog: TransparencyLog, size: int) -> None:
    """Refuse a tree size the ledger has not signed a checkpoint for (or beyond)."""
    latest = tlog.latest_checkpoint()
    signed = 0 if latest is None else latest.size
    if size > signed:
        raise TreeSizeNotSigned(
            f"size {size} is beyond the newest checkpoint, of {signed} leaves; "
            "fetch /v1/log/checkpoint and ask within it"
        )


def _base64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(digest).decode("ascii") for digest in hashes]
