"""The issuer side of an audit: each organisation's registry replayed from its own entries in log
order, and every recorded credential's proof, key and accreditation checked against the registry
as it stood at the credential's place in the log (the rules of posting, verification.trust's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ledger.audit_examine import Examined
from ledger.audit_report import Place, Tally
from ledger.audit_source import Recorded
from ledger.streams import Entry, rfc3339
from verification.errors import MalformedRegistry, VerificationError
from verification.issuer_checks import credential_issuer
from verification.keys import VerifyKey
from verification.trust import (
    SCOPED_KINDS,
    KeyRecord,
    RegistryState,
    credential_kind,
    credential_scope,
    fold_registry,
    parse_instant,
)

_STATES_AFTER = {"supersedes": ("superseded", "revoked"), "revokes": ("revoked",)}
"""What a credential's index status must be once a correction or revocation names it (final: revoked)."""

FindRecorded = Callable[[str], Recorded | None]
"""Where a credential id is recorded (its claim, status and entry as stored), or None."""


class RegistryReplay:
    """Every organisation's registry as the log held it so far, replayed from its own entries.

    Memory grows with the registry (organisations, keys, accreditations), never with credentials.
    """

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.entries: dict[str, list[Entry]] = {}
        self.states: dict[str, RegistryState] = {}
        self.stream_of_did: dict[str, str] = {}

    def apply(self, entry: Entry, place: Place | None) -> None:
        """Replay one registry entry; `place` is None for entries before the audited range."""
        stream = str(entry.get("organisation"))
        if entry.get("kind") == "organisation-registered":
            entries = [entry]
        else:
            entries = [*self.entries.get(stream, []), entry]
        try:
            state = fold_registry(entries)
        except MalformedRegistry as error:
            if place is not None:
                self.tally.at(place, "unreadable", f"a registry entry the ledger would never write: {error}")
            return
        self.entries[stream] = entries
        self.states[stream] = state
        self.stream_of_did[state.did] = stream

    def state_of(self, did: str | None) -> RegistryState | None:
        """The organisation with this DID as replayed so far, or None."""
        stream = self.stream_of_did.get(did or "")
        return None if stream is None else self.states.get(stream)


