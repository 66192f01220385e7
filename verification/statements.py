"""Receipts and status statements: C2SP signed notes by the ledger's log key.

One pinned key verifies checkpoints, receipts and status. The first line of each statement names
what it is (`learner-ledger/receipt/v1`, `learner-ledger/status/v1`), and every line is checked
strictly, so no statement can be read as a checkpoint, or as the other statement, or the reverse:

    learner-ledger/receipt/v1          learner-ledger/status/v1
    <origin>                           <origin>
    <entry hash, 64 hex>               <credential id, urn:uuid>
    <stream, urn:uuid>                 <valid | superseded | revoked>
    <seq>                              <checkpoint size>
    <recorded_at, RFC 3339>            issuer <organisation, urn:uuid> <seq> <entry hash, 64 hex>
                                       <by: the StatusCredential's id>   (only when not valid)

The status statement's `issuer` line is the head of the issuing organisation's registry stream as
of the checkpoint: the last `seq` the checkpoint covers and that entry's hash
(verification.entries.entry_hash). It commits to how many registry entries there are, so a bundle
cannot leave out the trailing ones (a later key retirement or compromise) unnoticed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from verification.errors import MalformedStatement, StatementOriginMismatch
from verification.merkle import MAX_TREE_SIZE
from verification.note import SIGNATURE_PREFIX, Verifier, decode_base64, is_note_line, open_note, sign_note
from verification.trust import parse_instant

RECEIPT_HEADER = "learner-ledger/receipt/v1"
STATUS_HEADER = "learner-ledger/status/v1"
STATES = ("valid", "superseded", "revoked")
ISSUER_PREFIX = "issuer"

_HASH_HEX = re.compile(r"[0-9a-f]{64}")
_UUID = r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_UUID_URN = re.compile(_UUID)
_POSITIVE = re.compile(r"[1-9][0-9]{0,18}")
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
# A status note as sign_status writes it (one signature line, printable ASCII text), read in one
# match: what open_status's general path reads of it, each field under the same pattern it checks.
_STATUS_NOTE = re.compile(
    f"(learner-ledger/status/v1\n([\x20-\x7e]+)\n({_UUID})\n(valid|superseded|revoked)\n"
    f"(0|[1-9][0-9]{{0,19}})\nissuer ({_UUID}) ([1-9][0-9]{{0,18}}) ([0-9a-f]{{64}})\n(?:({_UUID})\n)?)"
    f"\n{SIGNATURE_PREFIX}([\x21-\x2a\x2c-\x7e]+) ([A-Za-z0-9+/]+={{0,2}})\n"
)


@dataclass(frozen=True)
class Receipt:
    """The ledger's signed promise that an entry is recorded and will enter the log."""

    origin: str
    entry_hash: str
    stream: str
    seq: int
    recorded_at: str


@dataclass(frozen=True)
class StatusStatement:
    """The ledger's signed word on a credential's status as of one checkpoint."""

    origin: str
    credential: str
    state: str
    checkpoint_size: int
    issuer: str
    """The issuing organisation's stream id (urn:uuid)."""
    issuer_seq: int
    """The last `seq` of the issuer's registry stream that the checkpoint covers."""
    issuer_head: str
    """The hex entry hash of that last registry entry."""
    by: str | None = None
    """The StatusCredential that superseded or revoked the credential."""


def format_receipt(receipt: Receipt) -> str:
    """The receipt's note text, after checking every field."""
    _check_receipt(receipt)
    lines = [RECEIPT_HEADER, receipt.origin, receipt.entry_hash, receipt.stream]
    return _text([*lines, str(receipt.seq), receipt.recorded_at])


def format_status(statement: StatusStatement) -> str:
    """The status statement's note text, after checking every field."""
    _check_status(statement)
    lines = [STATUS_HEADER, statement.origin, statement.credential, statement.state]
    lines.append(str(statement.checkpoint_size))
    lines.append(f"{ISSUER_PREFIX} {statement.issuer} {statement.issuer_seq} {statement.issuer_head}")
    return _text(lines if statement.by is None else [*lines, statement.by])


