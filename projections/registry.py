"""The registry view: organisations, their keys with validity and compromise, their accreditations,
answerable as the ledger knew them at any instant (by each change's `recorded_at`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from ledger.streams import rfc3339
from projections.batches import Context
from projections.events import Event
from projections.runner import ViewCursor

ORGANISATION_EVENTS = {
    "Organisation.Registered",
    "Organisation.KeyAdded",
    "Organisation.KeyRetired",
    "Organisation.KeyCompromised",
    "Organisation.Accredited",
}


@dataclass(frozen=True)
class KeyView:
    """A key as known at some instant."""

    key: str
    valid_from: str
    retired_at: str | None
    compromised_at: str | None


@dataclass(frozen=True)
class AccreditationView:
    """An accreditation as recorded."""

    kinds: tuple[str, ...]
    scopes: tuple[str, ...]
    valid_from: str
    valid_until: str | None


@dataclass(frozen=True)
class OrganisationView:
    """An organisation as known at some instant."""

    organisation: str
    slug: str
    name: str
    kind: str
    did: str
    keys: tuple[KeyView, ...]
    accreditations: tuple[AccreditationView, ...]


class RegistryProjection:
    """Keeps the view_organisations, view_keys and view_accreditations tables."""

    name = "registry"
    tables: tuple[str, ...] = ("view_organisations", "view_keys", "view_accreditations")
    opens_content = False

    def prepare(self, events: Sequence[Event], context: Context) -> None:
        """Nothing: the batch's events are all it needs."""

    def project(self, view: ViewCursor, events: Sequence[Event], context: Context) -> None:
        """Record the batch's registry changes, in order."""
        for event in events:
            if event.name in ORGANISATION_EVENTS:
                self._record(view, event)

    def _record(self, view: ViewCursor, event: Event) -> None:
        """Record one registry change."""
        entry: dict[str, Any] = event.fields["entry"]
        data, at, organisation = entry["data"], entry["recorded_at"], entry["organisation"]
        kind = entry["kind"]
        if kind == "organisation-registered":
            view.run(
                "INSERT INTO {p}view_organisations (organisation, slug, name, kind, did, registered_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (organisation, data["slug"], data["name"], data["kind"], data["did"], at),
            )
        elif kind == "key-added":
            view.run(
                "INSERT INTO {p}view_keys (key, organisation, valid_from, added_at) VALUES (?, ?, ?, ?)",
                (data["key"], organisation, data["validFrom"], at),
            )
        elif kind == "key-retired":
            view.run(
                "UPDATE {p}view_keys SET retired_at = ?, retired_recorded_at = ? WHERE key = ?",
                (data["retiredAt"], at, data["key"]),
            )
        elif kind == "key-compromised":
            view.run(
                "UPDATE {p}view_keys SET compromised_at = ?, compromised_recorded_at = ? WHERE key = ?",
                (data["compromisedAt"], at, data["key"]),
            )
        elif kind == "accreditation-granted":
            view.run(
                "INSERT INTO {p}view_accreditations "
                "(organisation, seq, kinds, scopes, valid_from, valid_until, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    organisation,
                    entry["seq"],
                    orjson.dumps(data["kinds"]).decode(),
                    orjson.dumps(data["scopes"]).decode(),
                    data["validFrom"],
                    data["validUntil"],
                    at,
                ),
            )


def organisations(view: ViewCursor, as_of: datetime | None = None) -> list[OrganisationView]:
    """Every organisation with its keys and accreditations, as the ledger knew them at `as_of`."""
    at = rfc3339(as_of) if as_of is not None else "9999"
    found = []
    for row in view.rows("SELECT * FROM {p}view_organisations WHERE registered_at <= ? ORDER BY slug", (at,)):
        keys = tuple(
            KeyView(
                key["key"],
                key["valid_from"],
                key["retired_at"] if (key["retired_recorded_at"] or "9999") <= at else None,
                key["compromised_at"] if (key["compromised_recorded_at"] or "9999") <= at else None,
            )
            for key in view.rows(
                "SELECT * FROM {p}view_keys WHERE organisation = ? AND added_at <= ? ORDER BY added_at, key",
                (row["organisation"], at),
            )
        )
        accreditations = tuple(
            AccreditationView(
                tuple(orjson.loads(item["kinds"])),
                tuple(orjson.loads(item["scopes"])),
                item["valid_from"],
                item["valid_until"],
            )
            for item in view.rows(
                "SELECT * FROM {p}view_accreditations WHERE organisation = ? AND recorded_at <= ? "
                "ORDER BY seq",
                (row["organisation"], at),
            )
        )
        found.append(
            OrganisationView(
                row["organisation"], row["slug"], row["name"], row["kind"], row["did"], keys, accreditations
            )
        )
    return found
