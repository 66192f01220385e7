"""RFC 8785 JSON Canonicalization Scheme (JCS) and a strict I-JSON parser."""

import json
import re
from typing import Any

import orjson

from verification.errors import CanonicalizationError, MalformedJSON

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer magnitude JCS carries exactly (an IEEE 754 double's 53-bit significand)."""
MAX_DEPTH = 128
"""Deepest nesting canonical_json accepts; below orjson's own limit of 254 levels."""

_PLAIN_ITEMS = 100_000
"""Most values _plain examines before leaving a value to _check: three times what a 64 KiB
credential can hold, so in practice only a value shared or cycling many times over (which _check
refuses at once) is left to it; a larger value is walked twice."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NEEDS_ESCAPE = re.compile('[\\x00-\\x1f"\\\\]')
_SURROGATE = re.compile("[\\ud800-\\udfff]")
_ESCAPES = {chr(code): f"\\u{code:04x}" for code in range(0x20)} | {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}
_SPACED_COLON = re.compile(rb'"[ \t\n\r]+:')


class _RefusalError(Exception):
    """A value cannot be canonicalised; collects its JSON path while the walk unwinds."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []

    def error(self) -> CanonicalizationError:
        """Return the public error, naming the JSON path of the refused value."""
        path = "$"
        for segment in reversed(self.path):
            if isinstance(segment, int):
                path += f"[{segment}]"
            elif _IDENTIFIER.fullmatch(segment):
                path += f".{segment}"
            else:
                path += f"[{json.dumps(segment)}]"
        return CanonicalizationError(f"{self.reason} at {path}")


def canonical_json(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value built from dict/list/str/int."""
    return canonical_json_of_plain(value) if _plain(value) else _canonical_walked(value)


def canonical_form(value: object) -> tuple[bytes, bool]:
    """canonical_json, and whether the value holds only exact JSON types (see canonical_json_of_plain)."""
    plain = _plain(value)
    return (canonical_json_of_plain(value) if plain else _canonical_walked(value)), plain


def canonical_json_of_plain(value: object) -> bytes:
    """canonical_json of a value canonical_form found plain, or made of parts of one (required), unwalked."""
    try:
        return _canonical_fast(value)
    except orjson.JSONEncodeError:
        return _canonical_walked(value)  # a lone surrogate, or a key not exactly a str: the walk decides


def _canonical_walked(value: object) -> bytes:
    try:
        sort_safe = _check(value)
    except _RefusalError as refusal:
        raise refusal.error() from None
    if sort_safe:
        try:
            return _canonical_fast(value)
        except orjson.JSONEncodeError:
            pass  # lone surrogates and str-subclass keys: the pure path names or handles them
    return _canonical_pure(value)


def exact_json(value: object) -> bytes | None:
    """JSON text that only values equal to this one, with the same exact types throughout, give; or None.

    For values of exact dicts with str keys, lists, strs, bools, None and safe ints, which are
    the values canonical_json reads fastest; None for any other, which is then keyed by no text.
    """
    if not _plain(value):
        return None
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None  # a lone surrogate, or a key not exactly a str


def _plain(value: object) -> bool:
    """Whether value holds only exact dicts, lists, strs, bools, None and ints within the limits,
    no container MAX_DEPTH or more levels down, and only ASCII str keys.

    Then _check(value) returns True, provided orjson serialises it: orjson refuses every key that
    is not exactly a str, so the keys are what _check reads them as. Level by level, with the
    key test in C (str.isascii raises TypeError for a key that is no str): half _check's work.
    """
    level: list[Any] = [value]
    depth = examined = 0
    try:
        while level:
            below: list[Any] = []
            for item in level:
                kind = type(item)
                if kind is str or kind is bool or item is None:
                    continue
                if kind is dict:
                    if depth >= MAX_DEPTH or not all(map(str.isascii, item)):
                        return False
                    below.extend(item.values())
                elif kind is list:
                    if depth >= MAX_DEPTH:
                        return False
                    below.extend(item)
                elif kind is not int or not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    return False
            examined += len(below)
            if examined > _PLAIN_ITEMS:
                return False  # a value shared or cycling many times over: _check walks it
            level = below
            depth += 1
    except TypeError:
        return False
    return True


def _check(value: object, depth: int = 0) -> bool:
    """Refuse what JCS cannot carry; return whether orjson's key order equals JCS's throughout."""
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return True
        raise _RefusalError(f"integer {value} is outside ±(2**53-1)")
    if isinstance(value, float):
        raise _RefusalError(f"float {value!r} refused: numbers must be integers or decimal strings")
    if depth >= MAX_DEPTH:
        raise _RefusalError(f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return _check_object(value, depth)
    if isinstance(value, list | tuple):
        return _check_array(value, depth)
    raise _RefusalError(f"value of type {type(value).__name__} is not JSON")


def _check_object(value: dict[object, object], depth: int) -> bool:
    sort_safe = True
    for key, item in value.items():
        if not isinstance(key, str):
            raise _RefusalError(f"object key {key!r} of type {type(key).__name__} is not a string")
        # Code-point order (orjson) and UTF-16 order (JCS) differ only when a character at or
        # above U+E000 meets a supplementary one at the same position of two keys.
        if not key.isascii() and max(key) >= "\ue000":
            sort_safe = False
        if type(item) is str:
            continue  # most members are strings; skipping the call halves the walk
        try:
            sort_safe = _check(item, depth + 1) and sort_safe
        except _RefusalError as refusal:
            refusal.path.append(key)
            raise
    return sort_safe


def _check_array(value: list[object] | tuple[object, ...], depth: int) -> bool:
    sort_safe = True
    for index, item in enumerate(value):
        if type(item) is str:
            continue
        try:
            sort_safe = _check(item, depth + 1) and sort_safe
        except _RefusalError as refusal:
            refusal.path.append(index)
            raise
    return sort_safe


def _canonical_fast(value: object) -> bytes:
    """Serialise with orjson; equals JCS only for values _check found sort-safe."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _canonical_pure(value: object) -> bytes:
    """Serialise per RFC 8785 in pure Python, sorting keys by UTF-16 code units."""
    parts: list[str] = []
    try:
        _write(value, parts)
    except _RefusalError as refusal:
        raise refusal.error() from None
    return "".join(parts).encode("utf-8")


def _write(value: object, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_quote(value))
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, dict):
        members = sorted(
            ((_quote(key), key, item) for key, item in value.items()),
            key=lambda member: member[1].encode("utf-16-be"),
        )
        parts.append("{")
        for position, (quoted, key, item) in enumerate(members):
            parts.append("," if position else "")
            parts.append(quoted)
            parts.append(":")
            try:
                _write(item, parts)
            except _RefusalError as refusal:
                refusal.path.append(key)
                raise
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            parts.append("," if index else "")
            try:
                _write(item, parts)
            except _RefusalError as refusal:
                refusal.path.append(index)
                raise
        parts.append("]")
    else:
        raise _RefusalError(f"value of type {type(value).__name__} is not JSON")


def _quote(text: str) -> str:
    if _SURROGATE.search(text):
        raise _RefusalError(f"string {text[:40]!r} contains a lone surrogate")
    return '"' + _NEEDS_ESCAPE.sub(lambda match: _ESCAPES[match.group()], text) + '"'


def parse_json(data: bytes | str) -> object:
    """Parse one UTF-8 JSON document strictly, refusing duplicate object keys (I-JSON)."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedJSON("JSON text contains a lone surrogate") from None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise MalformedJSON(f"not valid JSON: {error}") from None
    # Each key in the text ends with a quote, optional whitespace and a colon; outside keys that
    # run occurs only inside strings. So runs >= keys in the text >= members parsed, and keys in
    # the text == members parsed exactly when no key repeats. When the cheap count of '":' equals
    # the members parsed (and no run has whitespace), no key repeats; otherwise look closer.
    if _SPACED_COLON.search(data) or data.count(b'":') != _count_members(value):
        _refuse_duplicate_keys(data)
    return value


def _count_members(value: object) -> int:
    members = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            members += len(item)
            pending.extend(item.values())
        elif type(item) is list:
            pending.extend(item)
    return members


def _refuse_duplicate_keys(data: bytes) -> None:
    try:
        json.loads(data, object_pairs_hook=_unique_members)
    except RecursionError:
        raise MalformedJSON("JSON nests too deeply to check for duplicate keys") from None


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedJSON(f"duplicate object key {json.dumps(key)}")
            seen.add(key)
    return members
