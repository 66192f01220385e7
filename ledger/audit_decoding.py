"""The two members of a stored event an audit reads (`entry` and `sealed`), decoded from the stored
`state` JSON with orjson instead of through the library's mapper, transcoder and domain event.

The stored format is the library's JSONTranscoder output and does not change. orjson gives the
values the transcoder's `json` decoder would whenever the text is plain JSON with no number but
integers and no transcoded object (`{"_type_": …, "_data_": …}`) other than the event's timestamp.
Anything else (a cipher or compressor, a topic that does not resolve to a plain event class, a
class version to upcast, a float or huge number, a lone surrogate, any text orjson refuses, another
transcoded object) is left to the mapper, so a tampered row decodes, or fails with the same error,
exactly as it did through the mapper.
"""

from __future__ import annotations

from typing import Any, TypeGuard
from uuid import UUID

import orjson
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, find_id_convertor
from eventsourcing.utils import resolve_topic

_TIMESTAMP_TYPE = "datetime_iso"

Members = tuple[Any, Any] | Exception
"""An event's `entry` and `sealed` (None when absent), or the exception decoding it raised."""


class EventDecoder:
    """Decodes stored events' `entry` and `sealed` as the ledger's mapper would, mostly with orjson."""

    def __init__(self, mapper: Mapper[UUID]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        self.timestamps = (
            transcoder.names.get(_TIMESTAMP_TYPE) if isinstance(transcoder, JSONTranscoder) else None
        )
        self.plain = (
            mapper.cipher is None
            and mapper.compressor is None
            and self.timestamps is not None
            and type(mapper).to_domain_event is Mapper.to_domain_event  # what _fast reproduces
        )
        self._topics: dict[tuple[str, type], bool] = {}

    def members(self, stored: StoredEvent) -> Members:
        """The event's `entry` and `sealed` as the mapper's domain event has them, or what it raised."""
        state = self._fast(stored) if self.plain else None
        if state is not None:
            return state.get("entry"), state.get("sealed")
        try:
            event = self.mapper.to_domain_event(stored)
        except Exception as error:  # a tampered row can fail anywhere in the library's decoding
            return error
        return getattr(event, "entry", None), getattr(event, "sealed", None)

    def lacks_entry(self, stored: StoredEvent) -> bool:
        """Whether the mapper's domain event provably has no `entry` (members would give None, or what
        it raised), without decoding it: a plain topic whose class has none, its state plain UTF-8
        JSON bytes with no key or string `"entry"` (nor a `\\u` escape to spell one) and name no class version
        (no upcast could add it). False means: decode it to know.
        """
        raw = stored.state
        return (
            self.plain
            and type(raw) is bytes
            and b'"entry"' not in raw
            and b"\\u" not in raw
            and b"class_version" not in raw
            and self._plain_topic(stored)
        )

    def plain_state(self, stored: StoredEvent) -> dict[str, Any] | None:
        """The event's whole state (its timestamp still transcoded) when orjson decodes it exactly as
        the mapper would; None when only the mapper can say what it holds.
        """
        return self._fast(stored) if self.plain else None

    def domain_event(self, stored: StoredEvent) -> Any:
        """The domain event the mapper makes of a stored event (its exceptions raised as the mapper's):
        built as Mapper.to_domain_event builds it, from the state orjson decoded when that is exact.
        """
        state = self._fast(stored) if self.plain else None
        if state is None:
            return self.mapper.to_domain_event(stored)
        stamp = state.get("timestamp")
        if _transcoded(stamp):
            assert self.timestamps is not None
            state["timestamp"] = self.timestamps.decode(stamp["_data_"])
        cls = resolve_topic(stored.topic)
        convert = find_id_convertor(cls, type(stored.originator_id))  # type: ignore[arg-type]
        state["originator_id"] = convert(stored.originator_id)
        state["originator_version"] = stored.originator_version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def _fast(self, stored: StoredEvent) -> dict[str, Any] | None:
        """The decoded state, when orjson decodes it exactly as the mapper would; else None."""
        raw = stored.state
        if type(raw) is not bytes or raw[:1] != b"{" or not self._plain_topic(stored):
            return None
        try:
            state = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if type(state) is not dict or "class_version" in state or not self._as_mapper(state):
            return None
        return state

    def _plain_topic(self, stored: StoredEvent) -> bool:
        """Whether the topic names an event class the mapper builds without upcasting or converting
        anything that could fail, and whose instances have `entry` and `sealed` only from the state.
        """
        key = (stored.topic, type(stored.originator_id))
        known = self._topics.get(key)
        if known is None:
            try:
                cls: Any = resolve_topic(stored.topic)
                known = (
                    isinstance(cls, type)
                    and issubclass(cls, CanMutateAggregate)
                    and getattr(cls, "class_version", 1) == 1
                    and not hasattr(cls, "entry")
                    and not hasattr(cls, "sealed")
                    and isinstance(stored.originator_id, UUID)
                    and callable(find_id_convertor(cls, UUID))  # type: ignore[arg-type]
                )
            except Exception:  # whatever a tampered topic makes the library raise: the mapper says it
                known = False
            if len(self._topics) < 1024:
                self._topics[key] = known
        return known

    def _as_mapper(self, state: dict[str, Any]) -> bool:
        """Whether the transcoder's object hook would leave every value as orjson read it: no float,
        and no transcoded object but a timestamp that decodes.
        """
        stamp = state.get("timestamp")
        stamped = False
        if _transcoded(stamp):
            stamped = True
            data = stamp["_data_"]
            if stamp["_type_"] != _TIMESTAMP_TYPE or type(data) is not str:
                return False
            try:
                assert self.timestamps is not None
                self.timestamps.decode(data)
            except Exception:  # a tampered timestamp: the mapper raises what it raises
                return False
        level = [value for value in state.values() if value is not stamp] if stamped else [*state.values()]
        while level:  # (orjson makes each dict anew: only the timestamp's is `stamp`)
            below: list[Any] = []
            for value in level:
                kind = type(value)
                if kind is str or kind is int:
                    continue
                if kind is dict:
                    if len(value) == 2 and "_type_" in value and "_data_" in value:  # _transcoded
                        return False
                    below += value.values()
                elif kind is list:
                    below += value
                elif kind is float:
                    return False
            level = below
        return True


def _transcoded(value: object) -> TypeGuard[dict[str, Any]]:
    """Whether the transcoder's object hook would decode this value (`{"_type_", "_data_"}`)."""
    return type(value) is dict and len(value) == 2 and "_type_" in value and "_data_" in value
