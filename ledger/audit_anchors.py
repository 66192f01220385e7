"""The index claims as anchors (ledger/indexes.py): each records the hash of the entry it points at,
so it pins that entry independently of its stream, even the last one, whose hash no `prev` covers.
The audit checks every entry against its claim: a claim missing, moved or recording another hash is
a `chain` finding, as `Ledger.read_stream` reports anchors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from ledger.application import Ledger
from ledger.audit_report import Place, Tally
from ledger.errors import LedgerError
from ledger.indexes import (
    CredentialClaim,
    KeyClaim,
    UlnClaim,
    credential_claim_id,
    key_claim_id,
    uln_claim_id,
)
from ledger.streams import Entry, uuid_of
from verification.entries import entry_hash

T = TypeVar("T")


@dataclass(frozen=True)
class Recorded:
    """A recorded credential as its index claim has it: where, its entry, and its status now."""

    learner: str
    seq: int
    entry: Entry
    state: str


class AnchorAuditor:
    """Looks up the claim behind each entry and checks that it points here, with this entry's hash."""

    def __init__(self, ledger: Ledger, tally: Tally) -> None:
        self.ledger = ledger
        self.tally = tally

    def credential(self, entry: Entry, place: Place) -> None:
        """A credential's entry: its claim names this learner, `seq`, issuer, kind and hash."""
        name = entry.get("credential")
        claim = self._claim(credential_claim_id(str(name)), CredentialClaim, f"credential {name}", place)
        if claim is None:
            return
        pairs = {
            "credential": (claim.credential, name),
            "learner": (claim.learner, place.stream),
            "seq": (claim.seq, place.seq),
            "issuer": (claim.issuer, entry.get("issuer")),
            "kind": (claim.kind, entry.get("kind")),
        }
        differ = [
            f"{field} {ours!r} (entry: {theirs!r})"
            for field, (ours, theirs) in pairs.items()
            if ours != theirs
        ]
        if differ:
            self.tally.at(place, "chain", f"the index claim on credential {name} says {'; '.join(differ)}")
        else:
            self._same_hash(claim.entry_hash, entry, place)

    def registration(self, entry: Entry, uln: object, place: Place) -> None:
        """A learner's registration: the ULN's claim names this learner and this entry's hash."""
        digest = self.ledger.master_key.uln_digest(str(uln)).hex()
        claim = self._claim(uln_claim_id(digest), UlnClaim, "the learner's ULN", place)
        if claim is None:
            return
        if claim.learner != place.stream:
            self.tally.at(place, "chain", f"the index claims this learner's ULN for {claim.learner}")
        else:
            self._same_hash(claim.entry_hash, entry, place)

    def key_added(self, entry: Entry, place: Place) -> None:
        """A key added to an organisation: the key's claim names this organisation."""
        data = entry.get("data")
        key = data.get("key") if isinstance(data, dict) else None
        claim = self._claim(key_claim_id(str(key)), KeyClaim, f"key {key}", place)
        if claim is not None and (claim.key, claim.organisation) != (key, place.stream):
            self.tally.at(place, "chain", f"the index claims key {claim.key} for {claim.organisation}")

    def find_recorded(self, credential: str) -> Recorded | None:
        """Where a credential is recorded, by its claim, its status, and its entry as stored."""
        try:
            claim = self.ledger.find(credential_claim_id(credential), CredentialClaim)
            if claim is None:
                return None
            stream = uuid_of(claim.learner)
            stored = self.ledger.recorder.select_events(stream, gt=claim.seq - 1, lte=claim.seq)
            entry = getattr(self.ledger.mapper.to_domain_event(stored[0]), "entry", None) if stored else None
        except LedgerError:
            raise
        except Exception:  # a tampered claim or entry: the caller reports the credential as not held
            return None
        return Recorded(claim.learner, claim.seq, entry, claim.state) if isinstance(entry, dict) else None

    def _claim(self, claim_id: UUID, kind: type[T], what: str, place: Place) -> T | None:
        try:
            claim = self.ledger.find(claim_id, kind)
        except LedgerError:
            raise
        except Exception as error:  # a tampered claim event can fail anywhere in decoding
            self.tally.at(place, "unreadable", f"the index claim on {what} does not parse: {error}")
            return None
        if claim is None:
            self.tally.at(place, "chain", f"the index holds no claim on {what}")
        return claim

    def _same_hash(self, recorded: str, entry: Entry, place: Place) -> None:
        computed = entry_hash(entry)
        if recorded != computed:
            self.tally.at(
                place, "chain", f"the index recorded hash {recorded} for this entry; it hashes to {computed}"
            )
