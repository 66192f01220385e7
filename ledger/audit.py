"""`ledger audit`: replay the whole ledger (or a range of its log) and prove nothing was changed,
dropped or reordered, in memory bounded whatever the ledger's size.

One pass reads the event store's notifications and the log's leaves side by side, a page at a time:
each entry's chain link, its commitment (where the learner's key still exists), its issuer's proof,
key and accreditation as the registry stood at that point of the log, and the leaf that holds it;
the tree's root is recomputed as leaves go by and compared with each signed checkpoint. With
`projections`, the read models are rebuilt into a scratch database and compared with the live views
(ledger/audit_projections.py), which are never written.

What a range covers: the entries at positions [from_size, to_size) of the commit order and the
leaves with those indexes; each entry's chain link is checked against the entry before it even
when that entry lies before the range (read back from the event store), and the registry is
replayed from the start of the log. Checkpoints of sizes within (from_size, to_size] are checked,
each for consistency with the checkpoint before it (which may lie before the range). Entries the
log had not integrated when the audit began are checked as entries and counted as `pending`.
"""

from __future__ import annotations

from collections.abc import Callable

from eventsourcing.persistence import PersistenceError

from ledger.application import Ledger
from ledger.audit_database import DatabaseSource
from ledger.audit_entries import EntryAuditor
from ledger.audit_log import LogAuditor
from ledger.audit_pages import PageReader, pool_size
from ledger.audit_projections import ProjectionViews, compare_projections
from ledger.audit_report import CHECKS, AuditReport, Finding, Tally
from ledger.audit_since import check_since
from ledger.audit_source import AuditSource
from ledger.errors import StorageUnavailable

__all__ = ["CHECKS", "AuditReport", "Finding", "ProjectionViews", "audit"]


def audit(
    ledger: Ledger | AuditSource,
    *,
    from_size: int | None = None,
    to_size: int | None = None,
    since_checkpoint: str | None = None,
    projections: ProjectionViews | None = None,
    progress: Callable[[int], None] = lambda _: None,
    page: int = 1000,
    workers: int | None = None,
) -> AuditReport:
    """Audit the ledger: every stream, entry, leaf and checkpoint (or a range), and the views if given.

    `ledger` is the ledger itself (its database is read) or any AuditSource (ledger/audit_http.py
    reads the HTTP API); the checks are the same. Projections can only be compared on the ledger.

    `since_checkpoint` is a signed checkpoint note the auditor saved: its signature is verified, the
    ledger's newest checkpoint is proved consistent with it, and only the leaves after it are
    audited. `progress` is called with the number of entries audited after each page. `workers`
    processes examine commitments and proofs beside the audit (ledger/audit_pages.py; by default one
    a core for a large audit, none for a small one); the report is the same. Tampered data
    is reported as findings, never raised; a database that cannot be read raises StorageUnavailable.
    """
    if from_size is not None and since_checkpoint is not None:
        raise ValueError("give from_size or since_checkpoint, not both")
    if page < 1 or (workers or 0) < 0 or (from_size or 0) < 0 or (to_size is not None and to_size < 0):
        raise ValueError("page must be positive and sizes must not be negative")
    if projections is not None and not isinstance(ledger, Ledger):
        raise ValueError("the projections can only be compared on the ledger's own database")
    try:
        return _audit(
            DatabaseSource(ledger) if isinstance(ledger, Ledger) else ledger,
            ledger if isinstance(ledger, Ledger) else None,
            from_size=from_size,
            to_size=to_size,
            since_checkpoint=since_checkpoint,
            projections=projections,
            progress=progress,
            page=page,
            workers=workers,
        )
    except PersistenceError as error:
        raise StorageUnavailable(f"the ledger's database cannot be read: {error}") from error


def _audit(
    source: AuditSource,
    ledger: Ledger | None,
    *,
    from_size: int | None,
    to_size: int | None,
    since_checkpoint: str | None,
    projections: ProjectionViews | None,
    progress: Callable[[int], None],
    page: int,
    workers: int | None,
) -> AuditReport:
    tally = Tally()
    page = page if source.max_page is None else min(page, source.max_page)
    state = source.integration(tally)
    head = source.head()
    start = from_size or 0
    saved = None
    if since_checkpoint is not None:
        saved = check_since(source, tally, since_checkpoint)
        start = saved.size if saved is not None else 0
    stop = state.size if to_size is None else min(to_size, state.size)
    covered: dict[str, object] = {
        "from_size": start,
        "to_size": to_size,
        "log_size": state.size,
        "since_size": None if saved is None else saved.size,
        "notifications": head,
        "projections": projections is not None,
    }
    log = LogAuditor(source, tally, start=start, end=max(start, stop), integrated=state.position, page=page)
    entries = EntryAuditor(source, tally)
    # A range starting beyond the log starts reading after its last leaf, and skips to `start`.
    position = min(start, state.size)
    cursor = log.first_notification(position)
    if cursor > 1:
        entries.replay_registry_before(cursor, page)
    if start <= state.size:
        log.begin(saved)
    reader = PageReader(source, head, page, pool_size(stop - start) if workers is None else workers)
    try:
        upcoming = reader.read(cursor) if cursor <= head and (to_size is None or position < to_size) else None
        while upcoming is not None:
            current, upcoming = upcoming, None
            tally.findings += current.tally.findings  # what reading it found, in reading order
            tally.counted.update(current.tally.counted)
            records = current.records
            # Read (and hand to the workers) the next page now, if the loop will reach it.
            if current.after <= head and (to_size is None or position + len(records) < to_size):
                upcoming = reader.read(current.after)
            entries.read_before(records)
            audited = 0
            examinations = current.examined()  # (which also opens what the workers opened)
            for record, examined in zip(records, examinations, strict=True):
                item = entries.decode(record)
                if to_size is not None and position >= to_size:
                    break
                if position < start:
                    entries.skip(item)
                else:
                    entries.check(item, log.match(position, item), examined)
                    audited += 1
                position += 1
            progress(audited)
    except BaseException:  # Ctrl-C or an error: the workers are stopped at once
        reader.close(at_once=True)
        raise
    reader.close()
    log.finish(state.frontier, later=to_size is None)
    if projections is not None and ledger is not None:
        covered["projection_positions"] = compare_projections(ledger, projections, tally, page)
    return AuditReport(tally.findings, dict(tally.counted), covered)
