"""Receipts and status statements signed by the log key: round trips, tampering, confusion."""

from __future__ import annotations

from collections.abc import Callable

import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verification import statements
from verification.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from verification.errors import (
    InvalidNoteSignature,
    MalformedCheckpoint,
    MalformedNote,
    MalformedStatement,
    NoteError,
    OriginMismatch,
    StatementOriginMismatch,
    UnverifiedNote,
)
from verification.note import Verifier, sign_note
from verification.statements import (
    Receipt,
    StatusStatement,
    format_receipt,
    format_status,
    open_receipt,
    open_status,
    sign_receipt,
    sign_status,
)

ORIGIN = "ledger.example/log"
SEED = bytes(range(32))
VERIFIER = Verifier(ORIGIN, bytes(nacl.signing.SigningKey(SEED).verify_key))
OTHER_SEED = bytes(range(1, 33))
ENTRY_HASH = "ab" * 32
STREAM = "urn:uuid:7d3f1e2a-5b6c-4d8e-9f01-23456789abcd"
CREDENTIAL = "urn:uuid:0b5f5a1e-6c1d-4c1e-9a0e-3f8e2b6d7c41"
STATUS_CREDENTIAL = "urn:uuid:11111111-2222-4333-8444-555555555555"
RECORDED_AT = "2024-07-01T09:00:05.123456Z"
ISSUER = "urn:uuid:8cedbe1b-89e9-5f28-9506-538055cd3a11"
HEAD = "cd" * 32
ISSUER_LINE = f"issuer {ISSUER} 5 {HEAD}"


def receipt_note(seed: bytes = SEED, origin: str = ORIGIN) -> str:
    return sign_receipt(origin, ENTRY_HASH, STREAM, 7, RECORDED_AT, signer_name=ORIGIN, seed=seed)


def status_note(state: str = "valid", by: str | None = None, seed: bytes = SEED, origin: str = ORIGIN) -> str:
    return sign_status(
        origin,
        CREDENTIAL,
        state,
        42,
        by,
        issuer=ISSUER,
        issuer_seq=5,
        issuer_head=HEAD,
        signer_name=ORIGIN,
        seed=seed,
    )


def status(state: str = "valid", by: str | None = None, **changes: object) -> StatusStatement:
    fields: dict[str, object] = {"issuer": ISSUER, "issuer_seq": 5, "issuer_head": HEAD, "by": by} | changes
    return StatusStatement(ORIGIN, CREDENTIAL, state, 42, **fields)  # type: ignore[arg-type]


def test_receipt_round_trip() -> None:
    note = receipt_note()
    assert note.startswith(
        f"learner-ledger/receipt/v1\n{ORIGIN}\n{ENTRY_HASH}\n{STREAM}\n7\n{RECORDED_AT}\n\n\u2014 {ORIGIN} "
    )
    assert open_receipt(note, VERIFIER, ORIGIN) == Receipt(ORIGIN, ENTRY_HASH, STREAM, 7, RECORDED_AT)


@pytest.mark.parametrize(
    ("state", "by"), [("valid", None), ("superseded", STATUS_CREDENTIAL), ("revoked", STATUS_CREDENTIAL)]
)
def test_status_round_trip(state: str, by: str | None) -> None:
    note = status_note(state, by)
    by_line = "" if by is None else f"{by}\n"
    assert note.startswith(
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\n{state}\n42\n{ISSUER_LINE}\n{by_line}\n"
    )
    opened = open_status(note, VERIFIER, ORIGIN)
    assert opened == StatusStatement(ORIGIN, CREDENTIAL, state, 42, ISSUER, 5, HEAD, by)
    assert (opened.issuer, opened.issuer_seq, opened.issuer_head) == (ISSUER, 5, HEAD)
    assert format_status(opened) == note.split("\n\n")[0] + "\n"


def test_wrong_key_is_refused() -> None:
    with pytest.raises(UnverifiedNote):
        open_receipt(receipt_note(seed=OTHER_SEED), VERIFIER, ORIGIN)
    with pytest.raises(UnverifiedNote):
        open_status(status_note(seed=OTHER_SEED), VERIFIER, ORIGIN)


