"""The index claims as anchors (ledger/indexes.py): each records the hash of the entry it points at,
so it pins that entry independently of its stream, even the last one, whose hash no `prev` covers.
The audit checks every entry against its claim: a claim missing, moved or recording another hash is
a `chain` finding, as `Ledger.read_stream` reports anchors.
"""

from __future__ import annotations

from typing import Any

from ledger.audit_report import Place, Tally
from ledger.audit_source import Anchor
from ledger.streams import Entry


class AnchorAuditor:
    """Checks the claim the source found behind each entry: it points here, with this entry's hash."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def credential(self, entry: Entry, digest: str, anchor: Anchor | None, place: Place) -> None:
        """A credential's entry (whose hash is `digest`): its claim names this learner, `seq`, issuer,
        kind and hash.
        """
        name = entry.get("credential")
        claim = self._claim(anchor, place)
        if claim is None:
            return
        pairs = {
            "credential": (claim.get("credential"), name),
            "learner": (claim.get("learner"), place.stream),
            "seq": (claim.get("seq"), place.seq),
            "issuer": (claim.get("issuer"), entry.get("issuer")),
            "kind": (claim.get("kind"), entry.get("kind")),
        }
        differ = [
            f"{field} {ours!r} (entry: {theirs!r})"
            for field, (ours, theirs) in pairs.items()
            if ours != theirs
        ]
        if differ:
            self.tally.at(place, "chain", f"the index claim on credential {name} says {'; '.join(differ)}")
        else:
            self._same_hash(claim.get("entry_hash"), digest, place)

    def registration(self, digest: str, anchor: Anchor | None, place: Place) -> None:
        """A learner's registration (whose hash is `digest`): the ULN's claim names this learner and
        this hash.
        """
        claim = self._claim(anchor, place)
        if claim is None:
            return
        if claim.get("learner") != place.stream:
            self.tally.at(place, "chain", f"the index claims this learner's ULN for {claim.get('learner')}")
        else:
            self._same_hash(claim.get("entry_hash"), digest, place)

    def erasure(self, entry: Entry, digest: str, anchor: Anchor | None, place: Place) -> None:
        """A learner's erasure (whose hash is `digest`): its claim names this learner, this request and
        this hash.
        """
        claim = self._claim(anchor, place)
        if claim is None:
            return
        request = f"urn:uuid:{claim.get('request')}"
        if claim.get("learner") != place.stream or request != entry.get("request"):
            self.tally.at(
                place, "chain", f"the index claims this erasure for {claim.get('learner')} and {request}"
            )
        else:
            self._same_hash(claim.get("entry_hash"), digest, place)

    def key_added(self, entry: Entry, anchor: Anchor | None, place: Place) -> None:
        """A key added to an organisation: the key's claim names this organisation."""
        data = entry.get("data")
        key = data.get("key") if isinstance(data, dict) else None
        claim = self._claim(anchor, place)
        if claim is not None and (claim.get("key"), claim.get("organisation")) != (key, place.stream):
            self.tally.at(
                place, "chain", f"the index claims key {claim.get('key')} for {claim.get('organisation')}"
            )

    def _claim(self, anchor: Anchor | None, place: Place) -> dict[str, Any] | None:
        if anchor is None:
            self.tally.at(place, "chain", "the index holds no claim on this entry")
            return None
        if anchor.problem is not None:
            self.tally.at(place, "unreadable", anchor.problem)
            return None
        if anchor.claim is None:
            self.tally.at(place, "chain", f"the index holds no claim on {anchor.what}")
        return anchor.claim

    def _same_hash(self, recorded: object, computed: str, place: Place) -> None:
        if recorded != computed:
            self.tally.at(
                place, "chain", f"the index recorded hash {recorded} for this entry; it hashes to {computed}"
            )
