"""The stored events as the projections read them: each event's position, class name and fields,
decoded from the stored JSON with orjson rather than built into the library's domain-event objects.

The library's reader and decoder (a `Notification` a row with its originator id made a UUID, then
`json` with a Python object hook on every object) cost ~25 us an event, half a rebuild's CPU; this
reads three columns and decodes in C. The stored format is unchanged, and the fields are those
`Mapper.to_domain_event` gives (the event's attributes less the originator id and version). A state
the fast path might read otherwise than the mapper (a transcoded value besides the timestamp, any
escape, since `\\u` could spell one, a class version, JSON orjson refuses) goes to the mapper itself,
so what the mapper refuses is still refused. (The originator id is not read, so not checked.)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson
from eventsourcing.persistence import JSONTranscoder, Notification, Transcoding
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic

from ledger.application import Ledger
from ledger.sql import SqlCursor, SqlStore

_TRANSCODED = b'"_type_"'
_ESCAPE = b"\\"
_LAST = 2**63 - 1


class Event(NamedTuple):
    """A stored event: its notification id, its class's name and its fields."""

    position: int
    name: str
    """`Aggregate.Event` of the event's class, e.g. `LearnerStream.CredentialRecorded`."""
    fields: dict[str, Any]
    """The event's attributes but the originator id and version."""


class EventReader:
    """Reads the ledger's stored events in notification order, decoded for the projections."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._statement = ""
        self._transcodings: dict[str, Transcoding] = {}
        self._classes: dict[str, tuple[str, bool]] = {}
        mapper, recorder = ledger.mapper, ledger.recorder
        plain = mapper.cipher is None and mapper.compressor is None
        if plain and isinstance(mapper.transcoder, JSONTranscoder):
            self._transcodings = mapper.transcoder.names
            if isinstance(recorder, SQLiteApplicationRecorder | PostgresApplicationRecorder):
                at = "notification_id" if isinstance(recorder, PostgresApplicationRecorder) else "rowid"
                self._statement = (
                    f"SELECT {at} AS id, topic, state FROM {{p}}{recorder.events_table_name} "  # noqa: S608 (the library's table)
                    f"WHERE {at} >= ? AND {at} <= ? ORDER BY {at} LIMIT ?"
                )
        self._store = SqlStore(recorder, ledger.tlog.store.schema, SqlCursor)
        self.mapped = 0
        """How many events the library's mapper decoded (all, without the fast path)."""

    def read(self, start: int, limit: int, stop: int | None = None) -> list[Event]:
        """Up to `limit` events from notification id `start` on (none after `stop`), in order."""
        if not self._statement:
            notifications = self._ledger.recorder.select_notifications(start=start, limit=limit, stop=stop)
            return [self._mapped(notification) for notification in notifications]
        with self._store.reading() as cursor:
            rows = cursor.binary_rows(self._statement, (start, _LAST if stop is None else stop, limit))
        return [self._decoded(row["id"], row["topic"], bytes(row["state"])) for row in rows]

    def _decoded(self, position: int, topic: str, state: bytes) -> Event:
        """The event a stored row holds: parsed by orjson when its only transcoded value (its only
        `"_type_"`) is the timestamp, decoded as the mapper decodes it, and it has no escape (a `\\u`
        could spell one; a byte is quicker to look for than two); else decoded by the mapper.
        """
        known = self._classes.get(topic)
        if known is None:
            kind = resolve_topic(topic)
            known = self._classes[topic] = (kind.__qualname__, getattr(kind, "class_version", 1) == 1)
        name, unversioned = known
        if unversioned and state.count(_TRANSCODED) == 1 and _ESCAPE not in state:
            try:
                fields = orjson.loads(state)
                stamp = fields["timestamp"]
                if len(stamp) == 2 and "class_version" not in fields:
                    fields["timestamp"] = self._transcodings[stamp["_type_"]].decode(stamp["_data_"])
                    return Event(position, name, fields)
            except Exception:  # noqa: S110 (not a dict, not transcoded, refused: the mapper's to judge)
                pass
        return self._mapped(self._ledger.recorder.select_notifications(start=position, limit=1)[0])

    def _mapped(self, notification: Notification) -> Event:
        """The event as the library's mapper decodes it."""
        self.mapped += 1
        event = self._ledger.mapper.to_domain_event(notification)
        fields = dict(vars(event))
        del fields["originator_id"], fields["originator_version"]
        return Event(notification.id, type(event).__qualname__, fields)