def test_wrong_origin_is_refused() -> None:
    with pytest.raises(StatementOriginMismatch) as mismatch:
        open_receipt(receipt_note(), VERIFIER, "other.example/log")
    assert (mismatch.value.expected, mismatch.value.got) == ("other.example/log", ORIGIN)
    assert isinstance(mismatch.value, OriginMismatch)
    with pytest.raises(StatementOriginMismatch):
        open_status(status_note(origin="shard-2.ledger.example/log"), VERIFIER, ORIGIN)


@given(data=st.data())
def test_any_changed_byte_is_refused(data: st.DataObject) -> None:
    note = data.draw(
        st.sampled_from([receipt_note(), status_note(), status_note("revoked", STATUS_CREDENTIAL)])
    )
    raw = bytearray(note.encode())
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    try:
        tampered = raw.decode()
    except UnicodeDecodeError:
        return  # not text, so never a note
    opener = open_receipt if note.startswith("learner-ledger/receipt") else open_status
    with pytest.raises(NoteError):
        opener(tampered, VERIFIER, ORIGIN)


def test_signature_is_checked_before_the_text_is_parsed() -> None:
    unsigned = receipt_note().replace("\n7\n", "\nseven\n")
    with pytest.raises(InvalidNoteSignature):
        open_receipt(unsigned, VERIFIER, ORIGIN)
    well_signed_nonsense = sign_note("learner-ledger/receipt/v1\nnot a receipt\n", ORIGIN, SEED)
    with pytest.raises(MalformedStatement):
        open_receipt(well_signed_nonsense, VERIFIER, "not a receipt")


def test_no_statement_opens_as_another_kind() -> None:
    checkpoint = sign_checkpoint(Checkpoint(ORIGIN, 42, bytes(32)), ORIGIN, SEED)
    receipt, status = receipt_note(), status_note("revoked", STATUS_CREDENTIAL)
    for note in (receipt, status):
        with pytest.raises((MalformedCheckpoint, OriginMismatch)):
            open_checkpoint(note, VERIFIER, ORIGIN)
        with pytest.raises(MalformedCheckpoint):
            open_checkpoint(note, VERIFIER)  # even without the origin check, the lines do not fit
    for note in (checkpoint, status):
        with pytest.raises(MalformedStatement):
            open_receipt(note, VERIFIER, ORIGIN)
    for note in (checkpoint, receipt):
        with pytest.raises(MalformedStatement):
            open_status(note, VERIFIER, ORIGIN)