def sign_receipt(
    origin: str, entry_hash: str, stream: str, seq: int, recorded_at: str, *, signer_name: str, seed: bytes
) -> str:
    """Sign a receipt for the entry with hash `entry_hash` at `seq` of `stream`, with the log key."""
    return sign_note(format_receipt(Receipt(origin, entry_hash, stream, seq, recorded_at)), signer_name, seed)


def sign_status(
    origin: str,
    credential: str,
    state: str,
    checkpoint_size: int,
    by: str | None,
    *,
    issuer: str,
    issuer_seq: int,
    issuer_head: str,
    signer_name: str,
    seed: bytes,
) -> str:
    """Sign a credential's status and its issuer's registry head as of a checkpoint, with the log key."""
    statement = StatusStatement(
        origin, credential, state, checkpoint_size, issuer, issuer_seq, issuer_head, by
    )
    return sign_note(format_status(statement), signer_name, seed)


def open_receipt(note: str, verifier: Verifier, origin: str) -> Receipt:
    """Verify the log's signature on a receipt note, then parse it and check its origin."""
    lines = _open(note, verifier, RECEIPT_HEADER, origin)
    if len(lines) != 6:
        raise MalformedStatement(f"a receipt has 6 lines, this one {len(lines)}")
    _, named_origin, entry_hash, stream, seq, recorded_at = lines
    if not _POSITIVE.fullmatch(seq):
        raise MalformedStatement(f"receipt seq {seq[:24]!r} is not a positive decimal")
    receipt = Receipt(named_origin, entry_hash, stream, int(seq), recorded_at)
    _check_receipt(receipt)
    return receipt


def open_status(note: str, verifier: Verifier, origin: str) -> StatusStatement:
    """Verify the log's signature on a status note, then parse it and check its origin."""
    return _open_plain_status(note, verifier, origin) or _open_status(note, verifier, origin)


def _open_plain_status(note: str, verifier: Verifier, origin: str) -> StatusStatement | None:
    """open_status of a note in the form sign_status writes whose every check passes; else None.

    The match holds what the general path checks of such a note (no control character, one
    signature line, six or seven lines, each field's pattern); the rest is checked here. On any
    other note, or any check that fails, the general path decides, in its own words.
    """
    match = _STATUS_NOTE.fullmatch(note) if type(note) is str else None
    if match is None or match[2] != origin or match[10] != verifier.name:
        return None
    text, named_origin, credential, state, size, issuer, issuer_seq, issuer_head, by, _, encoded = (
        match.groups()
    )
    try:
        signature = decode_base64(encoded)
    except ValueError:
        return None
    checkpoint_size, seq = int(size), int(issuer_seq)
    if (
        signature[:4] != verifier.key_id
        or len(signature) != 68
        or checkpoint_size > MAX_TREE_SIZE
        or seq > checkpoint_size
        or (by is None) != (state == "valid")
        or not verifier.verify(text.encode(), signature[4:])
    ):
        return None
    return StatusStatement(named_origin, credential, state, checkpoint_size, issuer, seq, issuer_head, by)


def _open_status(note: str, verifier: Verifier, origin: str) -> StatusStatement:
    """open_status, each step as the spec reads it."""
    lines = _open(note, verifier, STATUS_HEADER, origin)
    if len(lines) not in (6, 7):
        raise MalformedStatement(f"a status statement has 6 or 7 lines, this one {len(lines)}")
    _, named_origin, credential, state, size, issuer_line = lines[:6]
    if not _SIZE.fullmatch(size):
        raise MalformedStatement(f"checkpoint size {size[:24]!r} is not a decimal without leading zeroes")
    fields = issuer_line.split(" ")
    if len(fields) != 4 or fields[0] != ISSUER_PREFIX:
        raise MalformedStatement(
            f"line 6 {issuer_line[:40]!r} is not 'issuer <organisation> <seq> <entry hash>'"
        )
    _, issuer, issuer_seq, issuer_head = fields
    if not _POSITIVE.fullmatch(issuer_seq):
        raise MalformedStatement(f"issuer seq {issuer_seq[:24]!r} is not a positive decimal")
    by = lines[6] if len(lines) == 7 else None
    statement = StatusStatement(
        named_origin, credential, state, int(size), issuer, int(issuer_seq), issuer_head, by
    )
    _check_status(statement)
    return statement