class IssuerAuditor:
    """Checks each recorded credential against the registry as of its place in the log."""

    def __init__(self, tally: Tally, registry: RegistryReplay, find_recorded: FindRecorded) -> None:
        self.tally = tally
        self.registry = registry
        self.find_recorded = find_recorded
        self._names: dict[bytes, tuple[str, str]] = {}

    def names(self, raw: bytes) -> tuple[str, str]:
        """A key's Multikey and did:key method, remembered (base58 in Python is slow; keys are few)."""
        if raw not in self._names:
            if len(self._names) >= 4096:
                self._names.clear()
            key = VerifyKey(raw)
            self._names[raw] = (key.multibase, key.verification_method)
        return self._names[raw]

    def check(self, entry: Entry, document: Mapping[str, Any], place: Place, examined: Examined) -> None:
        """Proof (as `examined` found it), entry fields, key window and compromise, accreditation (or
        the status rule).
        """
        issuer = credential_issuer(document)
        self.tally.count("issuer-proofs")
        if examined.key is None:
            self.tally.at(
                place,
                "issuer-proof",
                f"the credential's eddsa-jcs-2022 proof does not verify: {examined.proof_problem}",
            )
            _check_fields(self.tally, entry, document, None, place)
            return
        controller = examined.controller
        multibase, method = self.names(examined.key)
        _check_fields(self.tally, entry, document, method, place)
        if controller != issuer:
            self.tally.at(place, "issuer-key", f"signed on behalf of {controller}, not its issuer {issuer}")
            return
        record, state = self._key_record(issuer, multibase, place)
        if record is None or state is None:
            return
        valid_from = parse_instant(document.get("validFrom"))
        if valid_from is None:
            self.tally.at(place, "issuer-key", "the credential has no readable validFrom to judge its key by")
        self._check_window(record, valid_from, parse_instant(entry.get("recorded_at")), place)
        kind, scope = credential_kind(document), credential_scope(document)
        if kind == "status":
            self._check_status(entry, document, issuer, place)
        elif kind is None:
            self.tally.at(place, "accreditation", "the credential is of no kind the ledger records")
        elif kind in SCOPED_KINDS and scope is None:
            self.tally.at(place, "accreditation", f"the {kind} names no qualification to be accredited for")
        elif valid_from is not None and not state.is_accredited(kind, scope, valid_from):
            within = f" in {scope}" if scope else ""
            self.tally.at(
                place,
                "accreditation",
                f"{state.slug} was not accredited for {kind}{within} at {rfc3339(valid_from)}, "
                "as its registry stood at this point of the log",
            )

    def check_erased(self, entry: Entry, place: Place) -> None:
        """What the entry alone still shows once contents are erased: its key was the issuer's, sound."""
        try:
            key = VerifyKey.from_did_key(str(entry.get("key")))
        except VerificationError as error:
            self.tally.at(place, "issuer-key", f"the entry's key is not a did:key: {error}")
            return
        record, _ = self._key_record(entry.get("issuer"), self.names(key.raw)[0], place)
        if record is not None:
            self._check_window(record, None, parse_instant(entry.get("recorded_at")), place)

    def _key_record(
        self, issuer: object, multibase: str, place: Place
    ) -> tuple[KeyRecord | None, RegistryState | None]:
        state = self.registry.state_of(issuer if isinstance(issuer, str) else None)
        if state is None:
            self.tally.at(
                place, "issuer-key", f"{issuer} was not a registered organisation at this point of the log"
            )
            return None, None
        record = state.keys.get(multibase)
        if record is None:
            self.tally.at(
                place, "issuer-key", f"key {multibase} was not registered to {state.slug} at this point"
            )
        return record, state

    def _check_window(
        self, record: KeyRecord, valid_from: datetime | None, recorded: datetime | None, place: Place
    ) -> None:
        key = record.multibase
        if valid_from is not None:
            if valid_from < record.valid_from:
                self.tally.at(
                    place,
                    "issuer-key",
                    f"dated {rfc3339(valid_from)}, before key {key} became valid "
                    f"({rfc3339(record.valid_from)})",
                )
            elif record.retired_at is not None and valid_from >= record.retired_at:
                self.tally.at(
                    place,
                    "issuer-key",
                    f"dated {rfc3339(valid_from)}, after key {key} was retired "
                    f"({rfc3339(record.retired_at)})",
                )
        at = record.compromised_at
        if at is None:
            return
        if valid_from is not None and at <= valid_from:
            self.tally.at(
                place,
                "issuer-key",
                f"key {key} was compromised from {rfc3339(at)}, on or before the credential's date",
            )
        elif recorded is None or at <= recorded:
            self.tally.at(
                place, "issuer-key", f"key {key} was compromised from {rfc3339(at)}, before it was recorded"
            )

    def _check_status(
        self, entry: Entry, document: Mapping[str, Any], issuer: str | None, place: Place
    ) -> None:
        """A correction or revocation needs no accreditation, but must name its own issuer's credential."""
        subject = document.get("credentialSubject")
        if not isinstance(subject, Mapping):
            self.tally.at(place, "accreditation", "the status credential names no credential")
            return
        action = "supersedes" if "supersedes" in subject else "revokes"
        for target in (subject.get(action), subject.get("replacedBy")):
            if target is None and action == "revokes":
                continue
            if not isinstance(target, str):
                if target is not None:
                    self.tally.at(place, "accreditation", f"{action} names {target!r}, not a credential id")
                continue
            found = self.find_recorded(target)
            if found is None:
                self.tally.at(
                    place, "accreditation", f"{action} names {target}, which the ledger does not hold"
                )
                continue
            here, named = entry.get("seq"), found.entry
            if found.learner != entry.get("learner") or not isinstance(here, int) or found.seq >= here:
                self.tally.at(
                    place,
                    "accreditation",
                    f"{action} names {target}, recorded as {found.learner} seq {found.seq}, "
                    "not earlier in this stream",
                )
            elif named.get("credential") != target or named.get("issuer") != issuer:
                self.tally.at(
                    place,
                    "accreditation",
                    f"{target} was issued by {named.get('issuer')}; only its issuer may correct or "
                    f"revoke it, not {issuer}",
                )
            elif target == subject.get(action) and found.state not in _STATES_AFTER[action]:
                self.tally.at(place, "chain", f"the index shows {target} as {found.state}; this {action} it")


def _check_fields(
    tally: Tally, entry: Entry, document: Mapping[str, Any], method: str | None, place: Place
) -> None:
    """The entry's public fields say what the credential it commits to says (ledger/posting.py)."""
    subject = document.get("credentialSubject")
    kind = credential_kind(document)
    if kind == "status" and isinstance(subject, Mapping):
        kind = "correction" if "supersedes" in subject else "revocation"
    expected: dict[str, object] = {
        "credential": document.get("id"),
        "issuer": credential_issuer(document),
        "learner": subject.get("id") if isinstance(subject, Mapping) else None,
        "kind": kind,
    }
    if method is not None:
        expected["key"] = method
    differ = [
        f"{name} {entry.get(name)!r} (credential: {value!r})"
        for name, value in expected.items()
        if entry.get(name) != value
    ]
    if differ:
        tally.at(
            place,
            "commitment",
            f"the entry does not describe the credential it commits to: {'; '.join(differ)}",
        )
