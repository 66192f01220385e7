"""One credential as the portfolio shows it: the entry's facts and the signed content in plain names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeGuard

import orjson

from verification.trust import KIND_OF_TYPE

STATUSES = ("valid", "superseded", "revoked", "erased")
ENROLMENT_STATES = ("active", "completed", "withdrawn", "transferred")


@dataclass(frozen=True)
class Item:
    """One credential of a learner's portfolio, with its status after corrections and revocations.

    `detail` holds the kind's fields in plain names (JSON values only); treat it as read-only.
    An erased item (content gone with the learner's key) has only the entry's facts.
    """

    credential: str
    learner: str
    kind: str
    """The entry's kind: enrolment, assessment, award, admission, recruitment, correction, revocation."""
    type_name: str | None
    """The credential's type (e.g. `AssessmentResultCredential`); None when erased."""
    issuer: str
    seq: int
    recorded_at: str
    valid_from: str | None
    title: str | None
    detail: dict[str, Any]
    status: str = "valid"
    superseded_by: str | None = None
    """The StatusCredential that superseded this one (the latest, when several did)."""
    replaced_by: str | None = None
    revoked_by: str | None = None
    reason: str | None = None
    """The reason the superseding or revoking StatusCredential gave."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, `detail` as an object."""
        return asdict(self)

    def to_row(self) -> dict[str, Any]:
        """A flat table row: every field as a column, `detail` as canonical JSON text."""
        # The instance's attributes are its fields in their order (__init__ sets each once, in order),
        # copied in C: a tenth of reading them one by one, once for every item a rebuild writes.
        row = vars(self).copy()
        row["detail"] = canonical_text(self.detail)
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Item:
        """The item a `to_row` row stores."""
        values = {name: row[name] for name in _FIELDS}
        values["detail"] = orjson.loads(row["detail"])
        return _made(values)

    def to_text(self) -> str:
        """The `to_row` row as JSON text, as the portfolio view stores it."""
        return orjson.dumps(self.to_row()).decode()

    @classmethod
    def from_text(cls, text: str | bytes) -> Item:
        """The item a `to_text` text stores."""
        return cls.from_row(orjson.loads(text))


_FIELDS = tuple(field.name for field in fields(Item))


def _made(values: dict[str, Any]) -> Item:
    """The Item of `values`, every field in `_FIELDS` order, as `Item(**values)` makes it in a
    quarter of the time (a frozen dataclass's __init__ sets each field through object.__setattr__).
    """
    item = object.__new__(Item)
    vars(item).update(values)
    return item


def canonical_text(detail: Mapping[str, Any]) -> str:
    """`detail` as JSON with sorted keys and no spaces, non-ASCII as is.

    The text json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) gives, which
    rows were first written with, in a twentieth of the time: a detail holds only strings, None,
    booleans, integers within 64 bits (what orjson parses content into) and objects of those.
    """
    return orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()


def read_item(learner: str, entry: Mapping[str, Any], content: Mapping[str, Any] | None) -> Item:
    """The item an entry records: entry facts, plus what the credential says unless it is erased."""
    credential, kind = str(entry["credential"]), str(entry["kind"])
    issuer, seq, recorded_at = str(entry["issuer"]), int(entry["seq"]), str(entry["recorded_at"])
    if content is None:
        return Item(
            credential, learner, kind, None, issuer, seq, recorded_at, None, None, {}, status="erased"
        )
    type_name = credential_type(content)
    subject = content.get("credentialSubject")
    subject = subject if _is_mapping(subject) else {}
    reader = _READERS.get(type_name or "")
    title, detail = reader(subject, content) if reader is not None else (None, {})
    valid_from = content.get("validFrom")
    return _made(
        {
            "credential": credential,
            "learner": learner,
            "kind": kind,
            "type_name": type_name,
            "issuer": issuer,
            "seq": seq,
            "recorded_at": recorded_at,
            "valid_from": valid_from if isinstance(valid_from, str) else None,
            "title": title,
            "detail": detail,
            "status": "valid",
            "superseded_by": None,
            "replaced_by": None,
            "revoked_by": None,
            "reason": None,
        }
    )


def credential_type(content: Mapping[str, Any]) -> str | None:
    """The one credential type of `content` the ledger knows, else None."""
    types = content.get("type")
    if not isinstance(types, list):
        return None
    # A loop, not a list of the known names: a rebuild asks once a credential (3.3 -> 1.9 us).
    found = None
    for name in types:
        if name in KIND_OF_TYPE:
            if found is not None:
                return None
            found = name
    return None if found is None else str(found)


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """isinstance(value, Mapping), a dict (what parsed JSON holds) told without the ABC's check."""
    return type(value) is dict or isinstance(value, Mapping)


def _text(holder: Mapping[str, Any], name: str) -> str | None:
    value = holder.get(name)
    return value if isinstance(value, str) else None


def _first(holder: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The first object of a list field (an Alignment, a Result), or an empty mapping."""
    values = holder.get(name)
    if isinstance(values, list) and values and _is_mapping(values[0]):
        return values[0]
    return {}


Reading = tuple[str | None, dict[str, Any]]


def _enrolment(subject: Mapping[str, Any], _: Mapping[str, Any]) -> Reading:
    detail: dict[str, Any] = {
        "programme": _text(subject, "programme"),
        "provider": _text(subject, "provider"),
        "start": _text(subject, "startDate"),
        "expected_end": _text(subject, "expectedEndDate"),
        "state": "active",
        "ended": None,
        "ended_by": None,
    }
    return detail["programme"], detail


def _enrolment_ended(subject: Mapping[str, Any], _: Mapping[str, Any]) -> Reading:
    outcome = _text(subject, "outcome")
    detail: dict[str, Any] = {
        "enrolment": _text(subject, "enrolment"),
        "outcome": outcome,
        "ended": _text(subject, "endDate"),
    }
    return f"Enrolment {outcome}", detail


def _assessment(subject: Mapping[str, Any], _: Mapping[str, Any]) -> Reading:
    alignment = _first(subject, "alignment")
    detail: dict[str, Any] = {
        "assessment": _text(subject, "assessment"),
        "component": _text(subject, "component"),
        "result": _text(subject, "result"),
        "date": _text(subject, "assessmentDate"),
        "qualification": {
            "title": _text(alignment, "targetName"),
            "framework": _text(alignment, "targetFramework"),
            "level": _text(alignment, "targetCode"),
        },
    }
    return detail["assessment"], detail


def _award(subject: Mapping[str, Any], document: Mapping[str, Any]) -> Reading:
    achievement = subject.get("achievement")
    achievement = achievement if _is_mapping(achievement) else {}
    alignment = _first(achievement, "alignment")
    credits = achievement.get("creditsAvailable")
    detail: dict[str, Any] = {
        "name": _text(achievement, "name"),
        "framework": _text(alignment, "targetFramework"),
        "level": _text(alignment, "targetCode"),
        "credits": credits if isinstance(credits, int) and not isinstance(credits, bool) else None,
        "result": _text(_first(subject, "result"), "value"),
        "awarded": _text(document, "awardedDate"),
    }
    return detail["name"], detail


def _admission(subject: Mapping[str, Any], _: Mapping[str, Any]) -> Reading:
    detail: dict[str, Any] = {
        "institution": _text(subject, "institution"),
        "programme": _text(subject, "programme"),
        "decision": _text(subject, "decision"),
        "date": _text(subject, "decisionDate"),
    }
    decision = (detail["decision"] or "decision").replace("-", " ").capitalize()
    return f"{decision}: {detail['programme']} at {detail['institution']}", detail


def _employment(subject: Mapping[str, Any], _: Mapping[str, Any]) -> Reading:
    checked = subject.get("qualificationsChecked")
    detail: dict[str, Any] = {
        "employer": _text(subject, "employer"),
        "role": _text(subject, "role"),
        "start": _text(subject, "startDate"),
        "end": _text(subject, "endDate"),
        "qualifications_checked": checked if isinstance(checked, bool) else None,
    }
    return f"{detail['role']} at {detail['employer']}", detail


def _status(subject: Mapping[str, Any], _: Mapping[str, Any]) -> Reading:
    action = "supersedes" if "supersedes" in subject else "revokes"
    detail: dict[str, Any] = {
        "names": _text(subject, action),
        "replaced_by": _text(subject, "replacedBy") if action == "supersedes" else None,
        "reason": _text(subject, "reason"),
    }
    noun = "Correction" if action == "supersedes" else "Revocation"
    return f"{noun} of {detail['names']}", detail


_READERS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], Reading]] = {
    "EnrolmentCredential": _enrolment,
    "EnrolmentEndedCredential": _enrolment_ended,
    "AssessmentResultCredential": _assessment,
    "AchievementCredential": _award,
    "OpenBadgeCredential": _award,
    "AdmissionCredential": _admission,
    "EmploymentCredential": _employment,
    "StatusCredential": _status,
}