def _open(note: str, verifier: Verifier, header: str, origin: str) -> list[str]:
    text, _ = open_note(note, [verifier])  # the signature first: nothing unsigned is parsed
    lines = text.removesuffix("\n").split("\n")
    if lines[0] != header:
        raise MalformedStatement(f"the note is {lines[0][:40]!r}, not {header!r}")
    if len(lines) < 2 or lines[1] != origin:
        raise StatementOriginMismatch(origin, lines[1] if len(lines) > 1 else "")
    return lines


def _text(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def _check_origin(origin: str) -> None:
    if not is_note_line(origin):
        raise MalformedStatement(f"origin {origin!r} is empty or holds a control character")


def _is_positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and bool(_POSITIVE.fullmatch(str(value)))


def _check_receipt(receipt: Receipt) -> None:
    _check_origin(receipt.origin)
    if not isinstance(receipt.entry_hash, str) or not _HASH_HEX.fullmatch(receipt.entry_hash):
        raise MalformedStatement(f"entry hash {receipt.entry_hash!r} is not 64 lower-case hex digits")
    if not isinstance(receipt.stream, str) or not _UUID_URN.fullmatch(receipt.stream):
        raise MalformedStatement(f"stream {receipt.stream!r} is not a lower-case urn:uuid")
    if not _is_positive(receipt.seq):
        raise MalformedStatement(f"seq {receipt.seq!r} is not a positive integer")
    recorded_at = receipt.recorded_at
    if not isinstance(recorded_at, str) or "\n" in recorded_at or parse_instant(recorded_at) is None:
        raise MalformedStatement(f"recorded_at {recorded_at!r} is not an RFC 3339 date-time")


def _check_status(statement: StatusStatement) -> None:
    _check_origin(statement.origin)
    if not isinstance(statement.credential, str) or not _UUID_URN.fullmatch(statement.credential):
        raise MalformedStatement(f"credential {statement.credential!r} is not a lower-case urn:uuid")
    if statement.state not in STATES:
        raise MalformedStatement(f"state {statement.state!r} is not one of {list(STATES)}")
    size = statement.checkpoint_size
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_TREE_SIZE:
        raise MalformedStatement(f"checkpoint size {size!r} is not a whole number")
    if not isinstance(statement.issuer, str) or not _UUID_URN.fullmatch(statement.issuer):
        raise MalformedStatement(f"issuer {statement.issuer!r} is not a lower-case urn:uuid")
    if not _is_positive(statement.issuer_seq):
        raise MalformedStatement(f"issuer seq {statement.issuer_seq!r} is not a positive integer")
    if statement.issuer_seq > size:
        # Every registry entry is a leaf of the log, so a checkpoint covers at most `size` of them.
        raise MalformedStatement(f"issuer seq {statement.issuer_seq} is past the checkpoint size {size}")
    if not isinstance(statement.issuer_head, str) or not _HASH_HEX.fullmatch(statement.issuer_head):
        raise MalformedStatement(f"issuer head {statement.issuer_head!r} is not 64 lower-case hex digits")
    if (statement.by is None) != (statement.state == "valid"):
        raise MalformedStatement("a superseded or revoked credential names the StatusCredential, valid never")
    if statement.by is not None and not (isinstance(statement.by, str) and _UUID_URN.fullmatch(statement.by)):
        raise MalformedStatement(f"by {statement.by!r} is not a lower-case urn:uuid")