@pytest.mark.parametrize(
    "text",
    [
        f"learner-ledger/receipt/v1\n{ORIGIN}\n{ENTRY_HASH.upper()}\n{STREAM}\n7\n{RECORDED_AT}\n",
        f"learner-ledger/receipt/v1\n{ORIGIN}\n{ENTRY_HASH[:-2]}\n{STREAM}\n7\n{RECORDED_AT}\n",
        f"learner-ledger/receipt/v1\n{ORIGIN}\n{ENTRY_HASH}\n{STREAM.upper()}\n7\n{RECORDED_AT}\n",
        f"learner-ledger/receipt/v1\n{ORIGIN}\n{ENTRY_HASH}\n{STREAM}\n07\n{RECORDED_AT}\n",
        f"learner-ledger/receipt/v1\n{ORIGIN}\n{ENTRY_HASH}\n{STREAM}\n0\n{RECORDED_AT}\n",
        f"learner-ledger/receipt/v1\n{ORIGIN}\n{ENTRY_HASH}\n{STREAM}\n7\n2024-07-01T09:00:05\n",
        f"learner-ledger/receipt/v1\n{ORIGIN}\n{ENTRY_HASH}\n{STREAM}\n7\n{RECORDED_AT}\nextra\n",
        f"learner-ledger/receipt/v1\n{ORIGIN}\n{ENTRY_HASH}\n{STREAM}\n7\n",
        f"learner-ledger/receipt/v2\n{ORIGIN}\n{ENTRY_HASH}\n{STREAM}\n7\n{RECORDED_AT}\n",
        # valid names no StatusCredential; superseded and revoked must
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nvalid\n42\n{ISSUER_LINE}\n{STATUS_CREDENTIAL}\n",
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nrevoked\n42\n{ISSUER_LINE}\n",
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nexpired\n42\n{ISSUER_LINE}\n",
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nvalid\n042\n{ISSUER_LINE}\n",
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nvalid\n-1\n{ISSUER_LINE}\n",
        f"learner-ledger/status/v1\n{ORIGIN}\nurn:uuid:nope\nvalid\n42\n{ISSUER_LINE}\n",
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nrevoked\n42\n{ISSUER_LINE}\nurn:uuid:nope\n",
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nrevoked\n42\n{ISSUER_LINE}\n{STATUS_CREDENTIAL}\nmore\n",
        # the issuer line is required, in its place, and strict
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nvalid\n42\n",
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nrevoked\n42\n{STATUS_CREDENTIAL}\n",
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nrevoked\n42\n{STATUS_CREDENTIAL}\n{ISSUER_LINE}\n",
        f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nvalid\n{ISSUER_LINE}\n42\n",
        *[
            f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\nvalid\n42\n{line}\n"
            for line in (
                f"Issuer {ISSUER} 5 {HEAD}",
                f"registry {ISSUER} 5 {HEAD}",
                f"issuer  {ISSUER} 5 {HEAD}",
                f"issuer {ISSUER}  5 {HEAD}",
                f"issuer {ISSUER} 5 {HEAD} ",
                f" issuer {ISSUER} 5 {HEAD}",
                f"issuer\u00a0{ISSUER} 5 {HEAD}",
                f"issuer {ISSUER} 5",
                f"issuer {ISSUER} {HEAD}",
                f"issuer {ISSUER} 5 {HEAD} extra",
                f"issuer {ISSUER.upper()} 5 {HEAD}",
                f"issuer urn:uuid:nope 5 {HEAD}",
                f"issuer did:web:ledger.example:orgs:caerleon 5 {HEAD}",
                f"issuer {ISSUER} 0 {HEAD}",
                f"issuer {ISSUER} 05 {HEAD}",
                f"issuer {ISSUER} -5 {HEAD}",
                f"issuer {ISSUER} +5 {HEAD}",
                f"issuer {ISSUER} five {HEAD}",
                f"issuer {ISSUER} 43 {HEAD}",  # more registry entries than the checkpoint has leaves
                f"issuer {ISSUER} 5 {HEAD.upper()}",
                f"issuer {ISSUER} 5 {HEAD[:-2]}",
                f"issuer {ISSUER} 5 {HEAD}00",
                f"issuer {ISSUER} 5 {'g' * 64}",
            )
        ],
    ],
)
def test_strict_parsing_of_signed_text(text: str) -> None:
    note = sign_note(text, ORIGIN, SEED)
    opener = open_receipt if text.startswith("learner-ledger/receipt") else open_status
    with pytest.raises(MalformedStatement):
        opener(note, VERIFIER, ORIGIN)


def test_signing_refuses_what_opening_would_refuse() -> None:
    with pytest.raises(MalformedStatement):
        format_receipt(Receipt(ORIGIN, ENTRY_HASH, STREAM, 0, RECORDED_AT))
    with pytest.raises(MalformedStatement):
        format_receipt(Receipt(f"{ORIGIN}\nforged", ENTRY_HASH, STREAM, 7, RECORDED_AT))
    with pytest.raises(MalformedStatement):
        format_receipt(Receipt(ORIGIN, ENTRY_HASH, STREAM, 7, f"{RECORDED_AT}\nforged"))
    with pytest.raises(MalformedStatement):
        format_status(status("revoked"))
    with pytest.raises(MalformedStatement):
        format_status(status("valid", STATUS_CREDENTIAL))
    with pytest.raises(MalformedStatement):
        format_status(StatusStatement(ORIGIN, CREDENTIAL, "valid", True, ISSUER, 5, HEAD))  # type: ignore[arg-type]
    with pytest.raises(MalformedNote):
        sign_note("no final newline", ORIGIN, SEED)


