"""A learner's portfolio (DESIGN §5): enrolments, assessments, awards, admissions and employment.

Items come from `apply`/`fold` (re-exported here); `portfolio` arranges them with corrections
applied: a replacement is shown with the values it superseded as history, revoked items stay but are
marked, admissions show each application's latest decision. The same items in any order give an
equal Portfolio, so a view may load its rows in any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from projections.portfolio_fold import apply, fold
from projections.portfolio_items import Item

__all__ = ["AdmissionGroup", "Item", "Portfolio", "PortfolioItem", "apply", "fold", "portfolio"]

_SECTIONS = {
    "EnrolmentCredential": "enrolments",
    "AssessmentResultCredential": "assessments",
    "AchievementCredential": "awards",
    "OpenBadgeCredential": "awards",
    "AdmissionCredential": "admissions",
    "EmploymentCredential": "employment",
}
_DATE_FIELD = {"enrolments": "start", "assessments": "date", "awards": "awarded", "employment": "start"}
"""The detail field each listed section is ordered by (then seq)."""


@dataclass(frozen=True)
class PortfolioItem:
    """A credential as shown: its current item and the items it replaced, oldest first."""

    item: Item
    history: tuple[Item, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The item's fields, plus `history` as a list of items."""
        return {**self.item.to_json(), "history": [earlier.to_json() for earlier in self.history]}


@dataclass(frozen=True)
class AdmissionGroup:
    """One application (institution and programme): its latest decision and the earlier ones."""

    institution: str | None
    programme: str | None
    latest: Item
    history: tuple[Item, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The application, its latest decision and the earlier decisions, oldest first."""
        return {
            "institution": self.institution,
            "programme": self.programme,
            "latest": self.latest.to_json(),
            "history": [earlier.to_json() for earlier in self.history],
        }


@dataclass(frozen=True)
class Portfolio:
    """A learner's portfolio, each section in date order (then seq); erased items by seq."""

    learner: str
    enrolments: tuple[PortfolioItem, ...]
    assessments: tuple[PortfolioItem, ...]
    awards: tuple[PortfolioItem, ...]
    admissions: tuple[AdmissionGroup, ...]
    employment: tuple[PortfolioItem, ...]
    erased: tuple[Item, ...]
    """Items whose content was erased with the learner's key: only the entries' facts remain."""

    def to_json(self) -> dict[str, Any]:
        """The portfolio as JSON-ready dicts and lists."""
        return {
            "learner": self.learner,
            "enrolments": [shown.to_json() for shown in self.enrolments],
            "assessments": [shown.to_json() for shown in self.assessments],
            "awards": [shown.to_json() for shown in self.awards],
            "admissions": [group.to_json() for group in self.admissions],
            "employment": [shown.to_json() for shown in self.employment],
            "erased": [item.to_json() for item in self.erased],
        }


def portfolio(learner: str, items: Iterable[Item]) -> Portfolio:
    """Arrange a learner's items (each credential once, in any order); other learners' are ignored.

    Status credentials and EnrolmentEndedCredentials are not listed: their effect shows on the
    items they name.
    """
    sections: dict[str, dict[str, Item]] = {name: {} for name in (*_DATE_FIELD, "admissions")}
    erased: list[Item] = []
    for item in items:
        if item.learner != learner:
            continue
        if item.status == "erased":
            erased.append(item)
        elif item.type_name in _SECTIONS:
            sections[_SECTIONS[item.type_name]][item.credential] = item
    return Portfolio(
        learner=learner,
        enrolments=_with_history(sections["enrolments"], _DATE_FIELD["enrolments"]),
        assessments=_with_history(sections["assessments"], _DATE_FIELD["assessments"]),
        awards=_with_history(sections["awards"], _DATE_FIELD["awards"]),
        admissions=_admissions(sections["admissions"].values()),
        employment=_with_history(sections["employment"], _DATE_FIELD["employment"]),
        erased=tuple(sorted(erased, key=lambda item: (item.seq, item.credential))),
    )


def _when(item: Item, date_field: str) -> tuple[bool, str, int, str]:
    """Sort key: the item's date (undated last), then seq; `[:10]` takes an instant's date."""
    value = item.detail.get(date_field)
    text = value[:10] if isinstance(value, str) else ""
    return (not text, text, item.seq, item.credential)


def _head(section: Mapping[str, Item], credential: str) -> str:
    """The item that finally replaced `credential`; the item itself when its chain loops."""
    current = section[credential]
    seen = {credential}
    while current.status == "superseded" and current.replaced_by is not None:
        if current.replaced_by not in section:
            break
        if current.replaced_by in seen:
            return credential
        current = section[current.replaced_by]
        seen.add(current.credential)
    return current.credential


def _with_history(section: Mapping[str, Item], date_field: str) -> tuple[PortfolioItem, ...]:
    """Each item not replaced within the section, with the items it replaced, oldest first."""
    replaced: dict[str, list[Item]] = {}
    for credential, item in section.items():
        head = _head(section, credential)
        if head != credential:
            replaced.setdefault(head, []).append(item)
    shown = [
        PortfolioItem(item, tuple(sorted(replaced.get(credential, []), key=lambda earlier: earlier.seq)))
        for credential, item in section.items()
        if _head(section, credential) == credential
    ]
    return tuple(sorted(shown, key=lambda entry: _when(entry.item, date_field)))


def _admissions(items: Iterable[Item]) -> tuple[AdmissionGroup, ...]:
    """Decisions grouped by (institution, programme): the latest valid one, then the rest as history."""
    groups: dict[tuple[str | None, str | None], list[Item]] = {}
    for item in items:
        groups.setdefault((item.detail.get("institution"), item.detail.get("programme")), []).append(item)
    arranged = []
    for (institution, programme), decisions in groups.items():
        ordered = sorted(decisions, key=lambda item: _when(item, "date"))
        standing = [item for item in ordered if item.status == "valid"] or ordered
        latest = standing[-1]
        history = tuple(item for item in ordered if item.credential != latest.credential)
        arranged.append(AdmissionGroup(institution, programme, latest, history))
    return tuple(sorted(arranged, key=lambda group: _when(group.latest, "date")))
