"""Folding a learner's entries into portfolio items, one entry at a time (DESIGN §5).

`apply` returns exactly the items an entry creates or changes, so a follower persists those and the
position it reached in one transaction, and can resume from any point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from projections.portfolio_items import Item, read_item

ENDED = "EnrolmentEndedCredential"
ENROLMENT = "EnrolmentCredential"
STATUS = "StatusCredential"


def apply(
    items: Mapping[str, Item],
    learner: str,
    entry: Mapping[str, Any],
    content: Mapping[str, Any] | None,
    read: Item | None = None,
) -> list[Item]:
    """Fold one entry into the learner's `items` (not mutated); return every item it creates or changes.

    The registration (seq 1) changes nothing. An entry already folded (same credential and seq)
    returns [], so applying an entry twice is harmless. Targets the learner does not hold are
    ignored: the ledger refused those when they were posted. `read` is the entry's own item if
    already read (`read_item(learner, entry, content)`).
    """
    if entry.get("learner", learner) != learner:
        raise ValueError(f"entry {entry.get('seq')} belongs to {entry.get('learner')}, not {learner}")
    if entry["seq"] == 1 or entry["kind"] == "registration":
        return []
    known = items.get(str(entry["credential"]))
    if known is not None and known.seq == entry["seq"]:
        return []
    item = read_item(learner, entry, content) if read is None else read
    changed: dict[str, Item] = {item.credential: item}
    if item.type_name == STATUS:
        _change_status(items, changed, item)
    elif item.type_name == ENDED:
        _settle_enrolment(items, changed, item.detail.get("enrolment"))
    return list(changed.values())


def reads_other_items(item: Item) -> bool:
    """Whether `apply` may read items other than an entry's own (`item`, what `read_item` read from
    it): a StatusCredential reads the item it names, an EnrolmentEndedCredential its enrolment and that
    enrolment's other endings. An erased item has no type, so reads none.
    """
    return item.type_name in (STATUS, ENDED)


def fold(
    entries_with_content: Iterable[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
    learner: str,
    start: Mapping[str, Item] | None = None,
) -> dict[str, Item]:
    """Apply every entry in order, from `start` (the items an earlier fold left) or from nothing."""
    items = dict(start or {})
    for entry, content in entries_with_content:
        for item in apply(items, learner, entry, content):
            items[item.credential] = item
    return items


def _current(items: Mapping[str, Item], changed: Mapping[str, Item], credential: object) -> Item | None:
    if not isinstance(credential, str):
        return None
    return changed.get(credential) or items.get(credential)


def _change_status(items: Mapping[str, Item], changed: dict[str, Item], status: Item) -> None:
    """Supersede or revoke the named item; a revoked item stays revoked."""
    target = _current(items, changed, status.detail.get("names"))
    if target is None or target.credential == status.credential or target.revoked_by is not None:
        return
    erased = target.status == "erased"
    reason = status.detail.get("reason")
    if status.kind == "revocation":
        target = replace(
            target, status="erased" if erased else "revoked", revoked_by=status.credential, reason=reason
        )
    else:
        target = replace(
            target,
            status="erased" if erased else "superseded",
            superseded_by=status.credential,
            replaced_by=status.detail.get("replaced_by"),
            reason=reason,
        )
    changed[target.credential] = target
    if target.type_name == ENDED:
        _settle_enrolment(items, changed, target.detail.get("enrolment"))


def _settle_enrolment(items: Mapping[str, Item], changed: dict[str, Item], credential: object) -> None:
    """Set an enrolment's state from the latest valid EnrolmentEndedCredential naming it, else active."""
    enrolment = _current(items, changed, credential)
    if enrolment is None or enrolment.type_name != ENROLMENT:
        return
    endings = {**items, **changed}.values()
    naming = [
        ending
        for ending in endings
        if ending.type_name == ENDED
        and ending.status == "valid"
        and ending.detail.get("enrolment") == enrolment.credential
    ]
    latest = max(naming, key=lambda ending: ending.seq, default=None)
    settled = {
        "state": "active" if latest is None else latest.detail.get("outcome"),
        "ended": None if latest is None else latest.detail.get("ended"),
        "ended_by": None if latest is None else latest.credential,
    }
    if any(enrolment.detail.get(name) != value for name, value in settled.items()):
        changed[enrolment.credential] = replace(enrolment, detail={**enrolment.detail, **settled})