@pytest.mark.parametrize(
    "changes",
    [
        {"issuer": f"{ISSUER}\nforged"},
        {"issuer": ISSUER.upper()},
        {"issuer": "did:web:ledger.example:orgs:caerleon"},
        {"issuer": None},
        {"issuer_seq": 0},
        {"issuer_seq": -1},
        {"issuer_seq": True},
        {"issuer_seq": "5"},
        {"issuer_seq": 43},
        {"issuer_head": HEAD.upper()},
        {"issuer_head": HEAD[:-1]},
        {"issuer_head": f"{HEAD[:-1]}\n"},
        {"issuer_head": bytes.fromhex(HEAD)},
    ],
)
def test_signing_refuses_a_bad_registry_head(changes: dict[str, object]) -> None:
    with pytest.raises(MalformedStatement):
        format_status(status(**changes))
    fields = {"issuer": ISSUER, "issuer_seq": 5, "issuer_head": HEAD} | changes
    with pytest.raises(MalformedStatement):
        sign_status(ORIGIN, CREDENTIAL, "valid", 42, None, signer_name=ORIGIN, seed=SEED, **fields)  # type: ignore[arg-type]


def test_the_registry_head_may_be_the_checkpoints_last_leaf() -> None:
    assert format_status(status(issuer_seq=42)).endswith(f"\nissuer {ISSUER} 42 {HEAD}\n")


@given(st.text(max_size=6) | st.sampled_from(["ledger.example/log", "a\x1f", "\x7f", " "]))
def test_an_origin_is_refused_exactly_when_empty_or_holding_a_character_below_space(origin: str) -> None:
    refused = not origin or any(character < " " for character in origin)
    receipt = Receipt(origin, ENTRY_HASH, STREAM, 1, "2024-07-01T09:00:05Z")
    if refused:
        with pytest.raises(MalformedStatement):
            format_receipt(receipt)
    else:
        assert format_receipt(receipt).startswith(f"learner-ledger/receipt/v1\n{origin}\n")


def _opened(note: str, opener: Callable[[str, Verifier, str], StatusStatement]) -> object:
    """What opening `note` gives: the statement, or the error's type and words."""
    try:
        return opener(note, VERIFIER, ORIGIN)
    except NoteError as error:
        return type(error), str(error)


def _signed(text: str, seed: bytes = SEED, name: str = ORIGIN) -> str:
    return sign_note(text, name, seed)


def test_the_one_match_reading_of_a_status_note_is_the_general_reading() -> None:
    # open_status reads a note in sign_status's form in one match, and every other note (or one a
    # check refuses) the general way: the outcome must be the general way's, for every note.
    valid, revoked = status_note(), status_note("revoked", STATUS_CREDENTIAL)
    body = f"learner-ledger/status/v1\n{ORIGIN}\n{CREDENTIAL}\n"
    notes = [
        valid,
        revoked,
        status_note("superseded", STATUS_CREDENTIAL),
        status_note(seed=OTHER_SEED),
        status_note(origin="other.example/log"),
        _signed(f"{body}valid\n42\n{ISSUER_LINE}\n{STATUS_CREDENTIAL}\n"),  # valid, yet names a `by`
        _signed(f"{body}revoked\n42\n{ISSUER_LINE}\n"),  # revoked, names none
        _signed(f"{body}valid\n4\n{ISSUER_LINE}\n"),  # the registry head past the checkpoint
        _signed(f"{body}valid\n18446744073709551616\n{ISSUER_LINE}\n"),  # a size past 2**64 - 1
        _signed(f"{body}valid\n42\n{ISSUER_LINE}\n", name="other.example"),
        _signed(f"{body}valid\n42\n{ISSUER_LINE}\n", name="ledger.example/lo\u0261"),
        valid + sign_note("x\n", ORIGIN, OTHER_SEED).split("\n\n")[1],  # a second signature line
        valid.replace("\u2014 ", "\u2014 x", 1),
    ]
    # Every character of a good note changed to each of a few others, or dropped.
    for note in (valid, revoked):
        for position in range(len(note)):
            for other in ("", "0", "a", "A", " ", "\n", "+", "=", "/", "\x7f", "\u00e9"):
                notes.append(note[:position] + other + note[position + 1 :])
    fast = 0
    for note in notes:
        general = _opened(note, statements._open_status)
        assert _opened(note, open_status) == general, note
        if statements._open_plain_status(note, VERIFIER, ORIGIN) is not None:
            fast += 1
    assert fast >= 3  # the one-match reading was taken, not only ever refused
