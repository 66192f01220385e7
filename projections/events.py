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
            rows = cursor.rows(self._statement, (start, _LAST if stop is None else stop, limit))
        return [self._decoded(row["id"], row["topic"], bytes(row["state"])) for row in rows]

    def _decoded(self, position: int, topic: str, state: bytes) -> Event:
        """The event a stored row holds (through the mapper when the fast path might differ)."""
        known = self._classes.get(topic)
        if known is None:
            kind = resolve_topic(topic)
            known = self._classes[topic] = (kind.__qualname__, getattr(kind, "class_version", 1) == 1)
        name, unversioned = known
        fields = self._fields(state) if unversioned else None
        if fields is not None:
            return Event(position, name, fields)
        return self._mapped(self._ledger.recorder.select_notifications(start=position, limit=1)[0])

    def _fields(self, state: bytes) -> dict[str, Any] | None:
        """The state's fields as the mapper decodes them, or None to leave it to the mapper: the only
        transcoded value (the only `"_type_"`) must be the timestamp, decoded as the mapper does.
        """
        fields = _parsed(state)
        if not isinstance(fields, dict) or "class_version" in fields:
            return None
        stamp = fields.get("timestamp")
        if not isinstance(stamp, dict) or len(stamp) != 2 or "_data_" not in stamp:
            return None
        name = stamp.get("_type_")
        transcoding = self._transcodings.get(name) if isinstance(name, str) else None
        if transcoding is None:
            return None
        try:
            fields["timestamp"] = transcoding.decode(stamp["_data_"])
        except Exception:  # the mapper raises its own error for it
            return None
        return fields

    def _mapped(self, notification: Notification) -> Event:
        """The event as the library's mapper decodes it."""
        self.mapped += 1
        event = self._ledger.mapper.to_domain_event(notification)
        fields = dict(vars(event))
        del fields["originator_id"], fields["originator_version"]
        return Event(notification.id, type(event).__qualname__, fields)


def _parsed(state: bytes) -> object:
    """The stored JSON parsed by orjson; None unless it has exactly one `"_type_"` (a transcoded
    value's) and no escape (a `\\u` could spell one; one byte is quicker to look for than two), or
    when orjson refuses it (NaN, say).
    """
    if state.count(_TRANSCODED) != 1 or _ESCAPE in state:
        return None
    try:
        return orjson.loads(state)
    except orjson.JSONDecodeError:
        return None
