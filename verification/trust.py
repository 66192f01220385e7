"""The trust rules the ledger and the offline verifier share: key windows, accreditation, kinds.

An organisation's registry is the replay of its own stream of entries (DESIGN §3), so anyone
holding those entries, proven in the log, can rebuild exactly what the ledger knew. Instants are
compared in UTC; a window is [from, until).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from verification.errors import MalformedRegistry

_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")

KIND_OF_TYPE = {
    "EnrolmentCredential": "enrolment",
    "EnrolmentEndedCredential": "enrolment",
    "AssessmentResultCredential": "assessment",
    "AchievementCredential": "award",
    "OpenBadgeCredential": "award",
    "AdmissionCredential": "admission",
    "EmploymentCredential": "recruitment",
    "StatusCredential": "status",
}
"""Each credential type the ledger accepts, and the statement kind it is."""

SCOPED_KINDS = ("assessment", "award")
"""The kinds whose credentials name a qualification scope `FRAMEWORK:LEVEL`."""


@dataclass(frozen=True)
class KeyRecord:
    """A registered signing key and its validity window."""

    multibase: str
    valid_from: datetime
    retired_at: datetime | None = None
    compromised_at: datetime | None = None

    def usable_at(self, instant: datetime) -> bool:
        """True when the key was valid (and not yet retired or compromised) at `instant`."""
        if instant < self.valid_from:
            return False
        if self.retired_at is not None and instant >= self.retired_at:
            return False
        return self.compromised_at is None or instant < self.compromised_at


@dataclass(frozen=True)
class Accreditation:
    """The kinds and qualification scopes an organisation may issue, and when."""

    kinds: tuple[str, ...]
    scopes: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime | None

    def covers(self, kind: str, scope: str | None, instant: datetime) -> bool:
        """True when this accreditation allows `kind` in `scope` at `instant`."""
        if kind not in self.kinds or instant < self.valid_from:
            return False
        if self.valid_until is not None and instant >= self.valid_until:
            return False
        return scope is None or any(scope_matches(pattern, scope) for pattern in self.scopes)


def scope_matches(pattern: str, scope: str) -> bool:
    """`*` matches any scope, `FHEQ` or `FHEQ:*` any level of a framework, `FHEQ:6` one level."""
    if pattern == "*":
        return True
    framework, _, level = scope.partition(":")
    want_framework, _, want_level = pattern.partition(":")
    if want_framework.casefold() != framework.casefold():
        return False
    return want_level in ("", "*") or want_level.casefold() == level.casefold()


@dataclass
class RegistryState:
    """An organisation as its stream records it: DID, kind, keys and accreditations."""

    organisation: str
    slug: str
    did: str
    kind: str
    keys: dict[str, KeyRecord]
    accreditations: list[Accreditation]
    name: str = ""
    seq: int = 0
    """The last entry replayed."""
    history: list[str] = field(default_factory=list)
    """The kinds of the entries replayed, in order."""

    def is_accredited(self, kind: str, scope: str | None, instant: datetime) -> bool:
        """True when some accreditation covers `kind` and `scope` at `instant`."""
        return any(item.covers(kind, scope, instant) for item in self.accreditations)

    def copy(self) -> RegistryState:
        """A copy whose keys, accreditations and history can change without changing this one."""
        return RegistryState(
            self.organisation,
            self.slug,
            self.did,
            self.kind,
            dict(self.keys),
            list(self.accreditations),
            self.name,
            self.seq,
            list(self.history),
        )


def fold_registry(entries: Sequence[Mapping[str, Any]]) -> RegistryState:
    """Replay an organisation's stream entries, in order, into its registry state.

    Checks the meaning of each entry, not the chain (`entries.check_chain` does that); raises
    MalformedRegistry for an entry the ledger would never have written.
    """
    if not entries:
        raise MalformedRegistry("an organisation's stream has at least its registration entry")
    first = entries[0]
    if first.get("kind") != "organisation-registered":
        raise MalformedRegistry(f"the first entry is {first.get('kind')!r}, not 'organisation-registered'")
    data = _data(first)
    state = RegistryState(
        organisation=_text(first, "organisation", "entry"),
        slug=_text(data, "slug", "organisation-registered"),
        did=_text(data, "did", "organisation-registered"),
        kind=_text(data, "kind", "organisation-registered"),
        keys={},
        accreditations=[],
        name=_text(data, "name", "organisation-registered"),
    )
    _advance(state, first)
    for entry in entries[1:]:
        _apply(state, entry)
        _advance(state, entry)
    return state


def _advance(state: RegistryState, entry: Mapping[str, Any]) -> None:
    seq = entry.get("seq")
    state.seq = seq if isinstance(seq, int) else state.seq
    state.history.append(str(entry.get("kind")))


def _apply(state: RegistryState, entry: Mapping[str, Any]) -> None:
    kind = entry.get("kind")
    data = _data(entry)
    if kind == "key-added":
        key = _text(data, "key", "key-added")
        if key in state.keys:
            # The ledger refuses this; replaying it would wipe a retirement or a compromise.
            raise MalformedRegistry(f"key {key} is added twice")
        state.keys[key] = KeyRecord(key, _instant(data, "validFrom", "key-added"))
    elif kind == "key-retired":
        old = _known_key(state, data, "key-retired")
        state.keys[old.multibase] = replace(old, retired_at=_instant(data, "retiredAt", "key-retired"))
    elif kind == "key-compromised":
        old = _known_key(state, data, "key-compromised")
        at = _instant(data, "compromisedAt", "key-compromised")
        state.keys[old.multibase] = replace(old, compromised_at=at)
    elif kind == "accreditation-granted":
        until = data.get("validUntil")
        state.accreditations.append(
            Accreditation(
                _texts(data, "kinds"),
                _texts(data, "scopes"),
                _instant(data, "validFrom", "accreditation-granted"),
                None if until is None else _instant(data, "validUntil", "accreditation-granted"),
            )
        )
    else:
        raise MalformedRegistry(f"entry {entry.get('seq')!r} has kind {kind!r}, unknown to the registry")


def _data(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    data = entry.get("data")
    if not isinstance(data, Mapping):
        raise MalformedRegistry(f"entry {entry.get('seq')!r} ({entry.get('kind')}) has no data object")
    return data


def _text(holder: Mapping[str, Any], name: str, where: str) -> str:
    value = holder.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedRegistry(f"{where}: {name} must be a non-empty string, got {value!r}")
    return value


def _texts(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    values = data.get(name)
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise MalformedRegistry(f"accreditation-granted: {name} must be a list of strings")
    return tuple(values)


def _instant(data: Mapping[str, Any], name: str, where: str) -> datetime:
    instant = parse_instant(data.get(name))
    if instant is None:
        raise MalformedRegistry(f"{where}: {name} is not an RFC 3339 date-time with a time zone")
    return instant


def _known_key(state: RegistryState, data: Mapping[str, Any], where: str) -> KeyRecord:
    key = _text(data, "key", where)
    if key not in state.keys:
        raise MalformedRegistry(f"{where} names key {key}, which was never added")
    return state.keys[key]


def parse_instant(value: object) -> datetime | None:
    """An RFC 3339 date-time with a time zone as a datetime, read as the ledger reads validFrom; else None."""
    if type(value) is str:
        return _remembered_instant(value)
    return _parse_instant(value)


def _parse_instant(value: object) -> datetime | None:
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


# A verification reads the same instants several times (validFrom, recorded_at, and the
# registry's, the same in every bundle of one issuer); a datetime is immutable.
_remembered_instant = functools.lru_cache(maxsize=256)(_parse_instant)


def credential_kind(document: Mapping[str, Any]) -> str | None:
    """The statement kind of a credential: its one known type's kind, or None."""
    types = document.get("type")
    if not isinstance(types, list):
        return None
    known = [name for name in types if isinstance(name, str) and name in KIND_OF_TYPE]
    return KIND_OF_TYPE[known[0]] if len(known) == 1 else None


def credential_scope(document: Mapping[str, Any]) -> str | None:
    """The `FRAMEWORK:LEVEL` an assessment or award claims, from its first Alignment; else None."""
    kind = credential_kind(document)
    subject = document.get("credentialSubject")
    if kind not in SCOPED_KINDS or not isinstance(subject, Mapping):
        return None
    holder = subject if kind == "assessment" else subject.get("achievement")
    alignments = holder.get("alignment") if isinstance(holder, Mapping) else None
    if not isinstance(alignments, list) or not alignments or not isinstance(alignments[0], Mapping):
        return None
    framework, code = alignments[0].get("targetFramework"), alignments[0].get("targetCode")
    if not isinstance(framework, str) or not isinstance(code, str):
        return None
    return f"{framework}:{code}"
