"""Statistics for operators and auditors: recorded credentials by issuer, kind and month."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from projections.batches import Context
from projections.events import Event
from projections.runner import ViewCursor


@dataclass(frozen=True)
class Count:
    """How many credentials of a kind an issuer had recorded in a month."""

    issuer: str
    kind: str
    month: str
    count: int


class StatisticsProjection:
    """Keeps view_statistics from every recorded credential's entry."""

    name = "statistics"
    tables: tuple[str, ...] = ("view_statistics",)
    opens_content = False

    def prepare(self, events: Sequence[Event], context: Context) -> None:
        """Nothing: the batch's events are all it needs."""

    def project(self, view: ViewCursor, events: Sequence[Event], context: Context) -> None:
        """Count the batch's recorded credentials: one upsert per issuer, kind and month."""
        added: Counter[tuple[str, str, str]] = Counter()
        for event in events:
            if event.name == "LearnerStream.CredentialRecorded":
                entry = event.fields["entry"]
                added[entry["issuer"], entry["kind"], entry["recorded_at"][:7]] += 1
        view.run_many(
            "INSERT INTO {p}view_statistics AS s (issuer, kind, month, count) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (issuer, kind, month) DO UPDATE SET count = s.count + excluded.count",
            [(*key, count) for key, count in added.items()],
        )


def counts(view: ViewCursor) -> list[Count]:
    """Every count, by issuer, kind and month."""
    rows = view.rows("SELECT * FROM {p}view_statistics ORDER BY issuer, kind, month")
    return [Count(row["issuer"], row["kind"], row["month"], int(row["count"])) for row in rows]
