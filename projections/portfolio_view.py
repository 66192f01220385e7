"""The portfolio view: each learner's credentials as rows, folded by projections.portfolio_fold,
and time travel: a portfolio as of an instant or a log size, folded from the stream itself.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson

from ledger.application import Ledger
from ledger.sealing import SealBroken
from ledger.streams import rfc3339
from projections.portfolio import Portfolio, portfolio
from projections.portfolio_fold import apply, fold
from projections.portfolio_items import Item
from projections.runner import Context, ViewCursor, event_name


class PortfolioProjection:
    """Keeps view_portfolio_items: decrypts each recorded credential and folds it in."""

    name = "portfolio"
    tables: tuple[str, ...] = ("view_portfolio_items",)

    def apply(self, view: ViewCursor, event: object, context: Context) -> None:
        """Fold one recorded credential into its learner's items; an erasure removes them all."""
        name = event_name(event)
        entry: dict[str, Any] = getattr(event, "entry", {})
        learner = entry.get("learner", "")
        key = (self.name, learner)
        if name == "LearnerStream.Erased":
            context.memo.pop(key, None)
            view.run("DELETE FROM {p}view_portfolio_items WHERE learner = ?", (learner,))
            return
        if name != "LearnerStream.CredentialRecorded":
            return
        items = context.memo.get(key)
        if not isinstance(items, dict):
            items = {item.credential: item for item in load_items(view, learner)}
            context.memo[key] = items
        content = _content(context, learner, event.sealed)  # type: ignore[attr-defined]
        for item in apply(items, learner, entry, content):
            items[item.credential] = item
            row = orjson.dumps(item.to_row()).decode()
            view.run(
                "INSERT INTO {p}view_portfolio_items AS v (credential, learner, kind, status, seq, item) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (credential) DO UPDATE SET "
                "kind = excluded.kind, status = excluded.status, seq = excluded.seq, item = excluded.item",
                (item.credential, learner, item.kind, item.status, item.seq, row),
            )


def _content(context: Context, learner: str, sealed: str) -> dict[str, Any] | None:
    """The credential an entry commits to, or None when the learner's key is gone."""
    data_key = context.data_key(learner)
    if data_key is None:
        return None
    try:
        opened: dict[str, Any] = orjson.loads(data_key.open(learner, base64.b64decode(sealed)))
    except SealBroken:
        return None
    content: dict[str, Any] = opened["content"]
    return content


def load_items(view: ViewCursor, learner: str) -> list[Item]:
    """A learner's items as the view holds them."""
    rows = view.rows("SELECT item FROM {p}view_portfolio_items WHERE learner = ?", (learner,))
    return [Item.from_row(orjson.loads(row["item"])) for row in rows]


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
