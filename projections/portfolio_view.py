"""The portfolio view: each learner's credentials as rows, folded by projections.portfolio_fold,
and time travel: a portfolio as of an instant or a log size, folded from the stream itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ledger.application import Ledger
from ledger.storage import chunks
from ledger.streams import rfc3339
from projections.batches import Context
from projections.events import Event
from projections.portfolio import Portfolio, portfolio
from projections.portfolio_fold import apply, fold, reads_other_items
from projections.portfolio_items import Item, read_item
from projections.runner import Insert, ViewCursor

_NEW_ITEMS = Insert("view_portfolio_items", ("credential", "learner", "kind", "status", "seq", "item"))
_ITEMS = _NEW_ITEMS._replace(
    on_conflict="ON CONFLICT (credential) DO UPDATE SET "
    "kind = excluded.kind, status = excluded.status, seq = excluded.seq, item = excluded.item"
)


class Step(NamedTuple):
    """A recorded entry and the item it records, or an erasure."""

    learner: str
    entry: dict[str, Any] | None
    """None for the learner's erasure."""
    item: Item | None
    """What the entry records (`read_item`), with the text of its row; None when it records none."""
    text: str
    reads_others: bool
    """Whether folding it reads the learner's other items (`reads_other_items`)."""


class PortfolioProjection:
    """Keeps view_portfolio_items: decrypts each recorded credential and folds it in."""

    name = "portfolio"
    tables: tuple[str, ...] = ("view_portfolio_items",)
    opens_content = True

    def prepare(self, events: Sequence[Event], context: Context) -> list[Step]:
        """The batch's recorded credentials, decrypted and read as items with their rows' text, and its
        erasures, in order: all the batch alone tells, so worked out while the batch before is written.
        """
        steps: list[Step] = []
        for event in events:
            name = event.name
            if name == "LearnerStream.CredentialRecorded":
                entry: dict[str, Any] = event.fields["entry"]
                learner = entry.get("learner", "")
                if entry["seq"] == 1 or entry["kind"] == "registration":
                    steps.append(Step(learner, entry, None, "", False))  # records no item: not opened
                    continue
                item = read_item(learner, entry, context.content(event))
                steps.append(Step(learner, entry, item, item.to_text(), reads_other_items(item)))
            elif name == "LearnerStream.Erased":
                steps.append(Step(event.fields["entry"].get("learner", ""), None, None, "", False))
        return steps

    def project(self, view: ViewCursor, events: Sequence[Event], context: Context) -> None:
        """Fold a batch's recorded credentials into their learners' items in memory and write each
        changed item once: the view's rows it changes in one upsert, its new rows in one insert (on
        PostgreSQL a COPY straight into the table; the upsert's goes through a temporary table). An
        erasure removes all of the learner's items.
        """
        steps = context.prepared.get(self.name)
        if not isinstance(steps, list):
            steps = self.prepare(events, context)
        if not steps:
            return
        folded = _stored(view, steps)
        # The rows the view holds among those the batch may change: the rest are new (no other writer
        # can add them: the runner holds the projection's position locked).
        held = {credential for items in folded.values() for credential in items}
        changed: dict[str, dict[str, Item]] = {}
        erased: list[tuple[str]] = []
        texts: dict[str, tuple[Item, str]] = {}
        for step in steps:
            learner, entry = step.learner, step.entry
            if entry is None:
                held.difference_update(folded.get(learner, ()))
                folded[learner] = {}
                changed.pop(learner, None)
                erased.append((learner,))
                continue
            items = folded.setdefault(learner, {})
            if step.item is not None:
                texts[step.item.credential] = (step.item, step.text)
            # The content is not needed: a registration changes nothing, and any other entry's item
            # is read (`step.item`).
            for item in apply(items, learner, entry, None, step.item):
                items[item.credential] = item
                changed.setdefault(learner, {})[item.credential] = item
        view.run_many("DELETE FROM {p}view_portfolio_items WHERE learner = ?", erased)
        rows: dict[bool, list[tuple[str, str, str, str, int, str]]] = {True: [], False: []}
        for learner, items in changed.items():
            for credential, item in items.items():
                known = texts.get(credential)
                text = known[1] if known is not None and known[0] is item else item.to_text()
                rows[credential in held].append((credential, learner, item.kind, item.status, item.seq, text))
        view.insert_rows(_ITEMS, rows[True])
        view.insert_rows(_NEW_ITEMS, rows[False])


def _stored(view: ViewCursor, steps: Sequence[Step]) -> dict[str, dict[str, Item]]:
    """The stored items folding `steps` may read, by learner: all of a learner's items when one of
    their entries reads other items (a status or enrolment-ended credential), else only the
    entries' own credentials (so an entry already folded is recognised). At most two queries.
    """
    every: set[str] = set()
    own: set[str] = set()
    for step in steps:
        if step.item is None:
            continue
        if step.reads_others:
            every.add(step.learner)
        else:
            own.add(step.item.credential)
    rows = _select(view, "learner", sorted(every)) + _select(view, "credential", sorted(own))
    stored: dict[str, dict[str, Item]] = {}
    for row in rows:
        item = Item.from_text(row["item"])
        stored.setdefault(row["learner"], {})[item.credential] = item
    return stored


def _select(view: ViewCursor, column: str, values: Sequence[str]) -> list[Any]:
    """The rows whose `column` is one of `values` (learner and item): on PostgreSQL in one statement
    with the values as one array (a rebuild's batch asks for 3,000 credentials, whose `IN` list psycopg
    parsed anew each time and the server planned), on SQLite in chunks of `IN` lists.
    """
    select = "SELECT learner, item FROM {p}view_portfolio_items WHERE "
    if view.postgres:
        return view.rows(f"{select}{column} = ANY(?)", (list(values),)) if values else []
    rows: list[Any] = []
    for chunk in chunks(values):
        marks = ", ".join("?" * len(chunk))
        rows.extend(view.rows(f"{select}{column} IN ({marks})", chunk))
    return rows


def load_items(view: ViewCursor, learner: str) -> list[Item]:
    """A learner's items as the view holds them."""
    rows = view.rows("SELECT item FROM {p}view_portfolio_items WHERE learner = ?", (learner,))
    return [Item.from_text(row["item"]) for row in rows]


def live_portfolio(view: ViewCursor, learner: str) -> Portfolio:
    """A learner's portfolio from the live view."""
    return portfolio(learner, load_items(view, learner))


def portfolio_as_of(
    ledger: Ledger, learner: str, *, as_of: datetime | None = None, at_size: int | None = None
) -> Portfolio:
    """A learner's portfolio folded from their stream, as it stood at an instant or log size.

    Nothing is read from or written to the live views.
    """
    report = ledger.read_stream(learner)
    cutoff = rfc3339(as_of) if as_of is not None else None
    included = []
    with ledger.tlog.store.reading() as log:
        for item in report.items:
            if cutoff is not None and item.entry["recorded_at"] > cutoff:
                break
            if at_size is not None:
                leaf = log.leaf_of(learner, item.entry["seq"])
                if leaf is None or leaf.index >= at_size:
                    break
            included.append((item.entry, item.content))
    return portfolio(learner, fold(included, learner).values())
